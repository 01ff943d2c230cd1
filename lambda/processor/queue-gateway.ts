import { ChangeMessageVisibilityBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DependencyError } from '../errors/pipeline-errors';
import { MAX_VISIBILITY_SECONDS } from '../resilience/queue-backoff';

/** What the processor sends to queues besides consuming its input. */
export interface QueueGateway {
  /** Send a rejected message to the DLQ, with its failure context as message attributes. */
  deadLetter(body: string, attributes: Readonly<Record<string, string>>, options?: QueueCallOptions): Promise<void>;
  /** Escalate a record to the human-review queue. */
  escalate(body: string, attributes: Readonly<Record<string, string>>, options?: QueueCallOptions): Promise<void>;
  /**
   * Hide messages that go back to the queue, each for its `seconds`, so their retries are delayed
   * (and spread): one request per ten. Resolves to the receipt handles whose change failed.
   */
  delayMany(entries: readonly VisibilityChange[], options?: QueueCallOptions): Promise<ReadonlySet<string>>;
  /**
   * Put a fresh copy of a message back on the input queue, delayed by `delaySeconds` (at most
   * 900, SQS's limit). The copy starts at receive count 1: what a deferral that must never reach
   * the DLQ needs (a task stopped by a runtime switch).
   */
  requeue(body: string, delaySeconds: number, options?: QueueCallOptions): Promise<void>;
}

/** One message's new visibility timeout. */
export interface VisibilityChange {
  readonly receiptHandle: string;
  readonly seconds: number;
}

/** Entries per ChangeMessageVisibilityBatch request (SQS's limit). */
const MAX_BATCH_ENTRIES = 10;

/** SQS's longest message delay. */
export const MAX_DELAY_SECONDS = 900;

/** Per-call options of the queue gateway. */
export interface QueueCallOptions {
  /** Aborts the request (the record's lease is ending). */
  readonly signal?: AbortSignal;
}

export interface SqsQueueGatewayOptions {
  readonly client: SQSClient;
  readonly inputQueueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly reviewQueueUrl: string;
}

export class SqsQueueGateway implements QueueGateway {
  constructor(private readonly options: SqsQueueGatewayOptions) {}

  deadLetter(body: string, attributes: Readonly<Record<string, string>>, options: QueueCallOptions = {}): Promise<void> {
    return this.send(this.options.deadLetterQueueUrl, body, attributes, options);
  }

  escalate(body: string, attributes: Readonly<Record<string, string>>, options: QueueCallOptions = {}): Promise<void> {
    return this.send(this.options.reviewQueueUrl, body, attributes, options);
  }

  async delayMany(entries: readonly VisibilityChange[], options: QueueCallOptions = {}): Promise<ReadonlySet<string>> {
    const failed = new Set<string>();
    for (let start = 0; start < entries.length; start += MAX_BATCH_ENTRIES) {
      const chunk = entries.slice(start, start + MAX_BATCH_ENTRIES);
      try {
        const { Failed = [] } = await this.options.client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.options.inputQueueUrl,
            Entries: chunk.map((entry, index) => ({
              Id: String(index),
              ReceiptHandle: entry.receiptHandle,
              VisibilityTimeout: Math.max(0, Math.min(MAX_VISIBILITY_SECONDS, Math.round(entry.seconds))),
            })),
          }),
          { abortSignal: options.signal },
        );
        for (const failure of Failed) {
          const entry = chunk[Number(failure.Id)];
          if (entry) failed.add(entry.receiptHandle);
        }
      } catch {
        // Not fatal: those messages still come back, only after the queue's own visibility timeout.
        for (const entry of chunk) failed.add(entry.receiptHandle);
      }
    }
    return failed;
  }

  requeue(body: string, delaySeconds: number, options: QueueCallOptions = {}): Promise<void> {
    return this.send(this.options.inputQueueUrl, body, {}, options, Math.max(0, Math.min(MAX_DELAY_SECONDS, Math.round(delaySeconds))));
  }

  private async send(
    queueUrl: string,
    body: string,
    attributes: Readonly<Record<string, string>>,
    options: QueueCallOptions,
    delaySeconds?: number,
  ): Promise<void> {
    try {
      await this.options.client.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: body,
          ...(delaySeconds !== undefined ? { DelaySeconds: delaySeconds } : {}),
          MessageAttributes: Object.fromEntries(
            Object.entries(attributes)
              .filter(([, value]) => value !== '')
              .map(([name, value]) => [name, { DataType: 'String', StringValue: value.slice(0, 1024) }]),
          ),
        }),
        { abortSignal: options.signal },
      );
    } catch (error) {
      throw new DependencyError('sqs', `send to ${queueUrl} failed: ${(error as Error).message}`, { cause: error });
    }
  }
}

import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DependencyError } from '../errors/pipeline-errors';
import { MAX_VISIBILITY_SECONDS } from '../resilience/queue-backoff';

/** What the processor sends to queues besides consuming its input. */
export interface QueueGateway {
  /** Send a rejected message to the DLQ, with its failure context as message attributes. */
  deadLetter(body: string, attributes: Readonly<Record<string, string>>, options?: QueueCallOptions): Promise<void>;
  /** Escalate a record to the human-review queue. */
  escalate(body: string, attributes: Readonly<Record<string, string>>, options?: QueueCallOptions): Promise<void>;
  /** Hide a message that goes back to the queue for `seconds`, so its retry is delayed (and spread). */
  delay(receiptHandle: string, seconds: number, options?: QueueCallOptions): Promise<void>;
  /**
   * Put a fresh copy of a message back on the input queue, delayed by `delaySeconds` (at most
   * 900, SQS's limit). The copy starts at receive count 1: what a deferral that must never reach
   * the DLQ needs (a task stopped by a runtime switch).
   */
  requeue(body: string, delaySeconds: number, options?: QueueCallOptions): Promise<void>;
}

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

  async delay(receiptHandle: string, seconds: number, options: QueueCallOptions = {}): Promise<void> {
    try {
      await this.options.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.options.inputQueueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: Math.max(0, Math.min(MAX_VISIBILITY_SECONDS, Math.round(seconds))),
        }),
        { abortSignal: options.signal },
      );
    } catch (error) {
      // Not fatal: the message still comes back, only after the queue's own visibility timeout.
      throw new DependencyError('sqs', `change visibility failed: ${(error as Error).message}`, { cause: error });
    }
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

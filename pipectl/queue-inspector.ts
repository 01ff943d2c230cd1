import { ChangeMessageVisibilityBatchCommand, GetQueueAttributesCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { MESSAGE_ATTRIBUTE } from '../lambda/contract';
import { RejectedInputError } from '../lambda/errors/pipeline-errors';
import { rejectedKey } from '../lambda/processor/input-key';
import { parseMessage } from '../lambda/processor/message-parser';

/** A queue's depth, as SQS reports it (approximate on AWS). */
export interface QueueDepth {
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

export async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  if (!Attributes.QueueArn) throw new Error(`SQS returned no ARN for ${queueUrl}`);
  return Attributes.QueueArn;
}

/** The queue name from its URL (the last path segment). */
export function queueName(queueUrl: string): string {
  return queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
}

export interface PeekOptions {
  /** Stop after this many messages. @default 1000 */
  readonly limit?: number;
  /** How long the messages stay hidden while being read. @default 60 */
  readonly visibilitySeconds?: number;
}

/** Messages read from a queue, hidden from other consumers until `release()` (or their visibility ends). */
export interface PeekedMessages {
  readonly messages: readonly Message[];
  /** True when the limit stopped the read before the queue was exhausted. */
  readonly truncated: boolean;
  /** Makes the messages visible again at once (ChangeMessageVisibility 0). */
  release(messages?: readonly Message[]): Promise<void>;
}

/**
 * Reads the messages of a queue without consuming them: each is received once (hidden for
 * `visibilitySeconds` so the read does not see it twice), then `release()` makes it visible again.
 * Use it on the DLQ and the review queue, which no function consumes: on a consumed queue the
 * consumer would wait for the read. Receiving counts as a receive (ApproximateReceiveCount
 * grows), which matters only on a queue with a redrive policy — hence not on the input queue.
 */
export async function peekMessages(sqs: SQSClient, queueUrl: string, options: PeekOptions = {}): Promise<PeekedMessages> {
  const limit = options.limit ?? 1000;
  const seen = new Map<string, Message>();
  // SQS samples servers on each receive: an empty answer does not prove the queue is empty, two in a row are good evidence.
  for (let emptyReads = 0; emptyReads < 2 && seen.size < limit; ) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, limit - seen.size),
        VisibilityTimeout: options.visibilitySeconds ?? 60,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    emptyReads = Messages.length === 0 ? emptyReads + 1 : 0;
    for (const message of Messages) seen.set(message.MessageId as string, message);
  }
  const messages = [...seen.values()];
  return {
    messages,
    truncated: seen.size >= limit,
    release: (subset = messages) => changeVisibility(sqs, queueUrl, subset, 0),
  };
}

/** Sets the visibility of received messages, ten at a time; a message already deleted is ignored. */
export async function changeVisibility(sqs: SQSClient, queueUrl: string, messages: readonly Message[], seconds: number): Promise<void> {
  for (let start = 0; start < messages.length; start += 10) {
    const chunk = messages.slice(start, start + 10);
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: seconds })),
      }),
    );
  }
}

/** A message attribute's string value. */
export function attribute(message: Message, name: string): string | undefined {
  return message.MessageAttributes?.[name]?.StringValue;
}

/**
 * The ledger key of a queued message: the `InputHash` attribute the processor sets, else the key
 * the processor would compute from the body (a message moved by the queue's redrive policy carries
 * only its original body).
 */
export function keyOfMessage(message: Message): string {
  const fromAttribute = attribute(message, MESSAGE_ATTRIBUTE.INPUT_HASH);
  if (fromAttribute) return fromAttribute;
  const body = message.Body ?? '';
  try {
    return parseMessage(body).key;
  } catch (error) {
    if (error instanceof RejectedInputError) return rejectedKey(body);
    throw error;
  }
}

/** The `jobId` a message body carries, if it is a JSON object with one. */
export function jobIdOfBody(body: string | undefined): string | undefined {
  try {
    const document = JSON.parse(body ?? '') as unknown;
    const jobId = document && typeof document === 'object' ? (document as { jobId?: unknown }).jobId : undefined;
    return typeof jobId === 'string' ? jobId : undefined;
  } catch {
    return undefined;
  }
}

/** Epoch ms a message was first sent (the SentTimestamp system attribute). */
export function sentAt(message: Message): number | undefined {
  const value = Number(message.Attributes?.SentTimestamp);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

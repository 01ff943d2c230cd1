import { ChangeMessageVisibilityBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

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

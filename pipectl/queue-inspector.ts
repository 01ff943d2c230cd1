import { GetQueueAttributesCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { MESSAGE_ATTRIBUTE } from '../lambda/contract';
import { keyOfMessageBody } from '../lambda/processor/message-parser';

// The DLQ and review-queue peek is shared with the reconciler (which looks for redriven messages in the DLQ).
export { changeVisibility, type PeekedMessages, type PeekOptions, peekMessages } from '../lambda/shared/queue-peek';

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
  return keyOfMessageBody(message.Body ?? '');
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

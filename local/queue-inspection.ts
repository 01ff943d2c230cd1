import type { Message } from '@aws-sdk/client-sqs';
import { OBSERVER_USER_AGENT } from './emulators';

/*
 * An HTTP client of fauxqs' inspection endpoints (`GET /_fauxqs/queues`, `GET /_fauxqs/queues/<name>`):
 * queue depths and the oldest message without receiving anything. The local alarm evaluator samples
 * SQS metrics with it; `pipectl status` reads the local queues with it.
 */

/** The queue name at the end of a queue URL. */
export function queueNameOf(queueUrl: string): string {
  return queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
}

/** Message counts of every queue by name, from fauxqs' queue list (cheap: no message bodies). */
export async function queueDepths(sqsEndpoint: string): Promise<Map<string, { visible: number; inFlight: number; delayed: number }>> {
  const response = await fetch(`${sqsEndpoint}/_fauxqs/queues`, { headers: { 'user-agent': OBSERVER_USER_AGENT } });
  if (!response.ok) throw new Error(`fauxqs queue list: HTTP ${response.status}`);
  const queues = (await response.json()) as Array<{
    name: string;
    approximateMessageCount: number;
    approximateInflightCount: number;
    approximateDelayedCount: number;
  }>;
  return new Map(
    queues.map((queue) => [
      queue.name,
      { visible: queue.approximateMessageCount, inFlight: queue.approximateInflightCount, delayed: queue.approximateDelayedCount },
    ]),
  );
}

/** What one look at a queue shows. */
export interface QueueSnapshot {
  readonly visible: number;
  readonly inFlight: number;
  /** SentTimestamp of the message ApproximateAgeOfOldestMessage points at; undefined when the queue is empty. */
  readonly oldestSentAt?: number;
}

interface FauxqsMessage {
  readonly sentTimestamp: number;
  readonly approximateReceiveCount: number;
}

/**
 * Reads a queue through fauxqs' inspection endpoint, which changes nothing (no receive, no
 * visibility change), marked as an observer so the API counter leaves it out. The oldest message
 * is chosen as SQS documents ApproximateAgeOfOldestMessage: a message received three times or
 * more is moved to the back and no longer counts (when every message has been, the oldest of them
 * does).
 */
export async function inspectQueue(sqsEndpoint: string, queueUrl: string): Promise<QueueSnapshot> {
  const name = queueNameOf(queueUrl);
  const response = await fetch(`${sqsEndpoint}/_fauxqs/queues/${encodeURIComponent(name)}`, { headers: { 'user-agent': OBSERVER_USER_AGENT } });
  if (!response.ok) throw new Error(`fauxqs inspection of ${name}: HTTP ${response.status}`);
  const body = (await response.json()) as { messages: { ready: FauxqsMessage[]; delayed: FauxqsMessage[]; inflight: Array<{ message: FauxqsMessage }> } };
  const { ready, delayed, inflight } = body.messages;
  const all = [...ready, ...delayed, ...inflight.map((entry) => entry.message)];
  const counted = all.filter((message) => message.approximateReceiveCount < 3);
  const candidates = counted.length > 0 ? counted : all;
  const oldestSentAt = candidates.length > 0 ? Math.min(...candidates.map((message) => message.sentTimestamp)) : undefined;
  return { visible: ready.length, inFlight: inflight.length, oldestSentAt };
}

/**
 * Every message a queue holds — visible, delayed and in flight — read through fauxqs' inspection
 * endpoint, in the SDK's shape (`Body`, `MessageId`, `MessageAttributes`). Unlike a receive, it
 * hides nothing and misses nothing that another consumer (the reconciler's DLQ sweep, a
 * `pipectl dlq list`) holds in flight at that moment: what a test accounts for is the queue's state.
 */
export async function inspectMessages(sqsEndpoint: string, queueUrl: string): Promise<Message[]> {
  const name = queueNameOf(queueUrl);
  const response = await fetch(`${sqsEndpoint}/_fauxqs/queues/${encodeURIComponent(name)}`, { headers: { 'user-agent': OBSERVER_USER_AGENT } });
  if (!response.ok) throw new Error(`fauxqs inspection of ${name}: HTTP ${response.status}`);
  type Held = { messageId: string; body: string; messageAttributes?: Record<string, { DataType: string; StringValue?: string }> };
  const body = (await response.json()) as { messages: { ready: Held[]; delayed: Held[]; inflight: Array<{ message: Held }> } };
  const { ready, delayed, inflight } = body.messages;
  return [...ready, ...delayed, ...inflight.map((entry) => entry.message)].map((message) => ({
    MessageId: message.messageId,
    Body: message.body,
    MessageAttributes: message.messageAttributes ?? {},
  }));
}

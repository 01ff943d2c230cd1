import type { SQSRecord } from 'aws-lambda';
import { MAX_DELAY_SECONDS, type QueueGateway } from './queue-gateway';

/**
 * How long a record of a stopped task waits before it is looked at again: the queue-level
 * backoff's ceiling (scaled in local mode like every other duration), at most SQS's 900 s delay.
 * Long enough that a stopped task costs one SendMessage per record per this interval, short
 * enough that `pipectl switch unset stop-task.<task>` gets the records going within it.
 */
export function stoppedTaskDelaySeconds(queueBackoffMaxSeconds: number): number {
  return Math.max(1, Math.min(MAX_DELAY_SECONDS, queueBackoffMaxSeconds));
}

/**
 * A record of a task stopped by `stop-task.<task>`: a fresh copy goes back on the input queue,
 * delayed, and this copy is let go (the event source deletes it). Not a failure: no ledger item,
 * no model call, and — unlike giving the message back with a longer visibility — no receive
 * counted against the DLQ's maxReceiveCount, however long the task stays stopped.
 * Returns false when the copy could not be sent (the caller gives the message back instead).
 */
export async function requeueStopped(queues: QueueGateway, record: SQSRecord, delaySeconds: number, signal: AbortSignal): Promise<boolean> {
  return queues.requeue(record.body, delaySeconds, { signal }).then(
    () => true,
    () => false,
  );
}

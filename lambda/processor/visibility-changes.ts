import type { QueueGateway } from './queue-gateway';

/**
 * The visibility changes of one invocation's records, sent together when the records are done:
 * ChangeMessageVisibilityBatch takes ten a request, so a batch that gives back ten records costs
 * one SQS request instead of ten (issue 17: an outage gave back every record on every receive).
 *
 * Sending them at the end of the batch rather than as each record finishes changes nothing a
 * record relies on: until then the message is hidden by the receive's own visibility timeout
 * (6 × the function timeout), and a crash before the send leaves it to that timeout, as a crash
 * before a single change did. The delay counts from the send, so a record comes back at most one
 * batch's duration later than it asked.
 */
export class VisibilityChanges {
  private readonly pending = new Map<string, number>();

  /** Hide the message of `receiptHandle` for `seconds` once the batch is done (the last call for a handle wins). */
  add(receiptHandle: string, seconds: number): void {
    this.pending.set(receiptHandle, seconds);
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Sends every change; returns the receipt handles whose change did not go through (those
   * messages come back after the queue's visibility timeout instead). Never throws.
   */
  async send(queues: QueueGateway, signal: AbortSignal): Promise<ReadonlySet<string>> {
    if (this.pending.size === 0) return new Set();
    const entries = [...this.pending].map(([receiptHandle, seconds]) => ({ receiptHandle, seconds }));
    this.pending.clear();
    return queues.delayMany(entries, { signal }).catch(() => new Set(entries.map((entry) => entry.receiptHandle)));
  }
}

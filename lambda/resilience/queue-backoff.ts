/** SQS's longest visibility timeout. */
export const MAX_VISIBILITY_SECONDS = 43_200;

export interface QueueBackoffOptions {
  /** Delay scale of the first failed receive. */
  readonly baseSeconds: number;
  /** Cap of the exponential part. */
  readonly maxSeconds: number;
  /** @default Math.random */
  readonly random?: () => number;
}

/**
 * How long a record that goes back to the queue stays hidden, by its receive count: "equal
 * jitter" over base × 2^(receives − 1), capped — half the ceiling fixed, half random — so records
 * that failed together come back spread out instead of as a synchronized wave, yet never at once.
 * `floorMs` (a Retry-After, the time until a breaker may close, the next budget hour) is never
 * undercut. Whole seconds (what ChangeMessageVisibility takes), at least 1, at most SQS's maximum.
 */
export function queueBackoffSeconds(receiveCount: number, options: QueueBackoffOptions, floorMs = 0): number {
  const random = options.random ?? Math.random;
  const exponent = Math.max(0, Math.min(30, receiveCount - 1));
  const ceiling = Math.min(options.maxSeconds, options.baseSeconds * 2 ** exponent);
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  const seconds = Math.max(jittered, floorMs / 1000);
  return Math.min(MAX_VISIBILITY_SECONDS, Math.max(1, Math.ceil(seconds)));
}

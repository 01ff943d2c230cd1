import { LEDGER_SHARDS } from '../contract';

/**
 * Keys of the ledger's two indexes (`LEDGER_INDEX` in the contract). Both spread one job's or one
 * hour's items over {@link LEDGER_SHARDS} index partitions by the first hex digit of the item's
 * key. The key is a SHA-256, so:
 * - a burst of one job (or one hour) writes to 16 partitions, not one hot one: an index partition
 *   takes about 1,000 writes/s, and a throttled index throttles the table's writes too;
 * - each shard holds an unbiased 1/16 of the items, so reading k shards is a uniform sample of
 *   k/16 of them, with no extra attribute and no scan.
 */

/** The shard ids, in the order readers visit them. */
export const SHARD_IDS: readonly string[] = Array.from({ length: LEDGER_SHARDS }, (_, index) => index.toString(16));

/**
 * The shard of a ledger key: the first hex digit of its hash. Rejection keys (`rejected#<hash>`)
 * use their hash part; a key with no hex digit (never produced by the pipeline) goes to shard 0.
 */
export function shardOf(key: string): string {
  const hash = key.slice(key.lastIndexOf('#') + 1).toLowerCase();
  const digit = hash.charAt(0);
  return /^[0-9a-f]$/.test(digit) ? digit : '0';
}

/** The UTC hour of an instant, `yyyy-mm-ddThh`: the hour bucket of the `byHour` index. */
export function hourBucketOf(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 13);
}

/** `<hour>#<shard>`: the `byHour` partition key of an item completed at `completedAt`. */
export function hourShardKey(completedAt: number, key: string): string {
  return `${hourBucketOf(completedAt)}#${shardOf(key)}`;
}

/** `<jobId>#<shard>`: the `byJob` partition key of an item of a job. */
export function jobShardKey(jobId: string, key: string): string {
  return `${jobId}#${shardOf(key)}`;
}

/** Every hour bucket that overlaps [fromMs, toMs), oldest first. */
export function hourBucketsBetween(fromMs: number, toMs: number): string[] {
  const hourMs = 3_600_000;
  const buckets: string[] = [];
  if (!(fromMs < toMs)) return buckets;
  for (let start = Math.floor(fromMs / hourMs) * hourMs; start < toMs; start += hourMs) buckets.push(hourBucketOf(start));
  return buckets;
}

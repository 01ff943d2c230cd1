import type { AnyTaskDefinition, FeatureObservation } from './task-definition';

/** A ledger item carries at most this many features; more is a task bug, not data. */
export const MAX_FEATURES = 32;
/** Bin labels longer than this are cut: a label is a category, never free text. */
export const MAX_LABEL_LENGTH = 64;

/**
 * The features of one completed record, as the task defines them, checked: string labels only, at
 * most {@link MAX_FEATURES}, labels cut to {@link MAX_LABEL_LENGTH}. Returns `undefined` when the
 * task has no features or its function throws: the record's result is valid and already paid
 * for, so a bug in a feature function must not fail it; the drift monitor counts items without
 * features and `pipectl drift` shows them.
 */
export function taskFeatures(task: AnyTaskDefinition, observation: FeatureObservation): Record<string, string> | undefined {
  if (!task.features || observation.output === undefined) return undefined;
  let raw: Readonly<Record<string, unknown>>;
  try {
    raw = task.features(observation);
  } catch {
    return undefined;
  }
  const features: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw ?? {}).slice(0, MAX_FEATURES)) {
    if (typeof value !== 'string' || value.length === 0) continue;
    features[name.slice(0, MAX_LABEL_LENGTH)] = value.slice(0, MAX_LABEL_LENGTH);
  }
  return Object.keys(features).length > 0 ? features : undefined;
}

/**
 * Power-of-two length buckets: `0-63`, `64-127`, … , `4096+`. Doubling widths keep the bins few
 * and roughly equally filled for the long-tailed lengths text has.
 */
export const LENGTH_BUCKETS: readonly string[] = ['0-63', '64-127', '128-255', '256-511', '512-1023', '1024-2047', '2048-4095', '4096+'];

/** The {@link LENGTH_BUCKETS} label of a length. */
export function lengthBucket(length: number): string {
  if (!(length >= 64)) return LENGTH_BUCKETS[0] as string;
  const index = Math.min(LENGTH_BUCKETS.length - 1, Math.floor(Math.log2(length)) - 5);
  return LENGTH_BUCKETS[index] as string;
}

/** Decile labels of a number in [0, 1]: `0.0` (for [0, 0.1)) … `0.9` (for [0.9, 1]). */
export const DECILES: readonly string[] = Array.from({ length: 10 }, (_, index) => (index / 10).toFixed(1));

/** The {@link DECILES} label of a value in [0, 1]; values outside are clamped. */
export function decile(value: number): string {
  // The epsilon keeps 0.3 (stored as 0.29999…) in 0.3's decile, where a reader expects it.
  const index = Math.min(9, Math.max(0, Math.floor(value * 10 + 1e-9)));
  return DECILES[index] as string;
}

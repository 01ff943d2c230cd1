import { describe, expect, it } from 'vitest';
import { hourBucketOf, hourBucketsBetween, hourShardKey, jobShardKey, SHARD_IDS, shardOf } from '../../lambda/ledger/ledger-index';
import { chiSquaredTest } from '../../lambda/monitors/statistics';
import { inputKey, rejectedKey } from '../../lambda/processor/input-key';
import type { AnyTaskDefinition } from '../../lambda/tasks/task-definition';
import { DECILES, decile, LENGTH_BUCKETS, lengthBucket, taskFeatures } from '../../lambda/tasks/task-features';
import { ticketTriage } from '../../lambda/tasks/ticket-triage';

describe('feature bins', () => {
  it.each([
    [0, '0-63'],
    [63, '0-63'],
    [64, '64-127'],
    [127, '64-127'],
    [128, '128-255'],
    [1023, '512-1023'],
    [4095, '2048-4095'],
    [4096, '4096+'],
    [20_000, '4096+'],
    [Number.NaN, '0-63'],
  ])('length %d is in bucket %s', (length, bucket) => {
    expect(lengthBucket(length)).toBe(bucket);
  });

  it.each([
    [0, '0.0'],
    [0.09, '0.0'],
    [0.1, '0.1'],
    [0.3, '0.3'],
    [0.29999999999999993, '0.3'],
    [0.95, '0.9'],
    [1, '0.9'],
    [-0.2, '0.0'],
    [1.5, '0.9'],
  ])('confidence %d is in decile %s', (value, label) => {
    expect(decile(value)).toBe(label);
  });

  it('lists buckets and deciles in order, every label reachable', () => {
    expect(new Set([0, 64, 128, 256, 512, 1024, 2048, 4096].map(lengthBucket))).toEqual(new Set(LENGTH_BUCKETS));
    expect(new Set(Array.from({ length: 10 }, (_, index) => decile(index / 10 + 0.05)))).toEqual(new Set(DECILES));
  });
});

describe('ticket-triage features', () => {
  it('describes input, answer and serving tier with few labels each', () => {
    // Act
    const features = taskFeatures(ticketTriage as AnyTaskDefinition, {
      input: { subject: 'Refund please', body: 'I was charged twice for my subscription this month.', customerTier: 'pro' },
      output: { category: 'billing', priority: 'high', confidence: 0.87, summary: 'billing (high): Refund please' },
      tier: 'primary',
    });

    // Assess: 13 + 51 = 64 characters
    expect(features).toEqual({
      inputLength: '64-127',
      customerTier: 'pro',
      category: 'billing',
      priority: 'high',
      confidence: '0.8',
      servingTier: 'primary',
    });
  });

  it('names a missing customer tier, and declares its ordered features', () => {
    const features = taskFeatures(ticketTriage as AnyTaskDefinition, {
      input: { subject: 'Hi', body: 'x' },
      output: { category: 'other', priority: 'low', confidence: 0.2, summary: 'other (low): Hi' },
      tier: 'rules',
    });
    expect(features?.customerTier).toBe('unknown');
    expect(Object.keys(ticketTriage.orderedFeatures ?? {}).sort()).toEqual(['confidence', 'inputLength', 'priority']);
  });
});

describe('taskFeatures', () => {
  const task = (features: AnyTaskDefinition['features']): AnyTaskDefinition => ({ ...(ticketTriage as AnyTaskDefinition), features });
  const observation = { input: {}, output: {}, tier: 'primary' };

  it('gives undefined (never throws) when the task has no features or its function throws', () => {
    expect(taskFeatures(task(undefined), observation)).toBeUndefined();
    expect(
      taskFeatures(
        task(() => {
          throw new Error('bug');
        }),
        observation,
      ),
    ).toBeUndefined();
  });

  it('keeps string labels only, cut to 64 characters, and gives undefined for an empty set', () => {
    const features = taskFeatures(
      task(() => ({ ok: 'a', long: 'x'.repeat(100), number: 3 as unknown as string, empty: '' })),
      observation,
    );
    expect(features).toEqual({ ok: 'a', long: 'x'.repeat(64) });
    expect(
      taskFeatures(
        task(() => ({})),
        observation,
      ),
    ).toBeUndefined();
  });

  it('computes nothing when there is no output (an escalation)', () => {
    expect(
      taskFeatures(
        task(() => ({ a: 'b' })),
        { input: {}, output: undefined, tier: 'human' },
      ),
    ).toBeUndefined();
  });
});

describe('ledger index keys', () => {
  it.each([
    ['0fab', '0'],
    ['F00d', 'f'],
    ['a9', 'a'],
    [`rejected#${'7'.repeat(64)}`, '7'],
    ['', '0'],
    ['zzz', '0'],
  ])('the shard of %s is %s', (key, shard) => {
    expect(shardOf(key)).toBe(shard);
  });

  it('builds the byJob and byHour partition keys from the key, the job and the UTC hour', () => {
    const at = Date.UTC(2026, 10, 23, 14, 59, 59, 999);
    expect(hourBucketOf(at)).toBe('2026-11-23T14');
    expect(hourShardKey(at, 'c0ffee')).toBe('2026-11-23T14#c');
    expect(jobShardKey('nightly-7', 'c0ffee')).toBe('nightly-7#c');
  });

  it.each([
    ['inside one hour', Date.UTC(2026, 0, 1, 10, 5), Date.UTC(2026, 0, 1, 10, 55), ['2026-01-01T10']],
    ['across two hours', Date.UTC(2026, 0, 1, 10, 30), Date.UTC(2026, 0, 1, 11, 30), ['2026-01-01T10', '2026-01-01T11']],
    ['ending on the hour (exclusive)', Date.UTC(2026, 0, 1, 10), Date.UTC(2026, 0, 1, 11), ['2026-01-01T10']],
    ['across midnight', Date.UTC(2025, 11, 31, 23, 30), Date.UTC(2026, 0, 1, 0, 30), ['2025-12-31T23', '2026-01-01T00']],
    ['an empty window', 5, 5, []],
  ])('lists the hour buckets of a window %s', (_name, from, to, buckets) => {
    expect(hourBucketsBetween(from, to)).toEqual(buckets);
  });

  it('spreads real input keys evenly over the 16 shards (chi-squared goodness of fit, p > 0.001)', () => {
    // Prepare: 16,000 distinct ticket inputs, keyed exactly as the processor keys them
    const counts: Record<string, number> = {};
    for (let index = 0; index < 16_000; index += 1) {
      const key = inputKey('ticket-triage', '1', { subject: `Ticket ${index}`, body: `Body ${index}` });
      counts[shardOf(key)] = (counts[shardOf(key)] ?? 0) + 1;
    }
    const uniform = Object.fromEntries(SHARD_IDS.map((shard) => [shard, 1_000_000]));

    // Act: homogeneity against a huge uniform sample is goodness of fit against uniform
    const { pValue } = chiSquaredTest(uniform, counts);

    // Assess
    expect(Object.keys(counts).sort()).toEqual([...SHARD_IDS].sort());
    expect(pValue).toBeGreaterThan(0.001);
    // And rejection keys, hashes of raw bodies, too
    const rejected = new Set(Array.from({ length: 200 }, (_, index) => shardOf(rejectedKey(`not json ${index}`))));
    expect(rejected.size).toBe(16);
  });
});

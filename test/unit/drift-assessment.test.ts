import { describe, expect, it } from 'vitest';
import { DRIFT_MAX_FEATURE, METRIC, METRIC_DIMENSION, METRIC_SERVICE } from '../../lambda/contract';
import { firstFullDayAfter } from '../../lambda/monitors/baseline-store';
import { compareFeatures, countFeatures, type DriftOptions, maxScore } from '../../lambda/monitors/drift-assessment';
import { type DriftRun, driftMetrics } from '../../lambda/monitors/drift-monitor';
import { populationStabilityIndex } from '../../lambda/monitors/statistics';

const OPTIONS: DriftOptions = { epsilon: 1e-4, minSampleSize: 50, smallSampleSize: 1000, significanceLevel: 0.01 };

/** A histogram with `n` items split by shares. */
function histogram(n: number, shares: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(shares).map(([bin, share]) => [bin, Math.round(n * share)]));
}

describe('countFeatures', () => {
  it('counts each feature bin per task, and items without features apart', () => {
    // Act
    const counted = countFeatures([
      { task: 'a', features: { category: 'billing', tier: 'primary' } },
      { task: 'a', features: { category: 'billing', tier: 'rules' } },
      { task: 'a', features: { category: 'shipping', tier: 'primary' } },
      { task: 'a' },
      { task: 'b', features: { length: '0-63' } },
    ]);

    // Assess
    expect(counted.get('a')).toEqual({
      items: 4,
      withoutFeatures: 1,
      histograms: { category: { billing: 2, shipping: 1 }, tier: { primary: 2, rules: 1 } },
    });
    expect(counted.get('b')).toEqual({ items: 1, withoutFeatures: 0, histograms: { length: { '0-63': 1 } } });
  });
});

describe('compareFeatures', () => {
  const baseline = { category: histogram(10_000, { billing: 0.3, technical: 0.3, account: 0.2, shipping: 0.2 }) };

  it('scores a large window by its PSI', () => {
    // Prepare: billing doubles to 60% in 2,000 items
    const window = { category: histogram(2000, { billing: 0.6, technical: 0.15, account: 0.15, shipping: 0.1 }) };

    // Act
    const [drift] = compareFeatures(baseline, window, {}, OPTIONS);

    // Assess
    const expected = populationStabilityIndex(baseline.category, window.category, OPTIONS.epsilon).psi;
    expect(drift).toMatchObject({ feature: 'category', ordered: false, smallSample: false, windowItems: 2000, significant: true });
    expect(drift?.score).toBeCloseTo(expected, 12);
    expect(drift?.score).toBeGreaterThan(0.25);
    expect(drift?.test?.test).toBe('chi-squared');
    // Contributions: billing 0.3·ln 2 = 0.208, technical 0.15·ln 2 = 0.104, shipping 0.1·ln 2 = 0.069, account 0.05·ln(4/3) = 0.014
    expect(drift?.movedBins.map((bin) => bin.bin)).toEqual(['billing', 'technical', 'shipping']);
  });

  it('publishes 0 for a small window whose difference the test cannot tell from noise', () => {
    // Prepare: 60 items, nearly the baseline's shares; PSI is noise-sized but not zero
    const window = { category: { billing: 20, technical: 17, account: 12, shipping: 11 } };

    // Act
    const [drift] = compareFeatures(baseline, window, {}, OPTIONS);

    // Assess
    expect(drift?.smallSample).toBe(true);
    expect(drift?.psi).toBeGreaterThan(0);
    expect(drift?.significant).toBe(false);
    expect(drift?.score).toBe(0);
  });

  it('publishes the PSI of a small window when the shift is significant', () => {
    // Prepare: 100 items, all billing
    const window = { category: { billing: 100 } };

    // Act
    const [drift] = compareFeatures(baseline, window, {}, OPTIONS);

    // Assess
    expect(drift).toMatchObject({ smallSample: true, significant: true });
    expect(drift?.score).toBe(drift?.psi);
    expect(drift?.score).toBeGreaterThan(0.25);
  });

  it('tests ordered features with Kolmogorov-Smirnov, in their order', () => {
    // Prepare
    const order = ['low', 'medium', 'high', 'urgent'];
    const orderedBaseline = { priority: histogram(5000, { low: 0.25, medium: 0.4, high: 0.25, urgent: 0.1 }) };
    const window = { priority: { low: 10, medium: 30, high: 40, urgent: 20 } };

    // Act
    const [drift] = compareFeatures(orderedBaseline, window, { priority: order }, OPTIONS);

    // Assess: cumulative 0.25/0.65/0.9 vs 0.1/0.4/0.8 → D = 0.25
    expect(drift?.ordered).toBe(true);
    expect(drift?.test?.test).toBe('kolmogorov-smirnov');
    expect(drift?.test?.statistic).toBeCloseTo(0.25, 12);
  });

  it.each([
    ['too-few-items', baseline, { category: { billing: 49 } }],
    ['not-in-baseline', {}, { category: histogram(500, { billing: 1 }) }],
    ['baseline-too-small', { category: { billing: 10 } }, { category: histogram(500, { billing: 1 }) }],
  ] as const)('leaves a feature unscored when %s', (reason, base, window) => {
    // Act
    const [drift] = compareFeatures(base, window, {}, OPTIONS);

    // Assess
    expect(drift?.unscored).toBe(reason);
    expect(drift?.score).toBeUndefined();
    expect(drift?.psi).toBeNaN();
  });

  it('takes the largest score, ignoring unscored features', () => {
    const features = compareFeatures(
      { a: histogram(1000, { x: 0.5, y: 0.5 }), b: histogram(1000, { x: 0.5, y: 0.5 }) },
      { a: histogram(2000, { x: 0.9, y: 0.1 }), b: { x: 3 } },
      {},
      OPTIONS,
    );
    expect(maxScore(features)).toBeCloseTo(populationStabilityIndex({ x: 500, y: 500 }, { x: 1800, y: 200 }, 1e-4).psi, 12);
    expect(maxScore([])).toBeUndefined();
  });
});

describe('driftMetrics', () => {
  it('publishes each scored feature under service, stage, task and feature, and the maximum under feature=max', () => {
    // Prepare
    const run: DriftRun = {
      at: 1000,
      from: 0,
      to: 1000,
      sample: { items: 600, shardsRead: 16, fraction: 1, truncated: false },
      requests: 16,
      readUnits: 8,
      baselinesPinned: [],
      maxScore: 0.4,
      tasks: [
        {
          task: 'ticket-triage',
          status: 'scored',
          windowItems: 600,
          withoutFeatures: 0,
          maxScore: 0.4,
          features: [
            {
              feature: 'category',
              ordered: false,
              baselineItems: 900,
              windowItems: 600,
              psi: 0.4,
              significant: true,
              smallSample: true,
              score: 0.4,
              movedBins: [],
            },
            {
              feature: 'priority',
              ordered: true,
              baselineItems: 900,
              windowItems: 10,
              psi: Number.NaN,
              significant: false,
              smallSample: true,
              unscored: 'too-few-items',
              movedBins: [],
            },
          ],
        },
      ],
    };

    // Act
    const data = driftMetrics(run, 'dev');

    // Assess
    const base = { [METRIC_DIMENSION.SERVICE]: METRIC_SERVICE.DRIFT_MONITOR, [METRIC_DIMENSION.STAGE]: 'dev' };
    expect(data).toEqual([
      { name: METRIC.DRIFT_SCORE, value: 0.4, unit: 'None', timestamp: 1000, dimensions: { ...base, task: 'ticket-triage', feature: 'category' } },
      { name: METRIC.DRIFT_SCORE, value: 0.4, unit: 'None', timestamp: 1000, dimensions: { ...base, feature: DRIFT_MAX_FEATURE } },
    ]);
  });

  it('publishes nothing when nothing was scored: a quiet window is missing data, not "no drift"', () => {
    const run: DriftRun = {
      at: 1,
      from: 0,
      to: 1,
      sample: { items: 0, shardsRead: 16, fraction: 1, truncated: false },
      requests: 16,
      readUnits: 0,
      tasks: [],
      baselinesPinned: [],
    };
    expect(driftMetrics(run, 'dev')).toEqual([]);
  });
});

describe('firstFullDayAfter', () => {
  it.each([
    ['mid-day', Date.UTC(2026, 10, 23, 14, 30), Date.UTC(2026, 10, 24)],
    ['exactly midnight', Date.UTC(2026, 10, 23), Date.UTC(2026, 10, 24)],
    ['one millisecond before midnight', Date.UTC(2026, 10, 23) - 1, Date.UTC(2026, 10, 23)],
  ])('starts at the next UTC midnight (%s) and lasts a day', (_when, at, from) => {
    expect(firstFullDayAfter(at)).toEqual({ from, to: from + 86_400_000 });
  });
});

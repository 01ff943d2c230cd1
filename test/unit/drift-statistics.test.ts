import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chiSquaredSurvival,
  chiSquaredTest,
  type Histogram,
  kolmogorovSmirnovTest,
  kolmogorovSurvival,
  logGamma,
  populationStabilityIndex,
  regularizedGammaQ,
} from '../../lambda/monitors/statistics';

/*
 * Expected values are worked out by hand below each case (PSI) or, for the distributions' tails,
 * taken from SciPy 1.17 (`scipy.stats.chi2_contingency(table, correction=False)`,
 * `scipy.stats.chi2.sf`, `scipy.stats.kstwobign.sf`), named next to each row. Where a test checks
 * the last digits (relative error ≤ 1e-14 or so), the reference is mpmath at 40 digits
 * (`mpmath.gammainc(a, x, inf, regularized=True)`, `mpmath.loggamma`, `mpmath.erfc`) rounded to
 * the nearest double, because SciPy's own figures can be a few ulps off there.
 */

/** |actual − expected| / |expected|. */
function relativeError(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.abs(expected);
}

/** Histograms over the labels a..e with small counts (some zero), for the property tests. */
const histogramArbitrary = fc.tuple(fc.nat(40), fc.nat(40), fc.nat(40), fc.nat(40), fc.nat(40)).map(([a, b, c, d, e]): Histogram => ({ a, b, c, d, e }));
const nonEmptyHistogram = histogramArbitrary.filter((histogram) => Object.values(histogram).some((count) => count > 0));

const EPSILON = 1e-4;

describe('populationStabilityIndex', () => {
  it.each<[string, Histogram, Histogram, number]>([
    // Same shares: every term is 0.
    ['identical distributions', { a: 50, b: 50 }, { a: 50, b: 50 }, 0],
    // Same shares, different sizes: PSI compares shares, not counts.
    ['same shares at another size', { a: 50, b: 50 }, { a: 9, b: 9 }, 0],
    // (0.9 − 0.5)·ln(0.9/0.5) + (0.1 − 0.5)·ln(0.1/0.5) = 0.4·0.587787 + 0.4·1.609438
    ['a major shift between two bins', { a: 50, b: 50 }, { a: 90, b: 10 }, 0.87889],
    // (0.3 − 0.2)·ln(1.5) + 0 + (0.4 − 0.5)·ln(0.8) = 0.040547 + 0.022314
    ['a mild shift over three bins', { x: 20, y: 30, z: 50 }, { x: 30, y: 30, z: 40 }, 0.062861],
    // b is empty in the window: its share is floored at ε = 1e-4.
    // (1 − 0.5)·ln(2) + (1e-4 − 0.5)·ln(1e-4/0.5) = 0.346574 + 0.4999·8.517193
    ['an empty bin in the window', { a: 50, b: 50 }, { a: 100 }, 4.604318],
    // c never occurred in the baseline: floored at ε.
    // (0.9 − 1)·ln(0.9) + (0.1 − 1e-4)·ln(0.1/1e-4) = 0.010536 + 0.0999·6.907755
    ['a bin new in the window', { a: 100 }, { a: 90, c: 10 }, 0.700621],
    // One item each, in different bins: 2·(1 − 1e-4)·ln(1/1e-4) = 2·0.9999·9.210340
    ['the tiniest samples, disjoint', { a: 1 }, { b: 1 }, 18.418839],
  ])('%s', (_name, baseline, window, expected) => {
    // Act
    const { psi } = populationStabilityIndex(baseline, window, EPSILON);

    // Assess
    expect(psi).toBeCloseTo(expected, 5);
  });

  it('uses epsilon as the floor of an empty share', () => {
    // (1 − 0.5)·ln(2) + (0.01 − 0.5)·ln(0.01/0.5) = 0.346574 + 0.49·3.912023
    expect(populationStabilityIndex({ a: 50, b: 50 }, { a: 100 }, 0.01).psi).toBeCloseTo(2.263465, 5);
  });

  it('reports each bin with its floored shares and its part of the index', () => {
    // Act
    const { psi, bins } = populationStabilityIndex({ a: 50, b: 50 }, { a: 90, b: 10 }, EPSILON);

    // Assess
    expect(bins.map((bin) => bin.bin)).toEqual(['a', 'b']);
    expect(bins[0]).toMatchObject({ expected: 0.5, actual: 0.9 });
    expect(bins[1]?.contribution).toBeCloseTo(0.4 * Math.log(5), 9);
    expect(bins.reduce((sum, bin) => sum + bin.contribution, 0)).toBeCloseTo(psi, 12);
  });

  it('ignores bins with no items on either side', () => {
    expect(populationStabilityIndex({ a: 5, b: 0 }, { a: 7, b: 0 }, EPSILON).bins.map((bin) => bin.bin)).toEqual(['a']);
  });

  it.each<[string, Histogram, Histogram]>([
    ['an empty baseline', {}, { a: 1 }],
    ['an empty window', { a: 1 }, { a: 0 }],
  ])('refuses %s', (_name, baseline, window) => {
    expect(() => populationStabilityIndex(baseline, window, EPSILON)).toThrow(new RangeError('PSI needs items on both sides'));
  });

  it.each([0, -0.1, 1, 1.5, Number.NaN])('refuses epsilon %d (it must lie strictly between 0 and 1)', (epsilon) => {
    expect(() => populationStabilityIndex({ a: 1, b: 1 }, { a: 1 }, epsilon)).toThrow(new RangeError(`epsilon must be in (0, 1), got ${epsilon}`));
  });

  it('accepts an epsilon just inside (0, 1)', () => {
    // ε = 0.9 floors every share but the window's a (1): only a differs, (1 − 0.9)·ln(1/0.9) = 0.1·0.105361
    expect(populationStabilityIndex({ a: 1, b: 1 }, { a: 1 }, 0.9).psi).toBeCloseTo(0.0105361, 6);
    // ε = 1e-12: (1 − 0.5)·ln(2) + (1e-12 − 0.5)·ln(1e-12/0.5) = 0.346574 + 0.5·26.937874 (to 1e-11)
    expect(populationStabilityIndex({ a: 1, b: 1 }, { a: 1 }, 1e-12).psi).toBeCloseTo(0.346574 + 13.468937, 5);
  });

  it('is symmetric and never negative (property, fixed seed)', () => {
    fc.assert(
      fc.property(nonEmptyHistogram, nonEmptyHistogram, (baseline, window) => {
        const forward = populationStabilityIndex(baseline, window, EPSILON);
        const backward = populationStabilityIndex(window, baseline, EPSILON);
        expect(forward.psi).toBeGreaterThanOrEqual(0);
        expect(backward.psi).toBeCloseTo(forward.psi, 9);
        for (const bin of forward.bins) expect(bin.contribution).toBeGreaterThanOrEqual(0);
      }),
      { seed: 20_261_203, numRuns: 100 },
    );
  });
});

describe('chiSquaredTest (homogeneity, 2 × k)', () => {
  it.each<[string, Histogram, Histogram, number, number, number]>([
    // E = 70 and 30 in each row: 2·(20²/70) + 2·(20²/30) = 11.428571 + 26.666667
    ['a major shift', { a: 50, b: 50 }, { a: 90, b: 10 }, 38.095238, 1, 6.73743601893275e-10],
    ['a mild shift, not significant', { x: 20, y: 30, z: 50 }, { x: 30, y: 30, z: 40 }, 3.111111, 2, 0.21107208779109024],
    ['one bin doubles in a small sample', { a: 10, b: 10, c: 10 }, { a: 5, b: 5, c: 20 }, 6.666667, 2, 0.035673993347252395],
    ['tiny samples', { a: 3, b: 2 }, { a: 1, b: 4 }, 1.666667, 1, 0.1967056024589432],
    ['no difference', { a: 40, b: 60 }, { a: 40, b: 60 }, 0, 1, 1],
  ])('%s', (_name, baseline, window, statistic, degreesOfFreedom, pValue) => {
    // Act
    const result = chiSquaredTest(baseline, window);

    // Assess (SciPy: chi2_contingency(table, correction=False))
    expect(result.test).toBe('chi-squared');
    expect(result.statistic).toBeCloseTo(statistic, 5);
    expect(result.degreesOfFreedom).toBe(degreesOfFreedom);
    expect(result.pValue).toBeCloseTo(pValue, 9);
    expect(Math.abs(result.pValue - pValue) / Math.max(pValue, 1e-300)).toBeLessThan(1e-6);
  });

  it('counts a bin empty on one side (no epsilon needed) and leaves out bins empty on both', () => {
    // A new category c in the window: table [[10, 10, 0], [10, 10, 10]], df 2.
    const result = chiSquaredTest({ a: 10, b: 10, c: 0, d: 0 }, { a: 10, b: 10, c: 10 });
    expect(result.degreesOfFreedom).toBe(2);
    // E(baseline, c) = 20·10/50 = 4, E(window, c) = 6; a and b: E 8 / 12. 2·(2²/8) + 2·(2²/12) + 4²/4 + 4²/6
    expect(result.statistic).toBeCloseTo(1 + 0.666667 + 4 + 2.666667, 5);
  });

  it('has nothing to test with a single bin', () => {
    expect(chiSquaredTest({ a: 3 }, { a: 9 })).toEqual({ test: 'chi-squared', statistic: 0, degreesOfFreedom: 0, pValue: 1 });
  });

  it('reports exactly 0 for a single bin of fractional (weighted) counts', () => {
    // Worked through, the 2 × 1 table would give E(baseline) = 0.1·3.1/3.1 = 0.10000000000000002 in
    // doubles and a statistic of ~4e-32 where there is nothing to measure: a single bin is 0.
    expect(chiSquaredTest({ a: 0.1 }, { a: 3 })).toEqual({ test: 'chi-squared', statistic: 0, degreesOfFreedom: 0, pValue: 1 });
  });

  it.each<[string, Histogram, Histogram]>([
    ['an empty baseline', {}, { a: 4, b: 6 }],
    ['a baseline of zero counts', { a: 0, b: 0 }, { a: 4, b: 6 }],
    ['an empty window', { a: 4, b: 6 }, {}],
    ['an empty baseline and a one-bin window', {}, { a: 5 }],
    ['two empty sides', {}, {}],
  ])('has nothing to test with %s (no NaN from an expected count of 0)', (_name, baseline, window) => {
    expect(chiSquaredTest(baseline, window)).toEqual({ test: 'chi-squared', statistic: 0, degreesOfFreedom: 0, pValue: 1 });
  });

  it('is symmetric in its two samples, with p in [0, 1] (property, fixed seed)', () => {
    fc.assert(
      fc.property(nonEmptyHistogram, nonEmptyHistogram, (baseline, window) => {
        const forward = chiSquaredTest(baseline, window);
        const backward = chiSquaredTest(window, baseline);
        expect(forward.statistic).toBeGreaterThanOrEqual(0);
        expect(backward.statistic).toBeCloseTo(forward.statistic, 9);
        expect(backward.degreesOfFreedom).toBe(forward.degreesOfFreedom);
        expect(forward.pValue).toBeGreaterThanOrEqual(0);
        expect(forward.pValue).toBeLessThanOrEqual(1);
      }),
      { seed: 20_261_203, numRuns: 100 },
    );
  });
});

describe('kolmogorovSmirnovTest (ordered bins)', () => {
  const quartiles = ['1', '2', '3', '4'];

  it.each<[string, Histogram, Histogram, readonly string[], number, number]>([
    // Cumulative 0.1/0.3/0.6/1 vs 0.4/0.7/0.9/1: D = 0.4; n_e = 50 (SciPy kstwobign.sf(√50·0.4))
    ['a reversed distribution', { 1: 10, 2: 20, 3: 30, 4: 40 }, { 1: 40, 2: 30, 3: 20, 4: 10 }, quartiles, 0.4, 2.2507034943851744e-7],
    ['a small wobble', { 1: 25, 2: 25, 3: 25, 4: 25 }, { 1: 20, 2: 30, 3: 25, 4: 25 }, quartiles, 0.05, 0.9996332921577278],
    // D = |0.5 − 0.2| = 0.3; n_e = 5 (kstwobign.sf(√5·0.3))
    ['tiny samples', { lo: 5, hi: 5 }, { lo: 2, hi: 8 }, ['lo', 'hi'], 0.3, 0.7590978384203948],
    ['a shift toward one end', { lo: 30, mid: 40, hi: 30 }, { lo: 20, mid: 45, hi: 35 }, ['lo', 'mid', 'hi'], 0.1, 0.6993741991310154],
  ])('%s', (_name, baseline, window, order, statistic, pValue) => {
    // Act
    const result = kolmogorovSmirnovTest(baseline, window, order);

    // Assess
    expect(result.test).toBe('kolmogorov-smirnov');
    expect(result.statistic).toBeCloseTo(statistic, 12);
    expect(result.pValue).toBeCloseTo(pValue, 9);
    expect(Math.abs(result.pValue - pValue) / pValue).toBeLessThan(1e-6);
  });

  it('reads the order from the feature, not from the labels', () => {
    // The window moved everything into b. With b between a and c the cumulative gap peaks at 0.5
    // (0.5/0.5/1 vs 0/1/1); with b first it is 1 (0/0.5/1 vs 1/1/1).
    const baseline = { a: 5, b: 0, c: 5 };
    const window = { a: 0, b: 10, c: 0 };
    expect(kolmogorovSmirnovTest(baseline, window, ['a', 'b', 'c']).statistic).toBeCloseTo(0.5, 12);
    expect(kolmogorovSmirnovTest(baseline, window, ['b', 'a', 'c']).statistic).toBeCloseTo(1, 12);
  });

  it('puts labels the order does not know after the known ones', () => {
    // Cumulative over [lo, hi, new]: 1/1/1 vs 0.5/0.5/1 → D = 0.5
    expect(kolmogorovSmirnovTest({ lo: 4 }, { lo: 2, new: 2 }, ['lo', 'hi']).statistic).toBeCloseTo(0.5, 12);
  });

  it('counts the gap at a label the order does not know', () => {
    // The only difference lies in the unknown labels. Over [lo, x, y]: 0.5/0.5/1 vs 0.5/1/1 → D = 0.5
    // (leaving x and y out would hide it: D = 0).
    expect(kolmogorovSmirnovTest({ lo: 1, y: 1 }, { lo: 1, x: 1 }, ['lo']).statistic).toBeCloseTo(0.5, 12);
  });

  it('sorts the unknown labels rather than keeping them in first-seen order', () => {
    // First seen: y (baseline), then x (window). Sorted, over [lo, x, y]: 0.75/0.75/1 vs 0.25/1/1
    // → gaps 0.5, 0.25, 0 → D = 0.5. In first-seen order [lo, y, x] it would be 0.75 (1 vs 0.25).
    expect(kolmogorovSmirnovTest({ lo: 3, y: 1 }, { lo: 1, x: 3 }, ['lo']).statistic).toBeCloseTo(0.5, 12);
  });

  it.each<[string, Histogram, Histogram]>([
    ['an empty baseline', {}, { lo: 3, hi: 1 }],
    ['an empty window', { lo: 3, hi: 1 }, { lo: 0 }],
    ['two empty sides', {}, {}],
  ])('has nothing to test with %s (no NaN from a share of 0/0)', (_name, baseline, window) => {
    expect(kolmogorovSmirnovTest(baseline, window, ['lo', 'hi'])).toEqual({ test: 'kolmogorov-smirnov', statistic: 0, pValue: 1 });
  });

  it('has D in [0, 1], symmetric in its two samples (property, fixed seed)', () => {
    fc.assert(
      fc.property(nonEmptyHistogram, nonEmptyHistogram, (baseline, window) => {
        const order = ['a', 'b', 'c', 'd', 'e'];
        const forward = kolmogorovSmirnovTest(baseline, window, order);
        const backward = kolmogorovSmirnovTest(window, baseline, order);
        expect(forward.statistic).toBeGreaterThanOrEqual(0);
        expect(forward.statistic).toBeLessThanOrEqual(1 + 1e-12);
        expect(backward.statistic).toBeCloseTo(forward.statistic, 12);
        expect(backward.pValue).toBeCloseTo(forward.pValue, 12);
      }),
      { seed: 20_261_203, numRuns: 100 },
    );
  });
});

describe('distribution tails', () => {
  it.each<[number, number, number]>([
    // SciPy: chi2.sf(x, df)
    [3.84, 1, 0.05004352124870519],
    [10, 5, 0.07523524614651217],
    [0.5, 3, 0.9188914116546758],
    [50, 20, 0.0002214766382487835],
    [1, 10, 0.9998278843700441],
  ])('chi-squared survival at %d with %d degrees of freedom', (x, degreesOfFreedom, expected) => {
    expect(Math.abs(chiSquaredSurvival(x, degreesOfFreedom) - expected) / expected).toBeLessThan(1e-9);
  });

  it.each<[number, number]>([
    // SciPy: kstwobign.sf(λ), both sides of the series switch at 1.18
    [0.2, 0.999999999999495],
    [0.5, 0.9639452436648751],
    [1.0, 0.26999967167735456],
    [1.36, 0.049485876755377876],
    [2.0, 0.0006709252557796953],
  ])('Kolmogorov survival at λ = %d', (lambda, expected) => {
    expect(Math.abs(kolmogorovSurvival(lambda) - expected) / expected).toBeLessThan(1e-9);
  });
});

describe('distribution tails: edges and precision', () => {
  it.each<[number, number]>([
    [3, 0],
    [3, -1],
    [0, 0],
  ])('chi-squared survival at %d with %d degrees of freedom is 1 (no distribution to test)', (x, degreesOfFreedom) => {
    expect(chiSquaredSurvival(x, degreesOfFreedom)).toBe(1);
  });

  it.each([0, -0, -2.5])('chi-squared survival at x = %d is 1 (a statistic is never negative)', (x) => {
    expect(chiSquaredSurvival(x, 3)).toBe(1);
  });

  it.each<[number, number, number, number]>([
    // Q(2, 1) = e^(−1)·(1 + 1) = 2/e (chi2.sf(2, 4)); x = a − 1, where the continued fraction's
    // first denominator x + 1 − a is 0: the series must take it.
    [2, 1, 0.7357588823428847, 1e-14],
    // Q(0.5, 1e-6) = erfc(1e-3) (chi2.sf(2e-6, 1)): far below a + 1, the series' home ground.
    [0.5, 1e-6, 0.9988716212090307, 1e-14],
    // Q(0.5, 1.5) = erfc(√1.5) (chi2.sf(3, 1)) = 0.083264516663550401855 (mpmath): at x = a + 1 the
    // continued fraction keeps all 15 digits; 1 − (series) would lose one to cancellation (~1e-14).
    [0.5, 1.5, 0.0832645166635504, 2e-15],
    // Q(1, 100) = e^(−100) (chi2.sf(200, 2)): a tail that 1 − P cannot reach at all.
    [1, 100, 3.720075976020836e-44, 1e-12],
    // Q(0.5, 50) = erfc(√50) (chi2.sf(100, 1)), mpmath.
    [0.5, 50, 1.523970604832105e-23, 1e-12],
  ])('regularized upper gamma Q(%d, %d)', (a, x, expected, tolerance) => {
    expect(relativeError(regularizedGammaQ(a, x), expected)).toBeLessThan(tolerance);
  });

  it.each([0, -0, -1, -100])('regularized upper gamma Q(a, %d) is 1: P(X ≥ x) for x ≤ 0', (x) => {
    expect(regularizedGammaQ(2, x)).toBe(1);
    expect(regularizedGammaQ(0.5, x)).toBe(1);
  });

  it('chi-squared survival falls with x and rises with the degrees of freedom (property, fixed seed)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 80, noNaN: true }),
        fc.double({ min: 0.01, max: 20, noNaN: true }),
        fc.integer({ min: 1, max: 30 }),
        (x, step, degreesOfFreedom) => {
          const here = chiSquaredSurvival(x, degreesOfFreedom);
          expect(here).toBeGreaterThanOrEqual(0);
          expect(here).toBeLessThanOrEqual(1);
          expect(chiSquaredSurvival(x + step, degreesOfFreedom)).toBeLessThanOrEqual(here + 1e-15);
          expect(chiSquaredSurvival(x, degreesOfFreedom + 1)).toBeGreaterThanOrEqual(here - 1e-15);
        },
      ),
      { seed: 20_261_203, numRuns: 200 },
    );
  });

  it.each<[number, number]>([
    // mpmath loggamma; below 0.5 by reflection: ln Γ(x) = ln(π / sin πx) − ln Γ(1 − x)
    [1e-6, 13.815509980749432],
    [0.1, 2.252712651734206],
    [0.25, 1.2880225246980774],
    [0.5, 0.5723649429247001],
    // ln 9! = ln 362880
    [10, 12.801827480081469],
  ])('ln Γ(%d)', (x, expected) => {
    expect(relativeError(logGamma(x), expected)).toBeLessThan(1e-14);
  });

  it('ln Γ(1) = ln Γ(2) = 0', () => {
    expect(Math.abs(logGamma(1))).toBeLessThan(1e-15);
    expect(Math.abs(logGamma(2))).toBeLessThan(1e-15);
  });

  it.each([0, -0, -1, Number.NaN])('Kolmogorov survival at λ = %d is 1 (no gap at all)', (lambda) => {
    expect(kolmogorovSurvival(lambda)).toBe(1);
  });

  it.each([0.01, 0.05])('Kolmogorov survival at λ = %d is 1 to double precision', (lambda) => {
    // 1 − √(2π)/λ · e^(−π²/(8λ²)) ≥ 1 − 1e-212: rounds to exactly 1. (The alternating series
    // 2 Σ (−1)^(j−1) e^(−2j²λ²) needs over 400 terms at λ = 0.01 and misses 1 by ulps at 0.05.)
    expect(kolmogorovSurvival(lambda)).toBe(1);
  });

  it.each<[number, number]>([
    // SciPy kstwobign.sf(λ), equal to mpmath's 2 Σ (−1)^(j−1) e^(−2j²λ²) to the last digit. Far in
    // the tail, where 1 − (small-λ series) would be all rounding error.
    [3, 3.045995948942526e-8],
    [4, 2.532833109818835e-14],
    [6, 1.0760372320042276e-31],
  ])('Kolmogorov survival deep in the tail, λ = %d', (lambda, expected) => {
    expect(relativeError(kolmogorovSurvival(lambda), expected)).toBeLessThan(1e-12);
  });

  it('Kolmogorov survival falls with λ, across the switch of series at 1.18 (property, fixed seed)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 5, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (lambda, step) => {
        const here = kolmogorovSurvival(lambda);
        expect(here).toBeGreaterThanOrEqual(0);
        expect(here).toBeLessThanOrEqual(1);
        expect(kolmogorovSurvival(lambda + step)).toBeLessThanOrEqual(here + 1e-15);
      }),
      { seed: 20_261_203, numRuns: 200 },
    );
    // Both sides of the switch agree with kstwobign.sf(1.18) = 0.12345380942976572 (mpmath).
    expect(relativeError(kolmogorovSurvival(1.18 - 1e-12), 0.12345380942976572)).toBeLessThan(1e-11);
    expect(relativeError(kolmogorovSurvival(1.18), 0.12345380942976572)).toBeLessThan(1e-15);
  });
});

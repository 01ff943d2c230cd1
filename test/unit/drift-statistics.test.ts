import { describe, expect, it } from 'vitest';
import {
  chiSquaredSurvival,
  chiSquaredTest,
  type Histogram,
  kolmogorovSmirnovTest,
  kolmogorovSurvival,
  populationStabilityIndex,
} from '../../lambda/monitors/statistics';

/*
 * Expected values are worked out by hand below each case (PSI) or, for the distributions' tails,
 * taken from SciPy 1.17 (`scipy.stats.chi2_contingency(table, correction=False)`,
 * `scipy.stats.chi2.sf`, `scipy.stats.kstwobign.sf`), named next to each row.
 */

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
    expect(() => populationStabilityIndex(baseline, window, EPSILON)).toThrow(RangeError);
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
    expect(chiSquaredTest({ a: 3 }, { a: 9 })).toMatchObject({ statistic: 0, pValue: 1 });
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

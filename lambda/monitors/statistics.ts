/**
 * The statistics of the drift monitor: the population stability index (PSI) of a feature's bin
 * counts against a baseline's, and, for small samples, a significance test of the difference —
 * Pearson's chi-squared test of homogeneity for unordered bins, the two-sample Kolmogorov-Smirnov
 * test for ordered ones.
 *
 * Written here rather than taken from a library: the project's dependency set has no maintained
 * statistics package (jStat and simple-statistics are not in it, and neither offers PSI), and the
 * two distributions needed — the chi-squared and the Kolmogorov survival functions — are a few
 * dozen lines of textbook numerics (Numerical Recipes, 3rd ed., §6.2 and §6.14), checked against
 * SciPy's values in test/unit/drift-statistics.test.ts.
 */

/** Counts per bin label. */
export type Histogram = Readonly<Record<string, number>>;

/** One bin of a PSI comparison. */
export interface PsiBin {
  readonly bin: string;
  /** Share of the baseline in this bin, floored at epsilon. */
  readonly expected: number;
  /** Share of the window in this bin, floored at epsilon. */
  readonly actual: number;
  /** (actual − expected) × ln(actual / expected): this bin's part of the PSI (never negative). */
  readonly contribution: number;
}

export interface PsiResult {
  readonly psi: number;
  /** Every bin that has items in the baseline or the window, in first-seen order. */
  readonly bins: readonly PsiBin[];
}

/** The total of a histogram's counts. */
export function total(histogram: Histogram): number {
  let sum = 0;
  for (const count of Object.values(histogram)) sum += count;
  return sum;
}

/** Bins with items on either side, baseline's first, in first-seen order. */
function binsOf(baseline: Histogram, window: Histogram): string[] {
  const bins = new Set<string>();
  for (const histogram of [baseline, window]) {
    for (const [bin, count] of Object.entries(histogram)) if (count > 0) bins.add(bin);
  }
  return [...bins];
}

/**
 * Population stability index: Σ (a − e) · ln(a / e) over the bins, where e and a are the
 * baseline's and the window's shares of each bin. A share of 0 (a bin empty on one side) would
 * make the term infinite, so every share is floored at `epsilon` ("epsilon smoothing"); the
 * floored shares are not renormalised, as is the common practice, so a value here can be checked
 * by hand. Rules of thumb: < 0.1 stable, 0.1–0.25 a moderate shift, > 0.25 a major one.
 *
 * @throws {RangeError} when either side has no items (there is no distribution to compare).
 * @example
 * populationStabilityIndex({ a: 50, b: 50 }, { a: 90, b: 10 }, 1e-4).psi // 0.8789 (hand-computed in the tests)
 */
export function populationStabilityIndex(baseline: Histogram, window: Histogram, epsilon: number): PsiResult {
  const baselineTotal = total(baseline);
  const windowTotal = total(window);
  if (!(baselineTotal > 0) || !(windowTotal > 0)) throw new RangeError('PSI needs items on both sides');
  if (!(epsilon > 0 && epsilon < 1)) throw new RangeError(`epsilon must be in (0, 1), got ${epsilon}`);
  let psi = 0;
  const bins = binsOf(baseline, window).map((bin) => {
    const expected = Math.max((baseline[bin] ?? 0) / baselineTotal, epsilon);
    const actual = Math.max((window[bin] ?? 0) / windowTotal, epsilon);
    const contribution = (actual - expected) * Math.log(actual / expected);
    psi += contribution;
    return { bin, expected, actual, contribution };
  });
  return { psi, bins };
}

/** The outcome of a significance test. */
export interface TestResult {
  readonly test: 'chi-squared' | 'kolmogorov-smirnov';
  readonly statistic: number;
  /** Degrees of freedom (chi-squared only). */
  readonly degreesOfFreedom?: number;
  /** Probability of a difference at least this large if both samples came from one distribution. */
  readonly pValue: number;
}

/**
 * Pearson's chi-squared test of homogeneity on the 2 × k table (baseline, window) × bins: are the
 * two samples drawn from one distribution? Bins empty on both sides are left out; df = k − 1.
 * Expected counts below 5 make the approximation rough (Cochran's rule), which is why the drift
 * monitor publishes no score at all below its minimum sample size.
 */
export function chiSquaredTest(baseline: Histogram, window: Histogram): TestResult {
  const bins = binsOf(baseline, window);
  const baselineTotal = total(baseline);
  const windowTotal = total(window);
  const grandTotal = baselineTotal + windowTotal;
  if (bins.length < 2 || baselineTotal === 0 || windowTotal === 0) {
    return { test: 'chi-squared', statistic: 0, degreesOfFreedom: 0, pValue: 1 };
  }
  let statistic = 0;
  for (const bin of bins) {
    const observedBaseline = baseline[bin] ?? 0;
    const observedWindow = window[bin] ?? 0;
    const binTotal = observedBaseline + observedWindow;
    const expectedBaseline = (baselineTotal * binTotal) / grandTotal;
    const expectedWindow = (windowTotal * binTotal) / grandTotal;
    statistic += (observedBaseline - expectedBaseline) ** 2 / expectedBaseline + (observedWindow - expectedWindow) ** 2 / expectedWindow;
  }
  const degreesOfFreedom = bins.length - 1;
  return { test: 'chi-squared', statistic, degreesOfFreedom, pValue: chiSquaredSurvival(statistic, degreesOfFreedom) };
}

/**
 * The two-sample Kolmogorov-Smirnov test on ordered bins: D is the largest gap between the two
 * cumulative distributions at a bin boundary; p is the asymptotic Kolmogorov survival function at
 * √(n·m / (n + m)) · D (SciPy: `kstwobign.sf(sqrt(n*m/(n+m)) * D)`). Binned data has ties, which
 * make this p conservative (too large), never too small: it does not raise false alarms.
 *
 * @param order the feature's labels in order; labels not in it (new values) come after, sorted.
 */
export function kolmogorovSmirnovTest(baseline: Histogram, window: Histogram, order: readonly string[]): TestResult {
  const baselineTotal = total(baseline);
  const windowTotal = total(window);
  if (baselineTotal === 0 || windowTotal === 0) return { test: 'kolmogorov-smirnov', statistic: 0, pValue: 1 };
  const known = new Set(order);
  const extra = binsOf(baseline, window)
    .filter((bin) => !known.has(bin))
    .sort();
  let cumulativeBaseline = 0;
  let cumulativeWindow = 0;
  let statistic = 0;
  for (const bin of [...order, ...extra]) {
    cumulativeBaseline += (baseline[bin] ?? 0) / baselineTotal;
    cumulativeWindow += (window[bin] ?? 0) / windowTotal;
    statistic = Math.max(statistic, Math.abs(cumulativeBaseline - cumulativeWindow));
  }
  const effectiveSize = (baselineTotal * windowTotal) / (baselineTotal + windowTotal);
  return { test: 'kolmogorov-smirnov', statistic, pValue: kolmogorovSurvival(Math.sqrt(effectiveSize) * statistic) };
}

/** P(X ≥ x) for X ~ χ²(df): the regularized upper incomplete gamma function Q(df/2, x/2). */
export function chiSquaredSurvival(x: number, degreesOfFreedom: number): number {
  if (degreesOfFreedom <= 0) return 1;
  if (x <= 0) return 1;
  return regularizedGammaQ(degreesOfFreedom / 2, x / 2);
}

/**
 * P(K > λ) for the Kolmogorov distribution: 2 Σ (−1)^(j−1) e^(−2 j² λ²), which converges fast for
 * λ ≥ 1.18; below that, 1 − √(2π)/λ Σ e^(−(2j−1)² π² / (8 λ²)), which converges fast there.
 */
export function kolmogorovSurvival(lambda: number): number {
  if (!(lambda > 0)) return 1;
  if (lambda < 1.18) {
    const factor = -(Math.PI ** 2) / (8 * lambda * lambda);
    let sum = 0;
    for (let j = 1; j <= 20; j += 1) sum += Math.exp(factor * (2 * j - 1) ** 2);
    return clamp01(1 - (Math.sqrt(2 * Math.PI) / lambda) * sum);
  }
  let sum = 0;
  for (let j = 1; j <= 100; j += 1) {
    const term = Math.exp(-2 * j * j * lambda * lambda);
    sum += j % 2 === 1 ? term : -term;
    if (term < 1e-17) break;
  }
  return clamp01(2 * sum);
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9: about 15 significant digits). */
export function logGamma(x: number): number {
  const coefficients = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const shifted = x - 1;
  let sum = coefficients[0] as number;
  for (let index = 1; index < coefficients.length; index += 1) sum += (coefficients[index] as number) / (shifted + index);
  const t = shifted + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (shifted + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Q(a, x) = Γ(a, x) / Γ(a): a series below x = a + 1, a continued fraction (modified Lentz) above. */
export function regularizedGammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const logPrefix = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 500; n += 1) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return clamp01(1 - sum * Math.exp(logPrefix));
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 500; i += 1) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return clamp01(Math.exp(logPrefix) * h);
}

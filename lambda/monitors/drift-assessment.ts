import { MODEL_TIERS, SERVING_TIER_FEATURE } from '../contract';
import { chiSquaredTest, type Histogram, kolmogorovSmirnovTest, type PsiBin, populationStabilityIndex, type TestResult, total } from './statistics';

/** Bin counts per feature: feature → bin label → count. */
export type FeatureHistograms = Record<string, Record<string, number>>;

/** One task's counted items. */
export interface TaskHistograms {
  /** Items of the task counted. */
  items: number;
  /** Items that carried no features (a task without `features`, or a feature function that threw). */
  withoutFeatures: number;
  histograms: FeatureHistograms;
}

/** Counts items' features per task, in one pass. */
export function countFeatures(items: Iterable<{ readonly task: string; readonly features?: Readonly<Record<string, string>> }>): Map<string, TaskHistograms> {
  const byTask = new Map<string, TaskHistograms>();
  for (const item of items) {
    let counted = byTask.get(item.task);
    if (!counted) {
      counted = { items: 0, withoutFeatures: 0, histograms: {} };
      byTask.set(item.task, counted);
    }
    counted.items += 1;
    if (!item.features) {
      counted.withoutFeatures += 1;
      continue;
    }
    // The serving tier is counted on every item: it is the serving mix. Every other feature only
    // on what a model served, so an outage that moves serving to the rules tier (whose answers
    // are distributed differently) shows as a serving-mix shift, not as drift of the answers.
    const tier = item.features[SERVING_TIER_FEATURE];
    const modelServed = tier === undefined || MODEL_TIERS.includes(tier);
    for (const [feature, bin] of Object.entries(item.features)) {
      if (feature !== SERVING_TIER_FEATURE && !modelServed) continue;
      const histogram = (counted.histograms[feature] ??= {});
      histogram[bin] = (histogram[bin] ?? 0) + 1;
    }
  }
  return byTask;
}

/** How features are compared. Defaults live in the stage config (`drift`). */
export interface DriftOptions {
  readonly epsilon: number;
  readonly minSampleSize: number;
  readonly smallSampleSize: number;
  readonly significanceLevel: number;
}

/** Why a feature got no score. */
export type UnscoredReason = 'too-few-items' | 'not-in-baseline' | 'baseline-too-small';

/** The comparison of one feature's window with its baseline. */
export interface FeatureDrift {
  readonly feature: string;
  readonly ordered: boolean;
  readonly baselineItems: number;
  readonly windowItems: number;
  /** The population stability index (NaN when unscored for lack of data). */
  readonly psi: number;
  /** Chi-squared for unordered bins, Kolmogorov-Smirnov for ordered ones. */
  readonly test?: TestResult;
  readonly significant: boolean;
  /** The window is below `smallSampleSize`: the score counts only if the test is significant. */
  readonly smallSample: boolean;
  /** What is published as `DriftScore`: the PSI, or 0 for a small sample's insignificant difference; undefined when unscored. */
  readonly score?: number;
  readonly unscored?: UnscoredReason;
  /** The bins that moved most (largest share of the PSI first), at most three. */
  readonly movedBins: readonly PsiBin[];
}

/**
 * Compares each feature of a window with the baseline:
 * - fewer than `minSampleSize` items (in the window or the baseline): no score at all;
 * - fewer than `smallSampleSize` in the window: the PSI is the score only when the test finds the
 *   difference significant at `significanceLevel`, else the score is 0 — with a few hundred items
 *   PSI's noise alone is (bins − 1) × (1/n + 1/m) or so, enough to cross 0.1 with ten bins;
 * - otherwise the PSI is the score (with thousands of items every test is significant; PSI's
 *   magnitude is what says whether the shift matters).
 */
export function compareFeatures(
  baseline: FeatureHistograms,
  window: FeatureHistograms,
  orderedFeatures: Readonly<Record<string, readonly string[]>>,
  options: DriftOptions,
): FeatureDrift[] {
  const features = [...new Set([...Object.keys(window), ...Object.keys(baseline)])].sort();
  return features.map((feature) => {
    const order = Object.hasOwn(orderedFeatures, feature) ? orderedFeatures[feature] : undefined;
    const baselineHistogram: Histogram = baseline[feature] ?? {};
    const windowHistogram: Histogram = window[feature] ?? {};
    const baselineItems = total(baselineHistogram);
    const windowItems = total(windowHistogram);
    const unscored = (reason: UnscoredReason): FeatureDrift => ({
      feature,
      ordered: Boolean(order),
      baselineItems,
      windowItems,
      psi: Number.NaN,
      significant: false,
      smallSample: windowItems < options.smallSampleSize,
      unscored: reason,
      movedBins: [],
    });
    if (baselineItems === 0) return unscored('not-in-baseline');
    if (baselineItems < options.minSampleSize) return unscored('baseline-too-small');
    if (windowItems < options.minSampleSize) return unscored('too-few-items');

    const { psi, bins } = populationStabilityIndex(baselineHistogram, windowHistogram, options.epsilon);
    const test = order ? kolmogorovSmirnovTest(baselineHistogram, windowHistogram, order) : chiSquaredTest(baselineHistogram, windowHistogram);
    const significant = test.pValue < options.significanceLevel;
    const smallSample = windowItems < options.smallSampleSize;
    return {
      feature,
      ordered: Boolean(order),
      baselineItems,
      windowItems,
      psi,
      test,
      significant,
      smallSample,
      score: smallSample && !significant ? 0 : psi,
      movedBins: [...bins].sort((a, b) => b.contribution - a.contribution).slice(0, 3),
    };
  });
}

/** The largest score of a list of feature comparisons (undefined when none was scored). */
export function maxScore(features: readonly FeatureDrift[]): number | undefined {
  let max: number | undefined;
  for (const feature of features) {
    // The serving mix is its own signal (DRIFT_SERVING_MIX_FEATURE), not data or model drift.
    if (feature.feature === SERVING_TIER_FEATURE) continue;
    if (feature.score !== undefined && (max === undefined || feature.score > max)) max = feature.score;
  }
  return max;
}

/** The serving tier's score among a task's features, if it was scored. */
export function servingMixScore(features: readonly FeatureDrift[]): number | undefined {
  return features.find((feature) => feature.feature === SERVING_TIER_FEATURE)?.score;
}

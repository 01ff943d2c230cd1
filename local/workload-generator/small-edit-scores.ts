/**
 * Precision and recall of the small-edit rule (reuse the entity's last decision when the MinHash
 * similarity reaches the threshold) on a labelled set. Run as a script to print the table that
 * docs/entity-loops.md quotes:
 *
 * ```
 * npx tsx local/workload-generator/small-edit-scores.ts [pairs=1000] [seed=16]
 * ```
 */
import { signatureOf, similarity } from '../../lambda/resilience/text-similarity';
import { type LabelledPair, labelledPairs } from './agent-edits';

/** How the rule did on a set of pairs. */
export interface SmallEditScores {
  readonly threshold: number;
  /** Small edits the rule reused. */
  readonly truePositives: number;
  /** New content the rule wrongly reused (a stale decision served). */
  readonly falsePositives: number;
  /** Small edits the rule classified again (a model call spent, a possible loop step). */
  readonly falseNegatives: number;
  readonly precision: number;
  readonly recall: number;
}

/** Scores the rule at `threshold` (reuse when similarity ≥ threshold) on `pairs`. */
export function smallEditScores(pairs: readonly LabelledPair[], threshold: number): SmallEditScores {
  let truePositives = 0;
  let falsePositives = 0;
  let falseNegatives = 0;
  for (const pair of pairs) {
    const reused = similarity(signatureOf(pair.previous), signatureOf(pair.next)) >= threshold;
    if (reused && pair.smallEdit) truePositives += 1;
    else if (reused) falsePositives += 1;
    else if (pair.smallEdit) falseNegatives += 1;
  }
  const precision = truePositives + falsePositives === 0 ? 1 : truePositives / (truePositives + falsePositives);
  const recall = truePositives + falseNegatives === 0 ? 1 : truePositives / (truePositives + falseNegatives);
  return { threshold, truePositives, falsePositives, falseNegatives, precision, recall };
}

if (require.main === module) {
  const count = Number(process.argv[2] ?? 1000);
  const seed = Number(process.argv[3] ?? 16);
  const pairs = labelledPairs(count, seed);
  console.log(`labelled set: ${count} pairs (seed ${seed}), ${pairs.filter((pair) => pair.smallEdit).length} small edits`);
  console.log('threshold | precision | recall | reused wrongly | small edits missed');
  for (const threshold of [0.4, 0.5, 0.6, 0.7, 0.8]) {
    const s = smallEditScores(pairs, threshold);
    console.log(`${threshold.toFixed(2)} | ${s.precision.toFixed(3)} | ${s.recall.toFixed(3)} | ${s.falsePositives} | ${s.falseNegatives}`);
  }
}

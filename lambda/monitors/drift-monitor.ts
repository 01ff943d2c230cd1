import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DRIFT_BASELINE_SOURCE, DRIFT_MAX_FEATURE, DRIFT_SERVING_MIX_FEATURE, METRIC, METRIC_DIMENSION, METRIC_SERVICE } from '../contract';
import { TASKS } from '../tasks/registry';
import type { AnyTaskDefinition } from '../tasks/task-definition';
import { buildBaseline, type DriftBaseline, firstFullDayAfter, markFirstSeen, readBaseline, writeBaseline } from './baseline-store';
import { compareFeatures, countFeatures, type DriftOptions, type FeatureDrift, maxScore, servingMixScore } from './drift-assessment';
import { readCompletedWindow } from './ledger-reader';
import type { MetricDatum } from './metrics-publisher';

/** What the drift monitor needs to run. */
export interface DriftMonitorContext {
  readonly client: DynamoDBClient;
  readonly ledgerTable: string;
  readonly controlTable: string;
  readonly stage: string;
  /** Length of the compared window (ms). */
  readonly windowMs: number;
  readonly options: DriftOptions;
  /** Shards read per hour (1-16). */
  readonly sampleShards: number;
  /** Items one run reads at most (the window; a first-full-day baseline is read with the same bound). */
  readonly maxItems: number;
  /** @default the task registry */
  readonly tasks?: Readonly<Record<string, AnyTaskDefinition>>;
}

/** How a task fared in one run. */
export type TaskDriftStatus =
  /** Compared with its baseline. */
  | 'scored'
  /** Waiting for the first full day of data to pin a baseline automatically. */
  | 'baseline-pending'
  /** No baseline, and this run may not pin one (`pipectl drift` is read-only). */
  | 'no-baseline';

export interface TaskDriftReport {
  readonly task: string;
  readonly status: TaskDriftStatus;
  readonly baseline?: Pick<DriftBaseline, 'source' | 'from' | 'to' | 'items' | 'pinnedAt' | 'pinnedBy'>;
  /** When the automatic baseline will be pinned (status `baseline-pending`). */
  readonly baselineDueAt?: number;
  /** Items of the task in the sample. */
  readonly windowItems: number;
  readonly withoutFeatures: number;
  readonly features: readonly FeatureDrift[];
  readonly maxScore?: number;
}

/** The outcome of one drift run. */
export interface DriftRun {
  readonly at: number;
  readonly from: number;
  readonly to: number;
  readonly sample: { readonly items: number; readonly shardsRead: number; readonly fraction: number; readonly truncated: boolean };
  /** What the run read, baselines included. */
  readonly requests: number;
  readonly readUnits: number;
  readonly tasks: readonly TaskDriftReport[];
  /** The largest score over every task's features; undefined when nothing could be scored. */
  readonly maxScore?: number;
  /** Tasks whose first-full-day baseline this run pinned. */
  readonly baselinesPinned: readonly string[];
}

/** Options of {@link runDrift}. */
export interface RunDriftOptions {
  /**
   * Mark first sightings and pin the first full day's baseline when it is due (the scheduled
   * monitor). Off for `pipectl drift`, which only reads.
   * @default false
   */
  readonly manageBaselines?: boolean;
}

/**
 * One drift run: a uniform sample of the last window's completions, counted per task and feature,
 * compared with each task's baseline (PSI, plus chi-squared / KS for small samples). Changes
 * nothing unless `manageBaselines` is set, and then only the baseline items.
 */
export async function runDrift(context: DriftMonitorContext, now: number, options: RunDriftOptions = {}): Promise<DriftRun> {
  const tasks = context.tasks ?? TASKS;
  const from = now - context.windowMs;
  const sample = await readCompletedWindow(context.client, context.ledgerTable, {
    from,
    to: now,
    sampleShards: context.sampleShards,
    maxItems: context.maxItems,
  });
  let requests = sample.requests;
  let readUnits = sample.readUnits;
  const counted = countFeatures(sample.items);
  const reports: TaskDriftReport[] = [];
  const pinned: string[] = [];

  for (const [task, window] of [...counted].sort(([a], [b]) => a.localeCompare(b))) {
    let baseline = await readBaseline(context.client, context.controlTable, task);
    const common = { task, windowItems: window.items, withoutFeatures: window.withoutFeatures };
    if (!baseline || baseline.source === DRIFT_BASELINE_SOURCE.PENDING) {
      if (!options.manageBaselines) {
        reports.push({ ...common, status: 'no-baseline', features: [] });
        continue;
      }
      const firstSeenAt = baseline?.firstSeenAt ?? now;
      if (!baseline) await markFirstSeen(context.client, context.controlTable, task, now);
      const day = firstFullDayAfter(firstSeenAt);
      if (now < day.to) {
        reports.push({ ...common, status: 'baseline-pending', baselineDueAt: day.to, features: [] });
        continue;
      }
      const built = await buildBaseline(context.client, context.ledgerTable, task, day.from, day.to, {
        sampleShards: context.sampleShards,
        maxItems: context.maxItems,
        source: DRIFT_BASELINE_SOURCE.FIRST_FULL_DAY,
        pinnedAt: now,
        pinnedBy: 'drift-monitor',
      });
      requests += built.requests;
      readUnits += built.readUnits;
      const { requests: _requests, readUnits: _readUnits, ...fresh } = built;
      if ((await writeBaseline(context.client, context.controlTable, fresh, { onlyIfUnpinned: true })) === 'written') {
        baseline = fresh;
        pinned.push(task);
      } else {
        // Someone pinned one meanwhile: theirs wins.
        const current = await readBaseline(context.client, context.controlTable, task);
        baseline = current && current.source !== DRIFT_BASELINE_SOURCE.PENDING ? current : fresh;
      }
    }
    const features = compareFeatures(baseline.histograms, window.histograms, tasks[task]?.orderedFeatures ?? {}, context.options);
    const { histograms: _histograms, task: _task, ...described } = baseline;
    reports.push({ ...common, status: 'scored', baseline: described, features, maxScore: maxScore(features) });
  }

  const scored = reports.map((report) => report.maxScore).filter((score): score is number => score !== undefined);
  return {
    at: now,
    from,
    to: now,
    sample: { items: sample.items.length, shardsRead: sample.shardsRead, fraction: sample.fraction, truncated: sample.truncated },
    requests,
    readUnits,
    tasks: reports,
    ...(scored.length > 0 ? { maxScore: Math.max(...scored) } : {}),
    baselinesPinned: pinned,
  };
}

/**
 * The run's metrics: `DriftScore` per task and scored feature, and the maximum over all of them
 * under `feature = max` (the set the catalog alarms read). Nothing when nothing was scored, so a
 * quiet hour reads as missing data, not as "no drift".
 */
export function driftMetrics(run: DriftRun, stage: string): MetricDatum[] {
  const base = { [METRIC_DIMENSION.SERVICE]: METRIC_SERVICE.DRIFT_MONITOR, [METRIC_DIMENSION.STAGE]: stage };
  const data: MetricDatum[] = [];
  for (const report of run.tasks) {
    for (const feature of report.features) {
      if (feature.score === undefined) continue;
      data.push({
        name: METRIC.DRIFT_SCORE,
        value: feature.score,
        unit: 'None',
        dimensions: { ...base, [METRIC_DIMENSION.TASK]: report.task, [METRIC_DIMENSION.FEATURE]: feature.feature },
        timestamp: run.at,
      });
    }
  }
  if (run.maxScore !== undefined) {
    data.push({
      name: METRIC.DRIFT_SCORE,
      value: run.maxScore,
      unit: 'None',
      dimensions: { ...base, [METRIC_DIMENSION.FEATURE]: DRIFT_MAX_FEATURE },
      timestamp: run.at,
    });
  }
  const mix = run.tasks.map((report) => servingMixScore(report.features)).filter((score): score is number => score !== undefined);
  if (mix.length > 0) {
    data.push({
      name: METRIC.DRIFT_SCORE,
      value: Math.max(...mix),
      unit: 'None',
      dimensions: { ...base, [METRIC_DIMENSION.FEATURE]: DRIFT_SERVING_MIX_FEATURE },
      timestamp: run.at,
    });
  }
  return data;
}

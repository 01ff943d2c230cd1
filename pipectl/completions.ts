import { existsSync, readFileSync } from 'node:fs';
import { GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { METRIC, METRIC_DIMENSION, METRIC_SERVICE, METRICS_NAMESPACE } from '../lambda/contract';
import { TIER } from '../lambda/contract';
import { TASK_NAMES } from '../lambda/tasks/registry';
import type { PipelineTarget } from './target';

/** Outcomes of a recent window by serving tier, from the processor's own metrics. */
export interface Completions {
  readonly windowMs: number;
  readonly completed: number;
  readonly byTier: { readonly primary: number; readonly secondary: number; readonly rules: number };
  /** Sent to human review. */
  readonly escalated: number;
  readonly deadLettered: number;
  /** Where the numbers come from. */
  readonly source: 'cloudwatch' | 'processor log';
}

const FALLBACK_TIERS = [TIER.SECONDARY, TIER.RULES] as const;

/**
 * Completions of the last `windowMs` by tier. `RecordsCompleted` under the alarm dimensions
 * (`service`, `stage`) is the total; `Fallbacks` per task and tier are the lower tiers; primary
 * is the rest. A deployed stage reads CloudWatch; local mode reads the same EMF lines from the
 * processor log, which is what CloudWatch would have extracted.
 */
export async function recentCompletions(target: PipelineTarget, windowMs: number, now = Date.now()): Promise<Completions | { readonly unavailable: string }> {
  if (target.kind === 'local') return fromProcessorLog(target, windowMs, now);
  if (!target.cloudwatch) return { unavailable: 'no CloudWatch client' };
  const alarmDimensions = [
    { Name: METRIC_DIMENSION.SERVICE, Value: METRIC_SERVICE.PROCESSOR },
    { Name: METRIC_DIMENSION.STAGE, Value: target.stage },
  ];
  const period = Math.max(60, Math.ceil(windowMs / 1000 / 60) * 60);
  const stat = (id: string, name: string, extra: Array<{ Name: string; Value: string }> = []): MetricDataQuery => ({
    Id: id,
    MetricStat: { Metric: { Namespace: METRICS_NAMESPACE, MetricName: name, Dimensions: [...alarmDimensions, ...extra] }, Period: period, Stat: 'Sum' },
  });
  const fallbackQueries = TASK_NAMES.flatMap((task, taskIndex) =>
    FALLBACK_TIERS.map((tier) =>
      stat(`f${taskIndex}_${tier}`, METRIC.FALLBACKS, [
        { Name: METRIC_DIMENSION.TASK, Value: task },
        { Name: METRIC_DIMENSION.TIER, Value: tier },
      ]),
    ),
  );
  const { MetricDataResults = [] } = await target.cloudwatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(now - windowMs),
      EndTime: new Date(now),
      MetricDataQueries: [
        stat('completed', METRIC.RECORDS_COMPLETED),
        stat('escalated', METRIC.RECORDS_ESCALATED),
        stat('deadLettered', METRIC.RECORDS_DEAD_LETTERED),
        ...fallbackQueries,
      ],
    }),
  );
  const sum = (id: string) => (MetricDataResults.find((result) => result.Id === id)?.Values ?? []).reduce((total, value) => total + value, 0);
  const tierSum = (tier: string) => TASK_NAMES.reduce((total, _task, index) => total + sum(`f${index}_${tier}`), 0);
  const completed = sum('completed');
  const secondary = tierSum(TIER.SECONDARY);
  const rules = tierSum(TIER.RULES);
  return {
    windowMs,
    completed,
    byTier: { primary: Math.max(0, completed - secondary - rules), secondary, rules },
    escalated: sum('escalated'),
    deadLettered: sum('deadLettered'),
    source: 'cloudwatch',
  };
}

function fromProcessorLog(target: PipelineTarget, windowMs: number, now: number): Completions | { readonly unavailable: string } {
  const file = target.local?.logFile;
  if (!file || !existsSync(file)) return { unavailable: 'the local pipeline writes no processor log' };
  let completed = 0;
  let escalated = 0;
  let deadLettered = 0;
  const fallbacks: Record<string, number> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes('"_aws"')) continue;
    let document: Record<string, unknown>;
    try {
      document = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const at = Number((document._aws as { Timestamp?: unknown } | undefined)?.Timestamp);
    if (!(at > now - windowMs && at <= now) || document[METRIC_DIMENSION.SERVICE] !== METRIC_SERVICE.PROCESSOR) continue;
    const value = (name: string) => (typeof document[name] === 'number' ? (document[name] as number) : 0);
    completed += value(METRIC.RECORDS_COMPLETED);
    escalated += value(METRIC.RECORDS_ESCALATED);
    deadLettered += value(METRIC.RECORDS_DEAD_LETTERED);
    const tier = document[METRIC_DIMENSION.TIER];
    if (typeof tier === 'string') fallbacks[tier] = (fallbacks[tier] ?? 0) + value(METRIC.FALLBACKS);
  }
  const secondary = fallbacks[TIER.SECONDARY] ?? 0;
  const rules = fallbacks[TIER.RULES] ?? 0;
  return {
    windowMs,
    completed,
    byTier: { primary: Math.max(0, completed - secondary - rules), secondary, rules },
    escalated,
    deadLettered,
    source: 'processor log',
  };
}

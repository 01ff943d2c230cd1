import { CANARY_ALARM_ID, METRIC, METRIC_DIMENSION, METRIC_SERVICE, METRICS_NAMESPACE, SHADOW_VARIANT, VARIANT, type VariantName } from '../../lambda/contract';
import type { StageConfig } from '../config/stage-types';
import type { AlarmDefinition, DashboardGraph, MetricQuery, MetricUnit, PipelineMetricName, Statistic } from './alarm-types';
import { type MathCondition, type MathExpression, math } from './metric-math';

/*
 * The canary alarm and its dashboard row (issue 15), kept apart from the main catalog so the
 * change-safety work merges as one file plus one line in alarm-catalog.ts.
 */

export { CANARY_ALARM_ID };

/** A pipeline metric of one variant: `service`, `stage` and `variant` (BatchMetrics publishes exactly that set for it). */
function variantMetric(
  stage: string,
  name: PipelineMetricName,
  variant: VariantName | typeof SHADOW_VARIANT,
  statistic: Statistic,
  unit: MetricUnit,
  label: string,
): MetricQuery {
  return {
    source: {
      kind: 'pipeline',
      namespace: METRICS_NAMESPACE,
      name,
      dimensions: { [METRIC_DIMENSION.SERVICE]: METRIC_SERVICE.PROCESSOR, [METRIC_DIMENSION.STAGE]: stage, [METRIC_DIMENSION.VARIANT]: variant },
    },
    statistic,
    unit,
    label,
  };
}

const minus = (left: MathExpression, right: MathExpression): MathExpression => ({ op: '-', left, right });
/** 1 when the condition holds, else 0: three checks add up to "how many are breached". */
const indicator = (condition: MathCondition): MathExpression => math.if(condition, 1, 0);

/**
 * The canary alarm: canary against baseline over the same minute, on fallback rate, validation
 * failure rate and average latency. The signal counts the breached comparisons (0–3) when both
 * variants have enough records, else 0; one breached comparison in two consecutive minutes is a
 * regression. Its action rolls the canary back to 0%: an EventBridge rule on the alarm entering
 * ALARM invokes lambda/canary/rollback-handler.ts (lib/constructs/canary-rollback-action.ts);
 * local mode invokes the same bundle on the local evaluator's transition (local/canary-rollback.ts).
 */
export function canaryAlarm(config: StageConfig, triage: (id: string) => string): Omit<AlarmDefinition, 'name'> {
  const c = config.canary;
  const m = (name: PipelineMetricName, variant: VariantName, statistic: Statistic, unit: MetricUnit, label: string) =>
    variantMetric(config.stage, name, variant, statistic, unit, label);
  const rate = (count: string, records: string) => math.divide(math.multiply(100, math.fill(count)), records);
  const enough = math.and(math.compare('canaryRecords', '>=', c.minimumSamples), math.compare('baselineRecords', '>=', c.minimumSamples));
  const breaches = math.add(
    indicator(math.compare(minus(rate('canaryFallbacks', 'canaryRecords'), rate('baselineFallbacks', 'baselineRecords')), '>', c.fallbackRateIncreasePercent)),
    indicator(
      math.compare(minus(rate('canaryInvalid', 'canaryRecords'), rate('baselineInvalid', 'baselineRecords')), '>', c.validationFailureRateIncreasePercent),
    ),
    indicator(
      math.and(
        math.compare(math.fill('canaryLatency'), '>', math.multiply(math.fill('baselineLatency'), c.latencyRatio)),
        math.compare(minus(math.fill('canaryLatency'), math.fill('baselineLatency')), '>', c.latencyIncreaseMs),
      ),
    ),
  );
  return {
    id: CANARY_ALARM_ID,
    title: 'Canary worse than baseline',
    severity: 'ticket',
    summary: 'The canary candidate falls back, fails validation or answers slower than the baseline, minute after minute: it is rolled back to 0%.',
    signal: {
      kind: 'math',
      label: 'canary comparisons breached (0-3)',
      unit: 'Count',
      expression: math.if(enough, breaches, 0),
      metrics: {
        canaryRecords: m(METRIC.VARIANT_RECORDS, VARIANT.CANARY, 'Sum', 'Count', 'canary records'),
        baselineRecords: m(METRIC.VARIANT_RECORDS, VARIANT.BASELINE, 'Sum', 'Count', 'baseline records'),
        canaryFallbacks: m(METRIC.VARIANT_FALLBACKS, VARIANT.CANARY, 'Sum', 'Count', 'canary fallbacks'),
        baselineFallbacks: m(METRIC.VARIANT_FALLBACKS, VARIANT.BASELINE, 'Sum', 'Count', 'baseline fallbacks'),
        canaryInvalid: m(METRIC.VARIANT_VALIDATION_FAILURES, VARIANT.CANARY, 'Sum', 'Count', 'canary validation failures'),
        baselineInvalid: m(METRIC.VARIANT_VALIDATION_FAILURES, VARIANT.BASELINE, 'Sum', 'Count', 'baseline validation failures'),
        canaryLatency: m(METRIC.VARIANT_LATENCY, VARIANT.CANARY, 'Average', 'Milliseconds', 'canary latency'),
        baselineLatency: m(METRIC.VARIANT_LATENCY, VARIANT.BASELINE, 'Average', 'Milliseconds', 'baseline latency'),
      },
    },
    periodSeconds: 60,
    evaluationPeriods: 2,
    datapointsToAlarm: 2,
    comparison: 'GreaterThanOrEqualToThreshold',
    threshold: 1,
    thresholdUnit: 'comparison(s)',
    treatMissingData: 'notBreaching',
    rationale:
      'Both variants see the same minutes, so a provider hiccup hits both and cancels out; two consecutive minutes keep one unlucky minute of a small canary from rolling it back. No canary running means no variant metrics: missing is not breaching.',
    runbook: {
      meaning:
        "Keys served by the canary candidate fall back, fail validation or answer slower than the baseline keys, beyond the stage's margins (config `canary`).",
      impact: "The canary's share of keys got worse answers until the rollback; the rollback sends every key back to the baseline within 15 s.",
      firstFiveMinutes: [
        '`pipectl canary status`: the rollback action should already show 0% (last change by canary-alarm). If not: `pipectl canary abort --reason "canary-regression"`.',
        'Which comparison breached: the dashboard row "Canary vs baseline".',
        triage(CANARY_ALARM_ID),
      ],
      diagnosis: {
        data: 'Unlikely: the split is by a hash of the key, so both variants see the same mix of inputs.',
        infrastructure: "The candidate's provider or quota (errors, throttling) rather than its answers: check model-error-rate by model.",
        model: "The candidate answers worse: compare its ledger items (variant = canary) with the baseline's before trying again.",
      },
      remediations: ['Keep the canary at 0% (`pipectl canary abort`), fix the candidate (prompt, model id), and start again at a small share.'],
      doNotAutomate:
        'Do not automate promotion on a quiet alarm: a canary that is not worse in an hour is not proven better. Promote by hand (`pipectl canary promote`).',
      verifyRecovery: ['`pipectl canary status` shows 0%; no new ledger item with variant = canary; the alarm returns to OK.'],
      escalate: 'The owner of the model or prompt change.',
    },
  };
}

/** The dashboard row: the variants side by side. */
export function canaryDashboardRow(config: StageConfig): { readonly heading: string; readonly graphs: readonly DashboardGraph[] } {
  const both = (name: PipelineMetricName, statistic: Statistic, unit: MetricUnit, what: string): MetricQuery[] =>
    [VARIANT.BASELINE, VARIANT.CANARY].map((variant) => variantMetric(config.stage, name, variant, statistic, unit, `${variant} ${what}`));
  return {
    heading: 'Canary vs baseline',
    graphs: [
      { title: 'Records by variant', left: both(METRIC.VARIANT_RECORDS, 'Sum', 'Count', 'records'), width: 6 },
      { title: 'Fallbacks by variant', left: both(METRIC.VARIANT_FALLBACKS, 'Sum', 'Count', 'fallbacks'), width: 6 },
      { title: 'Validation failures by variant', left: both(METRIC.VARIANT_VALIDATION_FAILURES, 'Sum', 'Count', 'validation failures'), width: 6 },
      { title: 'Latency by variant (avg)', left: both(METRIC.VARIANT_LATENCY, 'Average', 'Milliseconds', 'latency'), width: 6 },
    ],
  };
}

/**
 * The shadow row: baseline and shadow candidate side by side over the same sampled records
 * (lambda/processor/shadow-run.ts publishes both sides for each sampled record).
 */
export function shadowDashboardRow(config: StageConfig): { readonly heading: string; readonly graphs: readonly DashboardGraph[] } {
  const shadow = (name: PipelineMetricName, statistic: Statistic, unit: MetricUnit, label: string) =>
    variantMetric(config.stage, name, SHADOW_VARIANT, statistic, unit, label);
  const both = (name: PipelineMetricName, statistic: Statistic, unit: MetricUnit, what: string): MetricQuery[] =>
    ([VARIANT.BASELINE, SHADOW_VARIANT] as const).map((variant) => variantMetric(config.stage, name, variant, statistic, unit, `${variant} ${what}`));
  return {
    heading: 'Shadow vs baseline',
    graphs: [
      {
        title: 'Shadow samples, errors, skipped',
        left: [
          shadow(METRIC.SHADOW_SAMPLES, 'Sum', 'Count', 'sampled'),
          shadow(METRIC.SHADOW_ERRORS, 'Sum', 'Count', 'errors'),
          shadow(METRIC.SHADOW_SKIPPED, 'Sum', 'Count', 'skipped (cap, budget)'),
        ],
        width: 6,
      },
      { title: 'Shadow agreement with the baseline (0–1)', left: [shadow(METRIC.SHADOW_AGREEMENT, 'Average', 'Count', 'agreement')], width: 6 },
      { title: 'Latency by variant (avg)', left: both(METRIC.VARIANT_LATENCY, 'Average', 'Milliseconds', 'latency'), width: 6 },
      { title: 'Cost by variant (USD)', left: both(METRIC.VARIANT_COST_USD, 'Sum', 'None', 'cost'), width: 6 },
    ],
  };
}

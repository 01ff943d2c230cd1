import { DRIFT_SERVING_MIX_FEATURE, METRIC, METRIC_SERVICE } from '../../lambda/contract';
import type { StageConfig } from '../config/stage-types';
import { type AlarmEntry, type CatalogMetrics, triage } from './alarm-family';
import type { RunbookText } from './alarm-types';

/*
 * Drift (DESIGN.md: the drift monitor, PSI per feature vs a pinned baseline): the largest feature
 * score at the ticket and page thresholds, and a shift of the serving tier mix.
 */

function driftRunbook(id: string): RunbookText {
  return {
    meaning:
      'The drift monitor compared the last window of ledger items with the pinned baseline: at least one feature (input length bucket, customer tier, output category, priority, confidence decile, serving tier) is distributed differently.',
    impact: 'Possibly none, possibly answers that are systematically wrong without a single error: drift is the failure no error rate shows.',
    firstFiveMinutes: [
      '`pipectl drift`: the per-feature table, the baseline window and the bins that moved most.',
      'Input features moved (length, customer tier): what producers send changed. Output features moved with inputs flat (category, priority, confidence, tier): the model changed.',
      'The pipeline pauses nothing for drift by default. Pause (`pipectl pause`) only if wrong answers cost more than late ones.',
      triage(id),
    ],
    diagnosis: {
      data: 'Input features shifted: a new producer, a new market, a seasonal topic, a backfill of old tickets. The model may be answering correctly.',
      infrastructure: 'Serving-tier feature shifted towards rules/human: the breaker or budget is pushing records down the chain (see those alarms).',
      model: 'Output features shifted while inputs held: the provider updated the model, or a prompt change went out. Compare with the deploy history.',
    },
    remediations: [
      'A legitimate new normal: pin a new baseline with `pipectl drift baseline --from <start> --to <end>` after checking a sample of answers.',
      'A model change: pin the previous model version in the stage config and redeploy.',
    ],
    doNotAutomate:
      'Do not enable the opt-in auto-pause on drift for a stage whose traffic mix changes legitimately (launches, seasons): it would stop the pipeline for business as usual. Do not auto-rebaseline: that makes any drift invisible.',
    verifyRecovery: [
      'The next drift window publishes scores under the threshold and the alarm returns to OK.',
      '`pipectl drift` shows the moved bins back near the baseline.',
    ],
    escalate: 'The task owner for a model or prompt change; the producing team for an input change they did not announce.',
  };
}

/** The drift monitor's alarms, in catalog order. */
export function driftAlarms(config: StageConfig, metrics: CatalogMetrics): AlarmEntry[] {
  const t = config.observability.alarms;
  const stage = config.stage;
  const { pipeline } = metrics;
  /** A drift alarm's period is the drift monitor's schedule: one published score per period. */
  const driftPeriodSeconds = config.drift.scheduleMinutes * 60;

  return [
    {
      id: 'drift-warning',
      title: 'Input/output drift (ticket level)',
      severity: 'ticket',
      summary: 'The largest per-feature drift score (PSI) reached the ticket level: the last window moved away from the baseline.',
      signal: { kind: 'metric', metric: pipeline(METRIC.DRIFT_SCORE, 'Maximum', 'None', 'drift score (max PSI)', METRIC_SERVICE.DRIFT_MONITOR) },
      periodSeconds: driftPeriodSeconds,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.driftTicket,
      thresholdUnit: 'PSI',
      treatMissingData: 'missing',
      rationale:
        'One period per drift-monitor run, so every run lands in its own period. Below the minimum sample the monitor publishes no score: missing data is missing, so the alarm leaves ALARM ' +
        '(INSUFFICIENT_DATA: not measured) instead of holding it on quiet traffic, and a later drift notifies again. PSI 0.1 is the usual "moderate shift, look at it" line.',
      runbook: driftRunbook('drift-warning'),
    },
    {
      id: 'drift-critical',
      title: 'Input/output drift (paging level)',
      severity: 'page',
      summary: 'The largest per-feature drift score (PSI) reached the paging level: a major shift in what the pipeline sees or answers.',
      signal: { kind: 'metric', metric: pipeline(METRIC.DRIFT_SCORE, 'Maximum', 'None', 'drift score (max PSI)', METRIC_SERVICE.DRIFT_MONITOR) },
      periodSeconds: driftPeriodSeconds,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.driftPage,
      thresholdUnit: 'PSI',
      treatMissingData: 'missing',
      rationale:
        'PSI 0.25 is the usual "significant shift" line: answers may be systematically wrong without a single error. One period per drift run; a run with too few items ' +
        'publishes nothing, which is INSUFFICIENT_DATA (missing), never a held ALARM.',
      runbook: driftRunbook('drift-critical'),
    },
    {
      id: 'serving-mix-shift',
      title: 'Serving mix moved (answers from other tiers)',
      severity: 'ticket',
      summary:
        'The share of records served by each tier (primary, secondary, rules, human) moved away from the baseline: the pipeline is degrading, the data may be fine.',
      signal: {
        kind: 'metric',
        metric: pipeline(
          METRIC.DRIFT_SCORE,
          'Maximum',
          'None',
          'serving-mix shift (PSI of the serving tier)',
          METRIC_SERVICE.DRIFT_MONITOR,
          DRIFT_SERVING_MIX_FEATURE,
        ),
      },
      periodSeconds: driftPeriodSeconds,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.driftPage,
      thresholdUnit: 'PSI',
      treatMissingData: 'missing',
      rationale:
        'The serving tier is scored on every record and kept out of drift-warning/drift-critical, which score only what the models served: an outage that moves ' +
        'serving to the rules tier shows here, named as what it is, not as data drift. A ticket: the alarms on the cause (model-error-rate, breaker-open, budget) page.',
      runbook: {
        meaning: 'The drift monitor found the tiers serving records distributed unlike the baseline: more answers from rules or review, fewer from the models.',
        impact: 'Answers are valid but come from a fallback: usually less precise (rules) or slower (review).',
        firstFiveMinutes: [
          `\`pipectl status --stage ${stage}\`: breaker state, budget, completions by tier.`,
          'Which alarm explains it: model-error-rate, breaker-open, budget-*, fallback-rate? That one is the cause; this is its effect on the answers.',
          triage('serving-mix-shift'),
        ],
        diagnosis: {
          data: 'Not the data: the data features are scored on model-served records only (drift-warning, drift-critical).',
          infrastructure: 'The breaker is open or the budget is spent: records are pushed down the chain.',
          model: 'The model fails or answers invalid output more often: validation-failure-rate, model-error-rate.',
        },
        remediations: ['Fix the cause named by the other alarms; the mix returns when the models serve again.'],
        doNotAutomate: 'Do not re-baseline on a serving-mix shift: the baseline describes a healthy pipeline.',
        verifyRecovery: ['The next drift run scores the serving tier under the threshold.'],
        escalate: 'As for the alarm that names the cause.',
      },
    },
  ];
}

import { METRIC } from '../../lambda/contract';
import type { StageConfig } from '../config/stage-types';
import { type AlarmEntry, type CatalogMetrics, STATUS, triage } from './alarm-family';
import { math } from './metric-math';

/*
 * The fallback chain (DESIGN.md data flow step 7): results served below the primary tier, and the
 * human-review queue, where the chain ends, waiting too long for a person.
 */

/** The fallback chain's alarms, in catalog order. */
export function fallbackAlarms(config: StageConfig, metrics: CatalogMetrics): AlarmEntry[] {
  const t = config.observability.alarms;
  const { pipeline, sqs, served } = metrics;

  return [
    {
      id: 'fallback-rate',
      title: 'Fallback rate high',
      severity: 'ticket',
      summary: 'A large share of results were served below the primary tier (secondary model, rules, human review).',
      signal: {
        kind: 'math',
        label: 'results below the primary tier (%)',
        unit: 'Percent',
        expression: math.if(
          math.compare(math.add(math.fill('completed'), math.fill('escalated')), '>=', t.rateMinimumSamples),
          math.divide(math.multiply(100, math.fill('fallbacks')), math.add(math.fill('completed'), math.fill('escalated'))),
          0,
        ),
        metrics: { fallbacks: pipeline(METRIC.FALLBACKS, 'Sum', 'Count', 'fallbacks'), ...served },
      },
      periodSeconds: 60,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.fallbackRatePercent,
      thresholdUnit: '%',
      treatMissingData: 'notBreaching',
      rationale:
        'Fallbacks are the pipeline working as designed; a high share for several minutes means quality is degraded and someone should know, not that someone must wake up.',
      runbook: {
        meaning: "Many results come from the secondary model, the task's rules or human review instead of the primary model.",
        impact: 'Answers are of lower quality (rules) or delayed (human review).',
        firstFiveMinutes: [
          `${STATUS}: breaker state and completions by tier.`,
          'Which alarm explains it: model-error-rate, validation-failure-rate, breaker-open, budget-*?',
          triage('fallback-rate'),
        ],
        diagnosis: {
          data: 'Low-confidence answers on a new kind of input route down the chain: drift-* alarms or `pipectl drift` show the input shift.',
          infrastructure: 'The breaker is open or the budget is spent: fallbacks are the designed response; fix the cause.',
          model: "Validation failures or low confidence without errors: the model's behaviour changed.",
        },
        remediations: [
          'Address the cause alarm; fallbacks stop by themselves.',
          'Drain human review: `pipectl review list`, `pipectl review resolve <key> --result <json>`.',
        ],
        doNotAutomate:
          'Do not auto-lower the confidence threshold to push results back to the primary tier: that trades a visible quality drop for an invisible one.',
        verifyRecovery: ['Completions by tier back to mostly primary; the alarm returns to OK.'],
        escalate: 'The task owner if quality must be restored faster than the cause can be fixed.',
      },
    },
    {
      id: 'review-backlog-age',
      title: 'Human-review backlog getting old',
      severity: 'ticket',
      summary: 'The oldest record waiting for human review is older than the stage allows.',
      signal: { kind: 'metric', metric: sqs('ApproximateAgeOfOldestMessage', 'reviewQueue', 'Maximum', 'Seconds', 'age of oldest review message') },
      periodSeconds: 300,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.reviewBacklogAgeSeconds,
      thresholdUnit: 's',
      treatMissingData: 'notBreaching',
      rationale: 'Humans work in hours, not minutes: a 5-minute period is plenty, and the age itself is the sustained signal.',
      runbook: {
        meaning: 'Records escalated to human review have waited longer than the stage allows.',
        impact: 'Those inputs have no result until someone resolves them; jobs stay incomplete.',
        firstFiveMinutes: ['`pipectl review list`: how many, which tasks, why they escalated.', triage('review-backlog-age')],
        diagnosis: {
          data: 'Many escalations with the same reason on similar inputs: a gap in the prompt or the rules.',
          infrastructure: 'Escalations because the breaker or budget pushed records down the chain: see those alarms.',
          model: 'Low-confidence or invalid answers across the board: see validation-failure-rate and drift-*.',
        },
        remediations: [
          'Resolve items: `pipectl review resolve <key> --result <json>` (validated against the task schema, written to the ledger as tier human).',
        ],
        doNotAutomate: 'Do not auto-resolve review items with the rules tier: they were escalated because the automatic tiers could not answer.',
        verifyRecovery: ['`pipectl review list` shrinking; the alarm returns to OK when the oldest item is younger than the threshold.'],
        escalate: 'The team that owns the review rota.',
      },
    },
  ];
}

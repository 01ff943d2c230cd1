import { METRIC } from '../../lambda/contract';
import type { StageConfig } from '../config/stage-types';
import { type AlarmEntry, type CatalogMetrics, STATUS, triage } from './alarm-family';

/*
 * The guards in front of the model (DESIGN.md data flow step 4): the shared circuit breaker held
 * open, and the hour's token/cost budget nearly or fully spent.
 */

/** The alarms that exist only when the stage sets a budget. */
export const BUDGET_ALARM_IDS: ReadonlySet<string> = new Set(['budget-warning', 'budget-exhausted']);

/** The guards' alarms, in catalog order (the catalog drops the budget's when the stage sets no budget). */
export function guardAlarms(config: StageConfig, metrics: CatalogMetrics): AlarmEntry[] {
  const t = config.observability.alarms;
  const { pipeline } = metrics;

  return [
    {
      id: 'breaker-open',
      title: 'Model circuit breaker open',
      severity: 'ticket',
      summary: "A model's circuit breaker has refused calls for several consecutive minutes.",
      signal: { kind: 'metric', metric: pipeline(METRIC.BREAKER_OPEN, 'Maximum', 'None', 'breaker open (1 = refusing)') },
      periodSeconds: 60,
      evaluationPeriods: t.breakerOpenMinutes,
      datapointsToAlarm: t.breakerOpenMinutes,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: 1,
      thresholdUnit: '(1 = open)',
      treatMissingData: 'notBreaching',
      rationale:
        'An open breaker is the pipeline protecting itself; a short open/half-open cycle is normal. Open for several minutes means the model is down: a ticket, while model-error-rate or input-age-over-sla page if users are hurt.',
      runbook: {
        meaning:
          'The shared breaker of a model is open: calls to it are refused and records go to the next tier (or are deferred) until a half-open probe succeeds.',
        impact: 'Lower-tier answers or deferred records while it is open.',
        firstFiveMinutes: [
          '`pipectl breaker status`: which model, since when, the last failures.',
          "Check the provider's status page.",
          triage('breaker-open'),
        ],
        diagnosis: {
          data: 'Not data: bad input is rejected before any model call.',
          infrastructure: 'Opened after AccessDenied or quota errors: credentials, IAM or the account quota.',
          model: 'Opened after 5xx/timeouts: the provider is down or browning out.',
        },
        remediations: [
          'Wait for the half-open probe to close it; `pipectl breaker close --model <id>` forces it closed once the provider is healthy (break-glass).',
        ],
        doNotAutomate: 'Do not auto-close the breaker on a timer: the probe already does that safely, one call at a time.',
        verifyRecovery: ['`pipectl breaker status` closed; BreakerOpen gone from the dashboard; the alarm returns to OK.'],
        escalate: "Open beyond an hour: the provider's support.",
      },
    },
    {
      id: 'budget-warning',
      title: 'Hourly budget at warning level',
      severity: 'ticket',
      summary: "The hour's token/cost budget is nearly used up.",
      signal: { kind: 'metric', metric: pipeline(METRIC.BUDGET_USED_PERCENT, 'Maximum', 'Percent', 'budget used (%)') },
      periodSeconds: 300,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.budgetWarnPercent,
      thresholdUnit: '%',
      treatMissingData: 'notBreaching',
      rationale: 'The budget is counted per hour; one 5-minute look is enough to warn before it runs out.',
      runbook: {
        meaning: "Spend in the current hour is close to the stage's budget; past 100% the primary model is skipped.",
        impact: 'None yet. If it runs out, answers come from lower tiers until the hour turns.',
        firstFiveMinutes: [`${STATUS}: budget used, and which job is sending.`, '`pipectl jobs`: is this a planned backfill?', triage('budget-warning')],
        diagnosis: {
          data: 'A large job or a producer re-sending (duplicates are free: check duplicates skipped vs received).',
          infrastructure: 'Retries multiplying calls (model-error-rate up): each retry costs tokens.',
          model: 'Tokens per call up with the same traffic: longer answers after a model change.',
        },
        remediations: ['Ask the producer to pace the job.', 'Raise the budget in the stage config if the spend is planned (a deploy).'],
        doNotAutomate: 'Do not auto-raise the budget: it is the cap that keeps a runaway loop from becoming a bill.',
        verifyRecovery: ['The next hour starts under the warning level; the alarm returns to OK.'],
        escalate: 'Whoever owns the spend for this stage.',
      },
    },
    {
      id: 'budget-exhausted',
      title: 'Hourly budget exhausted',
      severity: 'page',
      summary: "The hour's token/cost budget is used up: the primary model is being skipped.",
      signal: { kind: 'metric', metric: pipeline(METRIC.BUDGET_USED_PERCENT, 'Maximum', 'Percent', 'budget used (%)') },
      periodSeconds: 60,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: t.budgetExhaustedPercent,
      thresholdUnit: '%',
      treatMissingData: 'notBreaching',
      rationale: 'Once the budget is spent every record degrades at once, so one minute is enough; the warning ticket came first.',
      runbook: {
        meaning: "The hour's budget is spent: records are served by the rules, sent to review, or deferred until the hour turns, per the stage config.",
        impact: 'Lower-quality or delayed answers for everything until the next hour.',
        firstFiveMinutes: [
          `${STATUS}: budget, completions by tier, input age.`,
          '`pipectl jobs`: which job is spending. If a runaway producer or a retry loop is spending it, `pipectl pause` stops the spend (messages wait; `pipectl resume` undoes it).',
          triage('budget-exhausted'),
        ],
        diagnosis: {
          data: 'One job far larger than usual, or a producer sending the same inputs with a changing field (each looks new to the idempotency key).',
          infrastructure: 'Model errors and retries multiplying calls.',
          model: 'Tokens per call jumped: a model or prompt change made answers longer.',
        },
        remediations: [
          'Pause until the hour turns if the work can wait: `pipectl pause`, then `pipectl resume`.',
          'Raise the budget in the stage config if the spend is legitimate.',
        ],
        doNotAutomate: 'Do not auto-raise the budget or bypass it: that is exactly the runaway it exists to stop.',
        verifyRecovery: ['The next hour starts with the budget under the warning level; completions by tier back to primary.'],
        escalate: 'The spend owner before raising the budget.',
      },
    },
  ];
}

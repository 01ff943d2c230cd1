import { METRIC, METRIC_SERVICE } from '../../lambda/contract';
import type { StageConfig } from '../config/stage-types';
import { type AlarmEntry, type CatalogMetrics, STATUS, triage } from './alarm-family';

/*
 * Completeness (DESIGN.md: the reconciler, sent vs done per job): an overdue job with items that
 * have no outcome.
 */

/** The reconciler's alarm. */
export function completenessAlarms(config: StageConfig, metrics: CatalogMetrics): AlarmEntry[] {
  const t = config.observability.alarms;
  const { pipeline } = metrics;

  return [
    {
      id: 'incomplete-job',
      title: 'Job incomplete past its deadline',
      severity: 'page',
      summary: 'Jobs past their deadline have items with no outcome (neither completed, dead-lettered nor in review).',
      signal: { kind: 'metric', metric: pipeline(METRIC.INCOMPLETE_JOB_ITEMS, 'Maximum', 'Count', 'incomplete job items', METRIC_SERVICE.RECONCILER) },
      periodSeconds: config.completeness.scheduleMinutes * 60,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'GreaterThanThreshold',
      threshold: t.incompleteJobItems,
      thresholdUnit: 'items',
      treatMissingData: 'missing',
      rationale:
        'One period per reconciler run, and the reconciler publishes on every run (0 included). No data means no run: INSUFFICIENT_DATA, not a held state; ' +
        'reconciler-heartbeat pages for the stopped reconciler. Any missing item is a silent loss: it pages.',
      runbook: {
        meaning:
          'The reconciler found registered jobs past their deadline where completed + dead-lettered + in review is less than what was sent: items went missing or are stuck (IN_PROGRESS with an expired lease).',
        impact: 'A producer is missing results and may not know it. 9,999 of 10,000 is not OK.',
        firstFiveMinutes: [
          '`pipectl jobs`: which jobs, how many missing, how many stuck.',
          '`pipectl jobs <job id>`: the missing and stuck items.',
          `${STATUS}: is the input queue still holding them (late, not lost)?`,
          triage('incomplete-job'),
        ],
        diagnosis: {
          data: 'The producer registered more than it sent (a crashed sender): the items were never on the queue. `pipectl send` is resumable; re-run it.',
          infrastructure:
            'Items still on the input queue: the pipeline is late (see input-age-over-sla), not lossy. Stuck IN_PROGRESS items: invocations died mid-record; the lease expiry will let them be retried.',
          model: 'Not the model: a model failure ends in a fallback, review or the DLQ, each of which counts as an outcome.',
        },
        remediations: [
          "Re-send the job's file with `pipectl send` (idempotent: completed inputs are skipped).",
          'Redrive the DLQ class that holds them once fixed: `pipectl dlq redrive --reason <class> --dry-run`.',
        ],
        doNotAutomate:
          'Do not auto-resend missing items from the ledger: only the producer knows the inputs that never arrived, and resending guesses duplicates nothing but may resend what was meant to be dropped.',
        verifyRecovery: [
          '`pipectl jobs <job id>` shows sent = completed + dead-lettered + in review.',
          'The next reconciler run publishes 0 and the alarm returns to OK.',
        ],
        escalate: 'The producing team if the items were never sent; the pipeline owners if they were and are gone.',
      },
    },
  ];
}

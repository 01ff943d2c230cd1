import { METRIC, type MetricService } from '../../lambda/contract';
import type { StageConfig } from '../config/stage-types';
import type { AlarmDefinition, MetricQuery, MetricUnit, PipelineMetricName, Statistic } from './alarm-types';

/** The catalog's helper that names one of the pipeline's own metrics under the alarm dimensions. */
export type PipelineMetricFactory = (name: PipelineMetricName, statistic: Statistic, unit: MetricUnit, label: string, service?: MetricService) => MetricQuery;

/**
 * The alarms of escalation loops across edits (issue 16), kept out of alarm-catalog.ts so that the
 * catalog includes them with one line. Declared like every other entry: the CDK alarm, the
 * dashboard and RUNBOOK.md all come from this definition.
 */
export function entityLoopAlarms(config: StageConfig, pipeline: PipelineMetricFactory): ReadonlyArray<Omit<AlarmDefinition, 'name'>> {
  const { decisionLimit, windowSeconds, loopAlarmThreshold } = config.entityLoops;
  return [
    {
      id: 'entity-escalation-loops',
      title: 'Escalation loops across edits',
      severity: 'ticket',
      summary: `Entities (tickets, cases) passed ${decisionLimit} automated decisions in ${windowSeconds} s and were sent to human review as escalation loops.`,
      signal: { kind: 'metric', metric: pipeline(METRIC.ENTITY_LOOPS_DETECTED, 'Sum', 'Count', 'escalation loops detected') },
      periodSeconds: 900,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      threshold: loopAlarmThreshold,
      thresholdUnit: 'loops',
      treatMissingData: 'notBreaching',
      rationale:
        'One loop is the guard doing its job; several in a quarter of an hour mean automation and agents keep disagreeing about a kind of ticket ' +
        '(a taxonomy or prompt problem), which someone should look at during working hours. No loops publish nothing: missing data is not breaching.',
      runbook: {
        meaning:
          "Inputs about the same entity (the envelope's `entityId`) kept coming back after automated decisions — an agent edits the ticket, " +
          'automation reclassifies it and sends it back — until the entity passed its decision limit. Those entities are held: they go to human ' +
          'review, not to the model, until a person resolves them.',
        impact: 'The held entities wait in human review instead of being answered automatically; their later edits join the review backlog too.',
        firstFiveMinutes: [
          '`pipectl review list`: the items whose reasons say "escalation loop".',
          "`pipectl review entity <entityId>`: the entity's history — each decision, reuse and hold, with its tier and similarity.",
          '`pipectl status`: is the review backlog growing faster than reviewers drain it?',
        ],
        diagnosis: {
          data: "Many loops on one category or one source: the agents' edits change what the ticket is about (genuinely new content each time) — the taxonomy may lack a category they need.",
          infrastructure:
            'Loops right after a deploy or a stage-config change: a lower `entityLoops.decisionLimit` or a higher `reuseThreshold` than intended (small edits no longer reused, so every edit is a decision).',
          model: "The same entity decided differently each time: the model is unstable on it (look at the tiers and results in the entity's history).",
        },
        remediations: [
          "Resolve the held items: `pipectl review resolve <key> --result <json>` (this clears the entity's hold and window; the person's answer becomes the entity's last decision).",
          'Raise `entityLoops.decisionLimit` in the stage config only when the loops are legitimate re-triage.',
        ],
        doNotAutomate:
          'Do not auto-resolve held items or lift holds in bulk: a hold is there because automation and people disagreed, and only a person can settle that.',
        verifyRecovery: ['No new "escalation loop" items in `pipectl review list` for 15 minutes; the alarm returns to OK.'],
        escalate: 'The support operations lead (agent workflow) and the task owner (taxonomy and prompt).',
      },
    },
  ];
}

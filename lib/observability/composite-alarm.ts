import { STATUS, triage } from './alarm-family';
import type { AlarmDefinition, CompositeAlarmDefinition } from './alarm-types';

/** The id of the composite alarm, and its runbook anchor. */
export const COMPOSITE_ALARM_ID = 'pipeline-unhealthy';

/**
 * The composite alarm over every paging alarm of the catalog: a summary for the dashboard that
 * notifies nobody.
 */
export function compositeAlarm(prefix: string, alarms: readonly AlarmDefinition[]): CompositeAlarmDefinition {
  return {
    id: COMPOSITE_ALARM_ID,
    name: `${prefix}${COMPOSITE_ALARM_ID}`,
    title: 'Pipeline unhealthy',
    severity: 'page',
    summary: 'At least one paging alarm is in ALARM. A summary for the dashboard: it notifies nobody, each paging alarm pages on its own.',
    children: alarms.filter((alarm) => alarm.severity === 'page').map((alarm) => alarm.id),
    runbook: {
      meaning:
        'One or more paging alarms are in ALARM. This composite alarm only summarises them on the dashboard. Each paging alarm pages by itself (and files a ticket), because CloudWatch notifies on state transitions only: a paging composite already in ALARM would swallow a second, unrelated incident. A cascade therefore pages once per alarm that fires; the first page names the likely cause.',
      impact: "See the child alarm's section: the notification lists the alarms that triggered it.",
      firstFiveMinutes: [
        `${STATUS}: every alarm in ALARM, the breaker, the budget, and whether the mapping is paused.`,
        'Open the section of the earliest child alarm (`pipectl runbook <alarm id>`): the first to fire is usually the cause, the rest are symptoms.',
        triage(COMPOSITE_ALARM_ID),
      ],
      diagnosis: {
        data: 'Only incomplete-job or drift-critical in ALARM, error and latency rates flat: something changed in what producers send.',
        infrastructure: 'processor-silent, processor-errors or input-age-over-sla with the model healthy: our stack or AWS.',
        model: "model-error-rate or drift-critical first: the provider or the model's behaviour.",
      },
      remediations: ["Follow the child alarm's section. `pipectl pause` / `pipectl resume` and `pipectl breaker open|close` are the reversible levers."],
      doNotAutomate: 'Do not auto-acknowledge or silence the composite: it goes back to OK by itself when every child does.',
      verifyRecovery: ['Every child back to OK (`pipectl status`); each paging child sends its OK to the page topic.'],
      escalate: 'Per the child alarm; if several unrelated children fire, call the pipeline owners.',
    },
  };
}

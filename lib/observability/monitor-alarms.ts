import { METRIC, METRIC_SERVICE, type MetricService } from '../../lambda/contract';
import type { StageConfig } from '../config/stage-types';
import { type AlarmEntry, type CatalogMetrics, type LambdaMetricFactory, type PipelineMetricFactory, triage } from './alarm-family';
import type { ResourceRole } from './alarm-types';
import { math } from './metric-math';

/*
 * The scheduled monitors themselves (DESIGN.md: the reconciler and the drift monitor read the
 * ledger on a schedule): a heartbeat each, and Lambda's Errors and Throttles for each.
 */

/** The reconciler's and the drift monitor's own alarms, in catalog order. */
export function scheduledMonitorAlarms(config: StageConfig, metrics: CatalogMetrics): AlarmEntry[] {
  const { lambda, pipeline } = metrics;
  const stage = config.stage;
  return [
    ...monitorAlarms(
      {
        id: 'reconciler',
        service: METRIC_SERVICE.RECONCILER,
        resource: 'reconciler',
        scheduleMinutes: config.completeness.scheduleMinutes,
        watches: 'incomplete-job',
        stage,
      },
      lambda,
      pipeline,
    ),
    ...monitorAlarms(
      {
        id: 'drift-monitor',
        service: METRIC_SERVICE.DRIFT_MONITOR,
        resource: 'driftMonitor',
        scheduleMinutes: config.drift.scheduleMinutes,
        watches: 'drift-warning and drift-critical',
        stage,
      },
      lambda,
      pipeline,
    ),
  ];
}

/** A scheduled monitor, as {@link monitorAlarms} watches it. */
interface ScheduledMonitor {
  /** The alarm id prefix, e.g. `reconciler`. */
  readonly id: string;
  readonly service: MetricService;
  readonly resource: ResourceRole;
  readonly scheduleMinutes: number;
  /** The alarms that go blind when it stops, for the runbook. */
  readonly watches: string;
  readonly stage: string;
}

/**
 * What watches a scheduled function: its heartbeat (a run that did its work publishes
 * `MonitorHeartbeat`), and Lambda's own Errors and Throttles for it. A monitor that stops — its
 * schedule disabled, its function failing or throttled, its role broken — publishes nothing,
 * and every alarm on what it measures goes quiet with it; the heartbeat is what pages then.
 */
function monitorAlarms(monitor: ScheduledMonitor, lambda: LambdaMetricFactory, pipeline: PipelineMetricFactory): AlarmEntry[] {
  const { id, stage } = monitor;
  // Two schedule intervals: every such period holds at least one run of a healthy monitor, whatever the phase of its schedule.
  const heartbeatPeriod = Math.max(2 * monitor.scheduleMinutes * 60, 300);
  const runsEvery = `every ${monitor.scheduleMinutes} min`;
  const logs = `the ${id} log group (CloudWatch Logs Insights: \`filter level = "ERROR" | sort @timestamp desc | limit 20\`)`;
  const common = {
    impact: `While ${id} does not run, ${monitor.watches} cannot fire: what it measures goes unwatched.`,
    doNotAutomate: `Do not auto-invoke ${id} in a loop to silence the alarm: a run that fails again only hides why.`,
  };
  return [
    {
      id: `${id}-heartbeat`,
      title: `${id}: no heartbeat`,
      severity: 'page',
      summary: `The scheduled ${id} (${runsEvery}) has not finished a run in ${heartbeatPeriod / 60} min: it is stopped, failing or not scheduled.`,
      // FILL(beats, 0): a period without a heartbeat is a 0, which breaches at once. Without it the
      // alarm would see "missing" periods, and CloudWatch applies the missing-data treatment only
      // when the evaluation range (which reaches back beyond the evaluation periods) holds fewer
      // real datapoints than it needs, so an older heartbeat would keep it OK for longer. If FILL
      // returns nothing because the whole range has no heartbeat, the result is missing, which
      // is breaching here: either way the alarm fires.
      signal: {
        kind: 'math',
        label: `${id} heartbeats (missing = 0)`,
        unit: 'Count',
        expression: math.fill('beats', 0),
        metrics: { beats: pipeline(METRIC.MONITOR_HEARTBEAT, 'Sum', 'Count', `${id} heartbeats`, monitor.service) },
      },
      periodSeconds: heartbeatPeriod,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'LessThanThreshold',
      threshold: 1,
      thresholdUnit: 'runs',
      treatMissingData: 'breaching',
      rationale:
        `The monitor publishes one heartbeat per finished run, ${runsEvery}; a period of two intervals always holds one. A period without one is filled with 0 and breaches; ` +
        'missing data (no heartbeat in the whole range) is the signal itself: breaching.',
      runbook: {
        meaning: `No run of the ${id} finished in the last ${heartbeatPeriod / 60} minutes. ${monitor.watches} read what it publishes, so they are blind until it runs again.`,
        ...common,
        firstFiveMinutes: [
          `\`pipectl status --stage ${stage}\`: are ${id}-errors or ${id}-throttles in ALARM too?`,
          `Is its EventBridge schedule enabled (console: EventBridge rules of the stack)? A disabled rule is the usual cause after maintenance.`,
          `Read ${logs}.`,
          triage(`${id}-heartbeat`),
        ],
        diagnosis: {
          data: 'Not the data: a run publishes its heartbeat whatever it finds.',
          infrastructure: `Errors in its log (permissions, the ledger or control table throttling, a timeout): ${id}-errors is usually in ALARM too. No invocations at all: the schedule is disabled or deleted.`,
          model: 'Not the model: the monitors call no model.',
        },
        remediations: [
          'Re-enable the schedule, or redeploy the stack (`cdk deploy`), which restores it.',
          'Fix the error its log shows; invoke it once by hand (Lambda console, Test) to confirm.',
        ],
        verifyRecovery: [`The next run publishes a heartbeat and the alarm returns to OK within ${heartbeatPeriod / 60} minutes.`],
        escalate: 'The pipeline owners.',
      },
    },
    ...(
      [
        ['errors', 'Errors', 'failed', 'A run that throws publishes no heartbeat and no metrics.'],
        ['throttles', 'Throttles', 'was throttled', 'Throttled scheduled invocations are retried by EventBridge for a while, then dropped.'],
      ] as const
    ).map(([suffix, metricName, verb, why]) => ({
      id: `${id}-${suffix}`,
      title: `${id}: Lambda ${metricName.toLowerCase()}`,
      severity: 'ticket' as const,
      summary: `An invocation of the scheduled ${id} ${verb}.`,
      signal: { kind: 'metric' as const, metric: lambda(metricName, 'Sum', 'Count', `${id} ${metricName.toLowerCase()}`, monitor.resource) },
      periodSeconds: 300,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparison: 'GreaterThanOrEqualToThreshold' as const,
      threshold: 1,
      thresholdUnit: metricName.toLowerCase(),
      treatMissingData: 'notBreaching' as const,
      rationale: `${why} Lambda reports ${metricName} only for invocations that happen, so a quiet period is not a failure: not breaching. The heartbeat pages if runs stop altogether.`,
      runbook: {
        meaning: `Lambda reports ${metricName} for the ${id} function.`,
        ...common,
        firstFiveMinutes: [`Read ${logs}.`, triage(`${id}-${suffix}`)],
        diagnosis: {
          data: 'A malformed job or baseline item in the control table can make every run fail the same way: the log names it.',
          infrastructure:
            suffix === 'errors'
              ? 'Permissions, a timeout (the run reads more than its time allows), or DynamoDB throttling.'
              : "The account's concurrency is exhausted by other functions.",
          model: 'Not the model.',
        },
        remediations:
          suffix === 'errors'
            ? ["Fix what the log shows; raise the monitor's timeout or memory in the stage config if it runs out."]
            : ['Reserve concurrency for the monitor, or raise the account limit.'],
        verifyRecovery: [`No ${metricName.toLowerCase()} for 5 minutes; ${id}-heartbeat is OK.`],
        escalate: 'The pipeline owners.',
      },
    })),
  ];
}

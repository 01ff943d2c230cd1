import type { StageConfig } from '../config/stage-types';
import { catalogMetrics, triage } from './alarm-family';
import type { AlarmCatalog, AlarmDefinition } from './alarm-types';
import { canaryAlarm, canaryDashboardRow } from './canary-alarms';
import { completenessAlarms } from './completeness-alarms';
import { compositeAlarm } from './composite-alarm';
import { buildDashboard } from './dashboard';
import { deadLetterAlarms } from './dead-letter-alarms';
import { driftAlarms } from './drift-alarms';
import { dynamodbAlarms } from './dynamodb-alarms';
import { entityLoopAlarms } from './entity-loop-alarms';
import { fallbackAlarms } from './fallback-alarms';
import { BUDGET_ALARM_IDS, guardAlarms } from './guard-alarms';
import { modelAlarms } from './model-alarms';
import { scheduledMonitorAlarms } from './monitor-alarms';
import { processorAlarms } from './processor-alarms';
import { quotaAlarms, quotaDashboard } from './quota-alarms';

/*
 * The alarm catalog: the one place an alarm is declared. The CDK construct
 * (pipeline-observability.ts) creates the CloudWatch alarms, the composite and the dashboard from
 * it; scripts/write-runbook.ts writes RUNBOOK.md from it; `pipectl runbook` prints its sections;
 * local mode evaluates its definitions over what a local run emits. Thresholds come from the stage
 * config (`observability.alarms`); periods, datapoints and missing-data treatment are in each
 * family's file, next to the reason for them, because they are properties of the signal rather
 * than of the stage.
 *
 * One file per alarm family, in the order of the catalog (and of RUNBOOK.md):
 *   processor-alarms.ts      input age, processor silent / errors / throttles
 *   model-alarms.ts          model error rate, p99 latency, validation failures
 *   fallback-alarms.ts       fallback rate, human-review backlog
 *   guard-alarms.ts          breaker held open, budget warning / exhausted
 *   dead-letter-alarms.ts    input DLQ, review DLQ
 *   dynamodb-alarms.ts       table throttles and system errors
 *   completeness-alarms.ts   incomplete jobs (the reconciler)
 *   drift-alarms.ts          drift warning / critical, serving-mix shift (the drift monitor)
 *   canary-alarms.ts         canary regression
 *   quota-alarms.ts          provider quota
 *   entity-loop-alarms.ts    escalation loops across edits
 *   monitor-alarms.ts        the scheduled monitors' heartbeats, errors and throttles
 *   composite-alarm.ts       the composite over the paging alarms
 *   dashboard.ts             the dashboard
 * alarm-family.ts holds what they share: the metric factories and the runbook's first commands.
 */

/** The stack name of a stage, as `createPipelineApp` names it. */
export function defaultStackName(stage: string): string {
  return `AiPipeline-${stage}`;
}

/** Alarm names are `<stack>-<id>`, so one prefix finds them all (DescribeAlarms AlarmNamePrefix). */
export function alarmNamePrefix(stackName: string): string {
  return `${stackName}-`;
}

/** The address of an alarm's runbook section. */
export function runbookUrl(baseUrl: string, alarmId: string): string {
  return `${baseUrl}#${alarmId}`;
}

/** Options of {@link buildAlarmCatalog}. */
export interface AlarmCatalogOptions {
  /** @default `AiPipeline-<stage>` */
  readonly stackName?: string;
}

/**
 * The catalog of one stage.
 *
 * @example
 * const catalog = buildAlarmCatalog(loadStageConfig('prod'));
 * catalog.alarms.find((alarm) => alarm.id === 'dlq-has-messages')?.threshold; // 1
 */
export function buildAlarmCatalog(config: StageConfig, options: AlarmCatalogOptions = {}): AlarmCatalog {
  const stackName = options.stackName ?? defaultStackName(config.stage);
  const prefix = alarmNamePrefix(stackName);
  const stage = config.stage;
  const metrics = catalogMetrics(config);
  const { pipeline, sqs, lambda } = metrics;

  const definitions = [
    ...processorAlarms(config, metrics),
    ...modelAlarms(config, metrics),
    ...fallbackAlarms(config, metrics),
    ...guardAlarms(config, metrics),
    ...deadLetterAlarms(config, metrics),
    ...dynamodbAlarms(config),
    ...completenessAlarms(config, metrics),
    ...driftAlarms(config, metrics),
    canaryAlarm(config, triage), // change safety (issue 15)
    ...quotaAlarms(config, { pipeline, sqs }), // provider quota (issue 14)
    ...entityLoopAlarms(config, pipeline),
  ];
  const monitors = scheduledMonitorAlarms(config, metrics);
  // Only what the stage can produce: the processor publishes BudgetUsedPercent only when a token
  // or USD limit is set (batch-processor.ts, `budget.limited`), so without one the budget alarms
  // could never leave INSUFFICIENT_DATA/OK and would only suggest a guard that is not there.
  const budgetSet = config.budget.tokensPerHour > 0 || config.budget.usdPerHour > 0;
  const applicable = definitions.filter((alarm) => budgetSet || !BUDGET_ALARM_IDS.has(alarm.id));
  const alarms: AlarmDefinition[] = [...applicable, ...monitors].map((alarm) => ({ ...alarm, name: `${prefix}${alarm.id}` }));

  return {
    stage,
    stackName,
    alarmNamePrefix: prefix,
    runbookBaseUrl: config.observability.runbookBaseUrl,
    region: config.observability.region,
    escalation: config.observability.escalation,
    alarms,
    composite: compositeAlarm(prefix, alarms),
    dashboard: [
      ...buildDashboard(alarms, pipeline, sqs, lambda, stage, budgetSet),
      ...quotaDashboard(config, alarms, { pipeline, sqs }),
      canaryDashboardRow(config),
    ],
  };
}

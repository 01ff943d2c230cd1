import { METRIC_DIMENSION, METRIC_SERVICE } from '../../lambda/contract';
import type { AlarmCatalog, AlarmDefinition, CompositeAlarmDefinition, ResourceRole } from './alarm-types';

/*
 * Console links of a runbook section, per stage and region: the CloudWatch alarm, the stage's
 * dashboard, and a Logs Insights query over the function whose logs explain the alarm.
 *
 * The formats are the console's own deep links:
 * - alarm:     https://<region>.console.aws.amazon.com/cloudwatch/home?region=<region>#alarmsV2:alarm/<name>
 * - dashboard: https://<region>.console.aws.amazon.com/cloudwatch/home?region=<region>#dashboards/dashboard/<name>
 * - Logs Insights: …#logsV2:logs-insights$3FqueryDetail$3D<detail>, where <detail> is the query
 *   state in JSURL notation (`~(key~value~…)`, strings `'`-prefixed with `*XX` escapes), then
 *   `escape()`d, `encodeURIComponent`ed, and `%` written as `$`: the form the console writes
 *   itself when a query is shared.
 *
 * The log groups of the stack have names CloudFormation generates
 * (`AiPipeline-<stage>-ProcessorLogGroup<hash>-<suffix>`), which are not known before deploy, so
 * the Logs Insights link opens the query without a log group selected and the runbook names the
 * one to pick. Logs Insights' `SOURCE logGroups(namePrefix: …)` would select it by prefix, but
 * the console does not accept SOURCE (CloudWatch Logs docs, "SOURCE").
 */

/** The functions whose logs a section's query reads. */
export type LogSource = 'processor' | 'reconciler' | 'driftMonitor';

/** The links of one alarm in one stage. */
export interface AlarmConsoleLinks {
  readonly stage: string;
  readonly region: string;
  readonly alarm: string;
  readonly dashboard: string;
  readonly logsInsights: string;
  /** The Logs Insights query the link opens. */
  readonly logsQuery: string;
  /** The start of the name of the log group to select in Logs Insights. */
  readonly logGroupPrefix: string;
}

/** The CloudWatch console's address in a region (commercial, China and GovCloud partitions). */
export function cloudWatchConsoleUrl(region: string): string {
  const host = region.startsWith('cn-')
    ? `${region}.console.amazonaws.cn`
    : region.startsWith('us-gov-')
      ? `${region}.console.amazonaws-us-gov.com`
      : `${region}.console.aws.amazon.com`;
  return `https://${host}/cloudwatch/home?region=${region}`;
}

/** The console page of one alarm (metric or composite). */
export function alarmConsoleUrl(region: string, alarmName: string): string {
  return `${cloudWatchConsoleUrl(region)}#alarmsV2:alarm/${encodeURIComponent(alarmName)}`;
}

/** The console page of one dashboard. */
export function dashboardConsoleUrl(region: string, dashboardName: string): string {
  return `${cloudWatchConsoleUrl(region)}#dashboards/dashboard/${encodeURIComponent(dashboardName)}`;
}

/** JSURL's string escape: every character but letters, digits, `_`, `-` and `.` as `*XX` (`!` for `$`). */
function jsurlString(value: string): string {
  return value.replace(/[^\w.-]/g, (character) => {
    if (character === '$') return '!';
    const code = character.charCodeAt(0);
    return code < 0x100 ? `*${code.toString(16).padStart(2, '0')}` : `**${code.toString(16).padStart(4, '0')}`;
  });
}

type JsurlValue = string | number | boolean | readonly JsurlValue[] | { readonly [key: string]: JsurlValue };

/** JSURL notation (the console's query-state format): `~(a~1~b~'x~c~(~'y))`. */
function jsurl(value: JsurlValue): string {
  if (typeof value === 'string') return `~'${jsurlString(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `~${value}`;
  if (Array.isArray(value)) return `~(${value.map((item: JsurlValue) => jsurl(item)).join('') || '~'})`;
  const entries = Object.entries(value as { readonly [key: string]: JsurlValue }).map(([key, item]) => `${jsurlString(key)}${jsurl(item)}`);
  return `~(${entries.join('~')})`;
}

/** JavaScript's legacy `escape()` for the characters JSURL output can hold beyond `[\w.*-]`. */
function escapeJsurl(text: string): string {
  return text.replace(/[~()'!]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * A Logs Insights page with the query filled in, over the last `hours` (relative time range), and
 * the log groups selected when their names are known.
 */
export function logsInsightsConsoleUrl(region: string, query: string, logGroups: readonly string[] = [], hours = 3): string {
  const detail = jsurl({
    end: 0,
    start: -hours * 3600,
    timeType: 'RELATIVE',
    unit: 'seconds',
    editorString: query,
    ...(logGroups.length > 0 ? { source: logGroups } : {}),
  });
  const fragment = encodeURIComponent(`?queryDetail=${escapeJsurl(detail)}`).replace(/%/g, '$');
  return `${cloudWatchConsoleUrl(region)}#logsV2:logs-insights${fragment}`;
}

/** The logical id of each function's log group, the middle of its generated name. */
const LOG_GROUP_ID: Readonly<Record<LogSource, string>> = {
  processor: 'ProcessorLogGroup',
  reconciler: 'MonitorsReconcilerLogGroup',
  driftMonitor: 'MonitorsDriftMonitorLogGroup',
};

/** Which function's log explains an alarm: a monitor's for its own alarms and metrics, else the processor's. */
export function logSourceOf(alarm: AlarmDefinition | CompositeAlarmDefinition): LogSource {
  if (!('signal' in alarm)) return 'processor';
  const queries = alarm.signal.kind === 'metric' ? [alarm.signal.metric] : Object.values(alarm.signal.metrics);
  // An AWS metric names the resource; a pipeline metric the service that publishes it.
  const roles = new Set<ResourceRole | string | undefined>(
    queries.map(({ source }) => (source.kind === 'aws' ? source.resource : source.dimensions[METRIC_DIMENSION.SERVICE])),
  );
  if (roles.has('reconciler') || roles.has(METRIC_SERVICE.RECONCILER)) return 'reconciler';
  if (roles.has('driftMonitor') || roles.has(METRIC_SERVICE.DRIFT_MONITOR)) return 'driftMonitor';
  return 'processor';
}

/** The fields of the processor's per-record log line (batch-processor.ts): every record but a plain success, which is DEBUG and sampled. */
const RECORD_FIELDS = 'fields @timestamp, level, message, task, outcome, tier, modelId, attempts, receiveCount, errorClass, error, inputHash';

/**
 * The Logs Insights query of an alarm: the processor's warnings and errors (one line per failed or
 * rejected record, breaker and switch warnings, crashes and timeouts), narrowed for the alarms a
 * field names; a monitor's errors for the monitors' alarms.
 */
export function logsQueryOf(alarm: AlarmDefinition | CompositeAlarmDefinition): string {
  const source = logSourceOf(alarm);
  if (source !== 'processor')
    return 'fields @timestamp, level, message, error\n| filter level in ["ERROR", "CRITICAL"] or @message like /Task timed out/\n| sort @timestamp desc\n| limit 50';
  const narrower: Readonly<Record<string, string>> = {
    'model-error-rate': '| filter ispresent(errorClass)',
    'validation-failure-rate': '| filter ispresent(reasons.0)',
    'fallback-rate': '| filter ispresent(tier) and tier != "primary"',
    'review-backlog-age': '| filter tier = "human"',
    'dlq-has-messages': '| filter ispresent(deadLettered) or outcome = "REJECTED"',
    'breaker-open': '| filter message like /breaker/',
    'processor-errors': '| filter level in ["ERROR", "CRITICAL"] or @message like /Task timed out|Runtime\\./',
  };
  const filter = narrower[alarm.id] ?? '| filter level in ["WARN", "ERROR", "CRITICAL"] or @message like /Task timed out/';
  return [RECORD_FIELDS, filter, '| sort @timestamp desc', '| limit 50'].join('\n');
}

/** The console links of one alarm (or the composite) in the stage of `catalog`. */
export function alarmConsoleLinks(
  catalog: AlarmCatalog,
  alarm: AlarmDefinition | CompositeAlarmDefinition,
  logGroups: readonly string[] = [],
): AlarmConsoleLinks {
  const source = logSourceOf(alarm);
  const logsQuery = logsQueryOf(alarm);
  return {
    stage: catalog.stage,
    region: catalog.region,
    alarm: alarmConsoleUrl(catalog.region, `${catalog.alarmNamePrefix}${alarm.id}`),
    // The dashboard is named after the stack (pipeline-observability.ts).
    dashboard: dashboardConsoleUrl(catalog.region, catalog.stackName),
    logsInsights: logsInsightsConsoleUrl(catalog.region, logsQuery, logGroups),
    logsQuery,
    logGroupPrefix: `${catalog.stackName}-${LOG_GROUP_ID[source]}`,
  };
}

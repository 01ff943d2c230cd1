import { existsSync, readFileSync } from 'node:fs';
import { DescribeStackEventsCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { ENV } from '../lambda/contract';
import { TASKS } from '../lambda/tasks/registry';
import type { AlarmCatalog, AlarmDefinition, MetricQuery, ResourceRole } from '../lib/observability/alarm-types';
import { renderExpression } from '../lib/observability/metric-math';
import { findAlarm, renderAlarmSection } from '../lib/observability/runbook';
import { emfValues } from '../local/log-sink';
import { alarmHistory, type AlarmRead, readAlarms } from './alarms';
import type { BreakerView } from './control-state';
import { type DeadLetterGroup, groupByClass, readDeadLetters } from './dlq';
import type { MappingState } from './event-source';
import { queueName } from './queue-inspector';
import { gatherStatus, type StatusReport } from './status';
import type { PipelineTarget } from './target';

/** One moment of the incident, for the timeline. */
export interface TimelineEvent {
  readonly at: number;
  readonly source: 'alarm' | 'stack' | 'mapping' | 'breaker' | 'dlq' | 'triage';
  readonly event: string;
}

/** A catalog alarm's signal over the window, as CloudWatch (or local mode's log) saw it. */
export interface SignalSeries {
  readonly alarmId: string;
  readonly label: string;
  readonly threshold: number;
  readonly unit: string;
  readonly latest?: number;
  readonly max?: number;
  /** [epoch ms, value], oldest first. */
  readonly points: ReadonlyArray<readonly [number, number]>;
  readonly error?: string;
}

/** Everything `pipectl triage` collects; the .json file is this, the .md renders it. */
export interface IncidentEvidence {
  readonly generatedAt: number;
  readonly since: number;
  readonly focusAlarm?: string;
  readonly target: StatusReport['target'] & { readonly stackName?: string };
  readonly status: StatusReport;
  /** Every alarm of the target with its state (not only those in ALARM). */
  readonly alarms: AlarmRead;
  /** State changes in the window, newest first. */
  readonly alarmHistory: ReadonlyArray<{ readonly alarm: string; readonly at: number; readonly summary: string }>;
  /** Key metrics: each catalog alarm's own signal over the window. */
  readonly metrics: readonly SignalSeries[] | { readonly unavailable: string };
  /** Local mode: sums of the processor's EMF metrics in the window (what CloudWatch would hold). */
  readonly localMetricTotals?: Readonly<Record<string, number>>;
  readonly deadLetters: {
    readonly total: number;
    readonly truncated: boolean;
    readonly groups: ReadonlyArray<Omit<DeadLetterGroup, 'samples'> & { readonly samples: readonly object[] }>;
  };
  readonly configuration: {
    readonly models: Readonly<Record<string, string>>;
    readonly tasks: ReadonlyArray<{ readonly name: string; readonly version: string }>;
    readonly function?: { readonly name: string; readonly lastModified?: string; readonly codeSha256?: string; readonly version?: string };
    readonly stack?: { readonly status?: string; readonly lastUpdated?: number };
    readonly error?: string;
  };
  readonly stackEvents: ReadonlyArray<{ readonly at: number; readonly resource: string; readonly status: string; readonly reason?: string }>;
  /** Runbook sections of the alarms in ALARM (and of the focus alarm), by alarm id. */
  readonly runbook: Readonly<Record<string, string>>;
  readonly timeline: readonly TimelineEvent[];
  /** Parts that could not be read, and why: evidence is collected best-effort. */
  readonly gaps: readonly string[];
}

export interface TriageOptions {
  readonly since: number;
  /** An alarm id or full name to focus on. */
  readonly alarm?: string;
  /** The stage's alarm catalog (undefined for a stage this pipectl has no config for). */
  readonly catalog?: AlarmCatalog;
  /** Put dead-letter bodies in the file (off: they may hold customer data). */
  readonly includeBodies?: boolean;
  readonly now?: number;
}

/** Environment variables that say which models and settings the processor runs with. */
const CONFIGURATION_ENV = [
  ENV.MODEL_PROVIDER,
  ENV.PRIMARY_MODEL_ID,
  ENV.SECONDARY_MODEL_ID,
  ENV.MODEL_BASE_URL,
  ENV.MIN_CONFIDENCE,
  ENV.RETRY_MAX_ATTEMPTS,
  ENV.MODEL_CALL_TIMEOUT_MS,
  ENV.BREAKER_WHEN_OPEN,
  ENV.BUDGET_TOKENS_PER_HOUR,
  ENV.BUDGET_USD_PER_HOUR,
  ENV.TASK_POLICIES,
  ENV.ALLOW_FAULT_INJECTION,
] as const;

/**
 * Collects the evidence of an incident. Reads only: alarms, metrics, stack events and the
 * function's configuration from the control plane; queues, DLQ samples (put back at once) and the
 * control table from the data plane. A part that fails is recorded as a gap, not a crash.
 */
export async function collectEvidence(target: PipelineTarget, options: TriageOptions): Promise<IncidentEvidence> {
  const now = options.now ?? Date.now();
  const gaps: string[] = [];
  const attempt = async <T>(what: string, read: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await read();
    } catch (error) {
      gaps.push(`${what}: ${(error as Error).message}`);
      return fallback;
    }
  };
  const focus = options.alarm && options.catalog ? findAlarm(options.catalog, options.alarm) : undefined;
  if (options.alarm && options.catalog && !focus) gaps.push(`--alarm ${options.alarm} is not in the ${options.catalog.stage} alarm catalog`);

  const status = await gatherStatus(target, now);
  const alarms = await attempt('alarm states', () => readAlarms(target), { available: false, reason: 'unreadable' } as AlarmRead);
  const history = await attempt('alarm history', () => alarmHistory(target, options.since), []);
  const metrics = await attempt<IncidentEvidence['metrics']>('metrics', () => signalSeries(target, options.catalog, options.since, now), {
    unavailable: 'unreadable',
  });
  const localMetricTotals =
    target.kind === 'local' ? await attempt('local metrics', async () => localTotals(target, options.since, now), undefined) : undefined;
  const dead = await attempt('dead letters', () => readDeadLetters(target, 1000), { letters: [], truncated: false, heldElsewhere: 0 });
  const configuration = await attempt('configuration', () => readConfiguration(target), { models: {}, tasks: taskVersions(), error: 'unreadable' });
  const stackEvents = await attempt('stack events', () => recentStackEvents(target, options.since), []);
  const breakers = Array.isArray(status.breakers) ? (status.breakers as BreakerView[]) : [];

  const inAlarm = alarms.available ? alarms.alarms.filter((alarm) => alarm.state === 'ALARM') : [];
  const runbook: Record<string, string> = {};
  if (options.catalog) {
    const ids = new Set(inAlarm.map((alarm) => alarmIdOf(options.catalog as AlarmCatalog, alarm.name)).filter((id): id is string => id !== undefined));
    if (focus) ids.add(focus.id);
    for (const id of ids) runbook[id] = renderAlarmSection([options.catalog], id);
  } else gaps.push(`no alarm catalog for stage ${target.stage} in this pipectl: runbook sections left out`);

  const groups = groupByClass(dead.letters).map((group) => ({
    ...group,
    samples: group.samples.map(({ body, ledger, ...sample }) => ({
      ...sample,
      ledger: ledger ? redactLedger(ledger) : undefined,
      ...(options.includeBodies ? { body } : {}),
    })),
  }));

  const timeline = buildTimeline({
    since: options.since,
    now,
    history: history.map((item) => ({ alarm: item.AlarmName ?? '?', at: item.Timestamp?.getTime() ?? 0, summary: item.HistorySummary ?? '' })),
    stackEvents,
    mapping: 'error' in status.mapping ? undefined : status.mapping,
    breakers,
    deadLetterTimes: dead.letters.map((letter) => letter.sentAt).filter((time): time is number => time !== undefined),
  });

  return {
    generatedAt: now,
    since: options.since,
    ...(focus ? { focusAlarm: focus.id } : options.alarm ? { focusAlarm: options.alarm } : {}),
    target: { ...status.target, ...(target.stackName ? { stackName: target.stackName } : {}) },
    status,
    alarms,
    alarmHistory: history.map((item) => ({ alarm: item.AlarmName ?? '?', at: item.Timestamp?.getTime() ?? 0, summary: item.HistorySummary ?? '' })),
    metrics,
    ...(localMetricTotals ? { localMetricTotals } : {}),
    deadLetters: { total: dead.letters.length, truncated: dead.truncated, groups },
    configuration,
    stackEvents,
    runbook,
    timeline,
    gaps,
  };
}

/** The catalog id of an alarm name (`<prefix><id>`). */
export function alarmIdOf(catalog: AlarmCatalog, name: string): string | undefined {
  return findAlarm(catalog, name)?.id ?? (name.startsWith(catalog.alarmNamePrefix) ? name.slice(catalog.alarmNamePrefix.length) : undefined);
}

/** Ledger fields that help and carry no input text. */
function redactLedger(item: Record<string, unknown>): Record<string, unknown> {
  const keep = [
    'pk',
    'status',
    'task',
    'taskVersion',
    'tier',
    'modelId',
    'jobId',
    'lastErrorClass',
    'lastError',
    'reason',
    'detail',
    'receiveCount',
    'claims',
    'updatedAt',
  ];
  return Object.fromEntries(Object.entries(item).filter(([name]) => keep.includes(name)));
}

function taskVersions(): Array<{ name: string; version: string }> {
  return Object.values(TASKS).map((task) => ({ name: task.name, version: task.version }));
}

async function readConfiguration(target: PipelineTarget): Promise<IncidentEvidence['configuration']> {
  const tasks = taskVersions();
  if (!target.lambda) return { models: {}, tasks, error: 'no Lambda endpoint for this target' };
  const fn = await target.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: target.resources.processorFunctionName }));
  const variables = fn.Environment?.Variables ?? {};
  const models = Object.fromEntries(CONFIGURATION_ENV.filter((name) => variables[name] !== undefined).map((name) => [name, variables[name] as string]));
  let stack: IncidentEvidence['configuration']['stack'];
  if (target.cloudformation && target.stackName) {
    const { Stacks = [] } = await target.cloudformation.send(new DescribeStacksCommand({ StackName: target.stackName }));
    stack = { status: Stacks[0]?.StackStatus, lastUpdated: (Stacks[0]?.LastUpdatedTime ?? Stacks[0]?.CreationTime)?.getTime() };
  }
  return {
    models,
    tasks,
    function: {
      name: fn.FunctionName ?? target.resources.processorFunctionName,
      lastModified: fn.LastModified,
      codeSha256: fn.CodeSha256,
      version: fn.Version,
    },
    ...(stack ? { stack } : {}),
  };
}

async function recentStackEvents(target: PipelineTarget, since: number): Promise<IncidentEvidence['stackEvents']> {
  if (!target.cloudformation || !target.stackName) return [];
  const events: Array<IncidentEvidence['stackEvents'][number]> = [];
  let nextToken: string | undefined;
  do {
    const page = await target.cloudformation.send(new DescribeStackEventsCommand({ StackName: target.stackName, NextToken: nextToken }));
    for (const event of page.StackEvents ?? []) {
      const at = event.Timestamp?.getTime() ?? 0;
      if (at < since) return events;
      events.push({
        at,
        resource: event.LogicalResourceId ?? '?',
        status: event.ResourceStatus ?? '?',
        ...(event.ResourceStatusReason ? { reason: event.ResourceStatusReason } : {}),
      });
    }
    nextToken = page.NextToken;
  } while (nextToken && events.length < 500);
  return events;
}

const RESOURCE_DIMENSION: Readonly<Record<ResourceRole, string>> = {
  inputQueue: 'QueueName',
  inputDlq: 'QueueName',
  reviewQueue: 'QueueName',
  reviewDlq: 'QueueName',
  processor: 'FunctionName',
  reconciler: 'FunctionName',
  driftMonitor: 'FunctionName',
  ledgerTable: 'TableName',
  controlTable: 'TableName',
};

/** The CloudWatch name of a catalog resource role in this target (triage and the console read metrics by it). */
export function resourceName(target: PipelineTarget, role: ResourceRole): string {
  const { resources } = target;
  switch (role) {
    case 'inputQueue':
      return queueName(resources.inputQueueUrl);
    case 'inputDlq':
      return queueName(resources.inputDlqUrl);
    case 'reviewQueue':
      return queueName(resources.reviewQueueUrl);
    case 'reviewDlq':
      return queueName(resources.reviewDlqUrl);
    case 'processor':
      return resources.processorFunctionName;
    case 'reconciler':
    case 'driftMonitor':
      // The stack outputs do not name the monitors' functions (yet): their Lambda metrics are left
      // out of the evidence rather than queried under a wrong name.
      return `(${role}: function name not in the stack outputs)`;
    case 'ledgerTable':
      return resources.ledgerTableName;
    case 'controlTable':
      return resources.controlTableName;
  }
}

function metricStat(target: PipelineTarget, query: MetricQuery, periodSeconds: number): NonNullable<MetricDataQuery['MetricStat']> {
  const { source } = query;
  const dimensions =
    source.kind === 'pipeline'
      ? Object.entries(source.dimensions).map(([Name, Value]) => ({ Name, Value }))
      : [
          { Name: RESOURCE_DIMENSION[source.resource], Value: resourceName(target, source.resource) },
          ...Object.entries(source.extraDimensions ?? {}).map(([Name, Value]) => ({ Name, Value })),
        ];
  return { Metric: { Namespace: source.namespace, MetricName: source.name, Dimensions: dimensions }, Period: periodSeconds, Stat: query.statistic };
}

/**
 * Each catalog alarm's own signal over the window, queried exactly as the alarm evaluates it
 * (the same metric, statistic and period; metric math as the same expression), one
 * GetMetricData call per alarm so one bad query costs one series.
 */
async function signalSeries(target: PipelineTarget, catalog: AlarmCatalog | undefined, since: number, now: number): Promise<IncidentEvidence['metrics']> {
  if (!catalog) return { unavailable: `no alarm catalog for stage ${target.stage}` };
  if (!target.cloudwatch) return { unavailable: 'local mode has no CloudWatch: see the local metric totals (from the processor log) instead' };
  const series: SignalSeries[] = [];
  for (const alarm of catalog.alarms) {
    series.push(await oneSignal(target, alarm, since, now));
  }
  return series;
}

async function oneSignal(target: PipelineTarget, alarm: AlarmDefinition, since: number, now: number): Promise<SignalSeries> {
  const period = Math.max(60, alarm.periodSeconds);
  const { signal } = alarm;
  const queries: MetricDataQuery[] =
    signal.kind === 'metric'
      ? [{ Id: 'signal', MetricStat: metricStat(target, signal.metric, period), ReturnData: true }]
      : [
          ...Object.entries(signal.metrics).map(([id, query]) => ({ Id: id, MetricStat: metricStat(target, query, period), ReturnData: false })),
          { Id: 'signal', Expression: renderExpression(signal.expression), Period: period, ReturnData: true },
        ];
  const label = signal.kind === 'metric' ? signal.metric.label : signal.label;
  try {
    const { MetricDataResults = [] } = await (target.cloudwatch as NonNullable<PipelineTarget['cloudwatch']>).send(
      new GetMetricDataCommand({ StartTime: new Date(since), EndTime: new Date(now), MetricDataQueries: queries, ScanBy: 'TimestampAscending' }),
    );
    const result = MetricDataResults.find((entry) => entry.Id === 'signal');
    const points = (result?.Timestamps ?? []).map((time, index) => [time.getTime(), result?.Values?.[index] ?? 0] as const).sort((a, b) => a[0] - b[0]);
    const values = points.map(([, value]) => value);
    return {
      alarmId: alarm.id,
      label,
      threshold: alarm.threshold,
      unit: alarm.thresholdUnit,
      ...(values.length > 0 ? { latest: values[values.length - 1], max: Math.max(...values) } : {}),
      points,
    };
  } catch (error) {
    return { alarmId: alarm.id, label, threshold: alarm.threshold, unit: alarm.thresholdUnit, points: [], error: (error as Error).message };
  }
}

/** Sums per metric name of the EMF lines in the local processor log, within the window. */
function localTotals(target: PipelineTarget, since: number, now: number): Record<string, number> | undefined {
  const file = target.local?.logFile;
  if (!file || !existsSync(file)) return undefined;
  const totals: Record<string, number> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes('"_aws"')) continue;
    let document: { _aws?: { Timestamp?: number } };
    try {
      document = JSON.parse(line) as { _aws?: { Timestamp?: number } };
    } catch {
      continue;
    }
    const at = Number(document._aws?.Timestamp);
    if (!(at >= since && at <= now)) continue;
    for (const [name, value] of emfValues(document)) totals[name] = (totals[name] ?? 0) + value;
  }
  return Object.fromEntries(Object.entries(totals).sort(([a], [b]) => a.localeCompare(b)));
}

function buildTimeline(parts: {
  since: number;
  now: number;
  history: ReadonlyArray<{ alarm: string; at: number; summary: string }>;
  stackEvents: IncidentEvidence['stackEvents'];
  mapping?: MappingState;
  breakers: readonly BreakerView[];
  deadLetterTimes: readonly number[];
}): TimelineEvent[] {
  const events: TimelineEvent[] = [];
  for (const item of parts.history) events.push({ at: item.at, source: 'alarm', event: `${item.alarm}: ${item.summary}` });
  // Stack events: the resource-level ones of a deployment are noise; its start and end are the signal.
  for (const event of parts.stackEvents) {
    if (/_(COMPLETE|FAILED)$|IN_PROGRESS$/.test(event.status) && (event.resource.startsWith('AiPipeline-') || /FAILED/.test(event.status))) {
      events.push({ at: event.at, source: 'stack', event: `${event.resource} ${event.status}${event.reason ? ` (${event.reason})` : ''}` });
    }
  }
  if (parts.mapping?.lastModified && parts.mapping.lastModified >= parts.since) {
    events.push({ at: parts.mapping.lastModified, source: 'mapping', event: `event source mapping set ${parts.mapping.state}` });
  }
  for (const breaker of parts.breakers) {
    if (breaker.openedAt && breaker.openedAt >= parts.since)
      events.push({ at: breaker.openedAt, source: 'breaker', event: `breaker of ${breaker.modelId} opened (${breaker.lastErrorClass ?? '?'})` });
    if (breaker.forcedAt && breaker.forcedAt >= parts.since) {
      events.push({
        at: breaker.forcedAt,
        source: 'breaker',
        event: `breaker of ${breaker.modelId} forced ${breaker.forced} by ${breaker.forcedBy ?? '?'}: ${breaker.forcedReason ?? ''}`,
      });
    }
  }
  const recentDead = parts.deadLetterTimes.filter((time) => time >= parts.since);
  if (recentDead.length > 0)
    events.push({ at: Math.min(...recentDead), source: 'dlq', event: `first dead letter of the window sent (${recentDead.length} in the window)` });
  events.push({ at: parts.now, source: 'triage', event: 'pipectl triage collected this evidence' });
  return events.sort((a, b) => a.at - b.at);
}

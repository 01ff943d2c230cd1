import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runbookUrl } from '../lib/observability/alarm-catalog';
import { METRIC } from '../lambda/contract';
import type { AlarmCatalog, AlarmDefinition, MetricQuery, ResourceRole } from '../lib/observability/alarm-types';
import { evaluateExpression } from '../lib/observability/metric-math';
import {
  type AlarmStateValue,
  computeStatistic,
  type DatapointClass,
  EXTRA_RANGE_PERIODS,
  effectiveTreatMissingData,
  evaluateAlarmState,
  isBreaching,
  queriesOf,
} from './alarm-rules';
import type { InvocationReport } from './event-source-poller';
import { MetricStore, type SeriesKey } from './log-sink';
import { inspectQueue, queueDepths, queueNameOf } from './queue-inspection';

/*
 * Local mode sees the same alarms: every entry of the alarm catalog is evaluated over what a local
 * run can observe, by CloudWatch's rules, on the run's scaled clock.
 *
 * What local mode observes, and so which alarms it can evaluate:
 * - the pipeline's own metrics: the EMF lines the bundled processor (and the monitors, when they
 *   run locally) print, kept with their timestamps and exact dimension sets by the LogSink;
 * - SQS: depth of the input, DLQ and review queues from fauxqs' queue list (`GET /_fauxqs/queues`)
 *   every tick, and the age of the oldest message from its inspection endpoint
 *   (`GET /_fauxqs/queues/<name>`) once per scaled minute, SQS's own reporting interval (an
 *   inspection serializes every message, which would slow a busy run if done every tick);
 * - Lambda: Invocations and Errors from each invocation's result (an error or a timeout counts, as
 *   Lambda counts them); Throttles is 0 on every invocation, because local mode runs one
 *   execution environment per concurrent batch and has no account limit to hit;
 * - DynamoDB: nothing. dynalite neither throttles nor fails requests, and those metrics are
 *   reported by the service, not the client, so the DynamoDB alarms stay INSUFFICIENT_DATA
 *   locally, and say why.
 *
 * Time: a period of P seconds lasts P × timeScale locally (like every other duration of local
 * mode), and durations measured on the scaled clock (queue ages, model latency) are divided by
 * timeScale before they are compared with thresholds written in real time.
 *
 * Written here because no library evaluates CloudWatch alarm definitions offline; moto_server
 * stores alarms but does not evaluate them. The files, by concern:
 * - alarm-rules.ts: CloudWatch's rules (statistics, comparison, missing data, the state of an
 *   evaluation range), checked against the tables of the CloudWatch documentation in
 *   test/unit/alarm-evaluator.test.ts;
 * - alarm-evaluator.ts (this file): the evaluator loop that samples what a run emits and applies
 *   those rules on the scaled clock, notifications and `.local/alarms.json`;
 * - queue-inspection.ts: the HTTP client of fauxqs' inspection endpoints (also `pipectl status`);
 * - alarm-summary.ts: the lines the CLI prints for the alarms that fired.
 */

/** One alarm's state, as the report and `.local/alarms.json` list it. */
export interface LocalAlarmState {
  readonly id: string;
  readonly name: string;
  readonly severity: 'page' | 'ticket';
  readonly state: AlarmStateValue;
  /** Why, in CloudWatch's terms (or why local mode cannot tell). */
  readonly reason: string;
  /** When it first went to ALARM in this run (ISO time), or null. */
  readonly firstFiredAt: string | null;
  /** Seconds of scaled (virtual) time from the start of the run to that moment, or null. */
  readonly firstFiredAfterSeconds: number | null;
  /** Whether local mode observes every metric this alarm reads. */
  readonly observable: boolean;
  readonly runbook: string;
}

/** The SNS topics of the stack: every alarm notifies `ticket`, paging alarms `page` too. */
export type NotificationTopic = 'page' | 'ticket';

/**
 * One notification an alarm action sent: CloudWatch runs an alarm's actions when it transitions
 * into the action's state (the stack sets ALARM and OK actions, none for INSUFFICIENT_DATA), so a
 * notification is a state change, never a state held.
 */
export interface AlarmNotification {
  readonly topic: NotificationTopic;
  readonly alarmId: string;
  readonly from: AlarmStateValue;
  readonly state: 'ALARM' | 'OK';
  /** ISO time of the transition. */
  readonly at: string;
  /** Seconds of scaled (virtual) time since the start of the run. */
  readonly afterSeconds: number;
  readonly reason: string;
}

/** The file `pipectl status --local` reads while `pipectl local --serve` runs. */
export const LOCAL_ALARMS_FILE = join('.local', 'alarms.json');

/** Options of a {@link LocalAlarmEvaluator}. */
export interface LocalAlarmEvaluatorOptions {
  readonly catalog: AlarmCatalog;
  /** The LogSink's store: the EMF datapoints. */
  readonly metrics: MetricStore;
  readonly timeScale: number;
  /** fauxqs' base URL. */
  readonly sqsEndpoint: string;
  /** Queue URLs of the queues the catalog reads. */
  readonly queueUrls: Readonly<Partial<Record<ResourceRole, string>>>;
  /** Where to write the current states after every evaluation. @default nowhere */
  readonly stateFile?: string;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * Whether the run has the stack's scheduled monitors (local/scheduled-monitors.ts). Without
   * them no heartbeat is expected, and the heartbeat alarms are reported as not observable
   * instead of paging. @default true
   */
  readonly scheduledMonitors?: boolean;
}

/** What local mode cannot observe, by source, and why. */
function unobservableReason(query: MetricQuery, scheduledMonitors: boolean): string | undefined {
  const { source } = query;
  if (source.kind === 'aws' && source.namespace === 'AWS/DynamoDB') {
    return 'not observable locally: dynalite neither throttles nor returns system errors, and DynamoDB reports these metrics service-side';
  }
  if (source.kind === 'aws' && source.namespace === 'AWS/Lambda' && source.resource !== 'processor') {
    return "not observable locally: local mode records Lambda's metrics for the processor's invocations only";
  }
  if (!scheduledMonitors && source.kind === 'pipeline' && source.name === METRIC.MONITOR_HEARTBEAT) {
    return 'not observable in this run: it runs without the scheduled monitors, so no heartbeat is expected';
  }
  return undefined;
}

interface AlarmProgress {
  state: AlarmStateValue;
  reason: string;
  firstFiredAt: number | null;
  /** The last period index evaluated. */
  lastPeriod: number;
}

/**
 * Evaluates the catalog during a local run: `start()` samples the queues and evaluates every alarm
 * at each end of its (scaled) period; `finish()` takes a last sample and evaluates once more with
 * the current, partial period included (no more data will come).
 */
export class LocalAlarmEvaluator {
  private readonly aws = new MetricStore();
  private readonly progress = new Map<string, AlarmProgress>();
  private readonly origin: number;
  private readonly now: () => number;
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private finished?: Promise<readonly LocalAlarmState[]>;
  private compositeFiredAt: number | null = null;
  private lastAgeSample = Number.NEGATIVE_INFINITY;
  /** The queues whose age of the oldest message an alarm reads. */
  private readonly agedQueues: ReadonlySet<ResourceRole>;
  private compositeState: AlarmStateValue = 'INSUFFICIENT_DATA';
  private readonly sent: AlarmNotification[] = [];

  constructor(private readonly options: LocalAlarmEvaluatorOptions) {
    if (!(options.timeScale > 0 && options.timeScale <= 1)) throw new RangeError(`timeScale must be in (0, 1], got ${options.timeScale}`);
    this.now = options.now ?? Date.now;
    this.origin = this.now();
    for (const alarm of options.catalog.alarms) {
      const blind = this.blindReason(alarm);
      this.progress.set(alarm.id, { state: 'INSUFFICIENT_DATA', reason: blind ?? 'not evaluated yet', firstFiredAt: null, lastPeriod: -1 });
    }
    // Keep what the longest alarm window needs, twice over.
    const longest = Math.max(...options.catalog.alarms.map((alarm) => this.periodMs(alarm) * (alarm.evaluationPeriods + EXTRA_RANGE_PERIODS)));
    options.metrics.retentionMs = Math.max(options.metrics.retentionMs, 2 * longest);
    this.aws.retentionMs = 2 * longest;
    this.agedQueues = new Set(
      options.catalog.alarms
        .flatMap(queriesOf)
        .flatMap(({ source }) =>
          source.kind === 'aws' && source.namespace === 'AWS/SQS' && source.name === 'ApproximateAgeOfOldestMessage' ? [source.resource] : [],
        ),
    );
  }

  /** Samples and evaluates on a timer until `stop()` or `finish()`. */
  start(): void {
    if (this.timer) return;
    const shortest = Math.min(...this.options.catalog.alarms.map((alarm) => this.periodMs(alarm)));
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.min(1000, shortest / 6)));
    this.timer.unref();
  }

  /** Lambda's metrics of one invocation, at the time it ended. */
  recordInvocation(report: Pick<InvocationReport, 'outcome'>): void {
    const timestamp = this.now();
    const record = (name: string, value: number) => this.aws.record({ ...awsKey('AWS/Lambda', name, 'processor'), timestamp, values: [value] });
    record('Invocations', 1);
    record('Errors', report.outcome === 'ok' ? 0 : 1);
    record('Throttles', 0);
  }

  /**
   * Takes one sample of the queues the catalog reads: depths always, ages when a scaled minute has
   * passed since the last age sample (or when `withAges`).
   */
  async sampleQueues(withAges = false): Promise<void> {
    const timestamp = this.now();
    const depths = await queueDepths(this.options.sqsEndpoint);
    const sampleAges = withAges || timestamp - this.lastAgeSample >= SQS_REPORTING_INTERVAL_MS * this.options.timeScale;
    if (sampleAges) this.lastAgeSample = timestamp;
    await Promise.all(
      Object.entries(this.options.queueUrls).map(async ([key, url]) => {
        const role = key as ResourceRole;
        const depth = url ? depths.get(queueNameOf(url)) : undefined;
        if (!url || !depth) return;
        const record = (name: string, value: number) => this.aws.record({ ...awsKey('AWS/SQS', name, role), timestamp, values: [value] });
        record('ApproximateNumberOfMessagesVisible', depth.visible);
        record('ApproximateNumberOfMessagesNotVisible', depth.inFlight);
        if (!sampleAges || !this.agedQueues.has(role)) return;
        const empty = depth.visible + depth.inFlight + depth.delayed === 0;
        const oldestSentAt = empty ? undefined : (await inspectQueue(this.options.sqsEndpoint, url)).oldestSentAt;
        record('ApproximateAgeOfOldestMessage', oldestSentAt === undefined ? 0 : Math.max(0, timestamp - oldestSentAt) / 1000);
      }),
    );
  }

  /** Evaluates every alarm whose period has ended since its last evaluation (or all, with the partial period, when `final`). */
  evaluate(final = false): void {
    const now = this.now();
    for (const alarm of this.options.catalog.alarms) {
      const progress = this.progress.get(alarm.id) as AlarmProgress;
      if (this.blindReason(alarm) !== undefined) continue;
      const periodMs = this.periodMs(alarm);
      // A period is evaluated once it has ended and a grace for late log lines has passed.
      const grace = Math.min(500, periodMs / 10);
      // The final evaluation takes in the current, partial period, but only for an alarm that a
      // partial period cannot make breach: a sum or count so far is at most the period's whole one,
      // so it can only understate "more than" (which it may then catch), and would overstate
      // "less than" (a heartbeat not yet due would page every run that stops mid-period).
      const partial = final && !alarm.comparison.startsWith('LessThan');
      const newest = partial ? Math.floor((now - this.origin) / periodMs) : Math.floor((now - grace - this.origin) / periodMs) - 1;
      if (newest < 0 || (newest <= progress.lastPeriod && !partial)) continue;
      const range: DatapointClass[] = [];
      const first = Math.max(0, newest - (alarm.evaluationPeriods + EXTRA_RANGE_PERIODS) + 1);
      // Metrics with no datapoint in the whole range: FILL leaves them empty (metric-math.ts).
      const emptyInRange = this.emptyMetrics(alarm, this.origin + first * periodMs, this.origin + (newest + 1) * periodMs);
      for (let period = first; period <= newest; period += 1) {
        const from = this.origin + period * periodMs;
        const value = this.signalValue(alarm, from, from + periodMs, emptyInRange);
        range.push(value === undefined ? 'missing' : isBreaching(value, alarm) ? 'breaching' : 'ok');
      }
      const next = evaluateAlarmState(range, { ...alarm, treatMissingData: effectiveTreatMissingData(alarm) }, progress.state);
      if (next.state !== progress.state && next.state !== 'INSUFFICIENT_DATA') this.notify(alarm, progress.state, next.state, next.reason, now);
      progress.state = next.state;
      progress.reason = next.reason;
      progress.lastPeriod = newest;
      if (next.state === 'ALARM' && progress.firstFiredAt === null) progress.firstFiredAt = now;
    }
    // The composite: ALARM while any paging child is, else OK.
    const anyChild = this.options.catalog.composite.children.some((id) => this.progress.get(id)?.state === 'ALARM');
    this.compositeState = anyChild ? 'ALARM' : 'OK';
    if (anyChild && this.compositeFiredAt === null) this.compositeFiredAt = now;
    this.writeStateFile();
  }

  /**
   * Every notification sent so far, oldest first; only those to `topic` when given. The stack's
   * actions: paging alarms notify `page` and `ticket`, the others `ticket`, on ALARM and on OK
   * (lib/observability/pipeline-observability.ts); the composite notifies nobody.
   */
  notifications(topic?: NotificationTopic): AlarmNotification[] {
    return this.sent.filter((notification) => topic === undefined || notification.topic === topic);
  }

  private notify(alarm: AlarmDefinition, from: AlarmStateValue, state: 'ALARM' | 'OK', reason: string, now: number): void {
    const topics: NotificationTopic[] = alarm.severity === 'page' ? ['page', 'ticket'] : ['ticket'];
    const afterSeconds = Math.round(((now - this.origin) / this.options.timeScale / 1000) * 10) / 10;
    for (const topic of topics) this.sent.push({ topic, alarmId: alarm.id, from, state, at: new Date(now).toISOString(), afterSeconds, reason });
  }

  /** The states now, composite first. */
  states(): LocalAlarmState[] {
    const { catalog } = this.options;
    const at = (time: number | null) => (time === null ? null : new Date(time).toISOString());
    const after = (time: number | null) => (time === null ? null : Math.round(((time - this.origin) / this.options.timeScale / 1000) * 10) / 10);
    const composite = catalog.composite;
    const firing = composite.children.filter((id) => this.progress.get(id)?.state === 'ALARM');
    return [
      {
        id: composite.id,
        name: composite.name,
        severity: 'page',
        state: this.compositeState,
        reason: firing.length > 0 ? `in ALARM: ${firing.join(', ')}` : 'no paging alarm in ALARM',
        firstFiredAt: at(this.compositeFiredAt),
        firstFiredAfterSeconds: after(this.compositeFiredAt),
        observable: true,
        runbook: runbookUrl(catalog.runbookBaseUrl, composite.id),
      },
      ...catalog.alarms.map((alarm) => {
        const progress = this.progress.get(alarm.id) as AlarmProgress;
        return {
          id: alarm.id,
          name: alarm.name,
          severity: alarm.severity,
          state: progress.state,
          reason: progress.reason,
          firstFiredAt: at(progress.firstFiredAt),
          firstFiredAfterSeconds: after(progress.firstFiredAt),
          observable: this.blindReason(alarm) === undefined,
          runbook: runbookUrl(catalog.runbookBaseUrl, alarm.id),
        };
      }),
    ];
  }

  /** A last sample and a last evaluation including the current period; stops the timer. Idempotent. */
  finish(): Promise<readonly LocalAlarmState[]> {
    this.finished ??= (async () => {
      this.stopTimer();
      await this.ticking;
      await this.sampleQueues(true).catch(() => undefined);
      this.evaluate(true);
      return this.states();
    })();
    return this.finished;
  }

  /** Stops sampling (the emulators are going away); what was evaluated stays readable. */
  async stop(): Promise<void> {
    this.stopTimer();
    await this.ticking;
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = (async () => {
      try {
        await this.sampleQueues();
      } catch {
        // The endpoint hiccupped or is stopping: this sample is missing, as a late SQS metric would be.
      }
      this.evaluate();
    })();
    await this.ticking;
    this.ticking = undefined;
  }

  /** Why local mode cannot evaluate this alarm, or undefined when it can. */
  private blindReason(alarm: AlarmDefinition): string | undefined {
    const monitors = this.options.scheduledMonitors ?? true;
    return queriesOf(alarm)
      .map((query) => unobservableReason(query, monitors))
      .find((reason) => reason !== undefined);
  }

  private periodMs(alarm: AlarmDefinition): number {
    return alarm.periodSeconds * 1000 * this.options.timeScale;
  }

  /** The alarm's signal over [from, to), in real-time units; undefined when missing. */
  private signalValue(alarm: AlarmDefinition, from: number, to: number, emptyInRange: ReadonlySet<string>): number | undefined {
    const { signal } = alarm;
    if (signal.kind === 'metric') return this.queryValue(signal.metric, from, to);
    const values = Object.fromEntries(Object.entries(signal.metrics).map(([id, query]) => [id, this.queryValue(query, from, to)]));
    return evaluateExpression(signal.expression, values, { emptyInRange });
  }

  /** Ids of a math alarm's metrics with no datapoint in [from, to). */
  private emptyMetrics(alarm: AlarmDefinition, from: number, to: number): ReadonlySet<string> {
    const { signal } = alarm;
    if (signal.kind === 'metric') return new Set();
    return new Set(
      Object.entries(signal.metrics)
        .filter(([, query]) => this.queryValue(query, from, to) === undefined)
        .map(([id]) => id),
    );
  }

  private queryValue(query: MetricQuery, from: number, to: number): number | undefined {
    const { source } = query;
    const values =
      source.kind === 'pipeline'
        ? this.options.metrics.values({ namespace: source.namespace, name: source.name, dimensions: source.dimensions }, from, to)
        : this.aws.values(awsKey(source.namespace, source.name, source.resource), from, to);
    const value = computeStatistic(values, query.statistic);
    // Durations were measured on the scaled clock; thresholds are in real time.
    const isDuration = query.unit === 'Seconds' || query.unit === 'Milliseconds';
    return value !== undefined && isDuration && query.statistic !== 'SampleCount' ? value / this.options.timeScale : value;
  }

  private writeStateFile(): void {
    const file = this.options.stateFile;
    if (!file) return;
    mkdirSync(dirname(file), { recursive: true });
    // Write then rename, so a reader never sees half a file.
    const temporary = `${file}.tmp`;
    // Every transition too (each alarm notifies `ticket`): what `pipectl incident timeline --local`
    // reads as the alarm history (DescribeAlarmHistory's local counterpart).
    const transitions = this.notifications('ticket').map(({ topic: _topic, ...transition }) => transition);
    const document = { updatedAt: new Date(this.now()).toISOString(), timeScale: this.options.timeScale, alarms: this.states(), transitions };
    writeFileSync(temporary, `${JSON.stringify(document, null, 2)}\n`);
    renameSync(temporary, file);
  }
}

/** Local series of AWS-provided metrics are keyed by the resource's role rather than its physical name. */
function awsKey(namespace: string, name: string, resource: ResourceRole): SeriesKey {
  return { namespace, name, dimensions: { resource } };
}

/** SQS sends its CloudWatch metrics once a minute. */
const SQS_REPORTING_INTERVAL_MS = 60_000;

import { join } from 'node:path';
import { ENV, METRIC_SERVICE, MONITOR_ENV } from '../lambda/contract';
import type { DriftBaseline } from '../lambda/monitors/baseline-store';
import { pinReferenceBaselines, type StartReferencePipeline } from './drift-reference';
import { functionAppId } from './call-attribution';
import { type Emulators, LOCAL_CREDENTIALS, OBSERVER_USER_AGENT } from './emulators';
import { ExecutionEnvironment, type InvokeResult } from './lambda-runtime';
import type { FunctionModel, LocalStackModel, ScheduledFunctionModel } from './stack-model';
import { DEFAULT_INPUT } from './workload';

/*
 * Local mode's EventBridge: runs the stack's scheduled functions (the reconciler and the drift
 * monitor) — their bundles, with the environment the template gives them — in their own execution
 * environments, on the local clock, with their EMF metrics going to the LogSink like the
 * processor's, where the local alarm evaluator reads them.
 *
 * The clock: a rule's rate runs at the time scale like every other duration (15 min × 0.1 = 90 s),
 * but a local run lasts seconds, so the reconciler never waits longer than 2 s for its next run and
 * the drift monitor never longer than 30 s (`maxIntervalMs` sets one bound for both); `runOnce()`
 * runs them now (a test, or the end of a run). The drift window, also a duration, is scaled:
 * 1 h × 0.1 = 6 min covers a whole local run.
 *
 * The baseline: on AWS the drift monitor pins the first full day of data, which a local run never
 * has. Local mode pins each task's baseline from a reference workload instead (by default
 * examples/tickets.jsonl), run once through a separate local pipeline of the same stack — same
 * bundle, same simulated model, at real time — and counted from its ledger with the code
 * `pipectl drift baseline` uses (local/drift-reference.ts). The result is cached under .local/drift-reference/, keyed by the bundle and the workload,
 * so only the first run after a code change pays for it (a few seconds).
 *
 * The monitors' DynamoDB requests carry the observer mark: they cost per schedule, not per
 * message, so they stay out of the report's per-message request counts; `totals` has them.
 */

/** The default reference workload: the same tickets `npm start` sends. */
export const DEFAULT_DRIFT_REFERENCE = DEFAULT_INPUT;

/** A local run lasts seconds: the reconciler waits no longer than this for its next run (what settles keys). */
export const DEFAULT_MAX_INTERVAL_MS = 2_000;

/**
 * The drift monitor's bound. Longer than the reconciler's: a drift run queries every shard of the
 * window even when the ledger is empty, about 0.2 s of CPU a run (an idle pipeline's drift runs
 * cost 0.067 s of CPU a second every 2 s, and 0.018-0.025 every 10 s, 2026-12-03), and drift is
 * judged over the scaled window and alarm periods (6 min at 0.1), which a run every 30 s still
 * samples many times over. Every pipeline runs it once at start, and tests that need a run call `runOnce()`.
 */
export const DEFAULT_DRIFT_MAX_INTERVAL_MS = 30_000;

/**
 * The drift monitor's item bound in local mode. dynalite runs in this process, so a run that read
 * every completion every 2 s would compete with the pipeline for it; the sample stays a uniform
 * set of whole shards, and a few hundred items is what a local run's comparison needs.
 */
export const DEFAULT_LOCAL_DRIFT_MAX_ITEMS = 1_000;

/** Part of the reference cache key: bump it when the way the reference run is made changes. */
const REFERENCE_RUN_VERSION = 'reference-run-2';

/** Durations in the monitors' environment that the time scale applies to (seconds). */
const SCALED_SECONDS = [MONITOR_ENV.DRIFT_WINDOW_SECONDS] as const;

/** Options of local mode's scheduled monitors (`LocalPipelineOptions.monitors`). */
export interface ScheduledMonitorsOptions {
  /** One bound for both monitors. @default DEFAULT_MAX_INTERVAL_MS for the reconciler, DEFAULT_DRIFT_MAX_INTERVAL_MS for the drift monitor */
  readonly maxIntervalMs?: number;
  /**
   * Message bodies (JSONL) whose processing pins each task's drift baseline; `false`: pin none (the
   * drift monitor then waits for a first full day of data, as on AWS).
   * @default DEFAULT_DRIFT_REFERENCE
   */
  readonly driftReference?: string | false;
  /** Where computed reference baselines are cached. @default `.local/drift-reference` */
  readonly cacheDir?: string;
  /** Run on the timers. Tests that call `runOnce()` themselves turn it off. @default true */
  readonly autoStart?: boolean;
  /** Items one drift run reads at most (the template's bound is for AWS). @default DEFAULT_LOCAL_DRIFT_MAX_ITEMS */
  readonly driftMaxItems?: number;
}

/** What local mode hands the monitors (local-pipeline.ts). */
export interface ScheduledMonitorsContext {
  readonly stack: LocalStackModel;
  /** Logical id → physical name (table names) of what local mode created. */
  readonly physical: ReadonlyMap<string, string>;
  readonly emulators: Emulators;
  /** The LogSink's writer: every line the monitors print. */
  readonly writeLog: (line: string) => void;
  readonly timeScale: number;
  /** The processor's environment overrides (the simulator seed…), for the reference run. */
  readonly processorEnvironment?: Readonly<Record<string, string>>;
  readonly ledgerTableName: string;
  readonly controlTableName: string;
  /**
   * Starts the separate pipeline the drift reference workload runs through (local-pipeline.ts passes
   * its own `startLocalPipeline`: handed in, so this module does not import the one that imports it).
   */
  readonly startReferencePipeline: StartReferencePipeline;
}

/** One run of a monitor. */
export interface MonitorRun {
  /** The function's service name: `reconciler` or `drift-monitor`. */
  readonly monitor: string;
  readonly at: number;
  readonly result: InvokeResult;
}

interface Scheduled {
  readonly name: string;
  readonly model: ScheduledFunctionModel;
  readonly environment: ExecutionEnvironment;
  readonly intervalMs: number;
  running?: Promise<MonitorRun>;
  timer?: NodeJS.Timeout;
  /** Its schedule is disabled (`setScheduleEnabled`): the timer fires, nothing runs. */
  disabled?: boolean;
}

export class ScheduledMonitors {
  /** Every run so far, oldest first. */
  readonly runs: MonitorRun[] = [];
  /** Reference baselines pinned at start, by task. */
  readonly referenceBaselines: DriftBaseline[] = [];
  private stopped = false;

  private constructor(private readonly scheduled: readonly Scheduled[]) {}

  /** Creates the monitors' execution environments, pins reference baselines, starts the timers. */
  static async start(context: ScheduledMonitorsContext, options: ScheduledMonitorsOptions = {}): Promise<ScheduledMonitors> {
    const scheduled = context.stack.scheduledFunctions.map((model) => {
      const environment = functionEnvironment(model, context, options.driftMaxItems ?? DEFAULT_LOCAL_DRIFT_MAX_ITEMS);
      const name = environment[ENV.POWERTOOLS_SERVICE_NAME] ?? model.logicalId;
      const maxIntervalMs = options.maxIntervalMs ?? (name === METRIC_SERVICE.DRIFT_MONITOR ? DEFAULT_DRIFT_MAX_INTERVAL_MS : DEFAULT_MAX_INTERVAL_MS);
      return {
        name,
        model,
        intervalMs: Math.max(50, Math.min(model.rateSeconds * 1000 * context.timeScale, maxIntervalMs)),
        environment: new ExecutionEnvironment(
          {
            functionName: `${context.stack.stackName}-${model.logicalId}`,
            bundlePath: model.bundlePath,
            handlerExport: model.handlerExport,
            timeoutMs: Math.round(model.timeoutSeconds * 1000 * context.timeScale),
            memoryMb: model.memoryMb,
            environment,
            region: context.emulators.region,
          },
          context.writeLog,
        ),
      };
    });
    const monitors = new ScheduledMonitors(scheduled);
    const reference = options.driftReference ?? DEFAULT_DRIFT_REFERENCE;
    if (reference !== false) {
      monitors.referenceBaselines.push(
        ...(await pinReferenceBaselines(
          { ...context, referenceFile: reference, cacheDir: options.cacheDir ?? join(process.cwd(), '.local', 'drift-reference') },
          REFERENCE_RUN_VERSION,
        )),
      );
    }
    if (options.autoStart ?? true) {
      // One run of each before the alarms are evaluated: their heartbeat alarms treat a range with
      // no heartbeat at all as breaching, so a pipeline whose monitors had not run yet would page
      // at start (on AWS the same holds for a fresh deploy: docs/known-gaps.md).
      await monitors.runOnce();
      monitors.startTimers();
    }
    return monitors;
  }

  /** The monitors' names (their service names). */
  get names(): string[] {
    return this.scheduled.map((entry) => entry.name);
  }

  /** How often each monitor's timer runs it (ms), by name. */
  get intervals(): Record<string, number> {
    return Object.fromEntries(this.scheduled.map((entry) => [entry.name, entry.intervalMs]));
  }

  /**
   * Runs the monitors now — all of them, or the one named — and waits for them. A monitor already
   * running is waited for, not started twice (EventBridge may overlap runs; local mode need not).
   */
  async runOnce(name?: string): Promise<MonitorRun[]> {
    const selected = this.scheduled.filter((entry) => name === undefined || entry.name === name);
    if (name !== undefined && selected.length === 0) throw new Error(`no scheduled monitor named ${name}; there are: ${this.names.join(', ')}`);
    return Promise.all(selected.map((entry) => this.run(entry)));
  }

  /**
   * Disables or re-enables one monitor's schedule, as disabling its EventBridge rule would: while
   * disabled, no scheduled run starts (a run already going finishes). What a game day's
   * stopped-monitor drill injects; `runOnce` still runs it, as an invocation by hand would.
   */
  setScheduleEnabled(name: string, enabled: boolean): void {
    const entry = this.scheduled.find((candidate) => candidate.name === name);
    if (!entry) throw new Error(`no scheduled monitor named ${name}; there are: ${this.names.join(', ')}`);
    entry.disabled = !enabled;
  }

  /** The monitors' own DynamoDB cost so far, from the summaries their runs returned. */
  totals(): { runs: number; failed: number; requests: number; readUnits: number } {
    let requests = 0;
    let readUnits = 0;
    let failed = 0;
    for (const run of this.runs) {
      if (run.result.kind !== 'ok') {
        failed += 1;
        continue;
      }
      const summary = run.result.result as { requests?: number; readUnits?: number } | undefined;
      requests += summary?.requests ?? 0;
      readUnits += summary?.readUnits ?? 0;
    }
    return { runs: this.runs.length, failed, requests, readUnits };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of this.scheduled) clearInterval(entry.timer);
    await Promise.allSettled(this.scheduled.map((entry) => entry.running));
    await Promise.all(this.scheduled.map((entry) => entry.environment.stop()));
  }

  private startTimers(): void {
    for (const entry of this.scheduled) {
      entry.timer = setInterval(() => {
        if (!entry.running && !entry.disabled) void this.run(entry);
      }, entry.intervalMs);
      entry.timer.unref();
    }
  }

  private run(entry: Scheduled): Promise<MonitorRun> {
    if (entry.running) return entry.running;
    if (this.stopped)
      return Promise.resolve({
        monitor: entry.name,
        at: Date.now(),
        result: { kind: 'error', error: { name: 'Stopped', message: 'local mode is stopping' }, durationMs: 0 },
      });
    const at = Date.now();
    // The event EventBridge sends for a scheduled rule.
    const event = {
      version: '0',
      id: `local-${at}`,
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      time: new Date(at).toISOString(),
      resources: [entry.model.ruleLogicalId],
      detail: {},
    };
    entry.running = entry.environment.invoke(event).then((result) => {
      const run = { monitor: entry.name, at, result };
      this.runs.push(run);
      entry.running = undefined;
      return run;
    });
    return entry.running;
  }
}

/** The monitor's environment from the template: Refs resolved, durations scaled, endpoints local, metrics as EMF. */
/**
 * The environment of a function local mode runs besides the processor (the monitors, the canary's
 * rollback): the template's variables with Refs resolved to what local mode created, scaled
 * durations scaled, the emulators' endpoints and local credentials.
 */
export function functionEnvironment(
  model: FunctionModel,
  context: Pick<ScheduledMonitorsContext, 'stack' | 'physical' | 'emulators' | 'timeScale'>,
  driftMaxItems = DEFAULT_LOCAL_DRIFT_MAX_ITEMS,
): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(model.environment)) {
    if (typeof value === 'string') {
      environment[name] = (SCALED_SECONDS as readonly string[]).includes(name) ? String(Number(value) * context.timeScale) : value;
    } else {
      const resolved = context.physical.get(value.ref);
      if (!resolved) throw new Error(`environment variable ${name} of ${model.logicalId} refers to ${value.ref}, which local mode does not create`);
      environment[name] = resolved;
    }
  }
  if (environment[MONITOR_ENV.DRIFT_MAX_ITEMS] !== undefined) {
    environment[MONITOR_ENV.DRIFT_MAX_ITEMS] = String(Math.min(Number(environment[MONITOR_ENV.DRIFT_MAX_ITEMS]), driftMaxItems));
  }
  return {
    ...environment,
    // Local mode has no CloudWatch: the metrics go out as EMF lines, into the LogSink.
    [MONITOR_ENV.METRICS_PUBLISHER]: 'emf',
    AWS_REGION: context.emulators.region,
    AWS_DEFAULT_REGION: context.emulators.region,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: context.emulators.dynamodbEndpoint,
    AWS_ENDPOINT_URL_SQS: context.emulators.sqsEndpoint,
    // The emulators leave requests with the observer mark out of the per-message counts (see the
    // header); the rest names the function, for the IAM coverage test (local/call-attribution.ts).
    AWS_SDK_UA_APP_ID: functionAppId({ functionId: model.logicalId }, OBSERVER_USER_AGENT),
    AWS_LAMBDA_FUNCTION_NAME: `${context.stack.stackName}-${model.logicalId}`,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(model.memoryMb),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    TZ: 'UTC',
    PATH: process.env.PATH ?? '',
  };
}

/** The service names of the two monitors, for callers of `runOnce`. */
export const MONITOR_NAMES = { RECONCILER: METRIC_SERVICE.RECONCILER, DRIFT_MONITOR: METRIC_SERVICE.DRIFT_MONITOR } as const;

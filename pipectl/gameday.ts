import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { buildWorkload } from '../local/workload-generator/ticket-workload';
import type { LocalAlarmState } from '../local/alarm-evaluator';
import { startLocalPipeline } from '../local/local-pipeline';
import { synthesizeLocalStack } from '../local/stack-model';
import { buildReport, type LocalRunReport } from '../local/report';
import { sendBodies, waitForDrain } from '../local/run-local';
import { COMPOSITE_ALARM_ID } from '../lib/observability/composite-alarm';
import { UsageError } from './errors';
import { type FaultWindow, scaleFaultWindow } from '../local/fault-window';
import { modelFaultWindow, parseFaultSpec } from '../local/model-simulator/fault-spec';
import { infraFaultWindow } from '../local/aws-boundary/infra-fault-spec';
import type { LocalPipeline } from '../local/local-pipeline';
import type { TicketCategory } from '../local/workload-generator/ticket-generator';
import { describeFault, describeOneFault, type GameDayFault, type GameDayScenario, pipelineFaultSpec } from './gameday-scenarios';
import { writeGameDayIncident } from './incident-report';
import type { VerdictFacts } from './run-verdict';
import { incidentTimeline } from './incident-timeline';
import { registerJob } from './job-registry';
import { listRecoveryAttempts, RECOVERY_ACTION, recordRecoveryAttempt } from './recovery-clock';

// The scenarios live in a module of their own (data only, cheap for --help); re-exported for callers of the runner.
export { describeFault, findScenario, GAMEDAY_SCENARIOS, type GameDayFault, type GameDayScenario } from './gameday-scenarios';

/** Alarms that fire when the local pipeline itself is too slow for its time scale. */
const PIPELINE_STRAIN_ALARMS: ReadonlySet<string> = new Set(['processor-errors', 'processor-silent', 'input-age-over-sla']);

/** One moment of the game day, in real-time-equivalent seconds since it started. */
export interface GameDayEvent {
  /** Wall-clock epoch ms. */
  readonly at: number;
  /** Seconds of pipeline time (wall time ÷ time scale) since the start. */
  readonly virtualSeconds: number;
  readonly event: string;
}

export interface GameDayResult {
  readonly scenario: string;
  readonly faults: string;
  /** The first alarm of the drill in ALARM after the fault started (expected or not). */
  readonly firstAlarm: string | null;
  /** Alarms that fired during the drill that are neither expected nor consequences of the fault: causes not injected. */
  readonly unexpectedAlarms: readonly string[];
  /** The page topic's ALARM notifications, in order (CloudWatch's actions, as the local evaluator records them). */
  readonly pages: readonly string[];
  /** The scenario's `expectedPages` that never paged. */
  readonly missingPages: readonly string[];
  readonly timeScale: number;
  /** Seconds of pipeline time from the fault's start to the first expected alarm in ALARM; null: not detected. */
  readonly timeToDetectSeconds: number | null;
  /** Seconds of pipeline time from the fault's end until every alarm that fired was OK again; null: not recovered. */
  readonly timeToRecoverSeconds: number | null;
  readonly detectedBy: string | null;
  /** Expected alarms in ALARM before the fault began (a false positive, or a pipeline that was not healthy). */
  readonly firedBeforeFault: readonly string[];
  readonly events: readonly GameDayEvent[];
  readonly sent: number;
  readonly report: VerdictFacts & Pick<LocalRunReport, 'byTier'>;
  readonly wallSeconds: number;
  /**
   * The recovery clock's three figures (pipectl/incident-timeline.ts), in pipeline seconds from the
   * fault's start: what `pipectl incident timeline` reports for a real incident. Mitigation is the
   * first recovery attempt after detection (the resume of a paused processor; a model fault that
   * ends by itself has none).
   */
  readonly recoveryClock: {
    readonly timeToDetectSeconds: number | null;
    readonly timeToMitigateSeconds: number | null;
    readonly timeToStableRecoverySeconds: number | null;
  };
  /** The game day passed: detected, every expected page sent, recovered, nothing fired for a cause not injected, and the invariant holds. */
  readonly passed: boolean;
}

export interface GameDayOptions {
  readonly stage: string;
  readonly timeScale: number;
  /** Give up after this much pipeline time (s) from the start. */
  readonly timeoutSeconds: number;
  readonly logFile?: string;
  readonly seed?: number;
  /**
   * Messages per second of pipeline time the producers send, instead of the scenario's
   * `ratePerSecond` (`pipectl gameday --rate`): fewer messages, the same checks, as long as the
   * rate alarms still see their minimum samples. @default the scenario's
   */
  readonly ratePerSecond?: number;
  readonly onEvent?: (event: GameDayEvent) => void;
  /** Where to keep the alarm transitions and recovery attempts for `pipectl incident timeline --gameday`. @default not kept */
  readonly incidentFile?: string;
}

/**
 * Runs a game day on a local pipeline of its own, started with the scenario's faults exactly as
 * `pipectl local --faults SPEC` starts one: a steady workload, the catalog's alarms evaluated by
 * local mode, and a watch on them until the fault is detected and, after it ends, recovered.
 * Then the workload stops, the queue drains, and the invariant is checked on the emulators'
 * state. Loopback only, bounded in messages and time, and it stops by itself.
 */
export async function runGameDay(scenario: GameDayScenario, options: GameDayOptions): Promise<GameDayResult> {
  const { timeScale } = options;
  const ratePerSecond = options.ratePerSecond ?? scenario.ratePerSecond;
  const faultSpec = pipelineFaultSpec(scenario);
  const clocks = scenario.faults.map(faultClock);
  const pipeline = await startLocalPipeline({
    stage: options.stage,
    ...(scenario.overrides ? { stack: synthesizeLocalStack({ stage: options.stage, overrides: scenario.overrides }) } : {}),
    timeScale,
    faults: faultSpec,
    logFile: options.logFile,
    // The monitors watch jobs and drift: only the drills of what they watch run them.
    monitors: scenario.monitors === true ? {} : false,
  });
  const started = Date.now();
  const virtual = (at: number) => Math.round(((at - started) / 1000 / timeScale) * 10) / 10;
  const events: GameDayEvent[] = [];
  const note = (event: string, at = Date.now()) => {
    const entry = { at, virtualSeconds: virtual(at), event };
    events.push(entry);
    options.onEvent?.(entry);
  };
  const bodies: string[] = [];
  const maxMessages = Math.ceil(options.timeoutSeconds * ratePerSecond) + 10;
  const seed = options.seed ?? 7;
  const workload = buildWorkload({ count: maxMessages, seed, duplicateRate: 0, badLines: false }).map((line) => line.text);
  // What the producers send while an input-shift fault lasts: the same generator, one category over-represented.
  const shifts = new Map<GameDayFault, string[]>();
  for (const fault of scenario.faults) {
    if (fault.kind !== 'input-shift') continue;
    const shifted = buildWorkload({
      count: maxMessages,
      seed: seed + 1,
      duplicateRate: 0,
      badLines: false,
      category: fault.category as TicketCategory,
      share: fault.share,
    });
    shifts.set(
      fault,
      shifted.map((line) => line.text),
    );
  }
  const lossyJobs = new Map<GameDayFault, LossyJob>();
  let sentNormal = 0;
  let sentShifted = 0;
  let firstAlarm: string | undefined;
  let detectedAt: number | undefined;
  let detectedBy: string | undefined;
  let recoveredAt: number | undefined;
  const firedBeforeFault = new Set<string>();
  const everFired = new Set<string>();
  const states = new Map<string, LocalAlarmState['state']>();
  const deadline = started + options.timeoutSeconds * 1000 * timeScale;
  // Messages per wall-clock second: the scenario's rate in pipeline time.
  const sendEveryMs = (10_000 * timeScale) / ratePerSecond;
  const ms = (seconds: number) => seconds * 1000 * timeScale;
  /** When a fault's window starts and ends (epoch ms), once its clock's origin is known. */
  const windowOf = (clock: FaultClock): { startAt: number; endAt: number } | undefined => {
    const { fault } = clock;
    if (fault.kind !== 'faults') return { startAt: started + ms(fault.fromSeconds), endAt: started + ms(fault.toSeconds) };
    // Scaled as the simulator and the boundary scale them, from the clocks they count on.
    const span = (origin: number, window: FaultWindow) => {
      const scaled = scaleFaultWindow(window, timeScale);
      return { startAt: origin + scaled.fromMs, endAt: origin + scaled.toMs };
    };
    const spans: { startAt: number; endAt: number }[] = [];
    if (clock.model) {
      const firstRequestAt = pipeline.simulator.firstRequestAt();
      if (firstRequestAt === undefined) return undefined;
      spans.push(span(firstRequestAt, clock.model));
    }
    if (clock.infra) spans.push(span(pipeline.infraFaultsStartedAt ?? started, clock.infra));
    return { startAt: Math.min(...spans.map((span) => span.startAt)), endAt: Math.max(...spans.map((span) => span.endAt)) };
  };

  try {
    note(`sending ${ratePerSecond} message(s) per second (pipeline time); fault: ${describeFault(scenario)}`);
    let nextSend = Date.now();
    let noticedStart: number | undefined;
    let noticedEnd: number | undefined;
    while (Date.now() < deadline && recoveredAt === undefined) {
      const now = Date.now();
      // Start and end each fault the drill injects itself (the simulator and the boundary inject theirs).
      for (const clock of clocks) {
        const window = windowOf(clock);
        if (!window) continue;
        if (!clock.started && now >= window.startAt) {
          clock.started = true;
          note(`${describeOneFault(clock.fault)} starts`, window.startAt);
          await injectFault(pipeline, clock.fault, true, now);
          if (clock.fault.kind === 'lost-sends') {
            const job = await startLossyJob(pipeline, clock.fault, `gameday-${scenario.name}-${now}`, seed);
            lossyJobs.set(clock.fault, job);
            bodies.push(...job.sent);
            note(`job ${job.jobId} registered with ${job.lines.length} lines; ${job.lines.length - job.sent.length} of its sends lost`);
          }
        }
        if (clock.started && !clock.ended && now >= window.endAt) {
          clock.ended = true;
          note(`${describeOneFault(clock.fault)} ends`, window.endAt);
          await injectFault(pipeline, clock.fault, false, now);
          const job = clock.fault.kind === 'lost-sends' ? lossyJobs.get(clock.fault) : undefined;
          if (job) {
            // The incomplete-job runbook's remedy: the producer re-sends the job's whole file.
            await sendBodies(pipeline.sqs, pipeline.resources.inputQueueUrl, job.lines);
            bodies.push(...job.lines);
            note(`the producer re-sends job ${job.jobId} (${job.lines.length} lines; the ones that finished are skipped as duplicates)`);
          }
        }
      }
      const windows = clocks.map(windowOf);
      if (noticedStart === undefined && clocks.some((clock) => clock.started)) {
        noticedStart = Math.min(...windows.flatMap((window) => (window ? [window.startAt] : [])));
        note('fault starts', noticedStart);
      }
      if (noticedEnd === undefined && clocks.every((clock) => clock.ended)) {
        noticedEnd = Math.max(...windows.flatMap((window) => (window ? [window.endAt] : [])));
        note('fault ends', noticedEnd);
      }
      if (now >= nextSend && bodies.length + 10 <= maxMessages) {
        const shift = clocks.find((clock) => clock.fault.kind === 'input-shift' && clock.started && !clock.ended)?.fault;
        const source = shift ? (shifts.get(shift) ?? workload) : workload;
        const offset = shift ? sentShifted : sentNormal;
        const chunk = source.slice(offset, offset + 10);
        if (shift) sentShifted += chunk.length;
        else sentNormal += chunk.length;
        await pipeline.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: pipeline.resources.inputQueueUrl,
            Entries: chunk.map((body, index) => ({ Id: String(index), MessageBody: body })),
          }),
        );
        bodies.push(...chunk);
        nextSend += sendEveryMs;
      }
      for (const alarm of pipeline.alarms.states()) {
        const previous = states.get(alarm.id);
        states.set(alarm.id, alarm.state);
        // An alarm already in ALARM when first seen fired too (it must not slip by unexamined).
        if (previous === alarm.state || (previous === undefined && alarm.state !== 'ALARM')) continue;
        if (alarm.state === 'ALARM' || previous === 'ALARM') note(`${alarm.id} ${previous ?? 'INSUFFICIENT_DATA'} → ${alarm.state}`);
        if (alarm.state !== 'ALARM') continue;
        everFired.add(alarm.id);
        if (firstAlarm === undefined && alarm.id !== COMPOSITE_ALARM_ID && noticedStart !== undefined && now >= noticedStart) firstAlarm = alarm.id;
        if (!scenario.expectedAlarms.includes(alarm.id)) continue;
        if (noticedStart === undefined || now < noticedStart) firedBeforeFault.add(alarm.id);
        else if (detectedAt === undefined) {
          detectedAt = now;
          detectedBy = alarm.id;
        }
      }
      // Recovered: every fault is over and every alarm that fired during the game day is OK again.
      if (detectedAt !== undefined && noticedEnd !== undefined && now >= noticedEnd && [...everFired].every((id) => states.get(id) === 'OK')) {
        recoveredAt = now;
        note('every alarm that fired is OK again');
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (recoveredAt === undefined) note(detectedAt === undefined ? 'timed out before detection' : 'timed out before recovery');
    // A drill that timed out may have left its own faults in place: undo them before the drain.
    for (const clock of clocks) if (clock.started && !clock.ended) await injectFault(pipeline, clock.fault, false, Date.now());
    // Alarms that say the pipeline itself could not keep up (invocations timing out, work piling
    // up) point at the machine, not at the scenario: say so, with what to change.
    const strained = [...everFired].filter((id) => PIPELINE_STRAIN_ALARMS.has(id) && !scenario.expectedAlarms.includes(id));
    if (strained.length > 0 && !scenario.consequences.some((id) => strained.includes(id))) {
      note(`${strained.join(', ')} fired: the local pipeline could not keep up (an overloaded machine?); re-run with a larger --time-scale, e.g. 0.25`);
    }
    note('workload stopped; draining the input queue');
    await waitForDrain(pipeline, Math.max(30_000, options.timeoutSeconds * 1000 * timeScale));
    const report = await buildReport(pipeline, bodies, Date.now() - started, 0);
    const windows = clocks.map(windowOf).filter((window) => window !== undefined);
    const faultStart = windows.length > 0 ? Math.min(...windows.map((window) => window.startAt)) : started;
    const faultEnd = windows.length > 0 ? Math.max(...windows.map((window) => window.endAt)) : started;
    const seconds = (value: number) => Math.round((value / 1000 / timeScale) * 10) / 10;
    const timeToDetectSeconds = detectedAt === undefined ? null : seconds(detectedAt - faultStart);
    const timeToRecoverSeconds = recoveredAt === undefined ? null : seconds(Math.max(0, recoveredAt - faultEnd));
    // The recovery clock, as `pipectl incident timeline` computes it for a real incident.
    const transitions = pipeline.alarms
      .notifications('ticket')
      .map((notification) => ({ alarm: notification.alarmId, from: notification.from, to: notification.state, at: Date.parse(notification.at) }));
    const attempts = await listRecoveryAttempts(pipeline.dynamodb, pipeline.resources.controlTableName);
    const clock = incidentTimeline(transitions, attempts, { startedAt: faultStart, timeScale });
    if (options.incidentFile) writeGameDayIncident({ scenario: scenario.name, startedAt: faultStart, timeScale, transitions, attempts }, options.incidentFile);
    const allowed = new Set([...scenario.expectedAlarms, ...(scenario.expectedPages ?? []), ...scenario.consequences]);
    // The composite only summarises the paging alarms: it is never a cause.
    const pages = pipeline.alarms
      .notifications('page')
      .filter((notification) => notification.state === 'ALARM')
      .map((notification) => notification.alarmId);
    // Every page counts, the ones sent while the queue drained included.
    const unexpectedAlarms = [...new Set([...everFired, ...pages])].filter((id) => !allowed.has(id) && id !== COMPOSITE_ALARM_ID);
    const missingPages = (scenario.expectedPages ?? []).filter((id) => !pages.includes(id));
    return {
      scenario: scenario.name,
      faults: describeFault(scenario),
      firstAlarm: firstAlarm ?? null,
      unexpectedAlarms,
      pages,
      missingPages,
      timeScale,
      timeToDetectSeconds,
      timeToRecoverSeconds,
      detectedBy: detectedBy ?? null,
      firedBeforeFault: [...firedBeforeFault],
      events,
      sent: bodies.length,
      report: {
        unique: report.unique,
        completed: report.completed,
        deadLettered: report.deadLettered,
        inReview: report.inReview,
        invariantHolds: report.invariantHolds,
        invariantViolations: report.invariantViolations,
        byTier: report.byTier,
        inputQueueDepth: report.details.inputQueueDepth,
      },
      wallSeconds: Math.round((Date.now() - started) / 100) / 10,
      recoveryClock: {
        timeToDetectSeconds: clock.timeToDetectSeconds,
        timeToMitigateSeconds: clock.timeToMitigateSeconds,
        timeToStableRecoverySeconds: clock.timeToStableRecoverySeconds,
      },
      passed:
        timeToDetectSeconds !== null &&
        timeToRecoverSeconds !== null &&
        report.invariantHolds &&
        firedBeforeFault.size === 0 &&
        unexpectedAlarms.length === 0 &&
        missingPages.length === 0,
    };
  } finally {
    await pipeline.stop();
  }
}

/** One fault of a scenario and where the drill is with it. */
interface FaultClock {
  readonly fault: GameDayFault;
  /** A `faults` item's windows as the spec gives them (unscaled ms): the model's from its first request, the infrastructure's from the pipeline's start. */
  readonly model?: FaultWindow;
  readonly infra?: FaultWindow;
  started: boolean;
  ended: boolean;
}

function faultClock(fault: GameDayFault): FaultClock {
  if (fault.kind !== 'faults') return { fault, started: false, ended: false };
  const own = parseFaultSpec(fault.spec);
  const model = modelFaultWindow(own);
  const infra = infraFaultWindow(own.infra);
  if (!model && !infra) {
    throw new UsageError(`game day fault ${fault.spec}: it has no time window (outage=FROM-TO or ITEM/FROM-TO), so nothing could recover`);
  }
  return { fault, ...(model ? { model } : {}), ...(infra ? { infra } : {}), started: false, ended: false };
}

/** Starts (`on`) or ends one fault that the drill injects itself; the spec's faults need nothing. */
async function injectFault(pipeline: LocalPipeline, fault: GameDayFault, on: boolean, at: number): Promise<void> {
  switch (fault.kind) {
    case 'pause':
      // setPaused, as `pipectl pause` does through the control API: stop() ends the poller for good
      // (its abort signal is not renewed), so a drill that stopped it could never resume.
      // Recorded as `pipectl pause` / `resume` record them: the recovery clock sees a manual override placed, then removed.
      pipeline.poller.setPaused(on);
      await recordDrillAction(pipeline, on ? RECOVERY_ACTION.PAUSE : RECOVERY_ACTION.RESUME, at);
      return;
    case 'monitor-stopped':
      if (!pipeline.monitors) throw new UsageError(`game day fault ${describeOneFault(fault)}: the scenario runs without the scheduled monitors`);
      pipeline.monitors.setScheduleEnabled(fault.monitor, !on);
      return;
    case 'input-shift':
    case 'lost-sends':
    case 'faults':
      return;
  }
}

/** A job a `lost-sends` fault registered: every line of it, and the ones that reached the queue. */
interface LossyJob {
  readonly jobId: string;
  readonly lines: readonly string[];
  readonly sent: readonly string[];
}

/** Registers a job as `pipectl send` does and sends all but `lostShare` of its lines (spread through it). */
async function startLossyJob(pipeline: LocalPipeline, fault: Extract<GameDayFault, { kind: 'lost-sends' }>, jobId: string, seed: number): Promise<LossyJob> {
  const lines = buildWorkload({ count: fault.messages, seed: seed + 2, duplicateRate: 0, badLines: false }).map((line) =>
    JSON.stringify({ ...(JSON.parse(line.text) as Record<string, unknown>), jobId }),
  );
  await registerJob(pipeline.dynamodb, pipeline.resources.controlTableName, {
    jobId,
    expected: lines.length,
    unique: lines.length,
    now: Date.now(),
    deadlineMs: fault.deadlineSeconds * 1000 * pipeline.timeScale,
  });
  const lost = Math.round(fault.lostShare * lines.length);
  const every = lost > 0 ? lines.length / lost : Number.POSITIVE_INFINITY;
  const lostIndexes = new Set(Array.from({ length: lost }, (_, index) => Math.floor(index * every)));
  const sent = lines.filter((_, index) => !lostIndexes.has(index));
  await sendBodies(pipeline.sqs, pipeline.resources.inputQueueUrl, sent);
  return { jobId, lines, sent };
}

/** A drill's pause or resume, recorded on the game day pipeline's recovery clock as the on-call's would be. */
async function recordDrillAction(
  pipeline: { readonly dynamodb: Parameters<typeof recordRecoveryAttempt>[0]; readonly resources: { readonly controlTableName: string } },
  action: typeof RECOVERY_ACTION.PAUSE | typeof RECOVERY_ACTION.RESUME,
  at: number,
): Promise<void> {
  await recordRecoveryAttempt(pipeline.dynamodb, pipeline.resources.controlTableName, {
    action,
    at,
    by: 'gameday',
    reason: action === RECOVERY_ACTION.PAUSE ? 'game day: the processor is paused (the fault)' : 'game day: the on-call resumes the processor',
    detail: 'event source mapping',
    override: action === RECOVERY_ACTION.PAUSE ? 'placed' : 'removed',
  });
}

/**
 * The game day scenarios: data only, so `pipectl gameday --help` and `pipectl console --help` list
 * them without loading the local pipeline (pipectl/gameday.ts runs them).
 */
import { join } from 'node:path';
import type { StageConfigOverrides } from '../lib/config/stage-schema';
import { UsageError } from './errors';

/**
 * The monitor drills' cadence: the drift monitor every 5 minutes over a 20-minute window (the dev
 * stage's: every 15 over 60), so a drift, or a stopped monitor, is seen and cleared in minutes of wall time.
 */
const FAST_MONITORS = { drift: { scheduleMinutes: 5, windowMinutes: 20 } } as const;

/** Where the console looks for a game day's result: `pipectl gameday <scenario> --json > .local/gameday/result.json`. */
export const GAMEDAY_RESULT_FILE = join('.local', 'gameday', 'result.json');

/** Where `pipectl gameday` leaves what `pipectl incident timeline --gameday` reads: its pipeline is gone by then. */
export const GAMEDAY_INCIDENT_FILE = join('.local', 'gameday', 'incident.json');

/** The time scale of a drill that does not name its own. */
export const DEFAULT_GAMEDAY_TIME_SCALE = 0.1;

/** How long a drill that does not say runs at most (pipeline seconds). */
export const DEFAULT_GAMEDAY_TIMEOUT_SECONDS = 900;

/** A span of pipeline time, in seconds since the game day started. */
interface DrillWindow {
  readonly fromSeconds: number;
  readonly toSeconds: number;
}

/**
 * One fault a scenario injects; every fault ends by itself, so recovery can be measured.
 *
 * - `faults`: items of `pipectl local --faults` (README, "Fault spec"), each with its time window:
 *   `outage=FROM-TO`, or `ITEM/FROM-TO` (`5xx=0.9/30-150`, `crash=0.6/30-150`). The model's items
 *   count from the simulator's first request, the infrastructure's from the pipeline's start.
 * - `pause`: the event source stops polling, as `pipectl pause` / `resume` would.
 * - `monitor-stopped`: one scheduled monitor's schedule is disabled (its EventBridge rule, on AWS).
 * - `input-shift`: the producers' data moves: that share of what is sent is of one category
 *   (a new product launch, a broken upstream classifier) — drift in the data, not in the model.
 * - `lost-sends`: at `fromSeconds` a producer registers a job of `messages` lines, as `pipectl
 *   send` does, with a deadline `deadlineSeconds` later, but `lostShare` of its sends never
 *   reach the queue (a producer bug, a purged queue). At `toSeconds` it does what the
 *   incomplete-job runbook says: it re-sends the job's file (idempotent: what finished is skipped).
 */
export type GameDayFault =
  | { readonly kind: 'faults'; readonly spec: string }
  | ({ readonly kind: 'pause' } & DrillWindow)
  | ({ readonly kind: 'monitor-stopped'; readonly monitor: string } & DrillWindow)
  | ({ readonly kind: 'input-shift'; readonly category: string; readonly share: number } & DrillWindow)
  | ({ readonly kind: 'lost-sends'; readonly messages: number; readonly lostShare: number; readonly deadlineSeconds: number } & DrillWindow);

/** A named fault scenario: what is injected, and which alarms must see it. */
export interface GameDayScenario {
  readonly name: string;
  readonly description: string;
  /** What is injected, in order; overlapping faults make overlapping incidents. */
  readonly faults: readonly GameDayFault[];
  /** Catalog alarm ids; detection is the first of them in ALARM after the first fault starts. */
  readonly expectedAlarms: readonly string[];
  /**
   * Alarms that must each page (an ALARM notification to the page topic) during the drill: two
   * overlapping incidents page twice. @default none beyond detection
   */
  readonly expectedPages?: readonly string[];
  /**
   * Alarms the fault may raise as its consequences (a breaker opening after an outage). Any other
   * alarm that fires during the drill names a cause that was not injected, and fails it.
   */
  readonly consequences: readonly string[];
  /** Messages per second of pipeline time sent during the game day (what keeps the signals alive). */
  readonly ratePerSecond: number;
  /** Whether the scheduled monitors (reconciler, drift monitor) run: only drills of what they watch need them. @default false */
  readonly monitors?: boolean;
  /** The time scale the drill is meant for, when `--time-scale` is not given (long windows need a faster clock). @default 0.1 */
  readonly timeScale?: number;
  /**
   * Stage config overrides the drill's pipeline is synthesized with (validated like the stage's
   * own), when the stage's own cadence would not fit a drill in minutes. @default none
   */
  readonly overrides?: StageConfigOverrides;
  /** When the drill gives up (pipeline seconds), when `--timeout` is not given: the fault, detection and recovery fit in it. @default 900 */
  readonly timeoutSeconds?: number;
}

/** What a model outage legitimately raises besides the error rate: the breaker, the fallbacks, the serving mix. */
const MODEL_OUTAGE_CONSEQUENCES = [
  'breaker-open',
  'fallback-rate',
  'serving-mix-shift',
  'model-latency-p99',
  'validation-failure-rate',
  'review-backlog-age',
] as const;

/** What crashing or timed-out invocations legitimately raise: late work, receives burnt, the DLQ. */
const PROCESSOR_FAILURE_CONSEQUENCES = ['input-age-over-sla', 'processor-silent', 'dlq-has-messages'] as const;

/**
 * The scenarios: at least one per paging alarm of the dev stage's catalog that local mode can
 * drive (test/pipectl/gameday.test.ts checks the coverage), a few ticket alarms whose faults now
 * end by themselves, and two overlapping incidents.
 */
export const GAMEDAY_SCENARIOS: Readonly<Record<string, GameDayScenario>> = {
  'model-outage': {
    name: 'model-outage',
    description: 'the model endpoint answers 503 to every call for two minutes (both models: no fallback model answers either)',
    faults: [{ kind: 'faults', spec: 'outage=30-150' }],
    expectedAlarms: ['model-error-rate', 'breaker-open'],
    consequences: MODEL_OUTAGE_CONSEQUENCES,
    ratePerSecond: 2,
  },
  'model-blip': {
    name: 'model-blip',
    description:
      'a 60-second outage of the model endpoint, about one alarm period: whether it is caught depends on the breaker holding calls off after it (a test of the thresholds)',
    faults: [{ kind: 'faults', spec: 'outage=20-80' }],
    expectedAlarms: ['model-error-rate', 'breaker-open'],
    consequences: MODEL_OUTAGE_CONSEQUENCES,
    ratePerSecond: 1,
  },
  'provider-5xx': {
    name: 'provider-5xx',
    description: 'nine calls in ten get a 5xx for two minutes (a partial outage: retries and the other model still get some answers through)',
    faults: [{ kind: 'faults', spec: '5xx=0.9/30-150' }],
    expectedAlarms: ['model-error-rate'],
    consequences: MODEL_OUTAGE_CONSEQUENCES,
    ratePerSecond: 2,
  },
  'bad-output': {
    name: 'bad-output',
    description: 'for three minutes, most answers are not JSON (a provider-side model change): validation fails and the chain falls back',
    faults: [{ kind: 'faults', spec: 'malformed=0.8/30-210' }],
    expectedAlarms: ['validation-failure-rate'],
    consequences: ['fallback-rate', 'serving-mix-shift', 'review-backlog-age'],
    ratePerSecond: 2,
  },
  'processor-crashes': {
    name: 'processor-crashes',
    description: 'for three minutes, most invocations die mid-batch (a bad deployment, OOM): batches come back after their visibility timeout',
    faults: [{ kind: 'faults', spec: 'crash=0.7/30-210' }],
    expectedAlarms: ['processor-errors'],
    consequences: PROCESSOR_FAILURE_CONSEQUENCES,
    ratePerSecond: 1,
  },
  'job-incomplete': {
    name: 'job-incomplete',
    description:
      'a producer registers a job of 50 tickets and 10 of its sends are lost before the queue: past the deadline (5 min) the reconciler finds them missing; the producer then re-sends the file, as the runbook says',
    faults: [{ kind: 'lost-sends', messages: 50, lostShare: 0.2, deadlineSeconds: 300, fromSeconds: 30, toSeconds: 720 }],
    expectedAlarms: ['incomplete-job'],
    consequences: [],
    ratePerSecond: 0.2,
    monitors: true,
    timeoutSeconds: 1_800,
  },
  'processor-paused': {
    name: 'processor-paused',
    description: 'the event source stops polling for 20 minutes (a stuck deployment, a pause nobody resumed): messages wait, nothing finishes',
    faults: [{ kind: 'pause', fromSeconds: 30, toSeconds: 1230 }],
    expectedAlarms: ['processor-silent', 'input-age-over-sla'],
    consequences: ['processor-silent', 'input-age-over-sla'],
    ratePerSecond: 0.5,
    timeScale: 0.05,
    timeoutSeconds: 3_600,
  },
  'reconciler-stopped': {
    name: 'reconciler-stopped',
    description: "the reconciler's schedule is disabled for 25 minutes (maintenance left it off): nothing checks job completeness, so its heartbeat must page",
    faults: [{ kind: 'monitor-stopped', monitor: 'reconciler', fromSeconds: 60, toSeconds: 1560 }],
    expectedAlarms: ['reconciler-heartbeat'],
    consequences: [],
    ratePerSecond: 0.2,
    monitors: true,
    timeScale: 0.05,
    timeoutSeconds: 3_600,
  },
  'drift-monitor-stopped': {
    name: 'drift-monitor-stopped',
    description: "the drift monitor's schedule is disabled for 25 minutes: drift goes unwatched, so its heartbeat must page (drift monitor every 5 min)",
    faults: [{ kind: 'monitor-stopped', monitor: 'drift-monitor', fromSeconds: 60, toSeconds: 1560 }],
    expectedAlarms: ['drift-monitor-heartbeat'],
    consequences: [],
    ratePerSecond: 0.2,
    monitors: true,
    timeScale: 0.05,
    timeoutSeconds: 4_500,
    overrides: FAST_MONITORS,
  },
  'input-drift': {
    name: 'input-drift',
    description:
      'for 25 minutes nine tickets in ten are about billing (an upstream change): the answers move with the data, and drift must page as drift (drift window 20 min)',
    faults: [{ kind: 'input-shift', category: 'billing', share: 0.9, fromSeconds: 60, toSeconds: 1560 }],
    expectedAlarms: ['drift-critical'],
    consequences: ['drift-warning'],
    ratePerSecond: 0.4,
    monitors: true,
    timeScale: 0.05,
    timeoutSeconds: 4_500,
    overrides: FAST_MONITORS,
  },
  'overlapping-incidents': {
    name: 'overlapping-incidents',
    description:
      'the input drifts (drift-critical pages and stays in ALARM), then, while it is still in ALARM, invocations start crashing: the second incident must page too',
    faults: [
      { kind: 'input-shift', category: 'billing', share: 0.9, fromSeconds: 60, toSeconds: 1380 },
      { kind: 'faults', spec: 'crash=0.7/1080-1380' },
    ],
    expectedAlarms: ['drift-critical'],
    expectedPages: ['drift-critical', 'processor-errors'],
    consequences: ['drift-warning', 'processor-errors', ...PROCESSOR_FAILURE_CONSEQUENCES],
    ratePerSecond: 0.4,
    monitors: true,
    timeScale: 0.05,
    timeoutSeconds: 5_400,
    overrides: FAST_MONITORS,
  },
};

/** The `pipectl local --faults` spec a scenario starts the pipeline with (its `faults` items, joined). */
export function pipelineFaultSpec(scenario: GameDayScenario): string | undefined {
  const specs = scenario.faults.flatMap((fault) => (fault.kind === 'faults' ? [fault.spec] : []));
  return specs.length > 0 ? specs.join(',') : undefined;
}

/** How one fault is written in a table. */
export function describeOneFault(fault: GameDayFault): string {
  switch (fault.kind) {
    case 'faults':
      return fault.spec;
    case 'pause':
      return `pause=${fault.fromSeconds}-${fault.toSeconds}`;
    case 'monitor-stopped':
      return `stop ${fault.monitor}=${fault.fromSeconds}-${fault.toSeconds}`;
    case 'input-shift':
      return `input ${fault.category}×${fault.share}=${fault.fromSeconds}-${fault.toSeconds}`;
    case 'lost-sends':
      return `lose ${Math.round(fault.lostShare * fault.messages)} of a ${fault.messages}-line job=${fault.fromSeconds}-${fault.toSeconds}`;
  }
}

/** How a scenario's faults are written in a table. */
export function describeFault(scenario: GameDayScenario): string {
  return scenario.faults.map(describeOneFault).join(' + ');
}

export function findScenario(name: string): GameDayScenario {
  const scenario = GAMEDAY_SCENARIOS[name];
  if (!scenario) throw new UsageError(`no game day scenario "${name}"; the scenarios are: ${Object.keys(GAMEDAY_SCENARIOS).join(', ')}`);
  return scenario;
}

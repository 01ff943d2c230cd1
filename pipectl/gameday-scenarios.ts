/**
 * The game day scenarios: data only, so `pipectl gameday --help` and `pipectl console --help` list
 * them without loading the local pipeline (pipectl/gameday.ts runs them).
 */
import { join } from 'node:path';
import { UsageError } from './errors';

/** Where the console looks for a game day's result: `pipectl gameday <scenario> --json > .local/gameday/result.json`. */
export const GAMEDAY_RESULT_FILE = join('.local', 'gameday', 'result.json');

/** Where `pipectl gameday` leaves what `pipectl incident timeline --gameday` reads: its pipeline is gone by then. */
export const GAMEDAY_INCIDENT_FILE = join('.local', 'gameday', 'incident.json');

/** A named fault scenario: what is injected, and which alarms must see it. */
export interface GameDayScenario {
  readonly name: string;
  readonly description: string;
  /**
   * What is injected. `model`: the model simulator's fault spec (README, "Fault spec"), in real
   * time; it must end by itself (an `outage=FROM-TO` window), recovery is measured from its end.
   * `pause`: the event source stops polling from `fromSeconds` to `toSeconds` (pipeline time
   * since the first model request), as `pipectl pause` / `resume` would.
   */
  readonly fault: { readonly kind: 'model'; readonly faults: string } | { readonly kind: 'pause'; readonly fromSeconds: number; readonly toSeconds: number };
  /** Catalog alarm ids; detection is the first of them in ALARM after the fault starts. */
  readonly expectedAlarms: readonly string[];
  /**
   * Alarms the fault may raise as its consequences (a breaker opening after an outage). Any other
   * alarm that fires during the drill names a cause that was not injected, and fails it.
   */
  readonly consequences: readonly string[];
  /** Messages per second of real time sent during the game day (what keeps the signals alive). */
  readonly ratePerSecond: number;
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

/**
 * The scenarios, one per paging alarm local mode can drive from its own faults. Only windowed
 * faults are here: the simulator's rate faults (429, 5xx, latency, malformed…) last the whole
 * run, so nothing could recover from them.
 */
export const GAMEDAY_SCENARIOS: Readonly<Record<string, GameDayScenario>> = {
  'model-outage': {
    name: 'model-outage',
    description: 'the model endpoint answers 503 to every call for two minutes (both models: no fallback model answers either)',
    fault: { kind: 'model', faults: 'outage=30-150' },
    expectedAlarms: ['model-error-rate', 'breaker-open'],
    consequences: MODEL_OUTAGE_CONSEQUENCES,
    ratePerSecond: 2,
  },
  'model-blip': {
    name: 'model-blip',
    description:
      'a 60-second outage of the model endpoint, about one alarm period: whether it is caught depends on the breaker holding calls off after it (a test of the thresholds)',
    fault: { kind: 'model', faults: 'outage=20-80' },
    expectedAlarms: ['model-error-rate', 'breaker-open'],
    consequences: MODEL_OUTAGE_CONSEQUENCES,
    ratePerSecond: 1,
  },
  'processor-paused': {
    name: 'processor-paused',
    description: 'the event source stops polling for 20 minutes (a stuck deployment, a pause nobody resumed): messages wait, nothing finishes',
    fault: { kind: 'pause', fromSeconds: 30, toSeconds: 1230 },
    expectedAlarms: ['processor-silent', 'input-age-over-sla'],
    consequences: ['processor-silent', 'input-age-over-sla'],
    ratePerSecond: 0.5,
  },
};

/** The simulator fault spec a scenario starts the pipeline with. */
export function simulatorFaults(scenario: GameDayScenario): string | undefined {
  return scenario.fault.kind === 'model' ? scenario.fault.faults : undefined;
}

/** How a scenario's fault is written in a table. */
export function describeFault(scenario: GameDayScenario): string {
  return scenario.fault.kind === 'model' ? scenario.fault.faults : `pause=${scenario.fault.fromSeconds}-${scenario.fault.toSeconds}`;
}

export function findScenario(name: string): GameDayScenario {
  const scenario = GAMEDAY_SCENARIOS[name];
  if (!scenario) throw new UsageError(`no game day scenario "${name}"; the scenarios are: ${Object.keys(GAMEDAY_SCENARIOS).join(', ')}`);
  return scenario;
}

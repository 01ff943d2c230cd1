import { type FaultWindow, FaultWindowError, scaleWindowed, spanOfFaults, splitFaultWindow, type WindowedRate } from '../fault-window';

/**
 * Infrastructure faults of local mode: what `--faults` adds to the model simulator's spec for the
 * AWS endpoints and the Lambda runtime (README, "Fault spec"). The model simulator ignores them;
 * the AWS boundary (boundary-proxy.ts) and the event source poller inject them, so the bundled
 * processor is run unchanged and never knows.
 *
 *   ddb-throttle=RATE  ddb-error=RATE  ddb-latency=MS@RATE  ddb-hang=RATE  sqs-error=RATE
 *   crash=RATE  timeout=RATE  redeliver=RATE        each may end with /FROM-TO (a window)
 *
 * Rates of the DynamoDB answer faults (throttle, error, hang) are per request and add up to at
 * most 1, like the model's; `crash` and `timeout` are per invocation and add up to at most 1;
 * `redeliver` is per received message; `ddb-latency` is drawn apart and adds to any answer.
 * The sums are checked whatever the windows (conservative: two faults whose windows never meet
 * still may not add up to more than 1).
 *
 * A window (`crash=0.5/30-150`, local/fault-window.ts) confines an item to [FROM, TO) seconds
 * after the pipeline's fault injection started (`LocalPipeline.infraFaultsStartedAt`): outside
 * it the item injects nothing, as if its rate were 0.
 */

/** The kinds of infrastructure fault, as the spec names them and the report counts them. */
export const INFRA_FAULT_KINDS = ['ddb-throttle', 'ddb-error', 'ddb-latency', 'ddb-hang', 'sqs-error', 'crash', 'timeout', 'redeliver'] as const;
export type InfraFaultKind = (typeof INFRA_FAULT_KINDS)[number];

/** Injected faults by kind (every kind present, zero when none was injected). */
export type InfraFaultCounts = Record<InfraFaultKind, number>;

/**
 * Infrastructure faults to inject; an absent kind is off. Durations are real-time ms; a `window`
 * counts from the pipeline's fault injection start, and without one the fault lasts the whole run.
 */
export interface InfraFaultSpec {
  readonly ddbThrottle?: WindowedRate;
  readonly ddbError?: WindowedRate;
  readonly ddbLatency?: WindowedRate & { readonly ms: number };
  readonly ddbHang?: WindowedRate;
  readonly sqsError?: WindowedRate;
  readonly crash?: WindowedRate;
  readonly timeout?: WindowedRate;
  readonly redeliver?: WindowedRate;
}

/** A spec item that does not parse. */
export class InfraFaultSpecError extends Error {
  override readonly name = 'InfraFaultSpecError';
}

/** Help text for the infrastructure items, appended to the spec parser's own. */
export const INFRA_ITEM_HELP =
  'ddb-throttle=RATE, ddb-error=RATE, ddb-latency=MS@RATE, ddb-hang=RATE, sqs-error=RATE, crash=RATE, timeout=RATE, redeliver=RATE (each may end with /FROM-TO)';

/** Whether `key` names an infrastructure fault. */
export function isInfraFaultKey(key: string): key is InfraFaultKind {
  return (INFRA_FAULT_KINDS as readonly string[]).includes(key);
}

/** Returns `spec` with one parsed item (`RATE` or `MS@RATE`, then maybe `/FROM-TO`) added; the caller has checked `isInfraFaultKey(key)`. */
export function addInfraFaultItem(spec: InfraFaultSpec, key: InfraFaultKind, text: string): InfraFaultSpec {
  let value: string;
  let window: FaultWindow | undefined;
  try {
    ({ value, window } = splitFaultWindow(text));
  } catch (error) {
    if (error instanceof FaultWindowError) throw new InfraFaultSpecError(`${key}=${text}: ${error.message}`, { cause: error });
    throw error;
  }
  const windowed = (rate: number): WindowedRate => (window ? { rate, window } : { rate });
  switch (key) {
    case 'ddb-throttle':
      return { ...spec, ddbThrottle: windowed(parseRate(key, value)) };
    case 'ddb-error':
      return { ...spec, ddbError: windowed(parseRate(key, value)) };
    case 'ddb-hang':
      return { ...spec, ddbHang: windowed(parseRate(key, value)) };
    case 'ddb-latency': {
      const [ms, rate] = value.split('@');
      if (rate === undefined || ms === undefined || !/^\d+$/.test(ms.trim())) {
        throw new InfraFaultSpecError(`ddb-latency=${text}: expected MS@RATE[/FROM-TO], e.g. ddb-latency=200@0.1 or ddb-latency=200@0.3/10-60`);
      }
      return { ...spec, ddbLatency: { ms: Number(ms), ...windowed(parseRate(key, rate)) } };
    }
    case 'sqs-error':
      return { ...spec, sqsError: windowed(parseRate(key, value)) };
    case 'crash':
      return { ...spec, crash: windowed(parseRate(key, value)) };
    case 'timeout':
      return { ...spec, timeout: windowed(parseRate(key, value)) };
    case 'redeliver':
      return { ...spec, redeliver: windowed(parseRate(key, value)) };
  }
}

/** Throws when rates that share one draw add up to more than 1. */
export function checkInfraFaultSpec(spec: InfraFaultSpec): void {
  const ddb = (spec.ddbThrottle?.rate ?? 0) + (spec.ddbError?.rate ?? 0) + (spec.ddbHang?.rate ?? 0);
  if (ddb > 1 + 1e-9) throw new InfraFaultSpecError(`ddb-throttle, ddb-error and ddb-hang add up to ${round(ddb)}, more than 1`);
  const invocation = (spec.crash?.rate ?? 0) + (spec.timeout?.rate ?? 0);
  if (invocation > 1 + 1e-9) throw new InfraFaultSpecError(`crash and timeout add up to ${round(invocation)}, more than 1`);
}

/** Whether anything would be injected. */
export function hasInfraFaults(spec: InfraFaultSpec | undefined): boolean {
  return spec !== undefined && Object.values(spec).some((fault) => (fault as { rate: number } | undefined)?.rate);
}

/** The spec with its durations (ddb-latency, every window) multiplied by `timeScale` (local mode runs time faster). */
export function scaleInfraFaultSpec(spec: InfraFaultSpec, timeScale: number): InfraFaultSpec {
  const scaled = Object.fromEntries(
    Object.entries(spec).map(([name, fault]) => [name, fault === undefined ? fault : scaleWindowed(fault as WindowedRate, timeScale)]),
  ) as InfraFaultSpec;
  return scaled.ddbLatency ? { ...scaled, ddbLatency: { ...scaled.ddbLatency, ms: Math.round(scaled.ddbLatency.ms * timeScale) } } : scaled;
}

/**
 * When the infrastructure faults inject, on their clock (ms since `LocalPipeline.infraFaultsStartedAt`):
 * from the earliest start to the latest end of their windows. `undefined` when there are none, or
 * when one of them (at a rate above 0) has no window and so never ends. What a game day measures
 * recovery from; pass the spec as the boundary runs it (scaled) to get local time.
 *
 * @example
 * infraFaultWindow(parseFaultSpec('crash=0.5/30-150,ddb-latency=200@0.3/10-60').infra) // { fromMs: 10_000, toMs: 150_000 }
 * infraFaultWindow(parseFaultSpec('crash=0.5/30-150,sqs-error=0.1').infra)             // undefined: sqs-error never ends
 */
export function infraFaultWindow(spec: InfraFaultSpec | undefined): FaultWindow | undefined {
  return spec === undefined ? undefined : spanOfFaults(Object.values(spec) as Array<WindowedRate | undefined>);
}

/** Counts with every kind at zero. */
export function zeroInfraFaultCounts(): InfraFaultCounts {
  return Object.fromEntries(INFRA_FAULT_KINDS.map((kind) => [kind, 0])) as InfraFaultCounts;
}

function parseRate(key: string, value: string): number {
  const rate = Number(value);
  if (value.trim() === '' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new InfraFaultSpecError(`${key}=${value}: the rate must be a fraction from 0 to 1, e.g. ${key}=0.05 (or ${key}=0.05/30-150 for 30 s to 150 s)`);
  }
  return rate;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

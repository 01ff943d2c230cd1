/**
 * Infrastructure faults of local mode: what `--faults` adds to the model simulator's spec for the
 * AWS endpoints and the Lambda runtime (README, "Fault spec"). The model simulator ignores them;
 * the AWS boundary (boundary-proxy.ts) and the event source poller inject them, so the bundled
 * processor is run unchanged and never knows.
 *
 *   ddb-throttle=RATE  ddb-error=RATE  ddb-latency=MS@RATE  ddb-hang=RATE  sqs-error=RATE
 *   crash=RATE  timeout=RATE  redeliver=RATE
 *
 * Rates of the DynamoDB answer faults (throttle, error, hang) are per request and add up to at
 * most 1, like the model's; `crash` and `timeout` are per invocation and add up to at most 1;
 * `redeliver` is per received message; `ddb-latency` is drawn apart and adds to any answer.
 */

/** The kinds of infrastructure fault, as the spec names them and the report counts them. */
export const INFRA_FAULT_KINDS = ['ddb-throttle', 'ddb-error', 'ddb-latency', 'ddb-hang', 'sqs-error', 'crash', 'timeout', 'redeliver'] as const;
export type InfraFaultKind = (typeof INFRA_FAULT_KINDS)[number];

/** Injected faults by kind (every kind present, zero when none was injected). */
export type InfraFaultCounts = Record<InfraFaultKind, number>;

/** Infrastructure faults to inject; an absent kind is off. Durations are real-time ms. */
export interface InfraFaultSpec {
  readonly ddbThrottle?: { readonly rate: number };
  readonly ddbError?: { readonly rate: number };
  readonly ddbLatency?: { readonly ms: number; readonly rate: number };
  readonly ddbHang?: { readonly rate: number };
  readonly sqsError?: { readonly rate: number };
  readonly crash?: { readonly rate: number };
  readonly timeout?: { readonly rate: number };
  readonly redeliver?: { readonly rate: number };
}

/** A spec item that does not parse. */
export class InfraFaultSpecError extends Error {
  override readonly name = 'InfraFaultSpecError';
}

/** Help text for the infrastructure items, appended to the spec parser's own. */
export const INFRA_ITEM_HELP =
  'ddb-throttle=RATE, ddb-error=RATE, ddb-latency=MS@RATE, ddb-hang=RATE, sqs-error=RATE, crash=RATE, timeout=RATE, redeliver=RATE';

/** Whether `key` names an infrastructure fault. */
export function isInfraFaultKey(key: string): key is InfraFaultKind {
  return (INFRA_FAULT_KINDS as readonly string[]).includes(key);
}

/** Returns `spec` with one parsed item added; the caller has checked `isInfraFaultKey(key)`. */
export function addInfraFaultItem(spec: InfraFaultSpec, key: InfraFaultKind, value: string): InfraFaultSpec {
  switch (key) {
    case 'ddb-throttle':
      return { ...spec, ddbThrottle: { rate: parseRate(key, value) } };
    case 'ddb-error':
      return { ...spec, ddbError: { rate: parseRate(key, value) } };
    case 'ddb-hang':
      return { ...spec, ddbHang: { rate: parseRate(key, value) } };
    case 'ddb-latency': {
      const [ms, rate] = value.split('@');
      if (rate === undefined || ms === undefined || !/^\d+$/.test(ms.trim())) {
        throw new InfraFaultSpecError(`ddb-latency=${value}: expected MS@RATE, e.g. ddb-latency=200@0.1`);
      }
      return { ...spec, ddbLatency: { ms: Number(ms), rate: parseRate(key, rate) } };
    }
    case 'sqs-error':
      return { ...spec, sqsError: { rate: parseRate(key, value) } };
    case 'crash':
      return { ...spec, crash: { rate: parseRate(key, value) } };
    case 'timeout':
      return { ...spec, timeout: { rate: parseRate(key, value) } };
    case 'redeliver':
      return { ...spec, redeliver: { rate: parseRate(key, value) } };
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

/** The spec with its durations multiplied by `timeScale` (local mode runs time faster). */
export function scaleInfraFaultSpec(spec: InfraFaultSpec, timeScale: number): InfraFaultSpec {
  return spec.ddbLatency ? { ...spec, ddbLatency: { ...spec.ddbLatency, ms: Math.round(spec.ddbLatency.ms * timeScale) } } : spec;
}

/** Counts with every kind at zero. */
export function zeroInfraFaultCounts(): InfraFaultCounts {
  return Object.fromEntries(INFRA_FAULT_KINDS.map((kind) => [kind, 0])) as InfraFaultCounts;
}

function parseRate(key: string, value: string): number {
  const rate = Number(value);
  if (value.trim() === '' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new InfraFaultSpecError(`${key}=${value}: the rate must be a fraction from 0 to 1, e.g. ${key}=0.05`);
  }
  return rate;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

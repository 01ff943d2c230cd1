import {
  addInfraFaultItem,
  checkInfraFaultSpec,
  hasInfraFaults,
  INFRA_ITEM_HELP,
  type InfraFaultSpec,
  InfraFaultSpecError,
  isInfraFaultKey,
} from '../aws-boundary/infra-fault-spec';
import {
  FAULT_WINDOW_EXAMPLE,
  type FaultWindow,
  FaultWindowError,
  parseFaultWindow,
  scaleFaultWindow,
  scaleWindowed,
  spanOfFaults,
  splitFaultWindow,
  type WindowedRate,
} from '../fault-window';

/**
 * The model simulator's fault spec: what `pipectl local --faults SPEC` takes (README, "Fault spec").
 *
 *   SPEC   := ITEM ( "," ITEM )*
 *   ITEM   := 429=RATE[:RETRY_AFTER_MS] | 5xx=RATE | latency=MS@RATE | base=MS | hang=RATE
 *           | malformed=RATE | truncated=RATE | schema=RATE | quota=RATE | outage=FROM-TO
 *           | degrade=TARGET:RATE | zero-latency | brownout | none
 *           | ddb-throttle=RATE | ddb-error=RATE | ddb-latency=MS@RATE | ddb-hang=RATE
 *           | sqs-error=RATE | crash=RATE | timeout=RATE | redeliver=RATE   (infrastructure)
 *           | rpm=N | tpm=N | burst-latency=MS@CONCURRENCY        (quotas: see the block below)
 *   WINDOW := FROM-TO        seconds, `s` or `ms` suffix allowed, TO after FROM (local/fault-window.ts)
 *
 * Every item with a RATE (the model's, degrade's and the infrastructure's) may end with
 * `/WINDOW`: `5xx=0.9/30-150`, `429=0.8:2000/30-150`, `latency=3000@0.6/30-150`,
 * `degrade=sim-primary:0.5/30-150`, `crash=0.5/30-150`. Outside its window an item injects
 * nothing (its rate is 0 for that call); without one it lasts the whole run. The model items'
 * windows, like outage's, count from the simulator's first request; the infrastructure items'
 * from the pipeline's fault injection start (`LocalPipeline.infraFaultsStartedAt`).
 *
 * RATE is a fraction in [0, 1] of calls; durations are real-time milliseconds (outage bounds are
 * a WINDOW) and are run at local mode's time scale. Each call draws at most one of the answer
 * faults (429, 5xx, hang, quota, malformed, truncated, schema), so their rates add up to at most 1
 * (whatever their windows: conservative, but simple); latency is drawn apart and adds to any
 * answer; an outage answers 503 to everything inside its window.
 *
 * The infrastructure items (ddb-*, sqs-error, crash, timeout, redeliver) are parsed in their own
 * block below into `infra`; the simulator ignores them (local/aws-boundary/infra-fault-spec.ts).
 */
export interface FaultSpec {
  /** Latency of every call (ms). */
  readonly baseLatencyMs: number;
  // A rate item's `window` is [fromMs, toMs) after the simulator's first request; without one it lasts the whole run.
  /** A share of calls takes this much longer (a brownout). */
  readonly latency?: WindowedRate & { readonly ms: number };
  readonly throttle?: WindowedRate & { readonly retryAfterMs?: number };
  readonly serverError?: WindowedRate;
  readonly hang?: WindowedRate;
  readonly malformed?: WindowedRate;
  readonly truncated?: WindowedRate;
  readonly schema?: WindowedRate;
  readonly quota?: WindowedRate;
  /** Every call in [fromMs, toMs) after the first request gets 503. */
  readonly outage?: FaultWindow;
  /** Faults of the AWS endpoints and the Lambda runtime, injected at their boundary, not by the simulator. */
  readonly infra?: InfraFaultSpec;
  /** change safety (issue 15): this share of one model's answers are wrong-shaped (invalid), the others untouched. */
  /** `target`: a model id, or a prompt version `<task>@<version>` (the request's `x-prompt-version` / `requestMetadata`). */
  readonly degrade?: WindowedRate & { readonly target: string };
  // ---- provider quotas (issue 14) -------------------------------------------------------------
  /** Requests per minute of each model: a token bucket; what goes over gets 429 + Retry-After. */
  readonly rpm?: number;
  /** Tokens (prompt + completion) per minute of each model: a token bucket like `rpm`. */
  readonly tpm?: number;
  /** With more than `concurrency` calls in flight, every call takes `ms` longer (a provider under load). */
  readonly burstLatency?: { readonly ms: number; readonly concurrency: number };
  /** How long the quota's minute lasts in the simulator's time (`scaleFaultSpec` scales it). @default 60000 */
  readonly quotaWindowMs?: number;
}

/** No faults, no latency: the default of local mode and of the benchmark's happy path. */
export const NO_FAULTS: FaultSpec = { baseLatencyMs: 0 };

/** Named specs a bench or a game day can select by name. */
export const FAULT_PROFILES: Readonly<Record<string, string>> = {
  /** The happy path: answers at once. */
  'zero-latency': 'base=0',
  /** A provider brownout: every call takes 100 ms, half of them 30 times as long. */
  brownout: 'base=100,latency=2900@0.5',
  none: 'base=0',
};

/** A spec that does not parse: `message` names the item and says what is valid. */
export class FaultSpecError extends Error {
  override readonly name = 'FaultSpecError';
}

const ITEM_HELP =
  'valid items: 429=RATE[:retryAfterMs], 5xx=RATE, latency=MS@RATE, base=MS, hang=RATE, malformed=RATE, truncated=RATE, schema=RATE, quota=RATE, outage=FROM-TO, degrade=MODEL|TASK@VERSION:RATE, ' +
  `${INFRA_ITEM_HELP}, ` +
  'rpm=N, tpm=N, burst-latency=MS@CONCURRENCY, ' +
  `or a profile (${Object.keys(FAULT_PROFILES).join(', ')}); ` +
  'an item with a RATE may end with /FROM-TO to inject only from FROM to TO seconds (e.g. 5xx=0.9/30-150)';

/** The model items that take a `/FROM-TO` window (the infrastructure items parse their own). */
const WINDOWED_KEYS: ReadonlySet<string> = new Set(['429', '5xx', 'latency', 'hang', 'malformed', 'truncated', 'schema', 'quota', 'degrade']);

/** Parses a spec; throws FaultSpecError naming the first bad item. */
export function parseFaultSpec(text: string): FaultSpec {
  const spec: { -readonly [K in keyof FaultSpec]: FaultSpec[K] } = { baseLatencyMs: 0 };
  const seen = new Set<string>();
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  for (const item of items) {
    const profile = FAULT_PROFILES[item];
    if (profile !== undefined) {
      Object.assign(spec, parseFaultSpec(profile));
      continue;
    }
    // Hyphens: the infrastructure items are named ddb-throttle, sqs-error, ….
    const match = /^([a-z0-9-]+)=(.+)$/i.exec(item);
    if (!match) throw new FaultSpecError(`"${item}" is not KEY=VALUE; ${ITEM_HELP}`);
    const key = (match[1] as string).toLowerCase();
    const text = match[2] as string;
    if (seen.has(key)) throw new FaultSpecError(`"${key}" appears twice`);
    seen.add(key);
    // --- infrastructure faults (local/aws-boundary/infra-fault-spec.ts) ---
    if (isInfraFaultKey(key)) {
      try {
        spec.infra = addInfraFaultItem(spec.infra ?? {}, key, text);
      } catch (error) {
        if (error instanceof InfraFaultSpecError) throw new FaultSpecError(error.message, { cause: error });
        throw error;
      }
      continue;
    }
    // --- end of infrastructure faults ---
    const { value, window } = splitWindow(key, text);
    if (window && !WINDOWED_KEYS.has(key)) throw new FaultSpecError(`${key}=${text}: only an item with a RATE takes a /FROM-TO window`);
    const windowed = (rate: number): WindowedRate => (window ? { rate, window } : { rate });
    switch (key) {
      case '429': {
        const [rate, retryAfter] = value.split(':');
        spec.throttle = { ...windowed(parseRate(key, rate)), ...(retryAfter !== undefined ? { retryAfterMs: parseMs(key, retryAfter) } : {}) };
        break;
      }
      case '5xx':
        spec.serverError = windowed(parseRate(key, value));
        break;
      case 'latency': {
        const [ms, rate] = value.split('@');
        if (rate === undefined) throw new FaultSpecError(`latency=${text}: expected MS@RATE[/FROM-TO], e.g. latency=3000@0.5 or latency=3000@0.6/30-150`);
        spec.latency = { ms: parseMs(key, ms), ...windowed(parseRate(key, rate)) };
        break;
      }
      case 'base':
        spec.baseLatencyMs = parseMs(key, value);
        break;
      case 'hang':
        spec.hang = windowed(parseRate(key, value));
        break;
      case 'malformed':
        spec.malformed = windowed(parseRate(key, value));
        break;
      case 'truncated':
        spec.truncated = windowed(parseRate(key, value));
        break;
      case 'schema':
        spec.schema = windowed(parseRate(key, value));
        break;
      case 'quota':
        spec.quota = windowed(parseRate(key, value));
        break;
      case 'outage':
        try {
          spec.outage = parseFaultWindow(value);
        } catch (error) {
          if (!(error instanceof FaultWindowError)) throw error;
          throw new FaultSpecError(
            error.reason === 'order'
              ? `outage=${value}: ${error.message}`
              : `outage=${value}: expected FROM-TO in seconds since the first request, e.g. outage=5-45 or outage=500ms-4500ms`,
            { cause: error },
          );
        }
        break;
      // ── change safety (issue 15): degrade=<model id | task@version>:RATE, a worse candidate for canary drills ──
      case 'degrade': {
        // The rate follows the last ':' (a Bedrock model id has colons of its own).
        const split = value.lastIndexOf(':');
        if (split <= 0)
          throw new FaultSpecError(`degrade=${text}: expected MODEL:RATE or TASK@VERSION:RATE, e.g. degrade=sim-candidate:0.5 or degrade=ticket-triage@2:0.5`);
        spec.degrade = { target: value.slice(0, split), ...windowed(parseRate(key, value.slice(split + 1))) };
        break;
      }
      // ── end degrade ──
      default:
        if (parseQuotaItem(spec, key, value)) break;
        throw new FaultSpecError(`unknown fault "${key}"; ${ITEM_HELP}`);
    }
  }
  // --- infrastructure faults ---
  if (spec.infra) {
    try {
      checkInfraFaultSpec(spec.infra);
    } catch (error) {
      if (error instanceof InfraFaultSpecError) throw new FaultSpecError(error.message, { cause: error });
      throw error;
    }
  }
  // --- end of infrastructure faults ---
  const total = answerFaultRate(spec);
  if (total > 1 + 1e-9) {
    throw new FaultSpecError(`the answer faults (429, 5xx, hang, quota, malformed, truncated, schema) add up to ${round(total)}, more than 1`);
  }
  return spec;
}

/** The share of calls that draw an answer fault. */
export function answerFaultRate(spec: FaultSpec): number {
  return [spec.throttle, spec.serverError, spec.hang, spec.quota, spec.malformed, spec.truncated, spec.schema].reduce(
    (total, fault) => total + (fault?.rate ?? 0),
    0,
  );
}

/** A spec with every duration (windows included) multiplied by `timeScale` (local mode runs time faster). */
export function scaleFaultSpec(spec: FaultSpec, timeScale: number): FaultSpec {
  const ms = (value: number) => Math.round(value * timeScale);
  const windowed = <T extends { readonly window?: FaultWindow }>(fault: T | undefined): T | undefined => fault && scaleWindowed(fault, timeScale);
  const throttle = windowed(spec.throttle);
  return {
    ...spec,
    baseLatencyMs: ms(spec.baseLatencyMs),
    ...(spec.latency ? { latency: { ...scaleWindowed(spec.latency, timeScale), ms: ms(spec.latency.ms) } } : {}),
    ...(throttle ? { throttle: throttle.retryAfterMs !== undefined ? { ...throttle, retryAfterMs: ms(throttle.retryAfterMs) } : throttle } : {}),
    ...(spec.serverError ? { serverError: windowed(spec.serverError) } : {}),
    ...(spec.hang ? { hang: windowed(spec.hang) } : {}),
    ...(spec.malformed ? { malformed: windowed(spec.malformed) } : {}),
    ...(spec.truncated ? { truncated: windowed(spec.truncated) } : {}),
    ...(spec.schema ? { schema: windowed(spec.schema) } : {}),
    ...(spec.quota ? { quota: windowed(spec.quota) } : {}),
    ...(spec.degrade ? { degrade: windowed(spec.degrade) } : {}),
    ...(spec.outage ? { outage: scaleFaultWindow(spec.outage, timeScale) } : {}),
    ...(spec.burstLatency ? { burstLatency: { ...spec.burstLatency, ms: ms(spec.burstLatency.ms) } } : {}),
    // The quota's minute runs at the time scale like every other duration: rpm=600 at 0.1 is 600 calls per 6 s.
    ...(spec.rpm !== undefined || spec.tpm !== undefined ? { quotaWindowMs: ms(spec.quotaWindowMs ?? QUOTA_WINDOW_MS) } : {}),
  };
}

/**
 * When the model faults inject, on the simulator's clock (ms since its first request,
 * `ModelSimulator.firstRequestAt()`): from the earliest start to the latest end over the outage
 * and every windowed rate item (429, 5xx, latency, hang, malformed, truncated, schema, quota,
 * degrade). `undefined` when there is none, or when one of them (at a rate above 0) has no window
 * and so never ends. The quotas (rpm, tpm, burst-latency), `base` and the infrastructure items
 * (`infraFaultWindow`) are not counted. What a game day measures recovery from; pass the spec as
 * the simulator runs it (`simulator.faults`, scaled) to get local time.
 *
 * @example
 * modelFaultWindow(parseFaultSpec('5xx=0.9/30-150,latency=3000@0.6/20-60')) // { fromMs: 20_000, toMs: 150_000 }
 * modelFaultWindow(parseFaultSpec('outage=30-150,429=0.1'))                 // undefined: the 429s never end
 */
export function modelFaultWindow(spec: FaultSpec): FaultWindow | undefined {
  return spanOfFaults([
    spec.outage,
    spec.throttle,
    spec.serverError,
    spec.hang,
    spec.quota,
    spec.malformed,
    spec.truncated,
    spec.schema,
    spec.latency,
    spec.degrade,
  ]);
}

/** Whether the spec injects anything beyond latency. */
export function hasFaults(spec: FaultSpec): boolean {
  return (
    answerFaultRate(spec) > 0 ||
    spec.outage !== undefined ||
    spec.latency !== undefined ||
    spec.degrade !== undefined ||
    hasInfraFaults(spec.infra) ||
    spec.rpm !== undefined ||
    spec.tpm !== undefined ||
    spec.burstLatency !== undefined
  );
}

function parseRate(key: string, value: string | undefined): number {
  const rate = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new FaultSpecError(`${key}=${value ?? ''}: the rate must be a fraction from 0 to 1, e.g. ${key}=0.2 (or ${key}=0.2/30-150 for 30 s to 150 s)`);
  }
  return rate;
}

/** The item's value and its `/FROM-TO` window, if it ends with one; a bad window names the item. */
function splitWindow(key: string, text: string): { readonly value: string; readonly window?: FaultWindow } {
  try {
    return splitFaultWindow(text);
  } catch (error) {
    if (error instanceof FaultWindowError)
      throw new FaultSpecError(`${key}=${text}: ${error.message} (a window is /FROM-TO, e.g. ${FAULT_WINDOW_EXAMPLE})`, { cause: error });
    throw error;
  }
}

function parseMs(key: string, value: string | undefined): number {
  if (value === undefined || !/^\d+$/.test(value.trim())) throw new FaultSpecError(`${key}: "${value ?? ''}" is not a whole number of milliseconds`);
  return Number(value);
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

// ---- provider quotas (issue 14): rpm, tpm, burst-latency ------------------------------------
// Kept apart from the answer faults above: a quota is not a random draw but a token bucket per
// model that refuses whatever goes over the rate, which is what a real provider account does.

/** The minute a provider quota is counted over (ms of real time). */
export const QUOTA_WINDOW_MS = 60_000;

/**
 * Parses the quota items into `spec`; false when `key` is not one of them.
 *
 * - `rpm=N`: each model accepts N requests per minute (a bucket of N that refills N per minute);
 *   a request with no token left gets 429 with `retry-after-ms` (and `retry-after` in seconds)
 *   saying when the next token arrives.
 * - `tpm=N`: each model accepts N tokens (prompt + completion, as the answer's `usage` counts
 *   them) per minute, charged when the answer is sent; a request arriving while the bucket is in
 *   debt gets 429 the same way.
 * - `burst-latency=MS@CONCURRENCY`: while more than CONCURRENCY calls are in flight, each new call
 *   takes MS longer (providers slow down under load before they refuse).
 */
function parseQuotaItem(spec: { -readonly [K in keyof FaultSpec]: FaultSpec[K] }, key: string, value: string): boolean {
  switch (key) {
    case 'rpm':
      spec.rpm = parsePositiveInt(key, value);
      return true;
    case 'tpm':
      spec.tpm = parsePositiveInt(key, value);
      return true;
    case 'burst-latency': {
      const [ms, concurrency] = value.split('@');
      if (concurrency === undefined) throw new FaultSpecError(`burst-latency=${value}: expected MS@CONCURRENCY, e.g. burst-latency=2000@20`);
      spec.burstLatency = { ms: parseMs(key, ms), concurrency: parsePositiveInt(key, concurrency) };
      return true;
    }
    default:
      return false;
  }
}

function parsePositiveInt(key: string, value: string | undefined): number {
  if (value === undefined || !/^\d+$/.test(value.trim()) || Number(value) < 1)
    throw new FaultSpecError(`${key}=${value ?? ''}: expected a whole number ≥ 1, e.g. ${key}=600`);
  return Number(value);
}

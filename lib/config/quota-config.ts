import { z } from 'zod';
import { RATE_PACING_MODES, type RatePacingMode } from '../../lambda/contract';

/**
 * Provider quotas and pacing (issue 14; docs/quotas.md). Kept in its own file and its own key of
 * the stage config (`quotas`) so the stage config can be split without touching it.
 */
export interface QuotaConfig {
  /**
   * `on`: calls to a model with a quota below are paced to it (shared by every execution
   * environment). `adaptive`: the same, and calls to other models learn a rate from 429s (AIMD,
   * opt-in: see `rateLimiters`). `off`: no pacing, as before.
   * @default 'on'
   */
  readonly pacing: RatePacingMode;
  /** Per model id: the account's requests and tokens per minute, as the provider states them. @default {} */
  readonly models: Readonly<Record<string, ModelQuotaConfig>>;
  /** Typical (median) latency of one model call, for the event source's concurrency. @default 1000 */
  readonly expectedCallLatencyMs: number;
  /** The "at the quota" alarm fires when calls/min stay at or above this share of the RPM. @default 90 */
  readonly atQuotaPercent: number;
}

/** One model's quota. */
export interface ModelQuotaConfig {
  /** Requests per minute. */
  readonly rpm?: number;
  /** Tokens (input + output) per minute. */
  readonly tpm?: number;
}

/** The `quotas` key of the stage config. */
export const quotaConfigSchema = z
  .strictObject({
    pacing: z.enum(RATE_PACING_MODES).default('on'),
    models: z
      .record(
        z.string().min(1),
        z
          .strictObject({ rpm: z.number().int().min(1).optional(), tpm: z.number().int().min(1).optional() })
          .refine((quota) => quota.rpm !== undefined || quota.tpm !== undefined, 'give rpm, tpm or both'),
      )
      .default({}),
    expectedCallLatencyMs: z.number().int().min(1).max(900_000).default(1000),
    atQuotaPercent: z.number().min(1).max(100).default(90),
  })
  .prefault({});

/** Headroom over the quota's rate when sizing the event source: short bursts of slow calls do not starve it. */
export const QUOTA_CONCURRENCY_HEADROOM = 1.25;

/** The event source's scheduling as the quota allows it, and the arithmetic behind it. */
export interface QuotaScheduling {
  readonly maxConcurrency: number;
  readonly batchSize: number;
  /** The arithmetic, for the docs and the synth output. */
  readonly explanation: string;
}

/**
 * The event source mapping's `maxConcurrency` and batch size that follow from the primary model's
 * RPM, so Lambda does not start environments that only wait for tokens (docs/quotas.md):
 *
 *   R          = rpm / 60                                        calls per second the quota allows
 *   T_batch    = ceil(batchSize / recordConcurrency) × latency   one invocation (one call per record)
 *   per env    = batchSize / T_batch                             calls per second one environment makes
 *   maxConcurrency N = clamp(ceil(headroom × R / per env), 2, configured maxConcurrency)
 *   batchSize  = min(configured, max(1, floor(R × timeout / (2 × N))))
 *                N environments share R: a batch's tokens come within N × batchSize / R seconds,
 *                which must fit in half an invocation, or its last records run out of time
 *
 * 2 is the least an SQS event source accepts. Without an RPM for the primary, both stay as configured.
 */
export function schedulingForQuota(input: {
  readonly rpm?: number;
  readonly batchSize: number;
  readonly recordConcurrency: number;
  readonly maxConcurrency: number;
  readonly timeoutSeconds: number;
  readonly expectedCallLatencyMs: number;
}): QuotaScheduling {
  const { rpm, recordConcurrency, maxConcurrency, timeoutSeconds, expectedCallLatencyMs } = input;
  if (rpm === undefined) {
    return { maxConcurrency, batchSize: input.batchSize, explanation: 'no RPM quota for the primary model: maxConcurrency and batchSize as configured' };
  }
  const perSecond = rpm / 60;
  const batchSeconds = (Math.ceil(input.batchSize / recordConcurrency) * expectedCallLatencyMs) / 1000;
  const perEnvironment = input.batchSize / batchSeconds;
  const needed = Math.ceil((QUOTA_CONCURRENCY_HEADROOM * perSecond) / perEnvironment);
  const concurrency = Math.max(2, Math.min(maxConcurrency, needed));
  // The environments share the quota: one batch's tokens take concurrency × batchSize / R seconds.
  const batchSize = Math.min(input.batchSize, Math.max(1, Math.floor((perSecond * timeoutSeconds) / (2 * concurrency))));
  return {
    maxConcurrency: concurrency,
    batchSize,
    explanation:
      `R = ${rpm}/60 = ${round(perSecond)} calls/s; T_batch = ceil(${batchSize}/${recordConcurrency}) × ${expectedCallLatencyMs} ms = ${round(batchSeconds)} s; ` +
      `per environment ${round(perEnvironment)} calls/s; maxConcurrency = clamp(ceil(${QUOTA_CONCURRENCY_HEADROOM} × ${round(perSecond)} / ${round(perEnvironment)}) = ${needed}, 2, ${maxConcurrency}) = ${concurrency}; ` +
      `batchSize = min(${input.batchSize}, floor(${round(perSecond)} × ${timeoutSeconds} / (2 × ${concurrency}))) = ${batchSize}`,
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

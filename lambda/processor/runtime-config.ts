import type { BreakerSettings } from '../resilience/breaker-state';
import * as z from '../shared/zod-mini';
import { ENV, GUARD_ACTIONS, MODEL_PROVIDERS, QUOTA_ENV, RATE_PACING_MODES, SWITCH_REFRESH_MS, TIERS } from '../contract';
import { resolveTaskVersion, splitTaskVersionName } from '../tasks/registry';

const flag = z.pipe(
  z.enum(['true', 'false']),
  z.transform((value: 'true' | 'false') => value === 'true'),
);
/**
 * A decimal number written out in full. `z.coerce.number()` alone would read '' and ' ' as 0 and
 * '0x10' as 16: an empty variable must fail the cold start, not silently remove a safety margin.
 */
const decimal = (pattern: RegExp) => z.pipe(z.string().check(z.regex(pattern, 'must be a decimal number')), z.transform(Number));
const integer = decimal(/^-?\d+$/);
const nonNegative = decimal(/^\d+(\.\d+)?$/);
const count = (min: number, max = Number.MAX_SAFE_INTEGER) => z.pipe(integer, z.number().check(z.int(), z.minimum(min), z.maximum(max)));
const json = <T extends z.core.$ZodType>(schema: T) =>
  z.pipe(
    z.pipe(
      z.string(),
      z.transform((text: string, ctx) => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          ctx.issues.push({ code: 'custom', message: 'must be JSON', input: text });
          return z.NEVER;
        }
      }),
    ),
    schema,
  );

/** A string that is '' (or only spaces) for none: undefined then, else trimmed. */
const optionalText = z.pipe(
  z.string(),
  z.transform((value: string) => (value.trim() === '' ? undefined : value.trim())),
);

const Price = z.strictObject({ inputUsdPerMillionTokens: z.number().check(z.minimum(0)), outputUsdPerMillionTokens: z.number().check(z.minimum(0)) });
const TaskPolicy = z.strictObject({
  tiers: z.optional(z.array(z.enum(TIERS)).check(z.minLength(1))),
  minConfidence: z.optional(z.number().check(z.minimum(0), z.maximum(1))),
});

/** Variables that would hold a provider's API key. The key lives in Secrets Manager only. */
export const FORBIDDEN_KEY_VARIABLES = ['OPENAI_API_KEY', 'MODEL_API_KEY', 'AZURE_OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'LITELLM_API_KEY'] as const;

/** Hosts an OpenAI-compatible endpoint may have when no API key secret is configured: this machine only. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

const RuntimeConfigSchema = z
  .object({
    stage: z.string().check(z.minLength(1)),
    ledgerTable: z.string().check(z.minLength(1)),
    controlTable: z.string().check(z.minLength(1)),
    inputQueueUrl: z.string().check(z.url()),
    inputDlqUrl: z.string().check(z.url()),
    reviewQueueUrl: z.string().check(z.url()),
    recordConcurrency: count(1, 100),
    claimedElsewhereVisibilitySeconds: count(0, 43_200),
    timeMarginMs: count(0),
    ledgerTtlDays: z.pipe(nonNegative, z.number().check(z.positive())),
    logRawInput: flag,
    modelProvider: z.enum(MODEL_PROVIDERS),
    primaryModelId: z.string().check(z.minLength(1)),
    secondaryModelId: optionalText,
    modelBaseUrl: optionalText,
    modelApiKeySecretArn: optionalText,
    maxOutputTokens: count(1, 100_000),
    modelPrices: json(z.record(z.string(), Price)),
    minConfidence: z.pipe(nonNegative, z.number().check(z.minimum(0), z.maximum(1))),
    taskPolicies: json(z.record(z.string(), TaskPolicy)),
    retryMaxAttempts: count(1, 10),
    retryBaseDelayMs: count(0),
    retryMaxDelayMs: count(0),
    modelCallTimeoutMs: count(1),
    modelCallsPerReceive: count(1, 100),
    modelCallsPerKey: count(1, 1000),
    queueBackoffBaseSeconds: count(1, 43_200),
    queueBackoffMaxSeconds: count(1, 43_200),
    maxReceiveCount: count(1, 1000),
    breakerFailureThreshold: count(0),
    breakerFailureRatePercent: z.pipe(nonNegative, z.number().check(z.minimum(0), z.maximum(100))),
    breakerMinCalls: count(1),
    breakerWindowMs: count(1),
    breakerCooldownMs: count(1),
    breakerCacheMs: count(0),
    breakerWhenOpen: z.enum(GUARD_ACTIONS),
    budgetTokensPerHour: count(0),
    budgetUsdPerHour: z.pipe(nonNegative, z.number().check(z.minimum(0))),
    budgetWhenExhausted: z.enum(GUARD_ACTIONS),
    simulatorSeed: z.pipe(integer, z.number().check(z.int())),
    simulatorLatencyMs: z.pipe(nonNegative, z.number().check(z.minimum(0))),
    // Provider quotas (issue 14).
    modelQuotas: json(
      z.record(
        z.string(),
        z.strictObject({ rpm: z.optional(z.number().check(z.int(), z.minimum(1))), tpm: z.optional(z.number().check(z.int(), z.minimum(1))) }),
      ),
    ),
    ratePacing: z.enum(RATE_PACING_MODES),
    quotaWindowMs: count(1),
    quotaMaxBurst: count(1, 10_000),
    // ── entity loops (issue 16) ──
    entityDecisionLimit: count(1, 1000),
    entityWindowSeconds: count(1, 30 * 86_400),
    entityReuseThreshold: z.pipe(nonNegative, z.number().check(z.minimum(0), z.maximum(1.01))),
    // ── end entity loops ──
    // ── change safety (issue 15): the stage's shadow candidate; `shadow.*` switches override it ──
    shadowModelId: optionalText,
    shadowPercent: z.pipe(nonNegative, z.number().check(z.minimum(0), z.maximum(100))),
    /** `<task>@<version>`, a candidate version the shadow asks with; '' for none. */
    shadowTaskVersion: z.pipe(
      z
        .pipe(
          z.string(),
          z.transform((value: string) => value.trim()),
        )
        .check(
          z.superRefine((value: string, ctx) => {
            if (value === '') return;
            const resolved = resolveTaskVersion(value);
            if (typeof resolved === 'string') ctx.addIssue({ code: 'custom', message: resolved });
          }),
        ),
      z.transform((value: string) => (value === '' ? undefined : splitTaskVersionName(value))),
    ),
    shadowMaxPerHour: count(0),
  })
  .check(
    z.superRefine((config, ctx) => {
      if (config.modelProvider !== 'openai-compatible') return;
      if (!config.modelBaseUrl) {
        ctx.addIssue({ code: 'custom', path: ['modelBaseUrl'], message: 'is required by the openai-compatible provider' });
        return;
      }
      let url: URL;
      try {
        url = new URL(config.modelBaseUrl);
      } catch {
        ctx.addIssue({ code: 'custom', path: ['modelBaseUrl'], message: 'must be a URL' });
        return;
      }
      // No secret is only for an endpoint on this machine (local mode's simulator): a deployed
      // function cannot reach a loopback endpoint, so this cannot send a real request without a key.
      if (!config.modelApiKeySecretArn && !LOOPBACK_HOSTS.has(url.hostname)) {
        ctx.addIssue({
          code: 'custom',
          path: ['modelApiKeySecretArn'],
          message: `is required for ${url.host}: only a loopback endpoint (local mode) may be called without an API key`,
        });
      }
      if (url.protocol !== 'https:' && !LOOPBACK_HOSTS.has(url.hostname)) {
        ctx.addIssue({ code: 'custom', path: ['modelBaseUrl'], message: 'must be https (plain http only to a loopback endpoint)' });
      }
    }),
  );

/** The processor's configuration, read once at cold start from the environment the stack sets. */
export type RuntimeConfig = z.infer<typeof RuntimeConfigSchema>;

/** Config field → the environment variable it comes from, and its default (undefined: required). */
const SOURCES: Readonly<Record<keyof z.input<typeof RuntimeConfigSchema>, readonly [string, string | undefined]>> = {
  stage: [ENV.STAGE, undefined],
  ledgerTable: [ENV.LEDGER_TABLE, undefined],
  controlTable: [ENV.CONTROL_TABLE, undefined],
  inputQueueUrl: [ENV.INPUT_QUEUE_URL, undefined],
  inputDlqUrl: [ENV.INPUT_DLQ_URL, undefined],
  reviewQueueUrl: [ENV.REVIEW_QUEUE_URL, undefined],
  recordConcurrency: [ENV.RECORD_CONCURRENCY, '5'],
  claimedElsewhereVisibilitySeconds: [ENV.CLAIMED_ELSEWHERE_VISIBILITY_SECONDS, '10'],
  timeMarginMs: [ENV.TIME_MARGIN_MS, '3000'],
  ledgerTtlDays: [ENV.LEDGER_TTL_DAYS, '30'],
  logRawInput: [ENV.LOG_RAW_INPUT, 'false'],
  modelProvider: [ENV.MODEL_PROVIDER, 'simulated'],
  primaryModelId: [ENV.PRIMARY_MODEL_ID, 'sim-primary'],
  secondaryModelId: [ENV.SECONDARY_MODEL_ID, ''],
  modelBaseUrl: [ENV.MODEL_BASE_URL, ''],
  modelApiKeySecretArn: [ENV.MODEL_API_KEY_SECRET_ARN, ''],
  maxOutputTokens: [ENV.MODEL_MAX_OUTPUT_TOKENS, '512'],
  modelPrices: [ENV.MODEL_PRICES, '{}'],
  minConfidence: [ENV.MIN_CONFIDENCE, '0'],
  taskPolicies: [ENV.TASK_POLICIES, '{}'],
  retryMaxAttempts: [ENV.RETRY_MAX_ATTEMPTS, '3'],
  retryBaseDelayMs: [ENV.RETRY_BASE_DELAY_MS, '200'],
  retryMaxDelayMs: [ENV.RETRY_MAX_DELAY_MS, '5000'],
  modelCallTimeoutMs: [ENV.MODEL_CALL_TIMEOUT_MS, '10000'],
  modelCallsPerReceive: [ENV.MODEL_CALLS_PER_RECEIVE, '6'],
  modelCallsPerKey: [ENV.MODEL_CALLS_PER_KEY, '20'],
  queueBackoffBaseSeconds: [ENV.QUEUE_BACKOFF_BASE_SECONDS, '10'],
  queueBackoffMaxSeconds: [ENV.QUEUE_BACKOFF_MAX_SECONDS, '300'],
  maxReceiveCount: [ENV.MAX_RECEIVE_COUNT, '5'],
  breakerFailureThreshold: [ENV.BREAKER_FAILURE_THRESHOLD, '0'],
  breakerFailureRatePercent: [ENV.BREAKER_FAILURE_RATE_PERCENT, '50'],
  breakerMinCalls: [ENV.BREAKER_MIN_CALLS, '20'],
  breakerWindowMs: [ENV.BREAKER_WINDOW_MS, '60000'],
  breakerCooldownMs: [ENV.BREAKER_COOLDOWN_MS, '30000'],
  breakerCacheMs: [ENV.BREAKER_CACHE_MS, '2000'],
  breakerWhenOpen: [ENV.BREAKER_WHEN_OPEN, 'defer'],
  budgetTokensPerHour: [ENV.BUDGET_TOKENS_PER_HOUR, '0'],
  budgetUsdPerHour: [ENV.BUDGET_USD_PER_HOUR, '0'],
  budgetWhenExhausted: [ENV.BUDGET_WHEN_EXHAUSTED, 'fallback'],
  simulatorSeed: [ENV.SIMULATOR_SEED, '42'],
  simulatorLatencyMs: [ENV.SIMULATOR_LATENCY_MS, '0'],
  // Provider quotas (issue 14).
  modelQuotas: [QUOTA_ENV.MODEL_QUOTAS, '{}'],
  ratePacing: [QUOTA_ENV.RATE_PACING, 'on'],
  quotaWindowMs: [QUOTA_ENV.QUOTA_WINDOW_MS, '60000'],
  quotaMaxBurst: [QUOTA_ENV.QUOTA_MAX_BURST, '10'],
  // ── entity loops (issue 16): defaults as in the stage config ──
  entityDecisionLimit: [ENV.ENTITY_DECISION_LIMIT, '3'],
  entityWindowSeconds: [ENV.ENTITY_WINDOW_SECONDS, '86400'],
  entityReuseThreshold: [ENV.ENTITY_REUSE_THRESHOLD, '0.6'],
  // ── end entity loops ──
  shadowModelId: [ENV.SHADOW_MODEL_ID, ''],
  shadowPercent: [ENV.SHADOW_PERCENT, '0'],
  shadowTaskVersion: [ENV.SHADOW_TASK_VERSION, ''],
  shadowMaxPerHour: [ENV.SHADOW_MAX_PER_HOUR, '1000'],
};

/** The environment variable each config field is read from. */
export const RUNTIME_CONFIG_VARIABLES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(SOURCES).map(([field, [variable]]) => [field, variable]),
);

/**
 * Read and validate the environment; a missing or bad variable fails the cold start, naming it.
 * An API key in the environment fails it too: keys are read from Secrets Manager only.
 */
export function readRuntimeConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const leaked = FORBIDDEN_KEY_VARIABLES.filter((name) => env[name] !== undefined);
  if (leaked.length > 0) {
    throw new Error(
      `processor configuration is invalid: ${leaked.join(', ')} must not be set: the model API key is read from the Secrets Manager secret named by ${ENV.MODEL_API_KEY_SECRET_ARN}`,
    );
  }
  const input = Object.fromEntries(Object.entries(SOURCES).map(([field, [variable, fallback]]) => [field, env[variable] ?? fallback]));
  const parsed = RuntimeConfigSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${RUNTIME_CONFIG_VARIABLES[String(issue.path[0])] ?? issue.path.join('.')}: ${issue.message}`);
    throw new Error(`processor configuration is invalid: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/**
 * The shared breaker's settings a processor configuration names (the handler's, and `pipectl
 * replay`'s). `switchRefreshMs`: how often the runtime switches are read (SWITCH_REFRESH_MS).
 */
export function breakerSettingsOf(config: RuntimeConfig, switchRefreshMs = SWITCH_REFRESH_MS): BreakerSettings {
  return {
    failureThreshold: config.breakerFailureThreshold,
    failureRatePercent: config.breakerFailureRatePercent,
    minCalls: config.breakerMinCalls,
    windowMs: config.breakerWindowMs,
    cooldownMs: config.breakerCooldownMs,
    cacheMs: config.breakerCacheMs,
    // A quiet (closed, failure-free) breaker is read as often as the runtime switches: the
    // happy path's reads per message fall from ~0.07 to ~0.005 (docs/performance.md).
    quietCacheMs: Math.max(config.breakerCacheMs, switchRefreshMs),
    // An open breaker in its cooldown: 2.5 × as long (5 s by default; bench/scale-model.ts).
    openCacheMs: 2.5 * config.breakerCacheMs,
    // The probe is one call: its lease outlives one call's timeout, so a slow probe is not
    // joined by a second one, and a dead instance's probe is replaced soon after.
    probeLeaseMs: config.modelCallTimeoutMs + config.timeMarginMs,
  };
}

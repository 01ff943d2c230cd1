import { z } from 'zod';
import { ENV, MODEL_PROVIDERS } from '../contract';

const flag = z.enum(['true', 'false']).transform((value) => value === 'true');
/**
 * A decimal number written out in full. `z.coerce.number()` alone would read '' and ' ' as 0 and
 * '0x10' as 16: an empty variable must fail the cold start, not silently remove a safety margin.
 */
const decimal = (pattern: RegExp) => z.string().regex(pattern, 'must be a decimal number').transform(Number);
const integer = decimal(/^-?\d+$/);
const nonNegative = decimal(/^\d+(\.\d+)?$/);

const RuntimeConfigSchema = z.object({
  stage: z.string().min(1),
  ledgerTable: z.string().min(1),
  inputQueueUrl: z.string().url(),
  inputDlqUrl: z.string().url(),
  reviewQueueUrl: z.string().url(),
  recordConcurrency: integer.pipe(z.number().int().min(1).max(100)),
  claimedElsewhereVisibilitySeconds: integer.pipe(z.number().int().min(0).max(43_200)),
  timeMarginMs: integer.pipe(z.number().int().min(0)),
  ledgerTtlDays: nonNegative.pipe(z.number().positive()),
  logRawInput: flag,
  modelProvider: z.enum(MODEL_PROVIDERS),
  primaryModelId: z.string().min(1),
  simulatorSeed: integer.pipe(z.number().int()),
  simulatorLatencyMs: nonNegative.pipe(z.number().min(0)),
});

/** The processor's configuration, read once at cold start from the environment the stack sets. */
export type RuntimeConfig = z.infer<typeof RuntimeConfigSchema>;

/** Read and validate the environment; a missing or bad variable fails the cold start, naming it. */
export function readRuntimeConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const parsed = RuntimeConfigSchema.safeParse({
    stage: env[ENV.STAGE],
    ledgerTable: env[ENV.LEDGER_TABLE],
    inputQueueUrl: env[ENV.INPUT_QUEUE_URL],
    inputDlqUrl: env[ENV.INPUT_DLQ_URL],
    reviewQueueUrl: env[ENV.REVIEW_QUEUE_URL],
    recordConcurrency: env[ENV.RECORD_CONCURRENCY] ?? '5',
    claimedElsewhereVisibilitySeconds: env[ENV.CLAIMED_ELSEWHERE_VISIBILITY_SECONDS] ?? '10',
    timeMarginMs: env[ENV.TIME_MARGIN_MS] ?? '3000',
    ledgerTtlDays: env[ENV.LEDGER_TTL_DAYS] ?? '30',
    logRawInput: env[ENV.LOG_RAW_INPUT] ?? 'false',
    modelProvider: env[ENV.MODEL_PROVIDER] ?? 'simulated',
    primaryModelId: env[ENV.PRIMARY_MODEL_ID] ?? 'sim-primary',
    simulatorSeed: env[ENV.SIMULATOR_SEED] ?? '42',
    simulatorLatencyMs: env[ENV.SIMULATOR_LATENCY_MS] ?? '0',
  });
  if (!parsed.success) {
    const names: Record<string, string> = {
      stage: ENV.STAGE,
      ledgerTable: ENV.LEDGER_TABLE,
      inputQueueUrl: ENV.INPUT_QUEUE_URL,
      inputDlqUrl: ENV.INPUT_DLQ_URL,
      reviewQueueUrl: ENV.REVIEW_QUEUE_URL,
      recordConcurrency: ENV.RECORD_CONCURRENCY,
      claimedElsewhereVisibilitySeconds: ENV.CLAIMED_ELSEWHERE_VISIBILITY_SECONDS,
      timeMarginMs: ENV.TIME_MARGIN_MS,
      ledgerTtlDays: ENV.LEDGER_TTL_DAYS,
      logRawInput: ENV.LOG_RAW_INPUT,
      modelProvider: ENV.MODEL_PROVIDER,
      primaryModelId: ENV.PRIMARY_MODEL_ID,
      simulatorSeed: ENV.SIMULATOR_SEED,
      simulatorLatencyMs: ENV.SIMULATOR_LATENCY_MS,
    };
    const problems = parsed.error.issues.map((issue) => `${names[String(issue.path[0])] ?? issue.path.join('.')}: ${issue.message}`);
    throw new Error(`processor configuration is invalid: ${problems.join('; ')}`);
  }
  return parsed.data;
}

import { ENV, MONITOR_ENV } from '../contract';
import * as z from '../shared/zod-mini';
import { MonitorConfigError } from './errors';

/** Where a monitor's metrics go: CloudWatch on AWS, EMF lines on stdout in local mode. */
export const METRICS_PUBLISHERS = ['cloudwatch', 'emf'] as const;
export type MetricsPublisherName = (typeof METRICS_PUBLISHERS)[number];

const text = z.string().check(z.trim(), z.minLength(1));
const integer = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().check(z.int(), z.minimum(min), z.maximum(max));
const flag = z.pipe(
  z.enum(['true', 'false']),
  z.transform((value: 'true' | 'false') => value === 'true'),
);

/** Shared by both monitors. */
const common = {
  [ENV.STAGE]: text,
  [ENV.LEDGER_TABLE]: text,
  [ENV.CONTROL_TABLE]: text,
  [MONITOR_ENV.METRICS_PUBLISHER]: z._default(z.enum(METRICS_PUBLISHERS), 'cloudwatch'),
};

/** DLQ messages one reconciler run reads at most: 100 receives of 10, about a second of SQS calls. */
export const DEFAULT_DLQ_WITNESS_LIMIT = 1000;

const ReconcilerEnvironment = z.object({
  ...common,
  [ENV.MAX_RECEIVE_COUNT]: integer(1, 1000),
  [MONITOR_ENV.JOB_MAX_KEYS_RECORDED]: z._default(integer(0, 1000), 100),
  [ENV.INPUT_DLQ_URL]: z.optional(z.string().check(z.trim(), z.url())),
  [MONITOR_ENV.DLQ_WITNESS_LIMIT]: z._default(integer(0, 100_000), DEFAULT_DLQ_WITNESS_LIMIT),
});

const DriftEnvironment = z.object({
  ...common,
  [MONITOR_ENV.DRIFT_WINDOW_SECONDS]: z.coerce.number().check(z.positive()),
  [MONITOR_ENV.DRIFT_EPSILON]: z.coerce.number().check(z.positive(), z.maximum(0.01)),
  [MONITOR_ENV.DRIFT_MIN_SAMPLE]: integer(1),
  [MONITOR_ENV.DRIFT_SMALL_SAMPLE]: integer(1),
  [MONITOR_ENV.DRIFT_SIGNIFICANCE]: z.coerce.number().check(z.positive(), z.maximum(0.5)),
  [MONITOR_ENV.DRIFT_SAMPLE_SHARDS]: integer(1, 16),
  [MONITOR_ENV.DRIFT_MAX_ITEMS]: integer(1),
  [MONITOR_ENV.DRIFT_AUTO_PAUSE]: z._default(flag, false),
  [MONITOR_ENV.DRIFT_AUTO_PAUSE_THRESHOLD]: z.optional(z.coerce.number().check(z.positive())),
  [MONITOR_ENV.EVENT_SOURCE_MAPPING_ID]: z.optional(z.string()),
});

/** The reconciler's settings, from its environment (set by lib/constructs/monitors.ts). */
export interface ReconcilerConfig {
  readonly stage: string;
  readonly ledgerTable: string;
  readonly controlTable: string;
  readonly metricsPublisher: MetricsPublisherName;
  readonly maxReceiveCount: number;
  readonly maxKeysRecorded: number;
  /** The input queue's DLQ, read for redriven keys (see completeness.ts `DeadLetterWitness`); absent: never read. */
  readonly deadLetterQueue?: { readonly url: string; readonly limit: number };
}

/** The drift monitor's settings, from its environment. */
export interface DriftMonitorConfig {
  readonly stage: string;
  readonly ledgerTable: string;
  readonly controlTable: string;
  readonly metricsPublisher: MetricsPublisherName;
  readonly windowMs: number;
  readonly epsilon: number;
  readonly minSampleSize: number;
  readonly smallSampleSize: number;
  readonly significanceLevel: number;
  readonly sampleShards: number;
  readonly maxItems: number;
  /** Set only when the auto-pause is on: pause at this max score. */
  readonly autoPause?: { readonly threshold: number; readonly eventSourceMappingId: string };
}

function parse<T extends z.ZodMiniType>(schema: T, env: NodeJS.ProcessEnv, who: string): z.output<T> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new MonitorConfigError(`the ${who}'s environment is invalid: ${issues}`);
  }
  return result.data;
}

export function readReconcilerConfig(env: NodeJS.ProcessEnv = process.env): ReconcilerConfig {
  const parsed = parse(ReconcilerEnvironment, env, 'reconciler');
  const dlqUrl = parsed[ENV.INPUT_DLQ_URL];
  const dlqLimit = parsed[MONITOR_ENV.DLQ_WITNESS_LIMIT];
  return {
    stage: parsed[ENV.STAGE],
    ledgerTable: parsed[ENV.LEDGER_TABLE],
    controlTable: parsed[ENV.CONTROL_TABLE],
    metricsPublisher: parsed[MONITOR_ENV.METRICS_PUBLISHER],
    maxReceiveCount: parsed[ENV.MAX_RECEIVE_COUNT],
    maxKeysRecorded: parsed[MONITOR_ENV.JOB_MAX_KEYS_RECORDED],
    ...(dlqUrl && dlqLimit > 0 ? { deadLetterQueue: { url: dlqUrl, limit: dlqLimit } } : {}),
  };
}

export function readDriftMonitorConfig(env: NodeJS.ProcessEnv = process.env): DriftMonitorConfig {
  const parsed = parse(DriftEnvironment, env, 'drift monitor');
  const autoPause = parsed[MONITOR_ENV.DRIFT_AUTO_PAUSE];
  const threshold = parsed[MONITOR_ENV.DRIFT_AUTO_PAUSE_THRESHOLD];
  const mappingId = parsed[MONITOR_ENV.EVENT_SOURCE_MAPPING_ID];
  if (autoPause && (threshold === undefined || !mappingId)) {
    throw new MonitorConfigError(
      `${MONITOR_ENV.DRIFT_AUTO_PAUSE}=true needs ${MONITOR_ENV.DRIFT_AUTO_PAUSE_THRESHOLD} and ${MONITOR_ENV.EVENT_SOURCE_MAPPING_ID}`,
    );
  }
  return {
    stage: parsed[ENV.STAGE],
    ledgerTable: parsed[ENV.LEDGER_TABLE],
    controlTable: parsed[ENV.CONTROL_TABLE],
    metricsPublisher: parsed[MONITOR_ENV.METRICS_PUBLISHER],
    windowMs: Math.round(parsed[MONITOR_ENV.DRIFT_WINDOW_SECONDS] * 1000),
    epsilon: parsed[MONITOR_ENV.DRIFT_EPSILON],
    minSampleSize: parsed[MONITOR_ENV.DRIFT_MIN_SAMPLE],
    smallSampleSize: parsed[MONITOR_ENV.DRIFT_SMALL_SAMPLE],
    significanceLevel: parsed[MONITOR_ENV.DRIFT_SIGNIFICANCE],
    sampleShards: parsed[MONITOR_ENV.DRIFT_SAMPLE_SHARDS],
    maxItems: parsed[MONITOR_ENV.DRIFT_MAX_ITEMS],
    ...(autoPause && threshold !== undefined && mappingId ? { autoPause: { threshold, eventSourceMappingId: mappingId } } : {}),
  };
}

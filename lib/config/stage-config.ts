import { z } from 'zod';
import {
  GUARD_ACTIONS,
  type GuardAction,
  LEDGER_SHARDS,
  METRIC_SERVICE,
  MODEL_PROVIDERS,
  type ModelProviderName,
  TIERS,
  type TierName,
} from '../../lambda/contract';
import { DEFAULT_STAGE, STAGES } from './stages';
import { type QuotaConfig, quotaConfigSchema } from './quota-config';

/*
 * The one place where the pipeline's numbers live. Every construct reads them from the
 * `StageConfig` that `loadStageConfig` returns; none hides a number of its own.
 *
 * The interfaces below document each value (and its default); the zod schema further down applies
 * the defaults and checks ranges and cross-field rules when the app synthesizes, so a bad stage
 * fails `cdk synth` with a message that names the key, instead of failing `cdk deploy` later.
 */

/** What happens to stateful resources (tables, queues, keys, log groups) when the stack is deleted. */
export const REMOVAL_POLICIES = ['destroy', 'retain'] as const;
export type RemovalPolicyName = (typeof REMOVAL_POLICIES)[number];

/** Log levels Powertools Logger understands (`POWERTOOLS_LOG_LEVEL`). */
export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/**
 * The retention periods CloudWatch Logs accepts, in days. "Never expire" is left out on purpose:
 * every log group of the pipeline has a retention.
 */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;
// Written out rather than read from aws-cdk-lib's RetentionDays, so the config (which pipectl
// loads) does not pull in the CDK; test/infra/stage-config-cdk-free.test.ts checks the list
// against RetentionDays.

/** AWS's guidance for SQS event sources: visibility timeout of at least six times the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** SQS limits that the schema checks against. */
const SQS_MAX_VISIBILITY_SECONDS = 43_200;
const SQS_MAX_RETENTION_DAYS = 14;
/** Above this batch size, Lambda requires a batching window. */
const SQS_BATCH_SIZE_WITHOUT_WINDOW = 10;

/** The processor Lambda and its SQS event source. */
export interface ProcessorConfig {
  /** @default 512 */
  readonly memoryMb: number;
  /** Function timeout. Queues' visibility timeouts must be at least 6 x this. @default 30 */
  readonly timeoutSeconds: number;
  /** Records per invocation (1-10,000; above 10 a batching window is required). @default 10 */
  readonly batchSize: number;
  /** How long the event source waits to fill a batch. @default 1 */
  readonly maxBatchingWindowSeconds: number;
  /**
   * Concurrent invocations the event source may start (SQS event sources accept 2-1,000): the
   * first of the three concurrency bounds, and the one that protects the model provider.
   * @default 5
   */
  readonly maxConcurrency: number;
  /** Records of one batch processed at the same time in one invocation. @default 5 */
  readonly recordConcurrency: number;
  /** Time kept back from the invocation's remaining time: work stops this long before the end. @default 3000 */
  readonly timeMarginMs: number;
  /** Visibility given to a record whose key another live invocation holds. @default 10 */
  readonly claimedElsewhereVisibilitySeconds: number;
  /** Retention of the function's log group; one of {@link LOG_RETENTION_DAYS}. @default 30 */
  readonly logRetentionDays: (typeof LOG_RETENTION_DAYS)[number];
  /** @default 'INFO' */
  readonly logLevel: LogLevelName;
}

/** A work queue and its dead-letter queue. */
export interface QueueConfig {
  /** Must be at least 6 x `processor.timeoutSeconds`. @default 180 */
  readonly visibilityTimeoutSeconds: number;
  /** How long a message waits in the queue (1-14 days). @default 4 (input), 7 (review) */
  readonly retentionDays: number;
  /** Receives before a message is moved to the dead-letter queue. @default 5 (input), 1000 (review: see the schema) */
  readonly maxReceiveCount: number;
  /**
   * Retention of the dead-letter queue; must be longer than `retentionDays`, because a standard
   * queue keeps a message's original enqueue time when it is dead-lettered.
   * @default 14
   */
  readonly dlqRetentionDays: number;
}

/** The idempotency ledger (DynamoDB). */
export interface LedgerConfig {
  /** Items expire this many days after their last write (DynamoDB TTL). @default 30 */
  readonly ttlDays: number;
  /** @default true */
  readonly pointInTimeRecovery: boolean;
  /** Refuse `DeleteTable` while set. @default false (true in prod) */
  readonly deletionProtection: boolean;
  /**
   * Encrypt the ledger and control tables with a customer-managed KMS key (rotation on) instead of
   * the AWS-managed `aws/dynamodb` key: the key policy, its audit trail and its deletion are then
   * yours. @default false (true in prod)
   */
  readonly customerManagedKey: boolean;
}

/** Which model the processor calls. */
export interface ModelConfig {
  /**
   * `simulated` (in-process, no network), `bedrock` (Converse API; IAM is scoped to the model ids
   * below) or `openai-compatible` (see `openAiCompatible`).
   * @default 'simulated'
   */
  readonly provider: ModelProviderName;
  /** A Bedrock model id or ARN, or the endpoint's model name. @default 'sim-primary' */
  readonly primaryModelId: string;
  /** The cheaper model the chain falls back to; `''` for none. @default 'sim-secondary' */
  readonly secondaryModelId: string;
  /** Where an `openai-compatible` provider sends its requests; required by that provider only. */
  readonly openAiCompatible?: OpenAiCompatibleConfig;
  /** Upper bound of output tokens per call. @default 512 */
  readonly maxOutputTokens: number;
  /** Prices per model id, for the cost estimate and the USD budget. @default prices of the simulated models */
  readonly prices: Readonly<Record<string, ModelPriceConfig>>;
  /** A result whose `confidence` is below this goes down the fallback chain; 0 turns it off. @default 0 */
  readonly minConfidence: number;
  /** Per-task overrides of the chain's tiers and confidence threshold. @default {} */
  readonly taskPolicies: Readonly<Record<string, TaskPolicyConfig>>;
  /** Seed of the simulated model; the same seed gives the same answers. @default 42 */
  readonly simulatorSeed: number;
  /** Latency added to each simulated model call. @default 0 */
  readonly simulatorLatencyMs: number;
}

/**
 * An OpenAI-compatible endpoint. There is deliberately no field for the key itself: the stack
 * passes the secret's ARN, and the processor reads the secret at cold start.
 */
export interface OpenAiCompatibleConfig {
  /** Up to and including the API version, e.g. `https://api.openai.com/v1`. https only. */
  readonly baseUrl: string;
  /** The complete ARN (with its 6-character suffix) of the Secrets Manager secret holding the API key. */
  readonly apiKeySecretArn: string;
}

/** Prices of one model in US dollars per million tokens. */
export interface ModelPriceConfig {
  readonly inputUsdPerMillionTokens: number;
  readonly outputUsdPerMillionTokens: number;
}

/** How one task goes down the chain. */
export interface TaskPolicyConfig {
  /** Tiers in order, from primary, secondary, rules, human. @default all four */
  readonly tiers?: readonly TierName[];
  /** @default model.minConfidence */
  readonly minConfidence?: number;
}

/** The one retry layer of model calls, and the queue-level backoff behind it. */
export interface RetryConfig {
  /** Attempts of one call, the first included. @default 3 */
  readonly maxAttempts: number;
  /** Full-jitter exponential backoff between attempts: base and cap. @default 200, 5000 */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Timeout of one call; never more than the invocation's remaining time either. @default 10000 */
  readonly callTimeoutMs: number;
  /** Loop guard: model calls per record per receive (retries and repairs included). @default 6 */
  readonly callsPerReceive: number;
  /** Loop guard: model calls per input over all its receives; then human review. @default 20 */
  readonly callsPerKey: number;
  /** A record that goes back to the queue is hidden base × 2^(receives − 1) s, equal-jittered, capped. @default 10, 300 */
  readonly queueBackoffBaseSeconds: number;
  readonly queueBackoffMaxSeconds: number;
}

/** The circuit breaker shared by every processor instance (state in the control table). */
export interface BreakerConfig {
  /**
   * Failures in the sliding window that open it, whatever the rate; 0 turns this rule off. A count
   * means something only for a known traffic level (30% throttling at 300 calls a minute is 90
   * failures), so the default relies on the rate alone.
   * @default 0
   */
  readonly failureThreshold: number;
  /** Failure rate (%) that opens it once the window holds `minCalls`; 0 turns this rule off. @default 50 */
  readonly failureRatePercent: number;
  /** @default 20 */
  readonly minCalls: number;
  /** @default 60 */
  readonly windowSeconds: number;
  /** Open this long before one probe call is let through. @default 30 */
  readonly cooldownSeconds: number;
  /** How long an instance trusts the state it read: at most one read per this long. @default 2000 */
  readonly cacheMs: number;
  /** With every model tier's breaker open: `defer` (back to the queue) or `fallback` (rules, review). @default 'defer' */
  readonly whenOpen: GuardAction;
}

/** The stage's model spend per UTC hour (counted in the control table). */
export interface BudgetConfig {
  /** Tokens in + out per hour; 0 for no limit. @default 0 */
  readonly tokensPerHour: number;
  /** Estimated US dollars per hour; 0 for no limit. @default 0 */
  readonly usdPerHour: number;
  /** Once spent: `fallback` (skip the models: rules, review) or `defer` (back to the queue). @default 'fallback' */
  readonly whenExhausted: GuardAction;
}

// ── entity loops (issue 16) ─────────────────────────────────────────────────────────────────
/**
 * Escalation loops across edits: inputs whose envelope names an `entityId` (a ticket, a case).
 * Counted per entity in the control table (lambda/resilience/entity-decisions.ts).
 */
export interface EntityLoopsConfig {
  /** Automated decisions one entity may get in the window; the next input goes to review ("escalation loop") and the entity is held. @default 3 */
  readonly decisionLimit: number;
  /** Length of the sliding window. @default 86400 (a day) */
  readonly windowSeconds: number;
  /**
   * Estimated Jaccard similarity (word bigrams, MinHash) to the entity's last decided input at or
   * above which that decision is reused; 1.01 turns reuse off. On the labelled set of
   * docs/entity-loops.md, 0.6 has precision 1.000 and recall 0.958. @default 0.6
   */
  readonly reuseThreshold: number;
  /** Escalation loops detected in 15 minutes that raise the `entity-escalation-loops` ticket alarm. @default 5 */
  readonly loopAlarmThreshold: number;
}
// ── end entity loops ────────────────────────────────────────────────────────────────────────

/** Who an alarm topic notifies. Every address and endpoint gets its own SNS subscription. */
export interface NotificationTargets {
  /** Email addresses; each must confirm the subscription SNS mails it. @default [] */
  readonly emails: readonly string[];
  /**
   * HTTPS endpoints: a PagerDuty or Opsgenie CloudWatch integration URL, a chat webhook relay.
   * SNS confirms them with a request the endpoint must answer. @default []
   */
  readonly httpsEndpoints: readonly string[];
  /**
   * Nobody, on purpose, and why (e.g. "a staging stage: alarms are read on the dashboard"). A
   * production stage must set a target or this. @default undefined
   */
  readonly none?: string;
}

/**
 * The thresholds of the alarm catalog (`lib/observability/alarm-catalog.ts`): every number an
 * alarm compares against. Periods and datapoints live in the catalog, next to the reason for them.
 */
export interface AlarmThresholds {
  /** Page when the oldest input message is older than this (s): the stage's SLA. @default 900 */
  readonly inputAgeSlaSeconds: number;
  /** Ticket when the input DLQ holds at least this many messages. @default 1 */
  readonly dlqMessages: number;
  /** Page when the processor fails whole invocations (crash, timeout) this often per minute. @default 1 */
  readonly processorErrorsPerMinute: number;
  /** Ticket when Lambda throttles the processor this often per minute. @default 1 */
  readonly processorThrottlesPerMinute: number;
  /** Page when at least this percent of model calls fail (any error class). @default 20 */
  readonly modelErrorRatePercent: number;
  /** Ticket when the p99 model latency reaches this (ms): a brownout. @default 15000 */
  readonly modelLatencyP99Ms: number;
  /** Ticket when at least this percent of model answers fail parsing or the task's schema. @default 10 */
  readonly validationFailureRatePercent: number;
  /** Ticket when at least this percent of results are served below the primary tier. @default 25 */
  readonly fallbackRatePercent: number;
  /**
   * Rate alarms (error, validation, fallback) stay quiet in a minute with fewer samples than this:
   * one failure out of two calls is not a 50% error rate worth waking anyone for. @default 10
   */
  readonly rateMinimumSamples: number;
  /** Ticket when the oldest human-review message is older than this (s). @default 14400 */
  readonly reviewBacklogAgeSeconds: number;
  /** Ticket when a model's breaker has refused calls for this many consecutive minutes. @default 3 */
  readonly breakerOpenMinutes: number;
  /** Ticket when the hour's token/cost budget is this percent used. @default 80 */
  readonly budgetWarnPercent: number;
  /** Page when the hour's budget is this percent used: the primary model is being skipped. @default 100 */
  readonly budgetExhaustedPercent: number;
  /** Page when messages have waited this many consecutive minutes while no record finished. @default 5 */
  readonly processorSilentMinutes: number;
  /** Ticket when the pipeline's tables throttle this many requests per minute. @default 1 */
  readonly dynamodbThrottlesPerMinute: number;
  /** Ticket when the pipeline's tables return this many system errors (HTTP 500) per minute. @default 1 */
  readonly dynamodbSystemErrorsPerMinute: number;
  /** Page when overdue jobs have more than this many items without an outcome. @default 0 */
  readonly incompleteJobItems: number;
  /** Ticket when the largest per-feature drift score (PSI) reaches this. @default 0.1 */
  readonly driftTicket: number;
  /** Page when the largest per-feature drift score (PSI) reaches this. @default 0.25 */
  readonly driftPage: number;
}

// ── change safety (issue 15) ──
/**
 * The canary alarm (lib/observability/canary-alarms.ts) compares the canary's records with the
 * baseline's over the same minutes; a breach rolls the canary back to 0%.
 */
export interface CanaryConfig {
  /** Breach when the canary's fallback rate exceeds the baseline's by more than this (percentage points). @default 15 */
  readonly fallbackRateIncreasePercent: number;
  /** Breach when the canary's validation-failure rate exceeds the baseline's by more than this (points). @default 10 */
  readonly validationFailureRateIncreasePercent: number;
  /** Breach when the canary's average latency is more than this many times the baseline's… @default 2 */
  readonly latencyRatio: number;
  /** …and more than this much higher (ms), so that 3 ms against 1 ms is not a regression. @default 1000 */
  readonly latencyIncreaseMs: number;
  /** No verdict in a minute with fewer records than this on either variant. @default 5 */
  readonly minimumSamples: number;
}

/**
 * The shadow run: a share of records also asks a candidate model after the primary result is
 * stored; its answer goes to the ledger item's `shadow` attribute, never the result. The
 * `shadow.model` and `shadow.percent` runtime switches override the first two at run time.
 */
export interface ShadowConfig {
  /** The candidate model id; empty: no shadow. @default '' */
  readonly modelId: string;
  /** Share of records sampled (by a hash of the key), 0–100. @default 0 */
  readonly percent: number;
  /** At most this many shadow calls per hour in one execution environment (0: none). @default 1000 */
  readonly maxPerHour: number;
}
// ── end change safety ──

/** Alarms, where they notify, and where their runbook lives. */
export interface ObservabilityConfig {
  /**
   * Where RUNBOOK.md is published; each alarm's description links `<runbookBaseUrl>#<alarm id>`.
   * An absolute `https://` URL (the file's page in your Git host) is clickable in the page, the
   * email and the console; a production stage must have one. `pipectl runbook <alarm>` prints the
   * section either way.
   * @default DEFAULT_RUNBOOK_URL
   */
  readonly runbookBaseUrl: string;
  /**
   * Who the paging alarms page. A production stage must name someone, or say `none` and why.
   * @default no subscriptions
   */
  readonly page: NotificationTargets;
  /** Who receives tickets (and a copy of each paging alarm, one by one). @default no subscriptions */
  readonly ticket: NotificationTargets;
  readonly alarms: AlarmThresholds;
}

/** The scheduled drift monitor (lambda/monitors/drift-monitor.ts). */
export interface DriftConfig {
  /** Minutes of completions compared with the baseline on each run. @default 60 */
  readonly windowMinutes: number;
  /** How often it runs (an EventBridge rate, in minutes). @default 15 */
  readonly scheduleMinutes: number;
  /** PSI's floor for a bin's share, so an empty bin counts as this share instead of infinity. @default 0.0001 */
  readonly epsilon: number;
  /** Below this many items in the window no score is published: too few to say anything. @default 50 */
  readonly minSampleSize: number;
  /**
   * Below this many items, a feature's PSI counts only when chi-squared (unordered bins) or
   * Kolmogorov-Smirnov (ordered bins) finds the difference significant; PSI alone is noisy there.
   * @default 1000
   */
  readonly smallSampleSize: number;
  /** The significance level of those tests. @default 0.01 */
  readonly significanceLevel: number;
  /** Index shards read per hour, of 16: each is a uniform 1/16 sample of the hour's items. @default 16 */
  readonly sampleShards: number;
  /** Items one run reads at most, whatever the traffic: the bound on its cost and time. @default 20000 */
  readonly maxItemsPerRun: number;
  /**
   * Opt-in: disable the processor's event source mapping when the largest score reaches
   * `autoPauseThreshold` (messages wait in the queue; `pipectl resume` undoes it). The runbook
   * says when not to turn this on.
   * @default false
   */
  readonly autoPause: boolean;
  /** @default observability.alarms.driftPage */
  readonly autoPauseThreshold?: number;
  /** @default 256 */
  readonly memoryMb: number;
  /** @default 120 */
  readonly timeoutSeconds: number;
}

/** The scheduled reconciler (lambda/monitors/completeness.ts): jobs past their deadline with items missing. */
export interface CompletenessConfig {
  /**
   * Minutes after a job is sent by which every item should have an outcome: `pipectl send` sets
   * the job's deadline to sent at + this.
   * @default 60
   */
  readonly jobDeadlineMinutes: number;
  /** How often the reconciler runs (an EventBridge rate, in minutes). @default 5 */
  readonly scheduleMinutes: number;
  /** Keys of stuck or pending items recorded per job, at most (a DynamoDB item holds 400 KB). @default 100 */
  readonly maxKeysRecorded: number;
  /** @default 256 */
  readonly memoryMb: number;
  /** @default 60 */
  readonly timeoutSeconds: number;
}

/** Everything that differs between stages, validated when the app synthesizes. */
export interface StageConfig {
  /** The stage name, one of the keys of `STAGES`. */
  readonly stage: string;
  /** A production stage refuses unsafe settings (see `allowUnsafeProductionSettings`). @default false */
  readonly production: boolean;
  /**
   * The processor's service name: its `POWERTOOLS_SERVICE_NAME`, so the `service` field of its log
   * lines and the `service` dimension of its metrics, which the alarms and the dashboard match.
   * (The scheduled monitors keep their own: `reconciler`, `drift-monitor`.)
   * @default 'processor'
   */
  readonly serviceName: string;
  /** What happens to tables, queues, keys and log groups when the stack is deleted. @default 'retain' */
  readonly removalPolicy: RemovalPolicyName;
  /** Let log lines carry raw input text. @default false */
  readonly logRawInput: boolean;
  /** Let the simulated model inject faults (game days, chaos tests). @default false */
  readonly allowFaultInjection: boolean;
  /**
   * The explicit override that lets a production stage set `logRawInput` or
   * `allowFaultInjection`; without it such a stage fails to synthesize.
   * @default false
   */
  readonly allowUnsafeProductionSettings: boolean;
  readonly processor: ProcessorConfig;
  readonly inputQueue: QueueConfig;
  readonly reviewQueue: QueueConfig;
  readonly ledger: LedgerConfig;
  /** The drift monitor: window, schedule, statistics, sampling, opt-in auto-pause. */
  readonly drift: DriftConfig;
  /** The reconciler: job deadline and schedule. */
  readonly completeness: CompletenessConfig;
  /** Alarm thresholds, notification targets, the runbook's address. */
  readonly observability: ObservabilityConfig;
  // ── change safety (issue 15) ──
  /** The canary alarm: how much worse than the baseline a canary may be before it is rolled back. */
  readonly canary: CanaryConfig;
  /** The shadow run's candidate, sample share and hourly cap. */
  readonly shadow: ShadowConfig;
  // ── end change safety ──
  readonly model: ModelConfig;
  readonly retry: RetryConfig;
  readonly breaker: BreakerConfig;
  readonly budget: BudgetConfig;
  /** Provider quotas and pacing (issue 14): lib/config/quota-config.ts. */
  readonly quotas: QuotaConfig;
  /** Escalation loops across edits (issue 16). */
  readonly entityLoops: EntityLoopsConfig;
}

const seconds = (min: number, max: number) => z.number().int().min(min).max(max);

/** A complete Secrets Manager secret ARN: the 6-character suffix lets IAM name the secret without a wildcard. */
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/;

const modelPriceSchema = z.strictObject({
  inputUsdPerMillionTokens: z.number().min(0),
  outputUsdPerMillionTokens: z.number().min(0),
});

/** What the simulated models "cost": a large and a small model's list prices, so budgets can be tried locally. */
const SIMULATED_MODEL_PRICES: Record<string, ModelPriceConfig> = {
  'sim-primary': { inputUsdPerMillionTokens: 3, outputUsdPerMillionTokens: 15 },
  'sim-secondary': { inputUsdPerMillionTokens: 0.25, outputUsdPerMillionTokens: 1.25 },
};

function queueSchema(defaults: { retentionDays: number; maxReceiveCount: number }) {
  return z
    .strictObject({
      visibilityTimeoutSeconds: seconds(0, SQS_MAX_VISIBILITY_SECONDS).default(180),
      retentionDays: z.number().int().min(1).max(SQS_MAX_RETENTION_DAYS).default(defaults.retentionDays),
      maxReceiveCount: z.number().int().min(1).max(1000).default(defaults.maxReceiveCount),
      dlqRetentionDays: z.number().int().min(1).max(SQS_MAX_RETENTION_DAYS).default(14),
    })
    .prefault({});
}

const notificationTargetsSchema = z
  .strictObject({
    emails: z.array(z.email()).default([]),
    httpsEndpoints: z.array(z.url({ protocol: /^https$/, error: 'must be an https:// URL (SNS delivers over TLS only here)' })).default([]),
    none: z.string().trim().min(1, 'must say why nobody is notified').optional(),
  })
  .prefault({});

/**
 * Where this repository's RUNBOOK.md is read on the web: the default runbook address of every
 * stage. A fork that publishes its runbook elsewhere sets `observability.runbookBaseUrl`, or
 * `-c runbookBaseUrl=<https URL>` at synth.
 */
export const DEFAULT_RUNBOOK_URL = 'https://github.com/resilient-ai-pipeline/resilient-ai-pipeline/blob/main/RUNBOOK.md';

const positive = () => z.number().positive();
const percent = () => z.number().positive().max(1000);

/** The observability section: thresholds with their defaults, and the rules between them. */
const observabilitySchema = z
  .strictObject({
    runbookBaseUrl: z
      .string()
      .regex(/^(https:\/\/\S+|[\w./-]+\.md)$/, 'must be an https:// URL or a repository path ending in .md, such as RUNBOOK.md')
      .default(DEFAULT_RUNBOOK_URL),
    page: notificationTargetsSchema,
    ticket: notificationTargetsSchema,
    alarms: z
      .strictObject({
        inputAgeSlaSeconds: z.number().int().min(60).default(900),
        dlqMessages: z.number().int().min(1).default(1),
        processorErrorsPerMinute: positive().default(1),
        processorThrottlesPerMinute: positive().default(1),
        modelErrorRatePercent: percent().max(100).default(20),
        modelLatencyP99Ms: z.number().int().positive().default(15_000),
        validationFailureRatePercent: percent().max(100).default(10),
        fallbackRatePercent: percent().max(100).default(25),
        rateMinimumSamples: z.number().int().min(1).default(10),
        reviewBacklogAgeSeconds: z.number().int().min(60).default(14_400),
        breakerOpenMinutes: z.number().int().min(1).max(60).default(3),
        budgetWarnPercent: percent().default(80),
        budgetExhaustedPercent: percent().default(100),
        processorSilentMinutes: z.number().int().min(1).max(60).default(5),
        dynamodbThrottlesPerMinute: positive().default(1),
        dynamodbSystemErrorsPerMinute: positive().default(1),
        incompleteJobItems: z.number().int().min(0).default(0),
        driftTicket: positive().default(0.1),
        driftPage: positive().default(0.25),
      })
      .prefault({}),
  })
  .prefault({})
  .superRefine((observability, ctx) => {
    const { alarms } = observability;
    if (alarms.driftPage <= alarms.driftTicket) {
      ctx.addIssue({
        code: 'custom',
        path: ['alarms', 'driftPage'],
        message: `must be greater than observability.alarms.driftTicket (${alarms.driftPage} <= ${alarms.driftTicket}): the page is the worse of the two`,
      });
    }
    if (alarms.budgetExhaustedPercent <= alarms.budgetWarnPercent) {
      ctx.addIssue({
        code: 'custom',
        path: ['alarms', 'budgetExhaustedPercent'],
        message: `must be greater than observability.alarms.budgetWarnPercent (${alarms.budgetExhaustedPercent} <= ${alarms.budgetWarnPercent})`,
      });
    }
  });

/**
 * The schema of a stage: defaults, ranges and cross-field rules. `.prefault({})` runs a missing
 * section through its own schema, so its field defaults apply (zod 4's `.default` would not).
 */
export const StageConfigSchema = z
  .strictObject({
    stage: z.string().min(1),
    production: z.boolean().default(false),
    serviceName: z
      .string()
      .regex(/^[A-Za-z0-9][\w.-]{0,63}$/, 'must be 1-64 letters, digits, dots, underscores or dashes (it is a metric dimension value)')
      .default(METRIC_SERVICE.PROCESSOR),
    removalPolicy: z.enum(REMOVAL_POLICIES).default('retain'),
    logRawInput: z.boolean().default(false),
    allowFaultInjection: z.boolean().default(false),
    allowUnsafeProductionSettings: z.boolean().default(false),
    processor: z
      .strictObject({
        memoryMb: z.number().int().min(128).max(10_240).default(512),
        timeoutSeconds: seconds(1, 900).default(30),
        batchSize: z.number().int().min(1).max(10_000).default(10),
        maxBatchingWindowSeconds: seconds(0, 300).default(1),
        maxConcurrency: z.number().int().min(2).max(1000).default(5),
        recordConcurrency: z.number().int().min(1).default(5),
        timeMarginMs: z.number().int().min(0).default(3000),
        claimedElsewhereVisibilitySeconds: seconds(0, SQS_MAX_VISIBILITY_SECONDS).default(10),
        logRetentionDays: z.literal(LOG_RETENTION_DAYS).default(30),
        logLevel: z.enum(LOG_LEVELS).default('INFO'),
      })
      .prefault({}),
    inputQueue: queueSchema({ retentionDays: 4, maxReceiveCount: 5 }),
    // Nothing of ours consumes the review queue: it notifies, the ledger's IN_REVIEW items are
    // what is in review. `pipectl review resolve` must receive to delete (SQS deletes by receipt
    // handle only), which counts a receive on the notifications it passes over; SQS's maximum
    // (1,000) keeps that from ever moving a waiting notification to the review DLQ.
    reviewQueue: queueSchema({ retentionDays: 7, maxReceiveCount: 1000 }),
    ledger: z
      .strictObject({
        ttlDays: z.number().int().min(1).default(30),
        pointInTimeRecovery: z.boolean().default(true),
        deletionProtection: z.boolean().default(false),
        customerManagedKey: z.boolean().default(false),
      })
      .prefault({}),
    drift: z
      .strictObject({
        windowMinutes: z
          .number()
          .int()
          .min(5)
          .max(7 * 24 * 60)
          .default(60),
        scheduleMinutes: z
          .number()
          .int()
          .min(1)
          .max(24 * 60)
          .default(15),
        epsilon: z.number().positive().max(0.01).default(0.0001),
        minSampleSize: z.number().int().min(10).default(50),
        smallSampleSize: z.number().int().min(10).default(1000),
        significanceLevel: z.number().positive().max(0.5).default(0.01),
        sampleShards: z.number().int().min(1).max(LEDGER_SHARDS).default(LEDGER_SHARDS),
        maxItemsPerRun: z.number().int().min(100).max(1_000_000).default(20_000),
        autoPause: z.boolean().default(false),
        autoPauseThreshold: z.number().positive().optional(),
        memoryMb: z.number().int().min(128).max(10_240).default(256),
        timeoutSeconds: seconds(10, 900).default(120),
      })
      .prefault({}),
    completeness: z
      .strictObject({
        jobDeadlineMinutes: z
          .number()
          .int()
          .min(1)
          .max(14 * 24 * 60)
          .default(60),
        scheduleMinutes: z
          .number()
          .int()
          .min(1)
          .max(24 * 60)
          .default(5),
        maxKeysRecorded: z.number().int().min(0).max(1000).default(100),
        memoryMb: z.number().int().min(128).max(10_240).default(256),
        timeoutSeconds: seconds(10, 900).default(60),
      })
      .prefault({}),
    observability: observabilitySchema,
    // ── change safety (issue 15) ──
    canary: z
      .strictObject({
        fallbackRateIncreasePercent: percent().max(100).default(15),
        validationFailureRateIncreasePercent: percent().max(100).default(10),
        latencyRatio: z.number().min(1).default(2),
        latencyIncreaseMs: z.number().int().min(0).default(1000),
        minimumSamples: z.number().int().min(1).default(5),
      })
      .prefault({}),
    shadow: z
      .strictObject({
        modelId: z.string().default(''),
        percent: percent().max(100).default(0),
        maxPerHour: z.number().int().min(0).default(1000),
      })
      .prefault({}),
    // ── end change safety ──
    model: z
      .strictObject({
        provider: z.enum(MODEL_PROVIDERS).default('simulated'),
        primaryModelId: z.string().min(1).default('sim-primary'),
        secondaryModelId: z.string().default('sim-secondary'),
        openAiCompatible: z
          .strictObject({
            baseUrl: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }),
            apiKeySecretArn: z
              .string()
              .regex(
                SECRET_ARN,
                'must be the complete ARN of a Secrets Manager secret (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>); the key itself never goes in the config',
              ),
          })
          .optional(),
        maxOutputTokens: z.number().int().min(1).max(100_000).default(512),
        prices: z.record(z.string().min(1), modelPriceSchema).default(SIMULATED_MODEL_PRICES),
        minConfidence: z.number().min(0).max(1).default(0),
        taskPolicies: z
          .record(z.string().min(1), z.strictObject({ tiers: z.array(z.enum(TIERS)).min(1).optional(), minConfidence: z.number().min(0).max(1).optional() }))
          .default({}),
        simulatorSeed: z.number().int().default(42),
        simulatorLatencyMs: z.number().int().min(0).default(0),
      })
      .prefault({}),
    retry: z
      .strictObject({
        maxAttempts: z.number().int().min(1).max(10).default(3),
        baseDelayMs: z.number().int().min(0).default(200),
        maxDelayMs: z.number().int().min(0).default(5000),
        callTimeoutMs: z.number().int().min(100).default(10_000),
        callsPerReceive: z.number().int().min(1).max(100).default(6),
        callsPerKey: z.number().int().min(1).max(1000).default(20),
        queueBackoffBaseSeconds: seconds(1, SQS_MAX_VISIBILITY_SECONDS).default(10),
        queueBackoffMaxSeconds: seconds(1, SQS_MAX_VISIBILITY_SECONDS).default(300),
      })
      .prefault({}),
    breaker: z
      .strictObject({
        failureThreshold: z.number().int().min(0).default(0),
        failureRatePercent: z.number().min(0).max(100).default(50),
        minCalls: z.number().int().min(1).default(20),
        windowSeconds: seconds(1, 3600).default(60),
        cooldownSeconds: seconds(1, 3600).default(30),
        cacheMs: z.number().int().min(0).max(60_000).default(2000),
        whenOpen: z.enum(GUARD_ACTIONS).default('defer'),
      })
      .prefault({}),
    budget: z
      .strictObject({
        tokensPerHour: z.number().int().min(0).default(0),
        usdPerHour: z.number().min(0).default(0),
        whenExhausted: z.enum(GUARD_ACTIONS).default('fallback'),
      })
      .prefault({}),
    // Provider quotas (issue 14): one key, defined in quota-config.ts.
    quotas: quotaConfigSchema,
    // ── entity loops (issue 16) ──
    entityLoops: z
      .strictObject({
        decisionLimit: z.number().int().min(1).max(1000).default(3),
        windowSeconds: seconds(1, 30 * 86_400).default(86_400),
        reuseThreshold: z.number().min(0).max(1.01).default(0.6),
        loopAlarmThreshold: z.number().int().min(1).default(5),
      })
      .prefault({}),
    // ── end entity loops ──
  })
  .superRefine((config, ctx) => {
    checkModelLayer(config, ctx);
    const { processor } = config;
    const minVisibility = VISIBILITY_TIMEOUT_FACTOR * processor.timeoutSeconds;
    for (const queue of ['inputQueue', 'reviewQueue'] as const) {
      const { visibilityTimeoutSeconds, retentionDays, dlqRetentionDays } = config[queue];
      if (visibilityTimeoutSeconds < minVisibility) {
        ctx.addIssue({
          code: 'custom',
          path: [queue, 'visibilityTimeoutSeconds'],
          message:
            `visibility timeout must be >= ${VISIBILITY_TIMEOUT_FACTOR} x processor timeout: ` +
            `${visibilityTimeoutSeconds} s < ${VISIBILITY_TIMEOUT_FACTOR} x ${processor.timeoutSeconds} s = ${minVisibility} s ` +
            '(a shorter one lets SQS redeliver a message while an invocation still works on it)',
        });
      }
      if (dlqRetentionDays <= retentionDays) {
        ctx.addIssue({
          code: 'custom',
          path: [queue, 'dlqRetentionDays'],
          message:
            `DLQ retention must be longer than the source queue's: ${dlqRetentionDays} days <= ${retentionDays} days ` +
            '(a dead-lettered message keeps its original enqueue time and would expire soon after it arrives)',
        });
      }
    }
    const { drift } = config;
    if (drift.windowMinutes < drift.scheduleMinutes) {
      ctx.addIssue({
        code: 'custom',
        path: ['drift', 'windowMinutes'],
        message: `must be >= drift.scheduleMinutes (${drift.windowMinutes} < ${drift.scheduleMinutes}): otherwise completions between two runs are never compared`,
      });
    }
    if (drift.smallSampleSize < drift.minSampleSize) {
      ctx.addIssue({
        code: 'custom',
        path: ['drift', 'smallSampleSize'],
        message: `must be >= drift.minSampleSize (${drift.smallSampleSize} < ${drift.minSampleSize})`,
      });
    }
    if (processor.batchSize > SQS_BATCH_SIZE_WITHOUT_WINDOW && processor.maxBatchingWindowSeconds <= 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['processor', 'maxBatchingWindowSeconds'],
        message: `must be > 0 when processor.batchSize (${processor.batchSize}) is above ${SQS_BATCH_SIZE_WITHOUT_WINDOW}`,
      });
    }
    if (processor.timeMarginMs >= processor.timeoutSeconds * 1000) {
      ctx.addIssue({
        code: 'custom',
        path: ['processor', 'timeMarginMs'],
        message: `must be less than processor.timeoutSeconds x 1000 (${processor.timeoutSeconds * 1000} ms), or no time is left for work`,
      });
    }
    checkNotifications(config, ctx);
    if (config.production && !config.allowUnsafeProductionSettings) {
      for (const key of ['logRawInput', 'allowFaultInjection'] as const) {
        if (config[key]) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `must be false in a production stage unless allowUnsafeProductionSettings is true`,
          });
        }
      }
    }
  });

/**
 * Who hears about an alarm, and where the alarm's link leads: a production stage names a page
 * target (an email, an HTTPS endpoint, or `none` with the reason), because a topic without
 * subscriptions accepts every alarm and delivers it to nobody; and it links an absolute runbook
 * address, because a relative one is not a link in an email, a pager or the console.
 */
function checkNotifications(config: Pick<StageConfig, 'production' | 'observability'>, ctx: z.core.$RefinementCtx): void {
  for (const severity of ['page', 'ticket'] as const) {
    const targets = config.observability[severity];
    if (targets.none !== undefined && targets.emails.length + targets.httpsEndpoints.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['observability', severity, 'none'],
        message: `says nobody is notified, but ${targets.emails.length + targets.httpsEndpoints.length} target(s) are listed: remove one or the other`,
      });
    }
  }
  if (!config.production) return;
  const { page, runbookBaseUrl } = config.observability;
  if (page.emails.length === 0 && page.httpsEndpoints.length === 0 && page.none === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['observability', 'page'],
      message:
        'a production stage must say who is paged: observability.page.emails (addresses), observability.page.httpsEndpoints ' +
        "(a PagerDuty or Opsgenie CloudWatch integration URL), or observability.page.none: '<why nobody is>' (docs/paging.md)",
    });
  }
  if (!runbookBaseUrl.startsWith('https://')) {
    ctx.addIssue({
      code: 'custom',
      path: ['observability', 'runbookBaseUrl'],
      message: `must be an absolute https:// URL in a production stage (got "${runbookBaseUrl}"): a relative link is not clickable in a page or the console`,
    });
  }
}

/**
 * Rules of the model layer: the provider has what it needs, a deployed provider is never given a
 * simulated model id, and one model call fits in the function's time (the retry policy bounds the
 * rest at run time, from the invocation's remaining time).
 */
function checkModelLayer(config: Pick<StageConfig, 'model' | 'retry' | 'breaker' | 'processor'>, ctx: z.core.$RefinementCtx): void {
  const { model, retry, breaker, processor } = config;
  if (model.provider === 'openai-compatible' && !model.openAiCompatible) {
    ctx.addIssue({
      code: 'custom',
      path: ['model', 'openAiCompatible'],
      message: 'is required by the openai-compatible provider: { baseUrl, apiKeySecretArn }',
    });
  }
  if (model.provider !== 'simulated') {
    for (const key of ['primaryModelId', 'secondaryModelId'] as const) {
      if (model[key].startsWith('sim-')) {
        ctx.addIssue({
          code: 'custom',
          path: ['model', key],
          message: `"${model[key]}" is a simulated model id; set the ${model.provider} model to call${key === 'secondaryModelId' ? " (or '' for no secondary tier)" : ''}`,
        });
      }
    }
  }
  // At run time a call never gets more than the invocation's remaining time minus its margin; a
  // timeout longer than the function itself can never apply and says the config is confused.
  if (retry.callTimeoutMs > processor.timeoutSeconds * 1000) {
    ctx.addIssue({
      code: 'custom',
      path: ['retry', 'callTimeoutMs'],
      message: `must be at most processor.timeoutSeconds x 1000 (${processor.timeoutSeconds * 1000} ms): a call cannot outlast the function`,
    });
  }
  if (retry.maxDelayMs < retry.baseDelayMs) {
    ctx.addIssue({ code: 'custom', path: ['retry', 'maxDelayMs'], message: `must be >= retry.baseDelayMs (${retry.baseDelayMs})` });
  }
  if (retry.queueBackoffMaxSeconds < retry.queueBackoffBaseSeconds) {
    ctx.addIssue({
      code: 'custom',
      path: ['retry', 'queueBackoffMaxSeconds'],
      message: `must be >= retry.queueBackoffBaseSeconds (${retry.queueBackoffBaseSeconds})`,
    });
  }
  if (retry.callsPerKey < retry.callsPerReceive) {
    ctx.addIssue({ code: 'custom', path: ['retry', 'callsPerKey'], message: `must be >= retry.callsPerReceive (${retry.callsPerReceive})` });
  }
  if (breaker.failureThreshold === 0 && breaker.failureRatePercent === 0) {
    ctx.addIssue({ code: 'custom', path: ['breaker', 'failureThreshold'], message: 'and breaker.failureRatePercent are both 0: the breaker could never open' });
  }
}

/** What a stage in `STAGES` (or an override) may set: any subset of `StageConfig` except `stage`. */
export type StageConfigInput = Omit<z.input<typeof StageConfigSchema>, 'stage'>;

type DeepPartial<T> = T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** Values that replace those of the stage, merged key by key (e.g. from a test, or local mode). */
export type StageConfigOverrides = DeepPartial<StageConfigInput>;

// The stages of stages.ts are type-checked here rather than there, so that stages.ts imports
// nothing from this module (no import cycle, not even a type-only one). On an identifier TypeScript
// checks the types but not excess keys; an unknown key is refused when the stage is loaded (the
// schema is strict; test/infra/stage-config.test.ts loads every stage).
STAGES satisfies Record<string, StageConfigInput>;

/** A stage config that does not validate. `issues` holds one line per problem, each naming its key. */
export class StageConfigError extends Error {
  public readonly stage: string;
  public readonly issues: readonly string[];

  public constructor(stage: string, issues: readonly string[]) {
    super(`invalid stage config "${stage}":\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
    this.name = 'StageConfigError';
    this.stage = stage;
    this.issues = issues;
  }
}

/**
 * Returns the validated config of a stage: the stage's values from `STAGES`, then `overrides`,
 * then the defaults for anything neither sets.
 *
 * @throws {StageConfigError} when the stage is unknown or a value breaks a rule; the message
 *   names each bad key and, where there is a fixed set, the valid values.
 * @example
 * const config = loadStageConfig('prod');
 * const fast = loadStageConfig('dev', { processor: { timeoutSeconds: 10 } });
 */
export function loadStageConfig(name: string, overrides: StageConfigOverrides = {}): StageConfig {
  if (!Object.hasOwn(STAGES, name)) {
    throw new StageConfigError(name, [`unknown stage "${name}": valid stages are ${Object.keys(STAGES).join(', ')} (default: ${DEFAULT_STAGE})`]);
  }
  const input = mergeOverrides({ ...STAGES[name as keyof typeof STAGES], stage: name }, overrides);
  // reportInput puts the rejected value into each issue, so the message can quote it.
  const result = StageConfigSchema.safeParse(input, { reportInput: true });
  if (!result.success) {
    throw new StageConfigError(name, result.error.issues.map(describeIssue));
  }
  // The assignment makes the compiler check that the schema's output is a StageConfig.
  const config: StageConfig = result.data;
  return config;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    const where = key === '' ? 'stage config' : key;
    return `${where}: unknown key(s) ${issue.keys.join(', ')}; valid keys are ${validKeysAt(issue.path).join(', ')}`;
  }
  if (issue.code === 'invalid_value') {
    const valid = issue.values.map((value) => JSON.stringify(value)).join(', ');
    return `${key}: ${JSON.stringify(issue.input)} is not valid; valid values are ${valid}`;
  }
  return `${key}: ${issue.message}`;
}

type SchemaDef = { innerType?: z.core.$ZodType; shape?: Record<string, z.core.$ZodType> };

/** The object shape under a schema, looking through wrappers such as `.default()` and `.prefault()`. */
function objectShape(schema: z.core.$ZodType): Record<string, z.core.$ZodType> | undefined {
  let def = schema._zod.def as SchemaDef;
  while (def.innerType) def = def.innerType._zod.def as SchemaDef;
  return def.shape;
}

/** The keys the schema accepts at `path`, to list them when a key is misspelt. */
function validKeysAt(path: readonly PropertyKey[]): string[] {
  let shape = objectShape(StageConfigSchema);
  for (const segment of path) {
    const child = shape?.[String(segment)];
    shape = child ? objectShape(child) : undefined;
  }
  return Object.keys(shape ?? {});
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mergeOverrides(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? mergeOverrides(current, value) : value;
  }
  return merged;
}

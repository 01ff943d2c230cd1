import { z } from 'zod';
import { GUARD_ACTIONS, LEDGER_SHARDS, METRIC_SERVICE, MODEL_PROVIDERS, TIERS } from '../../lambda/contract';
import { quotaConfigSchema } from './quota-config';
import { LOG_LEVELS, LOG_RETENTION_DAYS, type ModelPriceConfig, REMOVAL_POLICIES, type StageConfig, VISIBILITY_TIMEOUT_FACTOR } from './stage-types';

/*
 * The schema of a stage config (the types and their `@default`s are in stage-types.ts): it applies
 * the defaults and checks ranges and cross-field rules when the app synthesizes.
 */

/** SQS limits that the schema checks against. */
const SQS_MAX_VISIBILITY_SECONDS = 43_200;
const SQS_MAX_RETENTION_DAYS = 14;
/** Above this batch size, Lambda requires a batching window. */
const SQS_BATCH_SIZE_WITHOUT_WINDOW = 10;

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
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region name such as us-east-1 or eu-west-2')
      .default('us-east-1'),
    escalation: z
      .strictObject({
        owner: z.string().trim().min(1).optional(),
        contact: z.string().trim().min(1).optional(),
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
        recordLogSampleRate: z.number().min(0).max(1).default(0.01),
        sourceMapStackTraces: z.boolean().default(false),
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
        taskVersion: z
          .string()
          .regex(/^$|^[A-Za-z0-9][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected <task>@<version>, e.g. ticket-triage@2')
          .default(''),
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
  const { page, runbookBaseUrl, escalation } = config.observability;
  if (escalation.owner === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['observability', 'escalation', 'owner'],
      message: "a production stage must name whom the runbook's escalate step calls: a team or on-call rotation (docs/paging.md)",
    });
  }
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

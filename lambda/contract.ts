/**
 * The contract between the infrastructure (lib/) and the runtime (lambda/, local/, bin/).
 *
 * This is the ONLY module that both sides import. It holds names, never behaviour: environment
 * variable names, ledger attribute names, message attribute names, metric names and stack output
 * keys. `lambda/` never imports `aws-cdk-lib`; `lib/` reads these names to wire what it creates.
 */

/** Environment variables the processor reads. Values are set by the Processor construct. */
export const ENV = {
  STAGE: 'PIPELINE_STAGE',
  LEDGER_TABLE: 'LEDGER_TABLE_NAME',
  CONTROL_TABLE: 'CONTROL_TABLE_NAME',
  INPUT_QUEUE_URL: 'INPUT_QUEUE_URL',
  INPUT_DLQ_URL: 'INPUT_DLQ_URL',
  REVIEW_QUEUE_URL: 'REVIEW_QUEUE_URL',
  /** Records of one batch processed at the same time in one invocation. */
  RECORD_CONCURRENCY: 'RECORD_CONCURRENCY',
  /** Visibility (s) given to a record whose key is leased by another live invocation. */
  CLAIMED_ELSEWHERE_VISIBILITY_SECONDS: 'CLAIMED_ELSEWHERE_VISIBILITY_SECONDS',
  /** Time (ms) kept back from the invocation's remaining time: work stops this long before the end. */
  TIME_MARGIN_MS: 'TIME_MARGIN_MS',
  /** Ledger items expire (DynamoDB TTL) this many days after their last write. */
  LEDGER_TTL_DAYS: 'LEDGER_TTL_DAYS',
  /** `true` lets log lines carry raw input text; off by default, and off in production. */
  LOG_RAW_INPUT: 'LOG_RAW_INPUT',
  /** `true` lets the simulated model inject faults; off in production unless the stage config overrides it. */
  ALLOW_FAULT_INJECTION: 'ALLOW_FAULT_INJECTION',
  /** One of `MODEL_PROVIDERS`. */
  MODEL_PROVIDER: 'MODEL_PROVIDER',
  PRIMARY_MODEL_ID: 'PRIMARY_MODEL_ID',
  /** The cheaper fallback model of the chain; unset or empty: no secondary tier. */
  SECONDARY_MODEL_ID: 'SECONDARY_MODEL_ID',
  /** Base URL of an OpenAI-compatible endpoint, up to and including `/v1` (`…/chat/completions` is appended). */
  MODEL_BASE_URL: 'MODEL_BASE_URL',
  /**
   * ARN of the Secrets Manager secret that holds the OpenAI-compatible endpoint's API key. The key
   * itself is never in the environment: the processor reads the secret at cold start.
   */
  MODEL_API_KEY_SECRET_ARN: 'MODEL_API_KEY_SECRET_ARN',
  /** Upper bound of output tokens per model call. */
  MODEL_MAX_OUTPUT_TOKENS: 'MODEL_MAX_OUTPUT_TOKENS',
  /** JSON `{ "<modelId>": { "inputUsdPerMillionTokens": n, "outputUsdPerMillionTokens": n } }`: cost estimates. */
  MODEL_PRICES: 'MODEL_PRICES',
  /** Results whose `confidence` is below this go down the fallback chain (0: never). */
  MIN_CONFIDENCE: 'MIN_CONFIDENCE',
  /** JSON `{ "<task>": { "tiers": ["primary", …], "minConfidence": n } }`: per-task overrides of the chain. */
  TASK_POLICIES: 'TASK_POLICIES',
  /** Attempts of one model call (the first included), within the invocation's time. */
  RETRY_MAX_ATTEMPTS: 'RETRY_MAX_ATTEMPTS',
  /** Exponential backoff between attempts, with full jitter: base and cap (ms). Retry-After wins when longer. */
  RETRY_BASE_DELAY_MS: 'RETRY_BASE_DELAY_MS',
  RETRY_MAX_DELAY_MS: 'RETRY_MAX_DELAY_MS',
  /** Timeout of one model call (ms); a call never gets more than the invocation's remaining time either. */
  MODEL_CALL_TIMEOUT_MS: 'MODEL_CALL_TIMEOUT_MS',
  /** Loop guard: model calls one record may make in one receive (retries and repairs included). */
  MODEL_CALLS_PER_RECEIVE: 'MODEL_CALLS_PER_RECEIVE',
  /** Loop guard: model calls one input (key) may make over all its receives and re-sends; past it, human review. */
  MODEL_CALLS_PER_KEY: 'MODEL_CALLS_PER_KEY',
  /** A record that goes back to the queue is hidden for a jittered base × 2^(receives − 1) s, capped. */
  QUEUE_BACKOFF_BASE_SECONDS: 'QUEUE_BACKOFF_BASE_SECONDS',
  QUEUE_BACKOFF_MAX_SECONDS: 'QUEUE_BACKOFF_MAX_SECONDS',
  /** The input queue's maxReceiveCount: on the last receive the chain goes on to rules/review instead of the DLQ. */
  MAX_RECEIVE_COUNT: 'MAX_RECEIVE_COUNT',
  /** Shared breaker: failures in the window that open it. */
  BREAKER_FAILURE_THRESHOLD: 'BREAKER_FAILURE_THRESHOLD',
  /** Shared breaker: failure rate (%) that opens it, once the window holds `BREAKER_MIN_CALLS` calls. */
  BREAKER_FAILURE_RATE_PERCENT: 'BREAKER_FAILURE_RATE_PERCENT',
  BREAKER_MIN_CALLS: 'BREAKER_MIN_CALLS',
  /** Shared breaker: length of the sliding window (ms). */
  BREAKER_WINDOW_MS: 'BREAKER_WINDOW_MS',
  /** Shared breaker: time open before one probe is let through (ms). */
  BREAKER_COOLDOWN_MS: 'BREAKER_COOLDOWN_MS',
  /** How long an invocation trusts the breaker state it read (ms): at most one read per this long. */
  BREAKER_CACHE_MS: 'BREAKER_CACHE_MS',
  /** `defer` (records back to the queue until the breaker may close) or `fallback` (rules, then review). */
  BREAKER_WHEN_OPEN: 'BREAKER_WHEN_OPEN',
  /** Tokens (in + out) per hour for the stage; 0: no limit. */
  BUDGET_TOKENS_PER_HOUR: 'BUDGET_TOKENS_PER_HOUR',
  /** Estimated US dollars per hour for the stage; 0: no limit. */
  BUDGET_USD_PER_HOUR: 'BUDGET_USD_PER_HOUR',
  /** `fallback` (skip the models: rules, then review) or `defer` (records back to the queue). */
  BUDGET_WHEN_EXHAUSTED: 'BUDGET_WHEN_EXHAUSTED',
  // ── entity loops (issue 16) ──────────────────────────────────────────────────────────────
  /** Automated decisions one entity (the envelope's `entityId`) may get in the window; past it, human review ("escalation loop"). */
  ENTITY_DECISION_LIMIT: 'ENTITY_DECISION_LIMIT',
  /** Length of the entity's sliding window of automated decisions (s). */
  ENTITY_WINDOW_SECONDS: 'ENTITY_WINDOW_SECONDS',
  /** Estimated Jaccard similarity (0–1) of a new input to the entity's last decided one at or above which that decision is reused; above 1: never. */
  ENTITY_REUSE_THRESHOLD: 'ENTITY_REUSE_THRESHOLD',
  // ── end entity loops ─────────────────────────────────────────────────────────────────────
  /** Seed of the simulated model; the same seed gives the same answers. */
  SIMULATOR_SEED: 'SIMULATOR_SEED',
  /** The shadow candidate of the stage config (issue 15); `shadow.*` switches override it. */
  SHADOW_MODEL_ID: 'SHADOW_MODEL_ID',
  SHADOW_PERCENT: 'SHADOW_PERCENT',
  SHADOW_TASK_VERSION: 'SHADOW_TASK_VERSION',
  SHADOW_MAX_PER_HOUR: 'SHADOW_MAX_PER_HOUR',
  /** Latency (ms) of each simulated model call. */
  SIMULATOR_LATENCY_MS: 'SIMULATOR_LATENCY_MS',
  /** Optional: how often (ms) an execution environment re-reads the runtime switches. Default 15000 (SWITCH_REFRESH_MS). */
  SWITCH_REFRESH_MS: 'SWITCH_REFRESH_MS',
  POWERTOOLS_SERVICE_NAME: 'POWERTOOLS_SERVICE_NAME',
  POWERTOOLS_METRICS_NAMESPACE: 'POWERTOOLS_METRICS_NAMESPACE',
  POWERTOOLS_LOG_LEVEL: 'POWERTOOLS_LOG_LEVEL',
  POWERTOOLS_LOGGER_SAMPLE_RATE: 'POWERTOOLS_LOGGER_SAMPLE_RATE',
} as const;

/**
 * Model providers the processor can be configured with: the in-process simulated model, Amazon
 * Bedrock (Converse API), or any OpenAI-compatible chat-completions endpoint (OpenAI, Azure
 * OpenAI, vLLM, a LiteLLM proxy; local mode's HTTP simulator).
 */
export const MODEL_PROVIDERS = ['simulated', 'bedrock', 'openai-compatible'] as const;
export type ModelProviderName = (typeof MODEL_PROVIDERS)[number];

/** The serving tiers of the fallback chain, in order; the ledger's `tier` attribute holds one of them. */
export const TIERS = ['primary', 'secondary', 'rules', 'human'] as const;
export type TierName = (typeof TIERS)[number];
/** The tiers by name, for code that branches on one. */
export const TIER = { PRIMARY: 'primary', SECONDARY: 'secondary', RULES: 'rules', HUMAN: 'human' } as const satisfies Record<string, TierName>;

/**
 * The ledger's `tier` for a result that no tier of the chain produced: the entity's last decision,
 * reused because the new input is a small edit of the one it was made for (issue 16). Not one of
 * `TIERS`, which are what a task policy may list: nobody configures a chain to "reuse". A reused
 * item is COMPLETED, so the invariant counts it as completed.
 */
export const REUSED_TIER = 'reused' as const;

/** What the processor does with a record when no model tier may be called (breaker open, budget spent). */
export const GUARD_ACTIONS = ['defer', 'fallback'] as const;
export type GuardAction = (typeof GUARD_ACTIONS)[number];

/** Attribute names of the ledger table (one item per input hash). */
export const LEDGER = {
  PARTITION_KEY: 'pk',
  STATUS: 'status',
  TTL: 'expiresAt',
  TASK: 'task',
  TIER: 'tier',
  /** The job the message named (`jobId` in the envelope), set by the claim. */
  JOB_ID: 'jobId',
  /** `<jobId>#<shard>`: partition key of the `byJob` index, set by the claim when the message names a job. */
  JOB_SHARD: 'jobShard',
  /** `<yyyy-mm-ddThh>#<shard>` (the UTC hour of completion): partition key of the `byHour` index, set by the completion. */
  HOUR_SHARD: 'hourShard',
  /** Epoch ms; the sort key of the `byHour` index. */
  COMPLETED_AT: 'completedAt',
  /** Map of feature name → bin label (strings) from the task's `features`, set by the completion: what the drift monitor counts. */
  FEATURES: 'features',
  /** Epoch ms when the claim's lease ends (IN_PROGRESS only). */
  LEASE_UNTIL: 'leaseUntil',
  /** The message's receive count when its last attempt failed (FAILED only). */
  RECEIVE_COUNT: 'receiveCount',
  UPDATED_AT: 'updatedAt',
  /** Which variant served the result (`VARIANT`: baseline or canary), set by the completion. */
  VARIANT: 'variant',
  /** The candidate version of the task's prompt that served a completed item (only when it was not the current one). */
  PROMPT_VERSION: 'promptVersion',
  /** The shadow candidate's answer to a sampled record (never the result): a map, see lambda/processor/shadow-run.ts. */
  SHADOW: 'shadow',
} as const;

/**
 * The ledger's global secondary indexes: what the monitors read instead of counters. Both are
 * sharded by `LEDGER_SHARDS` (the key's first hex digit), so no index partition takes more than a
 * sixteenth of a job's or an hour's writes, and any subset of shards is a uniform sample.
 */
export const LEDGER_INDEX = {
  /** Partition key `jobShard`: every item of a job, in 16 partitions (the reconciler, `pipectl jobs`). */
  BY_JOB: 'byJob',
  /** Partition key `hourShard`, sort key `completedAt`: completed items of one hour (the drift monitor). */
  BY_HOUR: 'byHour',
} as const;

/** Index shards per job and per hour: one per value of the key's first hex digit. */
export const LEDGER_SHARDS = 16;

/**
 * The control table: small shared state, one item per thing, keyed `<kind>#<id>`. Every Lambda and
 * `pipectl` read and write these items by these names only.
 */
export const CONTROL = {
  PARTITION_KEY: 'pk',
  TTL: 'expiresAt',
  /** Circuit breaker of one model: `breaker#<modelId>`. */
  BREAKER_PREFIX: 'breaker#',
  /** Spend of one hour (UTC): `budget#<yyyy-mm-ddThh>`. */
  BUDGET_PREFIX: 'budget#',
  /** A registered job (id, expected count, sent at, deadline): `job#<jobId>`. */
  JOB_PREFIX: 'job#',
  /** A pinned drift baseline of one task: `drift-baseline#<task>`. */
  DRIFT_BASELINE_PREFIX: 'drift-baseline#',
  /**
   * Model calls made for one input whose processing failed and will be tried again:
   * `calls#<input hash>`, attribute `calls` (ADD), TTL a day. Written and read on the retry path
   * only (the loop guard MODEL_CALLS_PER_KEY); the happy path never touches it.
   */
  KEY_CALLS_PREFIX: 'calls#',
  /**
   * Runtime switches (issue 15), see `SWITCH` in lambda/resilience/runtime-switches.ts: the one item
   * `switches#current` holds every switch (one GetItem reads them all), and each change adds an
   * item `switch-change#<epoch ms>#<name>` (who, when, why, the previous value).
   */
  SWITCHES_ITEM: 'switches#current',
  SWITCH_CHANGE_PREFIX: 'switch-change#',
  /** A recovery attempt (an on-call action that changed the pipeline): `recovery#<epoch ms>#<action>`. */
  RECOVERY_PREFIX: 'recovery#',
  /** Provider quota counters (issue 14): `quota#<modelId>#<slot>#<shard>`, see `QUOTA`. */
  QUOTA_PREFIX: 'quota#',
  /** Automated decisions about one entity (the envelope's `entityId`): `entity#<entityId>`; see `ENTITY`. */
  ENTITY_PREFIX: 'entity#',
  /** Which entity a review item escalated by the entity guard belongs to: `entity-review#<input hash>`, attribute `entityId`. */
  ENTITY_REVIEW_PREFIX: 'entity-review#',
} as const;

/**
 * One entity's decisions, the control-table item `entity#<entityId>`, written by the processor's
 * entity guard (lambda/resilience/entity-decisions.ts) and by `pipectl review resolve`.
 *
 * ```
 * pk            'entity#<entityId>'
 * version       n, +1 on every write (optimistic concurrency: every write is conditioned on it)
 * decisions     list of { key, at }: automated decisions reserved in the sliding window (pruned on write)
 * last          { key, at, tier, modelId, result (JSON), signature (MinHash, binary) }: the last decision
 * hold          { key, at, reason }: set when the limit is passed; no automation until a person resolves
 * history       list of { key, at, kind, tier?, similarity? }: the last 50 events, for `pipectl review entity`
 * expiresAt     TTL (epoch s): 30 days after the last write
 * ```
 */
export const ENTITY = {
  VERSION: 'version',
  DECISIONS: 'decisions',
  LAST: 'last',
  HOLD: 'hold',
  HISTORY: 'history',
  REVIEW_ENTITY_ID: 'entityId',
} as const;

// ---- provider quotas (issue 14) ---------------------------------------------------------------

/**
 * A provider quota's shared counters (lambda/resilience/rate-limiter.ts): one control-table item
 * per model, time slot (QUOTA_WINDOW_MS / QUOTA_SLOTS_PER_WINDOW long, numbered from the epoch)
 * and shard, holding what every execution environment took from that slot; expired by TTL.
 */
export const QUOTA = {
  CALLS: 'calls',
  TOKENS: 'tokens',
} as const;

/** Environment variables of the quota and the pacing switch (runtime-config.ts reads them). */
export const QUOTA_ENV = {
  /** JSON `{ "<modelId>": { "rpm"?: n, "tpm"?: n } }`: the provider's quota per model (`{}`: none configured). */
  MODEL_QUOTAS: 'MODEL_QUOTAS',
  /** `on`: pace to the quota where one is configured; `adaptive`: also learn one from 429s elsewhere (AIMD); `off`: no pacing. */
  RATE_PACING: 'RATE_PACING',
  /** The quota's minute in ms (60000; local mode scales it like every other duration). */
  QUOTA_WINDOW_MS: 'QUOTA_WINDOW_MS',
  /** Most calls one quota slot may hold: the event source's batch size. */
  QUOTA_MAX_BURST: 'QUOTA_MAX_BURST',
} as const;

/** Values of RATE_PACING. */
export const RATE_PACING_MODES = ['on', 'adaptive', 'off'] as const;
export type RatePacingMode = (typeof RATE_PACING_MODES)[number];

// ---- end of provider quotas -------------------------------------------------------------------

/**
 * The shared circuit breaker of one model, the control-table item `breaker#<modelId>`, read and
 * written by every processor instance (lambda/resilience/shared-breaker.ts) and by `pipectl breaker`.
 *
 * ```
 * pk               'breaker#<modelId>'
 * state            'closed' | 'open' | 'half-open'          (absent item: closed, empty window)
 * forced           'open' | 'closed'  (optional)  manual override: wins over `state` until removed
 * forcedReason     string (optional)  why; forcedBy, forcedAt (epoch ms) likewise
 * windowStart      epoch ms: start of the current window (length BREAKER_WINDOW_MS)
 * failures, calls  counts in the current window; previousFailures, previousCalls: the window before
 *                  (the sliding window weighs the previous one by how much of it still overlaps)
 * openedAt         epoch ms of the last closed → open transition; openCount counts them (ADD)
 * openUntil        epoch ms: while open, no call before this; then ONE probe may take `probeToken`
 * probeToken       set while half-open: the one instance whose call decides; probeUntil ends its lease
 * lastErrorClass   the error class of the last failure that was counted
 * updatedAt        epoch ms
 * ```
 * `pipectl breaker open` sets `forced = 'open'`; `pipectl breaker close` sets `forced = 'closed'`
 * (or removes `forced` and resets `state` to closed): instances see it within BREAKER_CACHE_MS.
 */
export const BREAKER = {
  MODEL_ID: 'modelId',
  STATE: 'state',
  FORCED: 'forced',
  FORCED_REASON: 'forcedReason',
  FORCED_BY: 'forcedBy',
  FORCED_AT: 'forcedAt',
  WINDOW_START: 'windowStart',
  FAILURES: 'failures',
  CALLS: 'calls',
  PREVIOUS_FAILURES: 'previousFailures',
  PREVIOUS_CALLS: 'previousCalls',
  OPENED_AT: 'openedAt',
  OPEN_UNTIL: 'openUntil',
  OPEN_COUNT: 'openCount',
  PROBE_TOKEN: 'probeToken',
  PROBE_UNTIL: 'probeUntil',
  LAST_ERROR_CLASS: 'lastErrorClass',
  UPDATED_AT: 'updatedAt',
} as const;

/** Values of `BREAKER.STATE`. */
export const BREAKER_STATE = { CLOSED: 'closed', OPEN: 'open', HALF_OPEN: 'half-open' } as const;
export type BreakerStateName = (typeof BREAKER_STATE)[keyof typeof BREAKER_STATE];

/** Values of `BREAKER.FORCED`. */
export const BREAKER_FORCED = { OPEN: 'open', CLOSED: 'closed' } as const;

/**
 * The spend of one hour (UTC) of one stage, the control-table item `budget#<yyyy-mm-ddThh>`,
 * counted with one atomic ADD per batch by every processor instance (lambda/resilience/budget.ts).
 *
 * ```
 * pk            'budget#2026-11-23T14'
 * tokensIn, tokensOut, calls   ADDed once per batch
 * costUsd       estimated from tokens and MODEL_PRICES, ADDed once per batch
 * limitTokens, limitUsd        the limits in force when last written (0: none), for `pipectl status`
 * updatedAt     epoch ms; expiresAt (TTL, epoch s) a week later
 * ```
 * Used percent = max(tokensIn + tokensOut / limitTokens, costUsd / limitUsd) × 100.
 */
export const BUDGET = {
  TOKENS_IN: 'tokensIn',
  TOKENS_OUT: 'tokensOut',
  CALLS: 'calls',
  COST_USD: 'costUsd',
  LIMIT_TOKENS: 'limitTokens',
  LIMIT_USD: 'limitUsd',
  UPDATED_AT: 'updatedAt',
} as const;

/**
 * A registered job, the control-table item `job#<jobId>`: written by `pipectl send` (or any
 * producer that sets `jobId` on its messages), read by the reconciler and `pipectl jobs`.
 */
export const JOB = {
  ID: 'jobId',
  /** How many messages the producer sent (unique inputs are counted by the ledger). */
  EXPECTED: 'expected',
  /** Epoch milliseconds. */
  SENT_AT: 'sentAt',
  /** Epoch milliseconds after which missing items are reported. */
  DEADLINE: 'deadline',
  /** Who registered it, e.g. `pipectl`. */
  SOURCE: 'source',
  /**
   * Distinct inputs among the messages (optional). The ledger holds one item per distinct input,
   * so when a job re-sends an input the reconciler compares the ledger with this, else with EXPECTED.
   */
  UNIQUE: 'unique',
  /** Epoch ms, set by an operator: the reconciler stops reporting the job (its missing items were dealt with). */
  CLOSED_AT: 'closedAt',
  /** Written by the reconciler from here on: one of `JOB_STATUS`. */
  STATUS: 'status',
  /** Epoch ms of the reconciler's last look. */
  RECONCILED_AT: 'reconciledAt',
  /** Counts from the ledger at the last look (`JobCompleteness` in lambda/monitors/completeness.ts). */
  COMPLETED: 'completed',
  DEAD_LETTERED: 'deadLettered',
  IN_REVIEW: 'inReview',
  /** expected − (completed + dead-lettered + in review), once the deadline has passed. */
  MISSING: 'missing',
  /** Keys IN_PROGRESS with an expired lease (a crashed or timed-out attempt), at most a few hundred. */
  STUCK_KEYS: 'stuckKeys',
  /** Keys FAILED and still retrying, or IN_PROGRESS with a live lease. */
  PENDING_KEYS: 'pendingKeys',
  /** Missing items that never reached the ledger (lost before the processor, or still queued). */
  NOT_IN_LEDGER: 'notInLedger',
} as const;

/** Values of `JOB.STATUS`. */
export const JOB_STATUS = {
  /** Before the deadline, not all accounted for yet. */
  OPEN: 'open',
  /** Every item has an outcome: never looked at again. */
  COMPLETE: 'complete',
  /** Past the deadline with items missing: `IncompleteJobItems` counts them until they arrive or the job is closed. */
  INCOMPLETE: 'incomplete',
  /** An operator set `closedAt`. */
  CLOSED: 'closed',
} as const;
export type JobStatus = (typeof JOB_STATUS)[keyof typeof JOB_STATUS];

/**
 * A task's drift baseline, the control-table item `drift-baseline#<task>`: the bin counts of each
 * feature over a window, pinned by `pipectl drift baseline --from --to`, or by the drift monitor
 * from the first full UTC day of data when nobody pinned one.
 */
export const DRIFT_BASELINE = {
  TASK: 'task',
  /** One of `DRIFT_BASELINE_SOURCE`. */
  SOURCE: 'source',
  /** The window (epoch ms, `to` exclusive). */
  FROM: 'from',
  TO: 'to',
  /** Items counted. */
  ITEMS: 'items',
  /** Map feature → map bin label → count. */
  HISTOGRAMS: 'histograms',
  PINNED_AT: 'pinnedAt',
  PINNED_BY: 'pinnedBy',
  /** While no baseline exists: epoch ms when the monitor first saw the task's items (the first full day starts after it). */
  FIRST_SEEN_AT: 'firstSeenAt',
} as const;

/** Values of `DRIFT_BASELINE.SOURCE`. */
export const DRIFT_BASELINE_SOURCE = {
  /** `pipectl drift baseline --from --to`. */
  PINNED: 'pinned',
  /** The monitor's default: the first full UTC day after it first saw the task's items. */
  FIRST_FULL_DAY: 'first-full-day',
  /** Local mode: a reference workload, as the simulated model answers it. */
  REFERENCE: 'reference',
  /** No baseline yet: the monitor is waiting for the first full day. */
  PENDING: 'pending',
} as const;

/**
 * Environment variables of the scheduled monitors, besides `ENV.STAGE`, `ENV.LEDGER_TABLE`,
 * `ENV.CONTROL_TABLE`, `ENV.MAX_RECEIVE_COUNT` (the reconciler: a FAILED item received that often
 * has gone to the DLQ) and `ENV.POWERTOOLS_*`.
 */
export const MONITOR_ENV = {
  /** `cloudwatch` (PutMetricData, on AWS) or `emf` (EMF lines on stdout: local mode's LogSink). */
  METRICS_PUBLISHER: 'MONITOR_METRICS_PUBLISHER',
  /** Keys the reconciler records per job and kind (stuck, pending) at most. */
  JOB_MAX_KEYS_RECORDED: 'JOB_MAX_KEYS_RECORDED',
  /** DLQ messages the reconciler reads at most in one run, looking for redriven keys (0: it never reads the DLQ). */
  DLQ_WITNESS_LIMIT: 'DLQ_WITNESS_LIMIT',
  /** Length of the window the drift monitor compares with the baseline (s). */
  DRIFT_WINDOW_SECONDS: 'DRIFT_WINDOW_SECONDS',
  /** Floor of a bin's share in the PSI (an empty bin counts as this share). */
  DRIFT_EPSILON: 'DRIFT_EPSILON',
  /** Below this many items in the window, no score is published. */
  DRIFT_MIN_SAMPLE: 'DRIFT_MIN_SAMPLE',
  /** Below this many items, a feature's PSI counts only when chi-squared / KS finds the shift significant. */
  DRIFT_SMALL_SAMPLE: 'DRIFT_SMALL_SAMPLE',
  DRIFT_SIGNIFICANCE: 'DRIFT_SIGNIFICANCE',
  /** Index shards read per hour (1-16): the uniform sample. */
  DRIFT_SAMPLE_SHARDS: 'DRIFT_SAMPLE_SHARDS',
  /** Items one run reads at most. */
  DRIFT_MAX_ITEMS: 'DRIFT_MAX_ITEMS',
  /** `true`: disable the processor's event source mapping when the max score reaches DRIFT_AUTO_PAUSE_THRESHOLD. */
  DRIFT_AUTO_PAUSE: 'DRIFT_AUTO_PAUSE',
  DRIFT_AUTO_PAUSE_THRESHOLD: 'DRIFT_AUTO_PAUSE_THRESHOLD',
  /** The processor's event source mapping (UUID), for the auto-pause. */
  EVENT_SOURCE_MAPPING_ID: 'EVENT_SOURCE_MAPPING_ID',
} as const;

/**
 * Status of a ledger item. The ledger is a fenced state machine: lambda/ledger/ledger-transitions.ts
 * holds the table of which write may move an item from which status to which.
 */
export const LEDGER_STATUS = {
  IN_PROGRESS: 'IN_PROGRESS',
  COMPLETED: 'COMPLETED',
  /** The last attempt failed with a retryable error; the message is back on the queue (or in the DLQ). */
  FAILED: 'FAILED',
  /** The message was rejected as bad input and sent to the DLQ with its reason. */
  REJECTED: 'REJECTED',
  IN_REVIEW: 'IN_REVIEW',
  /**
   * Out of receives: the owner failed on the message's last receive, or (set by the reconciler) an
   * attempt on the last receive crashed or timed out and SQS redrove its message to the DLQ. A
   * re-send or a DLQ redrive of the same input may claim it again.
   */
  DEAD_LETTERED: 'DEAD_LETTERED',
} as const;
export type LedgerStatus = (typeof LEDGER_STATUS)[keyof typeof LEDGER_STATUS];

/** Message attributes the processor sets on what it sends to the DLQ or the review queue. */
export const MESSAGE_ATTRIBUTE = {
  FAILURE_REASON: 'FailureReason',
  FAILURE_DETAIL: 'FailureDetail',
  INPUT_HASH: 'InputHash',
  ORIGINAL_MESSAGE_ID: 'OriginalMessageId',
  RECEIVE_COUNT: 'ReceiveCount',
  STAGE: 'Stage',
} as const;

/** The variants a record can be served by: the stage's configured primary, or the canary candidate. */
export const VARIANT = { BASELINE: 'baseline', CANARY: 'canary' } as const;
/** The `variant` dimension of the shadow candidate's metrics (never a ledger item's variant: a shadow serves nothing). */
export const SHADOW_VARIANT = 'shadow' as const;

/** The canary alarm's id (lib/observability/canary-alarms.ts): the runbook anchor, and what the rollback action (lambda/canary/rollback-handler.ts) listens for. */
export const CANARY_ALARM_ID = 'canary-regression';
export type VariantName = (typeof VARIANT)[keyof typeof VARIANT];

/** The metric namespace; dimensions are kept low-cardinality (stage, task). */
export const METRICS_NAMESPACE = 'ResilientAiPipeline';

/**
 * Metric names (EMF, one namespace). Alarms, the dashboard and the runbook refer to these names
 * only. Dimensions: every metric has `stage` and `task`; the ones marked below add one more
 * low-cardinality dimension, from `METRIC_DIMENSION`.
 */
export const METRIC = {
  RECORDS_RECEIVED: 'RecordsReceived',
  RECORDS_COMPLETED: 'RecordsCompleted',
  RECORDS_REJECTED: 'RecordsRejected',
  /** Records the processor itself sent to the DLQ (rejections, and records out of retries). */
  RECORDS_DEAD_LETTERED: 'RecordsDeadLettered',
  RECORDS_FAILED: 'RecordsFailed',
  RECORDS_CLAIMED_ELSEWHERE: 'RecordsClaimedElsewhere',
  /** Routed to the human-review queue. */
  RECORDS_ESCALATED: 'RecordsEscalated',
  DUPLICATES_SKIPPED: 'DuplicatesSkipped',
  /** A DLQ copy or review notice that could not be sent (at most once: the ledger item holds the outcome). */
  NOTICES_LOST: 'NoticesLost',
  LEASES_TAKEN_OVER: 'LeasesTakenOver',
  /** Dimension `model`. */
  MODEL_CALLS: 'ModelCalls',
  /** Dimensions `model` and `errorClass`. */
  MODEL_ERRORS: 'ModelErrors',
  /** Dimension `model`. */
  MODEL_RETRIES: 'ModelRetries',
  /** Milliseconds; dimension `model`; alarms use p95/p99. */
  MODEL_LATENCY: 'ModelLatency',
  TOKENS_IN: 'TokensIn',
  TOKENS_OUT: 'TokensOut',
  /** US dollars, estimated from tokens and the stage's prices. */
  ESTIMATED_COST_USD: 'EstimatedCostUsd',
  /** Model output that failed parsing or the task's schema; dimension `model`. */
  VALIDATION_FAILURES: 'ValidationFailures',
  /** Results served below the primary tier; dimension `tier`. */
  FALLBACKS: 'Fallbacks',
  /** 1 when a call was refused because the model's breaker is open; dimension `model`. */
  BREAKER_OPEN: 'BreakerOpen',
  /** Percent of the hour's budget used, as seen by this invocation (max statistic). */
  BUDGET_USED_PERCENT: 'BudgetUsedPercent',
  /** Records refused because the hour's budget is spent. */
  BUDGET_EXHAUSTED: 'BudgetExhausted',
  /** Milliseconds from SentTimestamp to the end of processing: end-to-end age. */
  RECORD_AGE: 'RecordAge',
  /**
   * Published by the reconciler on every run (0 when nothing is missing): items of overdue jobs
   * that have no outcome, summed over jobs; dimensions `service`, `stage` only (a job may span tasks).
   */
  INCOMPLETE_JOB_ITEMS: 'IncompleteJobItems',
  /**
   * Published by the drift monitor on every run that has enough items: per task and feature
   * (`service`, `stage`, `task`, `feature`), and the maximum over every task's features under
   * `feature` = `DRIFT_MAX_FEATURE` (`service`, `stage`, `feature`), which the alarms read.
   */
  DRIFT_SCORE: 'DriftScore',
  /**
   * 1 at the end of every run of a scheduled monitor that finished its work (service = the
   * monitor). A missing heartbeat is what tells a stopped, failing or unscheduled monitor from a
   * quiet one: the catalog's `<monitor>-heartbeat` alarms treat missing data as breaching.
   */
  MONITOR_HEARTBEAT: 'MonitorHeartbeat',
  /**
   * Per variant (dimension `variant`, see VARIANT): records served, records served below the
   * primary tier, model answers that failed validation, and the serving tier's model latency (ms).
   * What the canary alarm compares, canary against baseline.
   */
  VARIANT_RECORDS: 'VariantRecords',
  VARIANT_FALLBACKS: 'VariantFallbacks',
  VARIANT_VALIDATION_FAILURES: 'VariantValidationFailures',
  VARIANT_LATENCY: 'VariantLatency',
  /** Model cost (USD) of a record by variant; with a shadow, the baseline's and the shadow's of the same sampled records. */
  VARIANT_COST_USD: 'VariantCostUsd',
  /** Records sampled for the shadow candidate (dimension variant = shadow). */
  SHADOW_SAMPLES: 'ShadowSamples',
  /** 1 when the shadow's answer has the primary's category and priority, else 0: its average is the agreement rate. */
  SHADOW_AGREEMENT: 'ShadowAgreement',
  /** Shadow calls that failed (errors, invalid output after its repair): counted, never raised. */
  SHADOW_ERRORS: 'ShadowErrors',
  /** Sampled records the shadow skipped: its per-hour cap or the budget. */
  SHADOW_SKIPPED: 'ShadowSkipped',
  /** Records of a task stopped by a runtime switch, put back on the queue (a deferral, not a failure). */
  RECORDS_DEFERRED: 'RecordsDeferred',
  // Provider quotas (issue 14).
  /** Records sent back to the queue because no quota token came soon enough; dimension `model`. */
  QUOTA_DEFERRALS: 'QuotaDeferrals',
  /** Milliseconds a call waited for a quota token inside the invocation; dimension `model`. */
  QUOTA_WAIT: 'QuotaWait',
  /** Records sent to human review because their entity passed its decision limit (an escalation loop), or is held. */
  ENTITY_LOOPS_DETECTED: 'EntityLoopsDetected',
  /** Records completed with their entity's last decision (a small edit, tier `reused`): no model call. */
  ENTITY_DECISIONS_REUSED: 'EntityDecisionsReused',
} as const;

/** Names of the extra metric dimensions (besides `stage` and `task`). */
export const METRIC_DIMENSION = {
  STAGE: 'stage',
  TASK: 'task',
  MODEL: 'model',
  ERROR_CLASS: 'errorClass',
  TIER: 'tier',
  FEATURE: 'feature',
  /** `baseline` or `canary` (VARIANT): which variant of the primary tier served a record. */
  VARIANT: 'variant',
  /** Who published the metric, one of `METRIC_SERVICE` (Powertools Metrics adds it to every dimension set). */
  SERVICE: 'service',
} as const;

/** Values of the `service` dimension: the component that published a metric (Powertools' `serviceName`). */
export const METRIC_SERVICE = {
  PROCESSOR: 'processor',
  RECONCILER: 'reconciler',
  DRIFT_MONITOR: 'drift-monitor',
} as const;
export type MetricService = (typeof METRIC_SERVICE)[keyof typeof METRIC_SERVICE];

/**
 * The dimension set that alarms and the dashboard read: `service` and `stage`, nothing else.
 * A CloudWatch alarm matches a metric's dimensions exactly, so every value of every `METRIC` must
 * be published under exactly this set, besides any finer one (task, model, tier, errorClass…);
 * a value published only under a finer set never reaches an alarm. The local alarm evaluator
 * (local/alarm-evaluator.ts) applies the same rule, so a local run shows the mistake.
 * - Powertools Metrics: `new Metrics({ serviceName, defaultDimensions: { stage } })`, and for a
 *   finer set call `metrics.addDimensions({})` (keeps `["service","stage"]`) as well as
 *   `metrics.addDimensions({ task, model })`; `addDimension()` alone replaces the alarm set.
 * - PutMetricData: one datum with just `service` and `stage` (plus any finer datum you want).
 * - `DriftScore`: the alarms read the maximum over features, published with `feature` set to
 *   `DRIFT_MAX_FEATURE`, i.e. dimensions `service`, `stage`, `feature`.
 */
export const ALARM_DIMENSIONS = [METRIC_DIMENSION.SERVICE, METRIC_DIMENSION.STAGE] as const;

/** The `feature` value under which the drift monitor publishes the maximum `DriftScore` over all features. */
export const DRIFT_MAX_FEATURE = 'max';

/** The feature every task reports for the tier that served a record (`TIER` values). */
export const SERVING_TIER_FEATURE = 'servingTier';

/**
 * The `feature` dimension of the run-level score of the serving mix (the largest `servingTier`
 * score over tasks), which the `serving-mix-shift` alarm reads. It is kept out of
 * `DRIFT_MAX_FEATURE`: a breaker or budget pushing records to rules is not data drift.
 */
export const DRIFT_SERVING_MIX_FEATURE = 'servingMix';

/** Tiers whose answers are the models' own: drift of answers is measured on these only. */
export const MODEL_TIERS: readonly string[] = [TIER.PRIMARY, TIER.SECONDARY];

/** CloudFormation output keys of the pipeline stack: what `pipectl` and producers read. */
export const STACK_OUTPUT = {
  INPUT_QUEUE_URL: 'InputQueueUrl',
  INPUT_DLQ_URL: 'InputDlqUrl',
  REVIEW_QUEUE_URL: 'ReviewQueueUrl',
  REVIEW_DLQ_URL: 'ReviewDlqUrl',
  LEDGER_TABLE_NAME: 'LedgerTableName',
  CONTROL_TABLE_NAME: 'ControlTableName',
  PROCESSOR_FUNCTION_NAME: 'ProcessorFunctionName',
  /** The UUID of the processor's SQS event source mapping: `pipectl pause|resume` toggles it. */
  PROCESSOR_EVENT_SOURCE_MAPPING_ID: 'ProcessorEventSourceMappingId',
  /** SNS topic of paging alarms (the composite "pipeline unhealthy" alarm notifies it). */
  PAGE_TOPIC_ARN: 'PageTopicArn',
  /** SNS topic of ticket alarms (and of every paging alarm, one by one, for the record). */
  TICKET_TOPIC_ARN: 'TicketTopicArn',
  /**
   * The CloudWatch dashboard built from the alarm catalog. Alarms need no output: each is named
   * `<stack name>-<alarm id>` (`alarmNamePrefix` in lib/observability/alarm-catalog.ts).
   */
  DASHBOARD_NAME: 'DashboardName',
} as const;

/**
 * How often an execution environment reads the runtime switches at most. Half the 30 s promise:
 * one missed read still keeps it. Here, not in lambda/resilience/runtime-switches.ts, so that
 * `pipectl switch --help` can say it without loading the SDK.
 */
export const SWITCH_REFRESH_MS = 15_000;

/** The SQS message size limit, which is also the processor's input size limit. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/**
 * The processor's bundle is built per stage (lib/constructs/provider-bundling.ts): it holds the SDK
 * client of the model provider the stage's config selects, and no other. The build sets these
 * expressions as constants (esbuild `define`); lambda/processor/provider-factory.ts tests them
 * inline, so esbuild drops the branch that would import the SDK the stage does not use. In an unbundled run (tsx,
 * vitest, `pipectl replay` from source) nothing defines them, so every provider is available.
 * They are build-time constants, never environment variables: the processor's environment does not
 * carry them. Issue 17.
 */
export const BUNDLE_DEFINES = {
  /** `"true"` when the bundle leaves out the Bedrock runtime client. */
  WITHOUT_BEDROCK: 'process.env.PIPELINE_BUNDLE_WITHOUT_BEDROCK',
  /** `"true"` when the bundle leaves out the Secrets Manager client (the OpenAI-compatible API key). */
  WITHOUT_SECRETS_MANAGER: 'process.env.PIPELINE_BUNDLE_WITHOUT_SECRETS_MANAGER',
  /** What the stage's config selects, for `ProviderNotBundledError`: `bedrock`, `simulated`, `openai-compatible with an API key secret`. */
  STAGE_SELECTS: 'process.env.PIPELINE_BUNDLE_STAGE_SELECTS',
} as const;

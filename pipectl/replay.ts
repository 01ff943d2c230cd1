import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { BUDGET, CONTROL, TIER } from '../lambda/contract';
import { RejectedInputError } from '../lambda/errors/pipeline-errors';
import { DynamoDbLedgerStore } from '../lambda/ledger/dynamodb-ledger-store';
import { BatchMetrics } from '../lambda/processor/batch-metrics';
import { FallbackChain, type RecordWork, type Served } from '../lambda/processor/fallback-chain';
import { type ParsedMessage, parseMessage } from '../lambda/processor/message-parser';
import { createProvider } from '../lambda/processor/provider-factory';
import { completionOf } from '../lambda/processor/record-protocol';
import { breakerSettingsOf, readRuntimeConfig, type RuntimeConfig } from '../lambda/processor/runtime-config';
import { compareResults } from '../lambda/processor/result-agreement';
import { estimateCostUsd, HourlyBudget, hourOf } from '../lambda/resilience/budget';
import type { BreakerSnapshot } from '../lambda/resilience/breaker-state';
import { DynamoDbBreakerStore } from '../lambda/resilience/dynamodb-breaker-store';
import { RetryPolicy } from '../lambda/resilience/retry-policy';
import { DynamoDbSwitchSource, RuntimeSwitches, type SwitchSet } from '../lambda/resilience/runtime-switches';
import { SharedBreaker } from '../lambda/resilience/shared-breaker';
import { resolveTaskVersion } from '../lambda/tasks/registry';
import { matchesReason, readDeadLetters } from './dlq';
import { TargetNotFoundError, UsageError } from './errors';
import { getLedgerItems, type LedgerItem } from './ledger-reader';
import type { PipelineTarget } from './target';
import { readJobItems } from '../lambda/monitors/ledger-reader';

/*
 * `pipectl replay`: inputs run through the processor's own fallback chain (lambda/processor/
 * fallback-chain.ts: validation, one repair, secondary, rules) with the deployed function's
 * configuration, and compared with what the ledger holds. Nothing here re-implements the chain;
 * what is replay's own is where inputs come from, the guards' read-only stores, and the diff.
 */

/** Where the inputs of a replay come from (exactly one). */
export type ReplaySelection =
  | { readonly kind: 'keys'; readonly keys: readonly string[] }
  | { readonly kind: 'job'; readonly jobId: string }
  | { readonly kind: 'dlq'; readonly reason?: string }
  | { readonly kind: 'file'; readonly path: string };

/** One message body to replay, and where it was found. */
export interface ReplayInput {
  readonly body: string;
  readonly source: string;
}

export interface ReplayOptions {
  /** Replace the primary model (the current one, or the canary's candidate for canary keys, otherwise). */
  readonly modelId?: string;
  /**
   * `<task>@<version>`: replay that task's inputs with this version of its prompt (a candidate in the
   * task's `candidateVersions`, or its current one); other tasks' inputs use their current version.
   */
  readonly taskVersion?: string;
  /** Stop before the replay's spend exceeds this (USD). */
  readonly maxCostUsd?: number;
  /** Write results through the normal idempotent path (claim → complete). @default false: write nothing */
  readonly store?: boolean;
  readonly onProgress?: (done: number, total: number) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

/** How a replayed input compares with its stored result. */
export interface ReplayRow {
  readonly source: string;
  readonly key?: string;
  readonly task?: string;
  /** What happened: replayed, rejected (bad input), skipped (budget), error. */
  readonly status: 'replayed' | 'rejected' | 'skipped' | 'error';
  readonly detail?: string;
  readonly stored?: { readonly status?: string; readonly tier?: string; readonly modelId?: string; readonly result?: unknown };
  readonly replayed?: { readonly tier: string; readonly modelId: string; readonly result?: unknown; readonly modelCalls: number; readonly costUsd: number };
  /** Top-level fields of the result that differ (stored vs replayed), with both values. */
  readonly changes: ReadonlyArray<{ readonly field: string; readonly stored: unknown; readonly replayed: unknown }>;
  /** Same category and priority as the stored result (undefined: nothing stored to compare). */
  readonly agrees?: boolean;
  /** Replayed confidence − stored confidence. */
  readonly confidenceShift?: number;
  /** Model answers still invalid after their repair, in this replay. */
  readonly validationFailures: number;
  /** `--store`: what the ledger did with the result. */
  readonly storedNow?: 'completed' | 'already-settled' | 'held-elsewhere' | 'not-stored';
}

export interface ReplaySummary {
  readonly inputs: number;
  readonly replayed: number;
  readonly rejected: number;
  readonly skipped: number;
  readonly errors: number;
  /** Replayed inputs with a stored result to compare. */
  readonly compared: number;
  readonly agree: number;
  readonly disagree: number;
  readonly agreementPercent: number | null;
  readonly meanConfidenceShift: number | null;
  readonly validationFailures: number;
  readonly byTier: Readonly<Record<string, number>>;
  readonly costUsd: number;
  readonly costBoundUsd: number | null;
  readonly modelId: string;
  readonly stored: number;
}

export interface ReplayReport {
  readonly rows: readonly ReplayRow[];
  readonly summary: ReplaySummary;
}

/** The error class a tier note carries when the answer failed validation after its repair (fallback-chain.ts). */
const INVALID_OUTPUT = 'InvalidModelOutputError';

/**
 * The processor's configuration as deployed: the function's environment, from GetFunctionConfiguration
 * (Lambda on a stage; locally the control API of `pipectl local --serve` answers the same call).
 */
export async function processorConfig(target: PipelineTarget): Promise<RuntimeConfig> {
  if (!target.lambda)
    throw new TargetNotFoundError('this local pipeline publishes no control API (lambdaEndpoint in its serve file): restart `pipectl local --serve`');
  const response = await target.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: target.resources.processorFunctionName }));
  const environment = response.Environment?.Variables;
  if (!environment) throw new TargetNotFoundError(`the function ${target.resources.processorFunctionName} has no environment`);
  return readRuntimeConfig({ AWS_REGION: target.region, ...environment });
}

/** Reads the inputs a selection names. */
export async function collectInputs(target: PipelineTarget, selection: ReplaySelection, limit: number): Promise<ReplayInput[]> {
  const { dynamodb, resources } = target;
  switch (selection.kind) {
    case 'file':
      return readFileSync(selection.path, 'utf8')
        .split('\n')
        .map((line, index) => ({ body: line.trim(), source: `${selection.path}:${index + 1}` }))
        .filter((input) => input.body !== '')
        .slice(0, limit);
    case 'dlq': {
      const { letters } = await readDeadLetters(target, limit);
      return letters.filter((letter) => matchesReason(letter, selection.reason)).map((letter) => ({ body: letter.body, source: `dlq:${letter.messageId}` }));
    }
    case 'keys':
    case 'job': {
      // The ledger keeps the input only on items in review (a reviewer must read it); a completed
      // item keeps its result, not its input (raw input is not stored unless a person needs it).
      // So a key's or a job's inputs come from the DLQ and the review items.
      const keys =
        selection.kind === 'keys' ? selection.keys : (await readJobItems(dynamodb, resources.ledgerTableName, selection.jobId)).items.map((item) => item.key);
      const wanted = new Set(keys);
      const found = new Map<string, ReplayInput>();
      const { letters } = await readDeadLetters(target, 1000);
      for (const letter of letters)
        if (wanted.has(letter.key) && !found.has(letter.key)) found.set(letter.key, { body: letter.body, source: `dlq:${letter.messageId}` });
      const items = await getLedgerItems(
        dynamodb,
        resources.ledgerTableName,
        [...wanted].filter((key) => !found.has(key)),
      );
      for (const [key, item] of items) {
        if (item.input !== undefined && typeof item.task === 'string') {
          found.set(key, { body: JSON.stringify({ task: item.task, input: item.input, jobId: item.jobId }), source: `review:${key.slice(0, 12)}` });
        }
      }
      const missing = keys.filter((key) => !found.has(key));
      if (selection.kind === 'keys' && missing.length > 0) {
        throw new UsageError(
          `no input kept for ${missing.join(', ')}: the ledger keeps inputs only for items in review, and the key is not in the DLQ. ` +
            'Replay it from the producer’s JSONL with --file',
        );
      }
      return [...found.values()].slice(0, limit);
    }
  }
}

/** USD left in this hour's model budget (the processor's own HourlyBudget item); undefined when the stage sets no USD budget. */
export async function budgetLeftUsd(target: PipelineTarget, config: RuntimeConfig, now: number): Promise<number | undefined> {
  if (!(config.budgetUsdPerHour > 0)) return undefined;
  const { Item } = await target.dynamodb.send(
    new GetItemCommand({
      TableName: target.resources.controlTableName,
      Key: { [CONTROL.PARTITION_KEY]: { S: `${CONTROL.BUDGET_PREFIX}${hourOf(now)}` } },
      ConsistentRead: true,
    }),
  );
  const spent = Item ? Number(unmarshall(Item)[BUDGET.COST_USD] ?? 0) : 0;
  return Math.max(0, config.budgetUsdPerHour - spent);
}

/**
 * The breaker store of a replay: reads the shared state (an open breaker is honoured, as the
 * processor would), writes nothing (a replay's failures are not the pipeline's).
 */
class ReadOnlyBreakerStore extends DynamoDbBreakerStore {
  override async record(modelId: string): Promise<BreakerSnapshot> {
    return this.read(modelId);
  }
  override async open(): Promise<boolean> {
    return false;
  }
  override async takeProbe(): Promise<BreakerSnapshot | undefined> {
    return undefined;
  }
  override async closeAfterProbe(): Promise<BreakerSnapshot | undefined> {
    return undefined;
  }
  override async reopenAfterProbe(): Promise<BreakerSnapshot | undefined> {
    return undefined;
  }
  override async releaseProbe(): Promise<BreakerSnapshot | undefined> {
    return undefined;
  }
}

/** A switch source that hands out one fixed set (the replay's: the stored switches, the canary off when a model is named). */
class FixedSwitchSource {
  constructor(private readonly set: SwitchSet) {}
  async read(): Promise<SwitchSet> {
    return this.set;
  }
}

/**
 * Runs the inputs through the processor's fallback chain and diffs each against the ledger.
 * Writes nothing unless `store` is set; then each result goes through the ledger's claim → complete
 * (a settled key stays as it is: the normal idempotent path).
 */
export async function replayInputs(
  target: PipelineTarget,
  config: RuntimeConfig,
  inputs: readonly ReplayInput[],
  options: ReplayOptions = {},
): Promise<ReplayReport> {
  const now = options.now ?? Date.now;
  const effective: RuntimeConfig = options.modelId ? { ...config, primaryModelId: options.modelId } : config;
  const { dynamodb, resources } = target;
  const live = new RuntimeSwitches(new DynamoDbSwitchSource(dynamodb, resources.controlTableName));
  await live.refresh();
  // A named model replays every key on that model: the canary split would send some keys elsewhere.
  const set: SwitchSet = options.modelId ? { ...live.current(), canary: { percent: 0 } } : live.current();
  const switches = new RuntimeSwitches(new FixedSwitchSource(set));
  await switches.refresh();

  const breakerStore = new ReadOnlyBreakerStore(dynamodb, resources.controlTableName);
  const breakers = new Map<string, SharedBreaker>();
  const breakerFor = (modelId: string) => {
    let breaker = breakers.get(modelId);
    if (!breaker) {
      // No burst flush (failureThreshold 0): the store writes nothing anyway.
      breaker = new SharedBreaker(modelId, breakerStore, { ...breakerSettingsOf(config), failureThreshold: 0 });
      breakers.set(modelId, breaker);
    }
    return breaker;
  };
  // Never flushed: the replay's spend is bounded below, not added to the pipeline's hour.
  const budget = new HourlyBudget(dynamodb, resources.controlTableName, { tokensPerHour: 0, usdPerHour: 0 });
  const retryPolicy = new RetryPolicy({
    maxAttempts: config.retryMaxAttempts,
    baseDelayMs: config.retryBaseDelayMs,
    maxDelayMs: config.retryMaxDelayMs,
    callTimeoutMs: config.modelCallTimeoutMs,
  });
  const chain = new FallbackChain({
    config: effective,
    provider: createProvider(effective),
    logger: new Logger({ serviceName: 'pipectl-replay', logLevel: 'SILENT' }),
    breakerFor,
    budget,
    retryPolicy,
    switches,
    now,
  });
  const ledger = new DynamoDbLedgerStore({ client: dynamodb, tableName: resources.ledgerTableName, ttlDays: config.ledgerTtlDays });

  const parsed = inputs.map((input) => {
    try {
      return parseMessage(input.body);
    } catch (error) {
      if (error instanceof RejectedInputError) return error;
      throw error;
    }
  });
  let promptVersion: { readonly task: string; readonly version: string } | undefined;
  if (options.taskVersion !== undefined) {
    const resolved = resolveTaskVersion(options.taskVersion);
    if (typeof resolved === 'string') throw new UsageError(`--task-version: ${resolved}`);
    if (!resolved.current) promptVersion = { task: resolved.task.name, version: resolved.version };
  }
  const keys = parsed.flatMap((message) => (message instanceof RejectedInputError ? [] : [message.key]));
  const ledgerItems = await getLedgerItems(dynamodb, resources.ledgerTableName, keys);

  const rows: ReplayRow[] = [];
  let spent = 0;
  const bound = options.maxCostUsd;
  for (const [index, input] of inputs.entries()) {
    const message = parsed[index];
    options.onProgress?.(index, inputs.length);
    if (message === undefined) continue;
    if (message instanceof RejectedInputError) {
      rows.push({ source: input.source, status: 'rejected', detail: `${message.reason}: ${message.detail}`, changes: [], validationFailures: 0 });
      continue;
    }
    const item = ledgerItems.get(message.key);
    const storedView = item ? storedOf(item) : undefined;
    const base = { source: input.source, key: message.key, task: message.task.name, stored: storedView };
    if (bound !== undefined && spent >= bound) {
      rows.push({ ...base, status: 'skipped', detail: `the replay's cost bound ($${bound.toFixed(4)}) is spent`, changes: [], validationFailures: 0 });
      continue;
    }
    const work: RecordWork = {
      message,
      modelUntil: now() + config.modelCallTimeoutMs * config.retryMaxAttempts + config.retryMaxDelayMs * config.retryMaxAttempts,
      receiveCount: 1,
      callCap: config.modelCallsPerReceive,
      // Settle in this one pass (rules, review) rather than defer to a later receive: a replay has no later receive.
      finalReceive: true,
      metrics: new BatchMetrics(),
      refreshed: new Map(),
      calls: 0,
      tokensIn: 0,
      tokensOut: 0,
      notes: [],
      ...(promptVersion?.task === message.task.name ? { promptVersion: promptVersion.version } : {}),
    };
    let served: Served;
    try {
      served = await chain.serve(work);
    } catch (error) {
      rows.push({ ...base, status: 'error', detail: (error as Error).message, changes: [], validationFailures: 0 });
      continue;
    }
    const price = effective.modelPrices[served.modelId] ?? effective.modelPrices[effective.primaryModelId];
    const costUsd = estimateCostUsd(price, served.tokensIn, served.tokensOut);
    spent += costUsd;
    const validationFailures = served.notes.filter((note) => note.errorClass === INVALID_OUTPUT).length;
    const result = served.tier === TIER.HUMAN ? undefined : served.result;
    const comparison = compareResults(storedView?.result, result);
    let storedNow: ReplayRow['storedNow'];
    if (options.store) storedNow = await storeResult(ledger, message, served, work.promptVersion, now);
    rows.push({
      ...base,
      status: 'replayed',
      detail: served.notes.length > 0 ? served.notes.map((note) => `${note.tier}: ${note.reason}`).join('; ') : undefined,
      replayed: { tier: served.tier, modelId: served.modelId, result, modelCalls: served.modelCalls, costUsd },
      ...comparison,
      validationFailures,
      ...(storedNow ? { storedNow } : {}),
    });
  }
  options.onProgress?.(inputs.length, inputs.length);
  return { rows, summary: summarize(rows, effective.primaryModelId, bound) };
}

/** The parts of a ledger item a replay compares with. */
function storedOf(item: LedgerItem): NonNullable<ReplayRow['stored']> {
  return {
    status: item.status,
    ...(typeof item.tier === 'string' ? { tier: item.tier } : {}),
    ...(typeof item.modelId === 'string' ? { modelId: item.modelId } : {}),
    ...(item.result !== undefined ? { result: item.result } : {}),
  };
}

/** `--store`: the processor's claim → complete on the key; a key settled before is left alone. */
async function storeResult(
  ledger: DynamoDbLedgerStore,
  message: ParsedMessage,
  served: Served,
  promptVersion: string | undefined,
  now: () => number,
): Promise<NonNullable<ReplayRow['storedNow']>> {
  if (served.tier === TIER.HUMAN) return 'not-stored';
  const claimToken = randomUUID();
  const claim = await ledger.claim({
    key: message.key,
    task: message.task.name,
    taskVersion: message.task.version,
    messageId: `replay-${claimToken}`,
    jobId: message.jobId,
    claimToken,
    leaseUntil: now() + 60_000,
    now: now(),
  });
  if (claim.kind === 'duplicate') return 'already-settled';
  if (claim.kind === 'claimed-elsewhere') return 'held-elsewhere';
  const written = await ledger.complete({ ...completionOf(message, served, claimToken, now()), ...(promptVersion ? { promptVersion } : {}) });
  return written.kind === 'applied' ? 'completed' : 'already-settled';
}

function summarize(rows: readonly ReplayRow[], modelId: string, bound: number | undefined): ReplaySummary {
  const replayed = rows.filter((row) => row.status === 'replayed');
  const compared = replayed.filter((row) => row.agrees !== undefined);
  const agree = compared.filter((row) => row.agrees).length;
  const shifts = replayed.flatMap((row) => (row.confidenceShift === undefined ? [] : [row.confidenceShift]));
  const byTier: Record<string, number> = {};
  for (const row of replayed) if (row.replayed) byTier[row.replayed.tier] = (byTier[row.replayed.tier] ?? 0) + 1;
  const costUsd = replayed.reduce((sum, row) => sum + (row.replayed?.costUsd ?? 0), 0);
  return {
    inputs: rows.length,
    replayed: replayed.length,
    rejected: rows.filter((row) => row.status === 'rejected').length,
    skipped: rows.filter((row) => row.status === 'skipped').length,
    errors: rows.filter((row) => row.status === 'error').length,
    compared: compared.length,
    agree,
    disagree: compared.length - agree,
    agreementPercent: compared.length > 0 ? Math.round((agree / compared.length) * 1000) / 10 : null,
    meanConfidenceShift: shifts.length > 0 ? Math.round((shifts.reduce((a, b) => a + b, 0) / shifts.length) * 1000) / 1000 : null,
    validationFailures: replayed.reduce((sum, row) => sum + row.validationFailures, 0),
    byTier,
    costUsd: Math.round(costUsd * 1e6) / 1e6,
    costBoundUsd: bound ?? null,
    modelId,
    stored: rows.filter((row) => row.storedNow === 'completed').length,
  };
}

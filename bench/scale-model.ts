/**
 * The pipeline at 1k, 10k and 50k messages per second on paper (issue 17): requests per second on
 * each shared ("hot") DynamoDB item, Lambda concurrency, SQS API calls and cost per hour, computed
 * from the measured per-message figures of `npm run bench` (bench/results.json) and the design's
 * per-time constants. A model, not a measurement: what it cannot know is stated as an assumption.
 *
 *   npx tsx bench/scale-model.ts                  # markdown tables from bench/results.json
 *   npx tsx bench/scale-model.ts --json
 *
 * One DynamoDB partition takes about 1,000 writes/s and 3,000 reads/s; an item lives in one
 * partition, so an item read or written by every environment is the ceiling. The design goal: no
 * hot item above 50% of that at 50k messages/s.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SWITCH_REFRESH_MS } from '../lambda/contract';
import { BUDGET_FLUSH_DELAY_MS } from '../lambda/resilience/budget';
import { PRICES } from './prices';

/** One partition's limits, and the share of them the design may use. */
export const PARTITION = { writesPerSecond: 1000, readsPerSecond: 3000, share: 0.5 } as const;

/** What the model assumes beyond the bench (each stated in docs/performance.md). */
export const ASSUMPTIONS = {
  /** Messages per batch (the stage config's eventSource.batchSize). */
  batchSize: 10,
  /** Model latency per batch on AWS: records of a batch call the model in parallel. */
  modelLatencyMsPerBatch: 1000,
  /** Share of messages that are re-sends of an input already done. */
  duplicates: 0.2,
  /** A quiet breaker's read interval (SharedBreaker quietCacheMs = the switches' interval). */
  quietBreakerReadMs: SWITCH_REFRESH_MS,
  /** An open breaker's read interval during an outage (SharedBreaker openCacheMs: 2.5 × BREAKER_CACHE_MS). */
  openBreakerReadMs: 5000,
  /** Model calls per message on the happy path (one per fresh message). */
  modelCallsPerFreshMessage: 1,
} as const;

/** The per-message figures the model starts from (bench/results.json, zero-latency run). */
export interface MeasuredFigures {
  readonly writesPerFreshMessage: number;
  readonly readsPerFreshMessage: number;
  readonly requestsPerDuplicate: number;
  readonly sqsRequestsPerMessage: number;
  readonly lambdaMsPerMessage: number;
  readonly costPerMessageUsd: number;
  readonly memoryMb: number;
}

export function measuredFigures(results: {
  readonly results: ReadonlyArray<{
    readonly variant: string;
    readonly profile: string;
    readonly lambdaMsPerMessage: number;
    readonly sqsRequestsPerMessage: number;
    readonly fresh: { readonly messages: number; readonly dynamodbWrites: number; readonly dynamodbReads: number };
    readonly duplicate: { readonly messages: number; readonly dynamodbWrites: number; readonly dynamodbReads: number };
  }>;
  readonly settings: { readonly memoryMb: number };
  readonly cost: { readonly perMillion: { readonly pipeline: { readonly total: number } } };
}): MeasuredFigures {
  const run = results.results.find((result) => result.variant === 'pipeline' && result.profile === 'zero-latency');
  if (!run) throw new Error('bench/results.json has no pipeline zero-latency run');
  return {
    writesPerFreshMessage: run.fresh.dynamodbWrites / run.fresh.messages,
    readsPerFreshMessage: run.fresh.dynamodbReads / run.fresh.messages,
    requestsPerDuplicate: (run.duplicate.dynamodbWrites + run.duplicate.dynamodbReads) / run.duplicate.messages,
    sqsRequestsPerMessage: run.sqsRequestsPerMessage,
    lambdaMsPerMessage: run.lambdaMsPerMessage,
    costPerMessageUsd: results.cost.perMillion.pipeline.total / 1e6,
    memoryMb: results.settings.memoryMb,
  };
}

/** One hot item: its requests per second and how much of a partition that is. */
export interface HotItem {
  readonly item: string;
  /** Items the counter is spread over (1: not sharded); the figures are per shard. */
  readonly shards: number;
  readonly writesPerSecond: number;
  readonly readsPerSecond: number;
  /** The larger of writes/limit and reads/limit. */
  readonly partitionShare: number;
  readonly how: string;
}

export interface ScaleRow {
  readonly messagesPerSecond: number;
  /** Concurrent execution environments (Little's law: arrival rate × time in the function). */
  readonly lambdaConcurrency: number;
  readonly sqsRequestsPerSecond: number;
  readonly dynamodbWritesPerSecond: number;
  readonly dynamodbReadsPerSecond: number;
  readonly costPerHourUsd: number;
  readonly hot: readonly HotItem[];
}

/** Shards a counter needs so that each takes at most the design's share of a partition's writes. */
export function shardsFor(writesPerSecond: number): number {
  return Math.max(1, Math.ceil(writesPerSecond / (PARTITION.writesPerSecond * PARTITION.share)));
}

function hot(item: string, writesPerSecond: number, readsPerSecond: number, how: string, shards = 1): HotItem {
  const partitionShare = Math.max(writesPerSecond / PARTITION.writesPerSecond, readsPerSecond / PARTITION.readsPerSecond);
  return { item, shards, writesPerSecond, readsPerSecond, partitionShare, how };
}

/** The model at one message rate. */
export function scaleRow(messagesPerSecond: number, figures: MeasuredFigures): ScaleRow {
  const { batchSize, modelLatencyMsPerBatch, duplicates, quietBreakerReadMs, openBreakerReadMs } = ASSUMPTIONS;
  const secondsPerMessage = (figures.lambdaMsPerMessage + modelLatencyMsPerBatch / batchSize) / 1000;
  const concurrency = Math.ceil(messagesPerSecond * secondsPerMessage);
  const fresh = messagesPerSecond * (1 - duplicates);
  const calls = fresh * ASSUMPTIONS.modelCallsPerFreshMessage;

  // The budget: one ADD per environment per BUDGET_FLUSH_DELAY_MS, on one item per hour — unless
  // that is more than the share allows; then the counter is sharded (budget#<hour>#<n>), each
  // environment writing one shard and reading the others with one BatchGetItem per flush.
  const budgetWrites = concurrency / (BUDGET_FLUSH_DELAY_MS / 1000);
  const budgetShards = shardsFor(budgetWrites);
  const budget = hot(
    'budget item per hour',
    budgetWrites / budgetShards,
    budgetShards > 1 ? budgetWrites : 0,
    budgetShards > 1
      ? `one ADD per environment per ${BUDGET_FLUSH_DELAY_MS / 1000} s on its shard; totals by one BatchGetItem of all shards per flush`
      : `one ADD per environment per ${BUDGET_FLUSH_DELAY_MS / 1000} s (ALL_NEW gives the total: no read)`,
    budgetShards,
  );
  const breakerQuiet = hot(
    'breaker item per model (quiet)',
    0,
    concurrency / (quietBreakerReadMs / 1000),
    `one read per environment per ${quietBreakerReadMs / 1000} s; no write on the happy path`,
  );
  const breakerOpen = hot(
    'breaker item per model (open, outage)',
    0,
    concurrency / (openBreakerReadMs / 1000),
    `one read per environment per ${openBreakerReadMs / 1000} s; records are given back unclaimed, so no count writes`,
  );
  const switches = hot('runtime switches item', 0, concurrency / (SWITCH_REFRESH_MS / 1000), `one read per environment per ${SWITCH_REFRESH_MS / 1000} s`);
  // Quota pacing: one conditional ADD per call on the current slot item; with a quota large
  // enough for the traffic the slots are sharded the same way (quota / shards each).
  const quotaShards = shardsFor(calls);
  const quota = hot('quota slot item (a quota configured)', calls / quotaShards, 0, 'one conditional ADD per model call on the current slot', quotaShards);
  const jobs = hot('job registry item (per job)', 0, 0, 'not touched by the processor: pipectl send writes it once, the reconciler reads it on its schedule');
  const ledger = hot('ledger item (per input key)', 2 / 3600, 0, 'two writes in its life (claim, complete): never hot');

  const dynamodbWrites = fresh * figures.writesPerFreshMessage + messagesPerSecond * duplicates * figures.requestsPerDuplicate;
  const dynamodbReads = fresh * figures.readsPerFreshMessage + (budgetShards > 1 ? budgetWrites : 0);
  const sqs = messagesPerSecond * figures.sqsRequestsPerMessage;
  return {
    messagesPerSecond,
    lambdaConcurrency: concurrency,
    sqsRequestsPerSecond: sqs,
    dynamodbWritesPerSecond: dynamodbWrites,
    dynamodbReadsPerSecond: dynamodbReads,
    // The bench's cost per message (zero model latency) plus the Lambda time the model latency adds.
    costPerHourUsd:
      messagesPerSecond *
      3600 *
      (figures.costPerMessageUsd + (modelLatencyMsPerBatch / batchSize / 1000) * (figures.memoryMb / 1024) * PRICES.lambdaArmPerGbSecond),
    hot: [budget, breakerQuiet, breakerOpen, switches, quota, jobs, ledger],
  };
}

const fixed = (value: number, digits = 0) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The tables: totals per rate, then each hot item's requests/s and share of a partition per rate. */
export function scaleTables(rows: readonly ScaleRow[]): string {
  const head = `| | ${rows.map((row) => `${fixed(row.messagesPerSecond)} msg/s`).join(' | ')} |`;
  const rule = `| --- | ${rows.map(() => '---:').join(' | ')} |`;
  const line = (label: string, pick: (row: ScaleRow) => string) => `| ${label} | ${rows.map(pick).join(' | ')} |`;
  const totals = [
    head,
    rule,
    line('Lambda concurrency', (row) => fixed(row.lambdaConcurrency)),
    line('SQS requests/s', (row) => fixed(row.sqsRequestsPerSecond)),
    line('DynamoDB writes/s (all items)', (row) => fixed(row.dynamodbWritesPerSecond)),
    line('DynamoDB reads/s (all items)', (row) => fixed(row.dynamodbReadsPerSecond)),
    line('cost per hour, USD (no model price)', (row) => fixed(row.costPerHourUsd, 2)),
  ];
  const items = (rows[0]?.hot ?? []).map((first, index) =>
    line(first.item, (row) => {
      const item = row.hot[index] as HotItem;
      const shards = item.shards > 1 ? `, ${item.shards} shards` : '';
      return `${fixed(item.writesPerSecond)} w + ${fixed(item.readsPerSecond)} r (${fixed(item.partitionShare * 100)}%${shards})`;
    }),
  );
  return [
    ...totals,
    '',
    `| hot item: requests/s (share of one partition) | ${rows.map((row) => `${fixed(row.messagesPerSecond)} msg/s`).join(' | ')} |`,
    rule,
    ...items,
  ].join('\n');
}

if (require.main === module) {
  const results = JSON.parse(readFileSync(join(__dirname, 'results.json'), 'utf8'));
  const figures = measuredFigures(results);
  const rows = [1000, 10_000, 50_000].map((rate) => scaleRow(rate, figures));
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify({ figures, assumptions: ASSUMPTIONS, rows }, null, 2)}\n`);
  else {
    process.stdout.write(`${scaleTables(rows)}\n`);
    const over = rows.flatMap((row) =>
      row.hot.filter((item) => item.partitionShare > PARTITION.share).map((item) => `${item.item} at ${row.messagesPerSecond} msg/s`),
    );
    process.stdout.write(
      over.length > 0
        ? `\nover ${PARTITION.share * 100}% of a partition: ${over.join('; ')}\n`
        : `\nno hot item above ${PARTITION.share * 100}% of a partition\n`,
    );
  }
}

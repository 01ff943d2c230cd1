/**
 * The drift monitor at scale: one hour of N completed ledger items (100,000 by default), then one
 * drift run as the deployed monitor does it (1 h window, 16 shards allowed, the 20,000-item bound
 * from the stage config), and one that reads everything, for comparison. A benchmark, not a test:
 * it prints a table and writes bench/drift-results.json; nothing here fails on a slow machine.
 * Loopback only (the embedded DynamoDB), bounded, and it stops by itself.
 *
 *   npx tsx bench/drift-scale.ts                      # 100,000 items
 *   npx tsx bench/drift-scale.ts --items 20000 --items 200000
 *
 * The items are what the processor's completion writes (pk = a SHA-256, hourShard, completedAt,
 * task, the six ticket-triage features), written with BatchWriteItem; read units are the ones
 * DynamoDB's rules give (dynalite computes them per page: 0.5 per 4 KB, eventually consistent).
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { Command } from 'commander';
import { LEDGER, LEDGER_STATUS } from '../lambda/contract';
import { hourShardKey } from '../lambda/ledger/ledger-index';
import { writeBaseline } from '../lambda/monitors/baseline-store';
import { runDrift } from '../lambda/monitors/drift-monitor';
import { DECILES, LENGTH_BUCKETS } from '../lambda/tasks/task-features';
import { loadStageConfig } from '../lib/config/stage-load';
import { LOCAL_CREDENTIALS, OBSERVER_USER_AGENT } from '../local/emulators';
import { startLocalPipeline } from '../local/local-pipeline';
import { synthesizeLocalStack } from '../local/stack-model';

const program = new Command()
  .option(
    '--items <n>',
    'completed items in the hour (repeatable)',
    (value: string, previous: number[]) => [...previous, Number.parseInt(value, 10)],
    [] as number[],
  )
  .option('--out <file>', 'where to write the JSON results', join(__dirname, 'drift-results.json'))
  .parse();
const options = program.opts<{ items: number[]; out: string }>();
const sizes = options.items.length > 0 ? options.items : [100_000];

const CATEGORIES = ['billing', 'technical', 'account', 'shipping', 'feature_request', 'other'];
const PRIORITIES = ['low', 'medium', 'high', 'urgent'];
const TIERS = ['free', 'pro', 'enterprise', 'unknown'];

/** Deterministic, realistic features for item `index` (a fixed mix, so a full read has PSI 0 against itself). */
function features(index: number): Record<string, string> {
  const pick = <T>(values: readonly T[], salt: number) => values[(index * 2654435761 + salt) % values.length] as T;
  return {
    inputLength: pick(LENGTH_BUCKETS, 1),
    customerTier: pick(TIERS, 2),
    category: pick(CATEGORIES, 3),
    priority: pick(PRIORITIES, 4),
    confidence: pick(DECILES, 5),
    servingTier: index % 50 === 0 ? 'rules' : 'primary',
  };
}

async function writeHour(client: DynamoDBClient, table: string, count: number, hourStart: number): Promise<number> {
  const started = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const start = next;
      next += 25;
      const items = [];
      for (let index = start; index < Math.min(count, start + 25); index += 1) {
        const key = createHash('sha256').update(`bench-${count}-${index}`).digest('hex');
        const completedAt = hourStart + Math.floor((3_599_000 * index) / count);
        items.push({
          PutRequest: {
            Item: marshall({
              [LEDGER.PARTITION_KEY]: key,
              [LEDGER.STATUS]: LEDGER_STATUS.COMPLETED,
              [LEDGER.TASK]: 'ticket-triage',
              [LEDGER.COMPLETED_AT]: completedAt,
              [LEDGER.HOUR_SHARD]: hourShardKey(completedAt, key),
              [LEDGER.FEATURES]: features(index),
              tier: 'primary',
            }),
          },
        });
      }
      let pending: typeof items | undefined = items;
      while (pending && pending.length > 0) {
        const response = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }));
        pending = response.UnprocessedItems?.[table] as typeof items | undefined;
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return (Date.now() - started) / 1000;
}

async function main(): Promise<void> {
  const config = loadStageConfig('dev');
  const stack = synthesizeLocalStack();
  const results = [];
  for (const count of sizes) {
    const pipeline = await startLocalPipeline({ stack, monitors: false, autoStart: false });
    const client = new DynamoDBClient({
      region: pipeline.emulators.region,
      endpoint: pipeline.emulators.dynamodbEndpoint,
      credentials: LOCAL_CREDENTIALS,
      customUserAgent: OBSERVER_USER_AGENT,
    });
    try {
      const hourStart = Date.UTC(2026, 10, 23, 10);
      const now = hourStart + 3_600_000;
      process.stderr.write(`writing ${count} completed items into one hour…\n`);
      const writeSeconds = await writeHour(client, pipeline.resources.ledgerTableName, count, hourStart);
      // A baseline with the same mix, so the run does the whole comparison, not just the read.
      const baseline = Array.from({ length: 10_000 }, (_, index) => features(index));
      const histograms: Record<string, Record<string, number>> = {};
      for (const item of baseline) {
        for (const [name, bin] of Object.entries(item)) {
          const histogram = (histograms[name] ??= {});
          histogram[bin] = (histogram[bin] ?? 0) + 1;
        }
      }
      await writeBaseline(client, pipeline.resources.controlTableName, {
        task: 'ticket-triage',
        source: 'pinned',
        from: hourStart - 86_400_000,
        to: hourStart,
        items: 10_000,
        histograms,
        pinnedAt: hourStart,
      });

      const measure = async (label: string, sampleShards: number, maxItems: number) => {
        const heapBefore = process.memoryUsage().heapUsed;
        const started = process.hrtime.bigint();
        const run = await runDrift(
          {
            client,
            ledgerTable: pipeline.resources.ledgerTableName,
            controlTable: pipeline.resources.controlTableName,
            stage: 'dev',
            windowMs: config.drift.windowMinutes * 60_000,
            options: config.drift,
            sampleShards,
            maxItems,
          },
          now,
        );
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        return {
          label,
          itemsInHour: count,
          itemsRead: run.sample.items,
          shardsRead: run.sample.shardsRead,
          truncated: run.sample.truncated,
          queries: run.requests,
          readUnits: run.readUnits,
          seconds: Math.round(seconds * 100) / 100,
          heapGrowthMb: Math.round(((process.memoryUsage().heapUsed - heapBefore) / 1_048_576) * 10) / 10,
          maxScore: run.maxScore,
        };
      };
      const bounded = await measure('deployed defaults (16 shards allowed, 20,000-item bound)', config.drift.sampleShards, config.drift.maxItemsPerRun);
      const full = await measure('everything (no bound)', 16, 10_000_000);
      results.push({ items: count, writeSeconds, bounded, full });
    } finally {
      client.destroy();
      await pipeline.stop();
    }
  }
  const output = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, results };
  writeFileSync(options.out, `${JSON.stringify(output, null, 2)}\n`);
  for (const result of results) {
    for (const run of [result.bounded, result.full]) {
      process.stdout.write(
        `${String(result.items).padStart(8)} items/h | ${run.label.padEnd(58)} | read ${String(run.itemsRead).padStart(7)} items from ${String(run.shardsRead).padStart(2)} shards in ${String(run.queries).padStart(4)} queries, ` +
          `${String(run.readUnits).padStart(7)} RCU, ${run.seconds.toFixed(2).padStart(6)} s, max PSI ${run.maxScore?.toFixed(4)}\n`,
      );
    }
  }
  process.stdout.write(`written to ${options.out}\n`);
}

void main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});

import { createHash } from 'node:crypto';
import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DRIFT_BASELINE_SOURCE,
  DRIFT_MAX_FEATURE,
  LEDGER,
  LEDGER_STATUS,
  METRIC,
  METRIC_DIMENSION,
  METRIC_SERVICE,
  METRICS_NAMESPACE,
} from '../../lambda/contract';
import { hourShardKey } from '../../lambda/ledger/ledger-index';
import { buildBaseline, markFirstSeen, readBaseline } from '../../lambda/monitors/baseline-store';
import { runDrift } from '../../lambda/monitors/drift-monitor';
import { readCompletedWindow } from '../../lambda/monitors/ledger-reader';
import { LOCAL_CREDENTIALS, OBSERVER_USER_AGENT } from '../../local/emulators';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { sendBodies, waitForDrain } from '../../local/run-local';
import { MONITOR_NAMES } from '../../local/scheduled-monitors';
import { type LocalStackModel, synthesizeLocalStack } from '../../local/stack-model';
import { buildWorkload } from '../../local/workload-generator/ticket-workload';

/*
 * The drift monitor on the real ledger (dynalite, indexes from the template): the shard sample
 * against the full count, the first-full-day baseline, and two local runs of the bundled monitor —
 * a workload shifted to one category fires the drift alarms, a fresh sample of the normal workload
 * does not. Both runs compare with the baseline local mode pins from examples/tickets.jsonl.
 */

let stack: LocalStackModel;
const pipelines: LocalPipeline[] = [];

beforeAll(() => {
  stack = synthesizeLocalStack();
}, 120_000);

// Each case's pipeline is stopped when the case ends, not when the file does: an idle pipeline
// still ticks (poller, alarm evaluator, emulators), and the first three would otherwise idle
// through the two 300-message runs at real time.
afterEach(async () => {
  await Promise.all(pipelines.splice(0).map((pipeline) => pipeline.stop()));
});

async function start(options: Parameters<typeof startLocalPipeline>[0] = {}): Promise<LocalPipeline> {
  const pipeline = await startLocalPipeline({ stack, ...options });
  pipelines.push(pipeline);
  return pipeline;
}

function observer(pipeline: LocalPipeline): DynamoDBClient {
  return new DynamoDBClient({
    region: pipeline.emulators.region,
    endpoint: pipeline.emulators.dynamodbEndpoint,
    credentials: LOCAL_CREDENTIALS,
    customUserAgent: OBSERVER_USER_AGENT,
  });
}

const CATEGORIES = ['billing', 'technical', 'account', 'shipping'] as const;

/** Completed ledger items as the processor's completion leaves them (test/integration/ledger-store.test.ts checks that write). */
async function writeCompleted(
  client: DynamoDBClient,
  table: string,
  items: ReadonlyArray<{ key: string; completedAt: number; category: string }>,
): Promise<void> {
  for (let start = 0; start < items.length; start += 25) {
    const chunk = items.slice(start, start + 25);
    await client.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [table]: chunk.map((item) => ({
            PutRequest: {
              Item: marshall({
                [LEDGER.PARTITION_KEY]: item.key,
                [LEDGER.STATUS]: LEDGER_STATUS.COMPLETED,
                [LEDGER.TASK]: 'ticket-triage',
                [LEDGER.COMPLETED_AT]: item.completedAt,
                [LEDGER.HOUR_SHARD]: hourShardKey(item.completedAt, item.key),
                [LEDGER.FEATURES]: { category: item.category },
              }),
            },
          })),
        },
      }),
    );
  }
}

/** `count` items completed in [from, from + spanMs), categories in the given shares (deterministic keys). */
function items(prefix: string, count: number, from: number, spanMs: number, shares: readonly number[]) {
  return Array.from({ length: count }, (_, index) => {
    const position = index / count;
    let cumulative = 0;
    const category = CATEGORIES.find((_, at) => (cumulative += shares[at] as number) > position) ?? CATEGORIES[CATEGORIES.length - 1];
    return { key: createHash('sha256').update(`${prefix}-${index}`).digest('hex'), completedAt: from + Math.floor((spanMs * index) / count), category };
  });
}

describe('the shard sample', () => {
  it('reads whole shards, each a uniform 1/16: four shards estimate the full count within 10 % and its shares within 4 points', async () => {
    // Prepare: 4,000 completions in one hour, 40/30/20/10 % over four categories
    const pipeline = await start({ monitors: false, autoStart: false });
    const client = observer(pipeline);
    const hour = Date.UTC(2026, 10, 20, 9);
    await writeCompleted(client, pipeline.resources.ledgerTableName, items('sample', 4000, hour, 3_000_000, [0.4, 0.3, 0.2, 0.1]));
    const window = { from: hour, to: hour + 3_600_000 };

    // Act
    const full = await readCompletedWindow(client, pipeline.resources.ledgerTableName, { ...window, maxItems: 1_000_000 });
    const sample = await readCompletedWindow(client, pipeline.resources.ledgerTableName, { ...window, sampleShards: 4, maxItems: 1_000_000 });
    const bounded = await readCompletedWindow(client, pipeline.resources.ledgerTableName, { ...window, maxItems: 700 });

    // Assess: the full read is exact; the sample's binomial sd is √(4000·¼·¾)/1000 = 2.7 % of the estimate
    expect(full).toMatchObject({ shardsRead: 16, fraction: 1, truncated: false });
    expect(full.items).toHaveLength(4000);
    expect(sample.shardsRead).toBe(4);
    expect(Math.abs(sample.items.length / sample.fraction - 4000) / 4000).toBeLessThan(0.1);
    for (const [index, category] of CATEGORIES.entries()) {
      const share = sample.items.filter((item) => item.features?.category === category).length / sample.items.length;
      expect(Math.abs(share - [0.4, 0.3, 0.2, 0.1][index]!)).toBeLessThan(0.04);
    }
    // The item bound holds whatever the traffic, still in whole shards
    expect(bounded.items.length).toBeLessThanOrEqual(700);
    expect(bounded.truncated).toBe(false);
    expect(Math.abs(bounded.items.length / bounded.fraction - 4000) / 4000).toBeLessThan(0.2);
    expect(bounded.requests).toBeLessThan(full.requests);
    client.destroy();
  }, 120_000);
});

describe('the first-full-day baseline', () => {
  it('waits for the first full UTC day after it first saw a task, then pins it and compares with it', async () => {
    // Prepare: first seen on day 0 at 10:00; day 1 is 50/50 billing/technical; the window after it is 90 % billing
    const pipeline = await start({ monitors: false, autoStart: false });
    const client = observer(pipeline);
    const day0 = Date.UTC(2026, 10, 16);
    const day1 = day0 + 86_400_000;
    const day2 = day1 + 86_400_000;
    await markFirstSeen(client, pipeline.resources.controlTableName, 'ticket-triage', day0 + 10 * 3_600_000);
    await writeCompleted(client, pipeline.resources.ledgerTableName, items('day1', 2400, day1, 86_400_000, [0.5, 0.5, 0, 0]));
    await writeCompleted(client, pipeline.resources.ledgerTableName, items('day2', 600, day2, 1_800_000, [0.9, 0.1, 0, 0]));
    const context = {
      client,
      ledgerTable: pipeline.resources.ledgerTableName,
      controlTable: pipeline.resources.controlTableName,
      stage: 'dev',
      windowMs: 3_600_000,
      options: { epsilon: 1e-4, minSampleSize: 50, smallSampleSize: 1000, significanceLevel: 0.01 },
      sampleShards: 16,
      maxItems: 20_000,
    };

    // Act
    const during = await runDrift(context, day1 + 12 * 3_600_000, { manageBaselines: true });
    const after = await runDrift(context, day2 + 1_800_000, { manageBaselines: true });

    // Assess
    expect(during.tasks).toEqual([expect.objectContaining({ task: 'ticket-triage', status: 'baseline-pending', baselineDueAt: day2 })]);
    expect(during.maxScore).toBeUndefined();
    expect(after.baselinesPinned).toEqual(['ticket-triage']);
    expect(await readBaseline(client, pipeline.resources.controlTableName, 'ticket-triage')).toMatchObject({
      source: DRIFT_BASELINE_SOURCE.FIRST_FULL_DAY,
      from: day1,
      to: day2,
      items: 2400,
      histograms: { category: { billing: 1200, technical: 1200 } },
    });
    // The window [day2 − 30 min, day2 + 30 min) holds 50 day-1 items and the 600 shifted ones
    expect(after.tasks[0]).toMatchObject({ status: 'scored', windowItems: 650 });
    expect(after.maxScore).toBeGreaterThan(0.25);
    client.destroy();
  }, 120_000);

  it('pins a window on request, as `pipectl drift baseline --from --to` does, and refuses an empty one', async () => {
    const pipeline = await start({ monitors: false, autoStart: false });
    const client = observer(pipeline);
    const from = Date.UTC(2026, 10, 10, 6);
    await writeCompleted(client, pipeline.resources.ledgerTableName, items('pin', 300, from, 600_000, [0.25, 0.25, 0.25, 0.25]));
    const options = { sampleShards: 16, maxItems: 10_000, source: DRIFT_BASELINE_SOURCE.PINNED, pinnedAt: from + 1, pinnedBy: 'test' } as const;

    const baseline = await buildBaseline(client, pipeline.resources.ledgerTableName, 'ticket-triage', from, from + 600_000, options);

    expect(baseline).toMatchObject({ items: 300, histograms: { category: { billing: 75, technical: 75, account: 75, shipping: 75 } } });
    await expect(buildBaseline(client, pipeline.resources.ledgerTableName, 'ticket-triage', from - 7_200_000, from - 3_600_000, options)).rejects.toThrow(
      /no completed ticket-triage item/,
    );
    client.destroy();
  });
});

describe('local runs against the reference baseline', () => {
  /** Sends a workload, waits for the queue to drain, runs the bundled drift monitor once, reads the alarms. */
  async function run(bodies: readonly string[]) {
    // At real time: a busy machine then cannot time out invocations and push answers to a
    // fallback tier, which would be a real serving-tier drift, not the one these tests are about.
    const pipeline = await start({ timeScale: 1, monitors: { autoStart: false } });
    await sendBodies(pipeline.sqs, pipeline.resources.inputQueueUrl, bodies);
    expect(await waitForDrain(pipeline, 60_000)).toBe(true);
    const [monitorRun] = await pipeline.monitors!.runOnce(MONITOR_NAMES.DRIFT_MONITOR);
    const alarms = await pipeline.alarms.finish();
    const published = pipeline.logs.metrics.values(
      {
        namespace: METRICS_NAMESPACE,
        name: METRIC.DRIFT_SCORE,
        dimensions: {
          [METRIC_DIMENSION.SERVICE]: METRIC_SERVICE.DRIFT_MONITOR,
          [METRIC_DIMENSION.STAGE]: 'dev',
          [METRIC_DIMENSION.FEATURE]: DRIFT_MAX_FEATURE,
        },
      },
      0,
      Number.POSITIVE_INFINITY,
    );
    const state = (id: string) => alarms.find((alarm) => alarm.id === id)?.state;
    return { pipeline, monitorRun, published, state };
  }

  it('fires drift-warning and drift-critical when one category dominates the input', async () => {
    // Prepare: 300 tickets, every one about billing (what `examples/write-tickets.ts --only billing` writes)
    const bodies = buildWorkload({ count: 300, seed: 3, category: 'billing', duplicateRate: 0, badLines: false }).map((line) => line.text);

    // Act
    const { pipeline, monitorRun, published, state } = await run(bodies);

    // Assess
    expect(pipeline.monitors!.referenceBaselines.map((baseline) => baseline.task)).toEqual(['ticket-triage']);
    expect(monitorRun?.result.kind).toBe('ok');
    const summary = (monitorRun!.result as { result: { maxScore: number; tasks: Array<{ status: string }> } }).result;
    expect(summary.tasks).toEqual([expect.objectContaining({ status: 'scored' })]);
    expect(summary.maxScore).toBeGreaterThan(0.25);
    expect(published).toEqual([summary.maxScore]);
    expect(state('drift-critical')).toBe('ALARM');
    expect(state('drift-warning')).toBe('ALARM');
  }, 180_000);

  it('stays under the ticket threshold for a fresh sample of the normal workload', async () => {
    // Prepare: 300 tickets from the same generator as the reference, another seed
    const bodies = buildWorkload({ count: 300, seed: 11, duplicateRate: 0, badLines: false }).map((line) => line.text);

    // Act
    const { monitorRun, published, state } = await run(bodies);

    // Assess
    const summary = (monitorRun!.result as { result: { maxScore: number } }).result;
    expect(summary.maxScore).toBeLessThan(0.1);
    expect(published).toEqual([summary.maxScore]);
    expect(state('drift-warning')).not.toBe('ALARM');
    expect(state('drift-critical')).not.toBe('ALARM');
  }, 180_000);
});

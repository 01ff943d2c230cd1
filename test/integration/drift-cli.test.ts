import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRIFT_BASELINE_SOURCE } from '../../lambda/contract';
import { readBaseline } from '../../lambda/monitors/baseline-store';
import { LOCAL_CREDENTIALS, OBSERVER_USER_AGENT } from '../../local/emulators';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { sendBodies, waitForDrain } from '../../local/run-local';
import { synthesizeLocalStack } from '../../local/stack-model';
import { servedEndpoints, writeServeFile } from '../../pipectl/local-endpoints';
import { buildWorkload } from '../../local/workload-generator/ticket-workload';
import { pipectl } from '../pipectl/cli-harness';

/*
 * `pipectl drift` and `pipectl drift baseline` as an on-call engineer runs them against a local
 * pipeline (`--local <serve file>`), parsed by commander in-process, over HTTP to the emulators.
 */

const scratch = mkdtempSync(join(tmpdir(), 'pipectl-drift-'));
const serveFile = join(scratch, 'serve.json');
let pipeline: LocalPipeline;
let client: DynamoDBClient;

beforeAll(async () => {
  // At real time, so a busy machine cannot time out invocations and change the counts below.
  pipeline = await startLocalPipeline({ stack: synthesizeLocalStack(), timeScale: 1, monitors: { autoStart: false } });
  const { emulators, resources } = pipeline;
  writeServeFile(servedEndpoints(pipeline), serveFile);
  client = new DynamoDBClient({
    region: emulators.region,
    endpoint: emulators.dynamodbEndpoint,
    credentials: LOCAL_CREDENTIALS,
    customUserAgent: OBSERVER_USER_AGENT,
  });
  // Traffic that moved: every ticket about shipping.
  const bodies = buildWorkload({ count: 200, seed: 5, category: 'shipping', duplicateRate: 0, badLines: false }).map((line) => line.text);
  await sendBodies(pipeline.sqs, resources.inputQueueUrl, bodies);
  expect(await waitForDrain(pipeline, 60_000)).toBe(true);
}, 120_000);

afterAll(async () => {
  client?.destroy();
  await pipeline?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('pipectl drift', () => {
  it('prints the per-feature table, the baseline window and the bins that moved most', async () => {
    // Act
    const run = await pipectl(['drift', '--local', serveFile]);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/baseline {2}reference, \d{4}-\d\d-\d\dT/);
    expect(run.stdout).toMatch(/^category\s+\d+\.\d{3}\s+chi²\s+\S+\s+\d+\s+\d+\.\d{3} PAGE\s+shipping \d+\.\d%→(9\d|100)\.\d%/m);
    expect(run.stdout).toMatch(/^confidence\s+\S+\s+KS\s/m);
    expect(run.stdout).toMatch(/max score \d+\.\d{3} PAGE {2}\(ticket at 0\.1, page at 0\.25\)/);
  });

  it('gives the whole run as JSON', async () => {
    const run = await pipectl(['drift', '--local', serveFile, '--json']);
    const parsed = JSON.parse(run.stdout) as { maxScore: number; tasks: Array<{ task: string; features: Array<{ feature: string }> }> };
    expect(parsed.maxScore).toBeGreaterThan(0.25);
    expect(parsed.tasks[0]?.features.map((feature) => feature.feature)).toEqual([
      'category',
      'confidence',
      'customerTier',
      'inputLength',
      'priority',
      'servingTier',
    ]);
  });

  it('says there is nothing to compare in an empty window', async () => {
    const run = await pipectl(['drift', '--local', serveFile, '--at', '2h', '--window', '10m']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('no completed item in the window');
  });

  it('refuses a bad window with a usage error', async () => {
    expect((await pipectl(['drift', '--local', serveFile, '--window', 'soon'])).code).toBe(2);
    expect((await pipectl(['drift', '--local', serveFile, '--shards', '17'])).code).toBe(2);
  });
});

describe('pipectl drift baseline', () => {
  it('asks before it replaces the baseline, and without --yes (no terminal) changes nothing', async () => {
    const run = await pipectl(['drift', 'baseline', '--local', serveFile, '--from', '10m', '--to', '0s']);
    expect(run.code).toBe(2);
    expect((await readBaseline(client, pipeline.resources.controlTableName, 'ticket-triage'))?.source).toBe(DRIFT_BASELINE_SOURCE.REFERENCE);
  });

  it('pins the window it is given; drift against it is then near zero', async () => {
    // Act
    const run = await pipectl(['drift', 'baseline', '--local', serveFile, '--from', '10m', '--to', '0s', '--yes']);
    const after = await pipectl(['drift', '--local', serveFile, '--json']);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/pinned: ticket-triage baseline .* 200 items/);
    expect(run.stdout).toMatch(/^category\s+shipping (9\d|100)\.\d%/m);
    expect(await readBaseline(client, pipeline.resources.controlTableName, 'ticket-triage')).toMatchObject({
      source: DRIFT_BASELINE_SOURCE.PINNED,
      items: 200,
    });
    expect((JSON.parse(after.stdout) as { maxScore: number }).maxScore).toBeLessThan(0.1);
  });

  it('refuses a window with nothing in it, and one that ends before it starts', async () => {
    const empty = await pipectl(['drift', 'baseline', '--local', serveFile, '--from', '3h', '--to', '2h', '--yes']);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('no completed ticket-triage item');
    expect((await pipectl(['drift', 'baseline', '--local', serveFile, '--from', '0s', '--to', '10m', '--yes'])).code).toBe(2);
  });
});

/**
 * `pipectl replay --local` against the real local pipeline (bundled processor, fauxqs, dynalite,
 * the model simulator over HTTP): dead letters are replayed through the processor's chain and
 * diffed against the ledger; by default the ledger and the queues are exactly as before.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { inspectMessages } from '../../local/queue-inspection';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LEDGER_STATUS } from '../../lambda/contract';
import type { LocalPipeline } from '../../local/local-pipeline';
import { keyOfMessageBody as keyOfBody } from '../../lambda/processor/message-parser';
import { waitForDrain } from '../../local/run-local';
import { getLedgerItems } from '../../pipectl/ledger-reader';
import type { PipelineTarget } from '../../pipectl/target';
import { pipectl } from './cli-harness';
import { type ServedPipeline, serveLocally } from './local-serve';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

const scratch = mkdtempSync(join(tmpdir(), 'pipectl-replay-'));
let served: ServedPipeline;
let pipeline: LocalPipeline;
let target: PipelineTarget;
let local: readonly string[];

const line = (subject: string) => JSON.stringify({ task: 'ticket-triage', input: { subject, body: `Details about ${subject.toLowerCase()}.` } });
const completedBefore = line('Order 7 did not arrive');
const neverCompleted = line('Stuck during the outage');

beforeAll(async () => {
  served = await serveLocally(scratch);
  ({ pipeline, target, local } = served);
  const { resources } = pipeline;
  // One input completes through the pipeline; then both sit in the DLQ as the queue's redrive
  // leaves them (bare bodies: MAX_RECEIVES_EXCEEDED), one of them a copy from before an outage.
  await pipeline.sqs.send(new SendMessageCommand({ QueueUrl: resources.inputQueueUrl, MessageBody: completedBefore }));
  expect(await waitForDrain(pipeline, 120_000)).toBe(true);
  for (const body of [completedBefore, neverCompleted]) await pipeline.sqs.send(new SendMessageCommand({ QueueUrl: resources.inputDlqUrl, MessageBody: body }));
}, 180_000);

afterAll(async () => {
  await served?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** Every ledger and control item, and every queue's visible and in-flight counts. */
async function state() {
  const scan = async (table: string) =>
    ((await target.dynamodb.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items ?? []).map((item) => JSON.stringify(item)).sort();
  // Every message each queue holds, visible or in flight: which of the two depends on who was
  // reading a moment ago (the replay itself, the reconciler's DLQ sweep), not on what was written
  // (a clean-clone CI run saw the DLQ's two as "0/2" before and "2/0" after).
  const queues: Record<string, string[]> = {};
  for (const url of [target.resources.inputQueueUrl, target.resources.inputDlqUrl, target.resources.reviewQueueUrl, target.resources.reviewDlqUrl]) {
    queues[url] = (await inspectMessages(pipeline.emulators.sqsEndpoint, url)).map((message) => `${message.MessageId} ${message.Body}`).sort();
  }
  return { ledger: await scan(target.resources.ledgerTableName), control: await scan(target.resources.controlTableName), queues };
}

describe('pipectl replay', () => {
  it('--from-dlq --reason MAX_RECEIVES_EXCEEDED prints a diff per input and an agreement summary, and writes nothing', async () => {
    const before = await state();
    const modelRequests = pipeline.simulator.stats().requests;

    const run = await pipectl(['replay', '--from-dlq', '--reason', 'MAX_RECEIVES_EXCEEDED', ...local]);

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/agrees|DIFFERS/);
    expect(run.stdout).toContain('nothing stored to compare');
    expect(run.stdout).toMatch(/inputs\s+│?\s*replayed/);
    expect(run.stderr).toMatch(/replaying 2 input\(s\) on sim-primary.*nothing is written/);
    // The model was called (the replay is real), and nothing else changed.
    expect(pipeline.simulator.stats().requests).toBeGreaterThan(modelRequests);
    expect(await state()).toEqual(before);
  });

  it('--json: the stored result is compared with the replayed one', async () => {
    const run = await pipectl(['replay', '--from-dlq', ...local, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    const byKey = new Map(report.rows.map((row: { key: string }) => [row.key, row]));
    expect(byKey.get(keyOfBody(completedBefore))).toMatchObject({ status: 'replayed', stored: { status: LEDGER_STATUS.COMPLETED } });
    expect(typeof (byKey.get(keyOfBody(completedBefore)) as { agrees: boolean }).agrees).toBe('boolean');
    expect(byKey.get(keyOfBody(neverCompleted))).toMatchObject({ status: 'replayed' });
    expect(report.summary).toMatchObject({ inputs: 2, replayed: 2, compared: 1, stored: 0 });
    expect(report.summary.agree + report.summary.disagree).toBe(1);
  });

  it('--task-version ticket-triage@2 replays with the candidate prompt (the model is asked under that version); an unregistered one is a usage error', async () => {
    const before = pipeline.simulator.stats().byPromptVersion['ticket-triage@2'] ?? 0;
    const run = await pipectl(['replay', '--from-dlq', '--task-version', 'ticket-triage@2', ...local, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).summary).toMatchObject({ inputs: 2, replayed: 2 });
    expect((pipeline.simulator.stats().byPromptVersion['ticket-triage@2'] ?? 0) - before).toBeGreaterThanOrEqual(2);

    const unknown = await pipectl(['replay', '--from-dlq', '--task-version', 'ticket-triage@9', ...local]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('task ticket-triage has no version "9"; registered: 1, 2');
  });

  it('--max-cost 0 replays nothing: every input is skipped for the budget', async () => {
    const file = join(scratch, 'one.jsonl');
    writeFileSync(file, `${neverCompleted}\nnot json\n`);
    const run = await pipectl(['replay', '--file', file, '--max-cost', '0', ...local, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).summary).toMatchObject({ inputs: 2, replayed: 0, skipped: 1, rejected: 1 });
  });

  it('--store completes a key that never completed and leaves a settled one as it was', async () => {
    const before = await getLedgerItems(target.dynamodb, target.resources.ledgerTableName, [keyOfBody(completedBefore)]);

    const run = await pipectl(['replay', '--from-dlq', '--store', '--yes', ...local, '--json']);

    expect(run.code, run.stderr).toBe(0);
    const rows = JSON.parse(run.stdout).rows as Array<{ key: string; storedNow: string; replayed: { tier: string } }>;
    const fresh = rows.find((row) => row.key === keyOfBody(neverCompleted));
    const items = await getLedgerItems(target.dynamodb, target.resources.ledgerTableName, [keyOfBody(completedBefore), keyOfBody(neverCompleted)]);
    if (fresh?.replayed.tier === 'human') expect(fresh.storedNow).toBe('not-stored');
    else {
      expect(fresh?.storedNow).toBe('completed');
      expect(items.get(keyOfBody(neverCompleted))?.status).toBe(LEDGER_STATUS.COMPLETED);
    }
    expect(rows.find((row) => row.key === keyOfBody(completedBefore))?.storedNow).toBe('already-settled');
    expect(items.get(keyOfBody(completedBefore))).toEqual(before.get(keyOfBody(completedBefore)));
  });
});

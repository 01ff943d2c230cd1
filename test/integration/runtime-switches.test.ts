/**
 * Runtime switches on the local pipeline: the bundled processor in five execution environments,
 * the switches written as `pipectl switch set` writes them, invocations driven by hand so the test
 * knows which environment served which record and when. Assertions are on the ledger's state.
 */
import { DeleteMessageCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC } from '../../lambda/contract';
import { inputKey } from '../../lambda/processor/input-key';
import { SWITCH_REFRESH_MS } from '../../lambda/contract';
import { startLocalPipeline, type LocalPipeline } from '../../local/local-pipeline';
import { listRecoveryAttempts } from '../../pipectl/recovery-clock';
import { changeSwitchAsOperator, readSwitches, switchHistory } from '../../pipectl/switches';
import { PipelineHarness } from './pipeline-harness';

/** The promise the switches make: in force in every environment within this long of the change. */
const PROPAGATION_BOUND_MS = 30_000;

let pipeline: LocalPipeline;
let harness: PipelineHarness;
let sequence = 0;

beforeAll(async () => {
  // Time scale 1: the processor's own 30 s budget. At ×0.1 (3 s) a loaded machine's invocation gave its
  // record back for lack of time (a non-empty batchItemFailures), which is not what this test is about.
  pipeline = await startLocalPipeline({ autoStart: false, monitors: false, timeScale: 1 });
  harness = new PipelineHarness(pipeline);
}, 120_000);
afterAll(async () => pipeline?.stop());

/** Sends one new ticket and has environment `index` process it; returns its key and when the invocation started. */
async function serveIn(index: number): Promise<{ key: string; startedAt: number; index: number }> {
  sequence += 1;
  const input = { subject: `Switch check ${sequence}`, body: `Order ${1000 + sequence} arrived damaged, please replace it.`, customerTier: 'pro' };
  await harness.send(JSON.stringify({ task: 'ticket-triage', input }));
  const messages = await harness.receive(1);
  expect(messages).toHaveLength(1);
  const startedAt = Date.now();
  const response = await harness.invoke(messages, index);
  expect(response.batchItemFailures).toEqual([]);
  // What the event source does with a success: delete it (else it would come back as a duplicate).
  await pipeline.sqs.send(new DeleteMessageCommand({ QueueUrl: pipeline.resources.inputQueueUrl, ReceiptHandle: messages[0]!.ReceiptHandle }));
  return { key: inputKey('ticket-triage', '1', input), startedAt, index };
}

describe('runtime switches in several execution environments', () => {
  it(`a switch flipped during a run is in force in every environment within ${PROPAGATION_BOUND_MS / 1000} s`, async () => {
    const environments = pipeline.environments.length;
    expect(environments).toBeGreaterThanOrEqual(2);

    // Prepare: every environment warm, having read the switches (none set): served by the primary.
    const before = [];
    for (let index = 0; index < environments; index += 1) before.push(await serveIn(index));
    for (const served of before) expect(await harness.ledgerItem(served.key)).toMatchObject({ status: 'COMPLETED', tier: 'primary', variant: 'baseline' });

    // Act: flip force-rules for the task, as `pipectl switch set` does, and keep serving records
    // in every environment until each has had an invocation one refresh interval after the flip.
    const { change } = await changeSwitchAsOperator(pipeline.dynamodb, pipeline.resources.controlTableName, {
      name: 'force-rules.ticket-triage',
      value: 'true',
      by: 'test-operator',
      reason: 'the primary answers nonsense',
    });
    const flippedAt = change.at;
    const after: Array<{ key: string; startedAt: number; index: number }> = [];
    const refreshed = new Set<number>();
    while (refreshed.size < environments && Date.now() - flippedAt < PROPAGATION_BOUND_MS + 30_000) {
      for (let index = 0; index < environments; index += 1) {
        const served = await serveIn(index);
        after.push(served);
        if (served.startedAt >= flippedAt + SWITCH_REFRESH_MS) refreshed.add(index);
      }
      if (refreshed.size < environments) await new Promise((resolve) => setTimeout(resolve, 1000));
    }

    // Assess: every record of an invocation that began a refresh interval after the flip was served
    // by the rules with no model call, in every environment, and the first such record of each
    // environment completed within the bound.
    expect(refreshed.size).toBe(environments);
    const items = new Map(await Promise.all(after.map(async (served) => [served.key, await harness.ledgerItem(served.key)] as const)));
    for (let index = 0; index < environments; index += 1) {
      const late = after.filter((served) => served.index === index && served.startedAt >= flippedAt + SWITCH_REFRESH_MS);
      expect(late.length).toBeGreaterThan(0);
      for (const served of late) expect(items.get(served.key)).toMatchObject({ status: 'COMPLETED', tier: 'rules', modelCalls: 0 });
      const first = items.get(late[0]!.key)!;
      expect(first.completedAt - flippedAt).toBeLessThanOrEqual(PROPAGATION_BOUND_MS);
    }

    // Every change is recorded: who, when, why and the previous value, and on the recovery clock.
    const stored = await readSwitches(pipeline.dynamodb, pipeline.resources.controlTableName);
    expect(stored.values).toEqual({ 'force-rules.ticket-triage': 'true' });
    expect(stored.lastChange).toMatchObject({
      name: 'force-rules.ticket-triage',
      value: 'true',
      by: 'test-operator',
      reason: 'the primary answers nonsense',
      at: flippedAt,
    });
    const [latest] = await switchHistory(pipeline.dynamodb, pipeline.resources.controlTableName);
    expect(latest).toMatchObject({ name: 'force-rules.ticket-triage', value: 'true', by: 'test-operator', at: flippedAt });
    expect(latest?.previous).toBeUndefined();
    const attempts = await listRecoveryAttempts(pipeline.dynamodb, pipeline.resources.controlTableName);
    expect(attempts).toContainEqual(
      expect.objectContaining({ action: 'switch-set', at: flippedAt, override: 'placed', detail: 'force-rules.ticket-triage=true' }),
    );
  }, 180_000);

  it('stop-task defers the task: no ledger item, no DLQ, a fresh copy waits on the input queue', async () => {
    const { change } = await changeSwitchAsOperator(pipeline.dynamodb, pipeline.resources.controlTableName, {
      name: 'stop-task.ticket-triage',
      value: 'true',
      by: 'test-operator',
      reason: 'bad prompt shipped',
    });
    const unset = await changeSwitchAsOperator(pipeline.dynamodb, pipeline.resources.controlTableName, {
      name: 'force-rules.ticket-triage',
      by: 'test-operator',
      reason: 'not needed while stopped',
    });
    expect(unset.change).toMatchObject({ previous: 'true' });
    expect(unset.change.value).toBeUndefined();

    const deferredBefore = pipeline.logs.total(METRIC.RECORDS_DEFERRED);
    // Environment 0 re-reads the switches once a refresh interval has passed since its last read.
    const deadline = change.at + PROPAGATION_BOUND_MS + 15_000;
    let deferredKey: string | undefined;
    let lastStartedAt = 0;
    while (deferredKey === undefined && Date.now() < deadline) {
      const served = await serveIn(0);
      lastStartedAt = served.startedAt;
      if ((await harness.ledgerItem(served.key)) === undefined) deferredKey = served.key;
      else await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(deferredKey).toBeDefined();
    expect(lastStartedAt - change.at).toBeLessThanOrEqual(PROPAGATION_BOUND_MS);
    expect(pipeline.logs.total(METRIC.RECORDS_DEFERRED) - deferredBefore).toBe(1);
    const attributes = async (queueUrl: string) =>
      (
        await pipeline.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: queueUrl,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed', 'ApproximateNumberOfMessagesNotVisible'],
          }),
        )
      ).Attributes ?? {};
    const input = await attributes(pipeline.resources.inputQueueUrl);
    expect(Number(input.ApproximateNumberOfMessagesDelayed)).toBe(1);
    expect(Number(input.ApproximateNumberOfMessagesNotVisible)).toBe(0);
    const dlq = await attributes(pipeline.resources.inputDlqUrl);
    expect(Number(dlq.ApproximateNumberOfMessages) + Number(dlq.ApproximateNumberOfMessagesNotVisible)).toBe(0);
  }, 120_000);
});

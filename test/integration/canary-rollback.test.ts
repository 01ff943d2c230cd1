/**
 * The canary's done-when, on the local pipeline with the event source running: a task-version
 * change (ticket-triage@2, a candidate prompt) rolled out as a 10% canary, deliberately worse (the
 * simulator degrades the answers to that prompt version, which the provider names in its request),
 * is rolled back by the canary alarm, and from the ledger's variant, prompt version and completion
 * times no record is served by the candidate once the rollback is in force. A model candidate
 * (`canary.model`) takes the same path with another model id: test/unit/variants.test.ts.
 */
import { paginateScan } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SWITCH_REFRESH_MS } from '../../lambda/contract';
import { CANARY_ROLLBACK_ACTOR } from '../../local/canary-rollback';
import { startLocalPipeline, type LocalPipeline } from '../../local/local-pipeline';
import { queueDepths } from '../../local/queue-inspection';
import { listRecoveryAttempts } from '../../pipectl/recovery-clock';
import { changeSwitchAsOperator, readSwitches } from '../../pipectl/switches';
import { ExecutionEnvironment } from '../../local/lambda-runtime';
import { functionEnvironment } from '../../local/scheduled-monitors';

const CANDIDATE = 'ticket-triage@2';
/**
 * A rollback is in force once every environment has re-read the switches: an invocation that
 * starts one refresh interval after it reads them, and one that started just before may run for
 * the function's (scaled) timeout.
 */
let IN_FORCE_MS = SWITCH_REFRESH_MS;

let pipeline: LocalPipeline;
beforeAll(async () => {
  // Time scale 0.25: the alarm's minute is 15 s, which at the workload's 5 records a second holds
  // about 7 canary records, above its minimum of 5; on a machine too loaded for that a minute
  // without enough samples is not breaching (no rollback yet), so the loop below just runs longer.
  pipeline = await startLocalPipeline({ monitors: false, faults: `degrade=${CANDIDATE}:0.9`, timeScale: 0.25 });
  IN_FORCE_MS = SWITCH_REFRESH_MS + pipeline.stack.processor.timeoutSeconds * 1000 * pipeline.timeScale;
}, 120_000);
afterAll(async () => pipeline?.stop());

async function ledger(): Promise<Array<Record<string, any>>> {
  const items: Array<Record<string, any>> = [];
  for await (const page of paginateScan({ client: pipeline.dynamodb }, { TableName: pipeline.resources.ledgerTableName, ConsistentRead: true })) {
    for (const item of page.Items ?? []) items.push(unmarshall(item));
  }
  return items;
}

let sent = 0;
async function sendBatch(): Promise<void> {
  const entries = Array.from({ length: 10 }, (_, index) => {
    sent += 1;
    const input = {
      subject: `Canary ${sent}`,
      body: `Ticket ${sent}: my invoice ${7000 + sent} shows a charge I do not recognise.`,
      customerTier: sent % 3 === 0 ? 'enterprise' : 'pro',
    };
    return { Id: String(index), MessageBody: JSON.stringify({ task: 'ticket-triage', input }) };
  });
  await pipeline.sqs.send(new SendMessageBatchCommand({ QueueUrl: pipeline.resources.inputQueueUrl, Entries: entries }));
}

describe('a 10% canary of a worse candidate', () => {
  it('is rolled back by the canary alarm, and no record is served by it once the rollback is in force', async () => {
    // Prepare: the canary, as `pipectl switch set` writes it.
    for (const [name, value] of [
      ['canary.version', CANDIDATE],
      ['canary.percent', '10'],
    ] as const) {
      await changeSwitchAsOperator(pipeline.dynamodb, pipeline.resources.controlTableName, {
        name,
        value,
        by: 'test-operator',
        reason: 'ticket-triage@2 (priorities defined) on 10%',
      });
    }

    // Act: a steady workload until the alarm has rolled the canary back, then as long again as the rollback takes to be in force.
    const started = Date.now();
    let report = started;
    while (pipeline.canaryRollback.rollbacks.length === 0 && Date.now() - started < 300_000) {
      await sendBatch();
      await new Promise((resolve) => setTimeout(resolve, 2000));
      if (Date.now() - report > 10_000) {
        report = Date.now();
        const state = pipeline.alarms.states().find((alarm) => alarm.id === 'canary-regression');
        console.log(
          `t+${((report - started) / 1000).toFixed(0)}s sent ${sent} completed ${pipeline.logs.total('RecordsCompleted')} variantRecords ${pipeline.logs.total('VariantRecords')} alarm ${state?.state}: ${state?.reason}`,
        );
      }
    }
    expect(pipeline.canaryRollback.rollbacks).toHaveLength(1);
    const rollback = pipeline.canaryRollback.rollbacks[0]!;
    const afterRollback = Date.now();
    while (Date.now() - afterRollback < IN_FORCE_MS + 15_000) {
      await sendBatch();
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    // Let the queue drain.
    const queueName = pipeline.resources.inputQueueUrl.slice(pipeline.resources.inputQueueUrl.lastIndexOf('/') + 1);
    for (let wait = 0; wait < 240; wait += 1) {
      const depth = (await queueDepths(pipeline.emulators.sqsEndpoint)).get(queueName);
      if (depth && depth.visible + depth.inFlight + depth.delayed === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }

    // Assess, from the ledger.
    expect(rollback).toMatchObject({ name: 'canary.percent', value: '0', previous: '10', by: CANARY_ROLLBACK_ACTOR });
    const items = (await ledger()).filter((item) => item.status === 'COMPLETED');
    const canary = items.filter((item) => item.variant === 'canary');
    const baseline = items.filter((item) => item.variant === 'baseline');
    // A canary key's model answer came from the candidate prompt, and its item says so; the idempotency key is unchanged (the live version's).
    for (const item of canary) if (item.tier === 'primary' || item.tier === 'secondary') expect(item.promptVersion).toBe('2');
    for (const item of baseline) expect(item.promptVersion).toBeUndefined();
    expect(new Set(items.map((item) => item.taskVersion))).toEqual(new Set(['1']));
    // The canary did serve, about a tenth of the keys, before the rollback…
    expect(canary.length).toBeGreaterThan(0);
    expect(canary.length / items.length).toBeLessThan(0.25);
    // …and, with the candidate degraded, fell back far more than the baseline.
    const fallbackShare = (list: Array<Record<string, any>>) => list.filter((item) => item.tier !== 'primary').length / list.length;
    expect(fallbackShare(canary)).toBeGreaterThan(fallbackShare(baseline) + 0.3);
    // No record served by the candidate after the rollback was in force; records kept coming.
    const lastCanary = Math.max(...canary.map((item) => item.completedAt as number));
    expect(lastCanary).toBeLessThanOrEqual(rollback.at + IN_FORCE_MS);
    const later = items.filter((item) => item.completedAt > rollback.at + IN_FORCE_MS);
    expect(later.length).toBeGreaterThan(20);
    expect(later.every((item) => item.variant === 'baseline')).toBe(true);
    // It was the bundled rollback Lambda, invoked as the EventBridge rule would, that rolled it back.
    expect(pipeline.canaryRollback.invocations).toEqual([{ at: expect.any(Number), result: { rolledBack: true, detail: 'canary.percent 10 → 0' } }]);
    // The rollback is on the recovery clock.
    const attempts = await listRecoveryAttempts(pipeline.dynamodb, pipeline.resources.controlTableName);
    expect(attempts).toContainEqual(expect.objectContaining({ action: 'canary-rollback', at: rollback.at, by: CANARY_ROLLBACK_ACTOR }));
    console.log(
      `canary: ${canary.length}/${items.length} records; rollback ${((rollback.at - started) / 1000).toFixed(1)} s after the start; ` +
        `last canary record ${((lastCanary - rollback.at) / 1000).toFixed(1)} s after the rollback; ${later.length} records after it was in force, all baseline`,
    );
  }, 600_000);

  it('the rollback function ignores another alarm or state, and a canary already at 0% (a repeated event changes nothing)', async () => {
    const model = pipeline.stack.alarmActionFunctions.find((candidate) => candidate.alarmName.endsWith('canary-regression'))!;
    expect(model.states).toEqual(['ALARM']);
    const environment = new ExecutionEnvironment(
      {
        functionName: 'canary-rollback-check',
        bundlePath: model.bundlePath,
        handlerExport: model.handlerExport,
        timeoutMs: 30_000,
        memoryMb: model.memoryMb,
        environment: functionEnvironment(model, { stack: pipeline.stack, physical: pipeline.physicalIds, emulators: pipeline.emulators, timeScale: 1 }),
        region: pipeline.emulators.region,
      },
      () => undefined,
    );
    const event = (alarmName: string, value: string) => ({ 'detail-type': 'CloudWatch Alarm State Change', detail: { alarmName, state: { value } } });
    try {
      await changeSwitchAsOperator(pipeline.dynamodb, pipeline.resources.controlTableName, {
        name: 'canary.percent',
        value: '5',
        by: 'test-operator',
        reason: 'again, at 5%',
      });
      const results = [];
      for (const [name, state] of [
        [model.alarmName, 'OK'],
        ['AiPipeline-dev-processor-errors', 'ALARM'],
        [model.alarmName, 'ALARM'],
        [model.alarmName, 'ALARM'],
      ] as const) {
        const outcome = await environment.invoke(event(name, state));
        expect(outcome.kind).toBe('ok');
        results.push((outcome as { result: { rolledBack: boolean; detail: string } }).result);
      }
      expect(results.map((result) => result.rolledBack)).toEqual([false, false, true, false]);
      expect(results[3]!.detail).toBe('the canary was at 0% already');
      expect((await readSwitches(pipeline.dynamodb, pipeline.resources.controlTableName)).values['canary.percent']).toBe('0');
    } finally {
      await environment.stop();
    }
  });
});

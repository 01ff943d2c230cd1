/**
 * The shadow run on the bundled processor against emulated SQS and DynamoDB: with no shadow
 * configured the happy path makes exactly the requests it made before (counted at the emulators);
 * with one, each sampled record costs one more ledger write, its result is untouched, and a
 * candidate that answers garbage is counted, never raised.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LEDGER_STATUS, METRIC } from '../../lambda/contract';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { synthesizeLocalStack, type LocalStackModel } from '../../local/stack-model';
import { runLocal } from '../../local/run-local';
import { shadowLines } from '../../local/shadow-report';
import { PipelineHarness } from './pipeline-harness';

vi.setConfig({ hookTimeout: 240_000, testTimeout: 120_000 });

const BATCH = 6;
/**
 * The hand-driven pipelines below run at time scale 1: the processor's own 30 s time budget per
 * invocation. At local mode's ×0.1 (3 s), a loaded machine's invocation — the warm-up's cold start
 * above all — ran short of it and gave a record back, as the processor is designed to: a
 * ChangeMessageVisibilityBatch and fewer writes than the happy path. What these cases prove is the
 * happy path's exact request counts, so they give it the room instead of loosening the counts.
 * Nothing here waits on a scaled clock.
 */
const HAND_DRIVEN_TIME_SCALE = 1;
const line = (run: string, index: number) =>
  JSON.stringify({ task: 'ticket-triage', input: { subject: `${run}: order ${index} did not arrive`, body: `Order ${index} was due last week (${run}).` } });

let stack: LocalStackModel;
const pipelines: LocalPipeline[] = [];
beforeAll(() => {
  stack = synthesizeLocalStack();
});
afterAll(async () => {
  await Promise.all(pipelines.map((pipeline) => pipeline.stop()));
});

/** Sends a batch of fresh inputs, invokes the processor once with it, and returns the requests that invocation made, by operation. */
async function invokeFreshBatch(pipeline: LocalPipeline, run: string): Promise<Record<string, number>> {
  const harness = new PipelineHarness(pipeline);
  // A warm-up batch first: the cold start's switch read and the first breaker read are not the happy path's steady state.
  await harness.send(line(`${run}-warmup`, 0));
  expect((await harness.invoke(await harness.receive(1))).batchItemFailures).toEqual([]);
  for (let index = 0; index < BATCH; index += 1) await harness.send(line(run, index));
  const messages = await harness.receive(BATCH);
  expect(messages).toHaveLength(BATCH);
  const before = pipeline.emulators.counter.snapshot();
  expect((await harness.invoke(messages)).batchItemFailures).toEqual([]);
  const after = pipeline.emulators.counter.snapshot();
  return Object.fromEntries(
    Object.keys(after)
      .map((operation) => [operation, (after[operation] ?? 0) - (before[operation] ?? 0)] as const)
      .filter(([, count]) => count > 0),
  );
}

describe('shadow run', () => {
  it('with no shadow configured, the happy path makes only its own requests: a claim and a completion per record, at most one budget write', async () => {
    // No scheduled monitors, here and in the next two cases: these count the requests of one invocation
    // driven by hand, which a monitor's run on its timer would add to; and with them each environment
    // would cost a drift reference run on a cold cache (a pipeline of its own, ~10 s of CPU).
    const pipeline = await startLocalPipeline({ stack, autoStart: false, timeScale: HAND_DRIVEN_TIME_SCALE, monitors: false });
    pipelines.push(pipeline);

    const none = await invokeFreshBatch(pipeline, 'no-shadow');

    // Per record: the claim and the completion (UpdateItem); per batch: at most one budget ADD (the
    // spend is flushed every 10 s or 1% of a limit: BUDGET_FLUSH_DELAY_MS, so usually none right
    // after the warm-up's) and at most one read (the primary's breaker, cached). The switches were
    // read at the warm-up (refreshed every 15 s); SQS: nothing (the event source deletes). No ShadowSamples.
    expect(none['dynamodb.UpdateItem']).toBeGreaterThanOrEqual(2 * BATCH);
    expect(none['dynamodb.UpdateItem']).toBeLessThanOrEqual(2 * BATCH + 1);
    expect(none['dynamodb.GetItem'] ?? 0).toBeLessThanOrEqual(1);
    expect(Object.keys(none).filter((operation) => operation !== 'dynamodb.UpdateItem' && operation !== 'dynamodb.GetItem')).toEqual([]);
    expect(pipeline.logs.total(METRIC.SHADOW_SAMPLES)).toBe(0);
  });

  it('with a shadow at 100%, each record costs one more ledger write; the result stays the primary’s; a bad candidate is counted, not raised', async () => {
    // The simulator answers half of the candidate's calls wrong-shaped (invalid): some shadows fail.
    const pipeline = await startLocalPipeline({
      stack,
      autoStart: false,
      timeScale: HAND_DRIVEN_TIME_SCALE,
      monitors: false,
      faults: 'degrade=sim-candidate:0.5',
      environment: { SHADOW_MODEL_ID: 'sim-candidate', SHADOW_PERCENT: '100' },
    });
    pipelines.push(pipeline);

    const withShadow = await invokeFreshBatch(pipeline, 'shadow');

    // The one extra request per sampled record: the shadow attribute's UpdateItem (the budget's ADD
    // at most once, as above: the shadow's spend joins the same flush).
    expect(withShadow['dynamodb.UpdateItem']).toBeGreaterThanOrEqual(2 * BATCH + BATCH);
    expect(withShadow['dynamodb.UpdateItem']).toBeLessThanOrEqual(2 * BATCH + 1 + BATCH);
    expect(withShadow['dynamodb.GetItem'] ?? 0).toBeLessThanOrEqual(1);
    expect(Object.keys(withShadow).filter((operation) => operation !== 'dynamodb.UpdateItem' && operation !== 'dynamodb.GetItem')).toEqual([]);
    const sampled = (await new PipelineHarness(pipeline).ledgerItems()).filter((item) => item.shadow !== undefined);
    expect(sampled.length).toBe(BATCH + 1);
    for (const item of sampled) {
      expect(item).toMatchObject({ status: LEDGER_STATUS.COMPLETED, tier: 'primary', modelId: 'sim-primary' });
      expect(item.shadow).toMatchObject({ modelId: 'sim-candidate', agrees: expect.any(Boolean) });
      if (item.shadow.result === undefined) expect(item.shadow.error).toEqual(expect.any(String));
    }
    expect(pipeline.logs.total(METRIC.SHADOW_SAMPLES)).toBe(BATCH + 1);
    const failed = sampled.filter((item) => item.shadow.result === undefined).length;
    expect(pipeline.logs.total(METRIC.SHADOW_ERRORS)).toBe(failed);
  });

  it('a shadow of a candidate task version asks the primary model with that version’s prompt, and says so on the item', async () => {
    // The simulator degrades the candidate prompt's answers (it sees the x-prompt-version header the provider sends).
    const pipeline = await startLocalPipeline({
      stack,
      autoStart: false,
      timeScale: HAND_DRIVEN_TIME_SCALE,
      monitors: false,
      faults: 'degrade=ticket-triage@2:0.5',
      environment: { SHADOW_TASK_VERSION: 'ticket-triage@2', SHADOW_PERCENT: '100' },
    });
    pipelines.push(pipeline);

    await invokeFreshBatch(pipeline, 'shadow-version');

    const sampled = (await new PipelineHarness(pipeline).ledgerItems()).filter((item) => item.shadow !== undefined);
    expect(sampled.length).toBe(BATCH + 1);
    for (const item of sampled) {
      // The result is the live version's (no promptVersion on the item); the shadow names the candidate version.
      expect(item).toMatchObject({ status: LEDGER_STATUS.COMPLETED, tier: 'primary', modelId: 'sim-primary' });
      expect(item.promptVersion).toBeUndefined();
      expect(item.shadow).toMatchObject({ modelId: 'sim-primary', promptVersion: 'ticket-triage@2' });
    }
    // Half the candidate prompt's answers are degraded, none of the live prompt's: only the shadow fails.
    const failed = sampled.filter((item) => item.shadow.result === undefined).length;
    expect(failed).toBeGreaterThan(0);
    expect(pipeline.logs.total(METRIC.SHADOW_ERRORS)).toBe(failed);
  });

  it('a local run with a shadow reports agreement per variant, side by side with the baseline', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'shadow-local-'));
    try {
      const bodies = Array.from({ length: 20 }, (_, index) => line('local', index));
      const report = await runLocal(bodies, {
        stage: 'dev',
        timeScale: 0.25,
        logFile: join(scratch, 'processor.log'),
        faults: 'degrade=sim-candidate:0.5',
        environment: { SHADOW_MODEL_ID: 'sim-candidate', SHADOW_PERCENT: '100' },
        // The reconciler's final run, but no drift reference run: it costs a pipeline, and this run is about the shadow.
        monitors: { driftReference: false },
      });
      expect(report.invariantHolds).toBe(true);
      expect(report.shadow?.sampled).toBe(report.completed);
      expect(report.shadow?.byVariant.baseline).toMatchObject({ modelId: 'sim-primary', agreementPercent: 100, errors: 0 });
      const candidate = report.shadow?.byVariant.shadow;
      expect(candidate?.modelId).toBe('sim-candidate');
      // Half its answers are invalid: it cannot agree with all of them, and its failures are counted.
      expect(candidate?.agreementPercent).toBeLessThan(100);
      expect(candidate?.errors).toBeGreaterThan(0);
      expect(shadowLines(report.shadow).join('\n')).toMatch(/shadow +sim-candidate +agreement \d+(\.\d)?%/);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

/**
 * What the infrastructure chaos runs share (test/chaos/infra-faults*.test.ts): one local pipeline
 * per run with the fault spec given, 60 generated messages (plus bad input when asked), drained,
 * then the report built from the emulators' state after the reconciler's final run; and the
 * assertions every run makes. The runs are split over three files so that the two long ones
 * (crash, timeout: whole batches come back only after their visibility timeout) run beside the others.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { InfraFaultKind } from '../../local/aws-boundary/infra-fault-spec';
import { startLocalPipeline } from '../../local/local-pipeline';
import { sendBodies, waitForDrain } from '../../local/queue-drain';
import { buildReport, type LocalRunReport } from '../../local/report';
import { defaultDrainTimeoutMs } from '../../local/run-local';
import { synthesizeLocalStack } from '../../local/stack-model';
import { buildBodies } from '../../local/workload';

const stack = synthesizeLocalStack();

/** As model-faults.test.ts: on a busy two-core machine a 3 s invocation has too little headroom. */
const TIME_SCALE = 0.2;

const MESSAGES = 60;

export interface InfraChaosRun {
  readonly report: LocalRunReport;
  readonly drained: boolean;
}

/**
 * Bad input the processor rejects to the DLQ itself (one SendMessage each): a workload of 60
 * generated messages has none, so a run that must make SQS calls of its own adds these.
 */
const BAD_INPUT = ['not json', '{"task":"no-such-task","input":{}}', '{"task":"ticket-triage"}', '[1,2,3]', '{"task":"ticket-triage","input":{"subject":42}}'];

export async function chaos(name: string, faults: string, options: { duplicates?: number; badInput?: boolean } = {}): Promise<InfraChaosRun> {
  // A directory per run, removed with it: the module may be shared by several files in one worker
  // (vitest.config.mts), so it registers no hooks of its own.
  const scratch = mkdtempSync(join(tmpdir(), 'chaos-infra-'));
  const bodies = [...buildBodies({ messages: MESSAGES, duplicates: options.duplicates, seed: 11 }), ...(options.badInput ? BAD_INPUT : [])];
  const pipeline = await startLocalPipeline({
    stack,
    faults,
    logFile: join(scratch, `${name}.log`),
    timeScale: TIME_SCALE,
    // No drift reference run: these runs are about the ledger, and the reference costs a pipeline.
    monitors: { driftReference: false },
  });
  try {
    pipeline.emulators.counter.reset();
    const started = Date.now();
    await sendBodies(pipeline.sqs, pipeline.resources.inputQueueUrl, bodies);
    const drained = await waitForDrain(pipeline, defaultDrainTimeoutMs(pipeline, bodies.length));
    await pipeline.poller.stop();
    const report = await buildReport(pipeline, bodies, Date.now() - started, 0);
    return { report, drained };
  } finally {
    await pipeline.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The fault was injected, and the run settled every input exactly once (the report's invariant, with its keys). */
export function expectInjectedAndSafe(run: InfraChaosRun, kind: InfraFaultKind): void {
  const { report } = run;
  expect(report.faultsInjected.infrastructure[kind]).toBeGreaterThan(0);
  expect(report.details.finalReconcilerRun).toBe('ok');
  // The violations name their keys and states: the first thing to read when this fails.
  expect(report.invariantViolations).toEqual([]);
  expect(report.invariantHolds).toBe(true);
  expect(run.drained).toBe(true);
  expect(report.completed + report.deadLettered + report.inReview).toBe(report.unique);
  expect(report.details.ledgerByStatus.IN_PROGRESS ?? 0).toBe(0);
  expect(report.details.ledgerByStatus.FAILED ?? 0).toBe(0);
}

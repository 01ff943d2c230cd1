/**
 * Issue 16's "done when", on the whole local pipeline (bundled processor, emulated SQS and
 * DynamoDB, the HTTP model simulator): a generated workload where 5% of the tickets are agents'
 * edits of earlier ones, plus two loopers. Assertions are on the end state, not on timing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { LEDGER, REUSED_TIER } from '../../lambda/contract';
import { parseMessage } from '../../lambda/processor/message-parser';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalPipeline } from '../../local/local-pipeline';
import { buildReport, type LocalRunReport } from '../../local/report';
import { sendBodies, waitForDrain } from '../../local/run-local';
import { buildWorkload } from '../../local/workload-generator/ticket-workload';
import { PipelineHarness } from './pipeline-harness';

const lines = buildWorkload({ count: 200, seed: 16, agentEdits: 0.05, badLines: false });
let report: LocalRunReport;
let ledger: Array<Record<string, any>> = [];

beforeAll(async () => {
  // runLocal's steps, with a look at the ledger before the pipeline stops.
  const pipeline = await startLocalPipeline({ monitors: false, timeScale: 1, logFile: join(tmpdir(), `entity-loops-${process.pid}.log`) });
  try {
    const bodies = lines.map((line) => line.text);
    const started = Date.now();
    pipeline.emulators.counter.reset();
    await sendBodies(pipeline.sqs, pipeline.resources.inputQueueUrl, bodies);
    await waitForDrain(pipeline, 300_000);
    await pipeline.poller.stop();
    report = await buildReport(pipeline, bodies, Date.now() - started, 0);
    ledger = await new PipelineHarness(pipeline).ledgerItems();
  } finally {
    await pipeline.stop();
  }
}, 600_000);

describe('a local run with agent edits and loopers', () => {
  it('keeps the invariant: every input completed, in review or dead-lettered', () => {
    // On failure, say where the ledger has the keys and whether a review notice was lost.
    const context = JSON.stringify({ ledgerByStatus: report.details.ledgerByStatus, noticesLost: report.details.metrics.NoticesLost ?? 0 });
    expect(report.invariantViolations, context).toEqual([]);
    expect(report.invariantHolds).toBe(true);
  });

  it('caps every entity at the stage limit and holds both loopers', () => {
    expect(report.entities.decisionLimit).toBe(3);
    expect(report.entities.maxDecisions).toBe(report.entities.decisionLimit);
    expect(report.entities.held).toBe(2);
    expect(report.entities.loopsDetected).toBeGreaterThanOrEqual(2);
    expect(report.inReview).toBe(report.entities.loopsDetected);
  });

  it('reuses earlier decisions for small edits: the same result as the ticket they edit, no model call', () => {
    expect(report.byTier.reused).toBeGreaterThan(0);
    expect(report.entities.decisionsReused).toBe(report.byTier.reused);
    const byKey = new Map(ledger.map((item) => [String(item[LEDGER.PARTITION_KEY]), item]));
    const reused = lines
      .filter((line) => line.kind === 'agent-edit')
      .map((line) => parseMessage(line.text))
      .filter((message) => byKey.get(message.key)?.[LEDGER.TIER] === REUSED_TIER);
    expect(reused.length).toBe(report.byTier.reused);
    for (const edit of reused) {
      const original = lines.find((line) => line.kind === 'valid' && parseMessage(line.text).entityId === edit.entityId) as { text: string };
      expect(byKey.get(edit.key)?.result).toEqual(byKey.get(parseMessage(original.text).key)?.result);
    }
    expect(report.modelCalls).toBeLessThan(report.unique);
  });
});

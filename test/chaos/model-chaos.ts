/**
 * What the model chaos files share (test/chaos/model-faults*.test.ts): one local pipeline per
 * scenario with the fault spec given, drained, the report built from the emulators' state, the
 * ledger, the breaker items and the processor's log lines; and the assertions every scenario
 * makes. The scenarios are split over three files so that they run beside each other in the
 * worker pool (one file of eight scenarios took 80–100 s): model-faults.test.ts (answers: 429,
 * 5xx, garbage, duplicates), model-faults-breaker.test.ts (quota exhausted, an outage) and
 * model-faults-timing.test.ts (brownout, hang: the two that run at half speed).
 *
 * The runs use a time scale of 0.2 (a 30 s Lambda timeout is 6 s; fault durations are scaled
 * alike) rather than local mode's 0.1, and the two timing scenarios 0.5: emulator requests do not
 * get faster with the scale, and on a busy two-core machine a 3 s invocation has too little
 * headroom for them.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { expect } from 'vitest';
import { CONTROL, ENV, LEDGER_STATUS, METRIC } from '../../lambda/contract';
import { TicketTriage } from '../../lambda/tasks/ticket-triage';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { buildReport, type LocalRunReport } from '../../local/report';
import { sendBodies, waitForDrain } from '../../local/queue-drain';
import { synthesizeLocalStack } from '../../local/stack-model';
import { buildBodies } from '../../local/workload';

export const stack = synthesizeLocalStack();

/** The concurrency bound of model calls: event source maxConcurrency × records in flight per invocation. */
const RECORD_CONCURRENCY = Number(stack.processor.environment[ENV.RECORD_CONCURRENCY]);
const IN_FLIGHT_BOUND = stack.eventSource.maxConcurrency * RECORD_CONCURRENCY;

export interface ChaosRun {
  readonly report: LocalRunReport;
  readonly ledger: ReadonlyArray<Record<string, any>>;
  readonly breakers: ReadonlyArray<Record<string, any>>;
  readonly logLines: ReadonlyArray<Record<string, any>>;
  /** Execution environments started: one each at first, one more per timed-out (killed) invocation. */
  readonly coldStarts: number;
}

/** See the file's comment. */
const TIME_SCALE = 0.2;
/**
 * The two scenarios that assert "no Lambda timeout" run at half speed (a 15 s invocation): what
 * they prove is that the time budget holds under slow and hung calls, which a starved CPU must
 * not decide for them.
 */
export const TIMEOUT_SCENARIO_TIME_SCALE = 0.5;

export async function chaos(
  name: string,
  faults: string,
  options: {
    messages?: number;
    duplicates?: number;
    environment?: Record<string, string>;
    timeScale?: number;
    /**
     * Run once the messages are sent, before the drain: for a scenario that waits on the
     * pipeline's state (a breaker opened) and then changes the fault (ends an outage).
     */
    afterSend?: (pipeline: LocalPipeline) => Promise<void>;
  } = {},
): Promise<ChaosRun> {
  // A directory per run, removed with it: the module may be shared by several files in one worker
  // (vitest.config.mts), so it registers no hooks of its own.
  const scratch = mkdtempSync(join(tmpdir(), 'chaos-'));
  const logFile = join(scratch, `${name}.log`);
  const bodies = buildBodies({ messages: options.messages ?? 100, duplicates: options.duplicates, seed: 11 });
  // DEBUG: every record's line, plain successes too (they are sampled otherwise), for the checks below.
  const environment = { [ENV.POWERTOOLS_LOG_LEVEL]: 'DEBUG', ...options.environment };
  const pipeline = await startLocalPipeline({
    stack,
    faults,
    logFile,
    environment,
    timeScale: options.timeScale ?? TIME_SCALE,
    // No drift reference run, as in infra-chaos.ts: these runs are about the ledger, and the reference
    // costs a pipeline of its own (300 messages, ~10 s of CPU) per environment on a cold cache.
    monitors: { driftReference: false },
  });
  try {
    pipeline.emulators.counter.reset();
    const started = Date.now();
    await sendBodies(pipeline.sqs, pipeline.resources.inputQueueUrl, bodies);
    await options.afterSend?.(pipeline);
    await waitForDrain(pipeline, 90_000);
    await pipeline.poller.stop();
    const report = await buildReport(pipeline, bodies, Date.now() - started, 0);
    const scan = async (table: string) =>
      (await pipeline.dynamodb.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items?.map((item) => unmarshall(item)) ?? [];
    const ledger = await scan(pipeline.resources.ledgerTableName);
    const breakers = (await scan(pipeline.resources.controlTableName)).filter((item) => String(item[CONTROL.PARTITION_KEY]).startsWith(CONTROL.BREAKER_PREFIX));
    const coldStarts = pipeline.environments.reduce((total, environment) => total + environment.coldStarts, 0);
    await pipeline.stop();
    const logLines = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{') && !line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, any>);
    return { report, ledger, breakers, logLines, coldStarts };
  } finally {
    await pipeline.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** What every scenario must show, whatever the fault. */
export function expectSafe(run: ChaosRun): void {
  const { report, ledger } = run;
  expect(report.invariantViolations).toEqual([]);
  expect(report.invariantHolds).toBe(true);
  expect(report.completed + report.deadLettered + report.inReview).toBe(report.unique);
  // Zero duplicate results: no key was completed by two invocations (each logs its completion).
  const completions = new Map<string, number>();
  for (const line of run.logLines.filter((entry) => entry.message === 'record' && entry.outcome === 'completed')) {
    completions.set(line.inputHash, (completions.get(line.inputHash) ?? 0) + 1);
  }
  expect([...completions.values()].filter((count) => count > 1)).toEqual([]);
  expect(report.details.metrics[METRIC.RECORDS_COMPLETED]).toBeLessThanOrEqual(ledger.filter((item) => item.status === LEDGER_STATUS.COMPLETED).length);
  // Model output is untrusted: every stored result passes the task's schema.
  for (const item of ledger.filter((entry) => entry.status === LEDGER_STATUS.COMPLETED)) expect(TicketTriage.safeParse(item.result).success).toBe(true);
  // Concurrency is bounded: the event source's maxConcurrency × records in flight per invocation.
  expect(report.details.model.maxInFlight).toBeLessThanOrEqual(IN_FLIGHT_BOUND);
}

/** No invocation timed out: a timed-out execution environment is killed and started again. */
export function expectNoLambdaTimeout(run: ChaosRun): void {
  expect(run.coldStarts).toBe(stack.eventSource.maxConcurrency);
}

/** Everything that is not bad input was completed, and only bad input is in the DLQ. */
export function expectAllCompleted(report: LocalRunReport): void {
  expect(report.deadLettered).toBe(report.rejected);
  expect(report.inReview).toBe(0);
  expect(report.completed).toBe(report.unique - report.rejected);
}

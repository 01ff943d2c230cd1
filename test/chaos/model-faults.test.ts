/**
 * Chaos: the whole local pipeline (bundled processor, emulated SQS and DynamoDB, the model
 * simulator on loopback) under each fault of the fault spec. Every scenario asserts the invariant
 * `sent = completed + dead-lettered + in review` (from the emulators' state), zero duplicate
 * results, and its own bound. Bounded: 100–150 messages each, loopback only, each run stops when
 * the input queue has drained (or after its drain timeout).
 *
 * The runs use a time scale of 0.2 (a 30 s Lambda timeout is 6 s; fault durations are scaled
 * alike) rather than local mode's 0.1, and the two timing scenarios 0.5: emulator requests do not
 * get faster with the scale, and on a busy two-core machine a 3 s invocation has too little
 * headroom for them.
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { BREAKER, CONTROL, ENV, LEDGER_STATUS, METRIC } from '../../lambda/contract';
import { TicketTriage } from '../../lambda/tasks/ticket-triage';
import { startLocalPipeline } from '../../local/local-pipeline';
import { buildReport, type LocalRunReport } from '../../local/report';
import { sendBodies, waitForDrain } from '../../local/queue-drain';
import { synthesizeLocalStack } from '../../local/stack-model';
import { buildBodies } from '../../local/workload';

const stack = synthesizeLocalStack();
const scratch = mkdtempSync(join(tmpdir(), 'chaos-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The concurrency bound of model calls: event source maxConcurrency × records in flight per invocation. */
const RECORD_CONCURRENCY = Number(stack.processor.environment[ENV.RECORD_CONCURRENCY]);
const IN_FLIGHT_BOUND = stack.eventSource.maxConcurrency * RECORD_CONCURRENCY;

interface ChaosRun {
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
const TIMEOUT_SCENARIO_TIME_SCALE = 0.5;

async function chaos(
  name: string,
  faults: string,
  options: { messages?: number; duplicates?: number; environment?: Record<string, string>; timeScale?: number } = {},
): Promise<ChaosRun> {
  const logFile = join(scratch, `${name}.log`);
  const bodies = buildBodies({ messages: options.messages ?? 100, duplicates: options.duplicates, seed: 11 });
  const pipeline = await startLocalPipeline({ stack, faults, logFile, environment: options.environment, timeScale: options.timeScale ?? TIME_SCALE });
  try {
    pipeline.emulators.counter.reset();
    const started = Date.now();
    await sendBodies(pipeline.sqs, pipeline.resources.inputQueueUrl, bodies);
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
  }
}

/** What every scenario must show, whatever the fault. */
function expectSafe(run: ChaosRun): void {
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
function expectNoLambdaTimeout(run: ChaosRun): void {
  expect(run.coldStarts).toBe(stack.eventSource.maxConcurrency);
}

/** Everything that is not bad input was completed, and only bad input is in the DLQ. */
function expectAllCompleted(report: LocalRunReport): void {
  expect(report.deadLettered).toBe(report.rejected);
  expect(report.inReview).toBe(0);
  expect(report.completed).toBe(report.unique - report.rejected);
}

// Each run is bounded by its drain timeout (90 s); on a busy machine a run may need more than
// vitest's default 60 s to get there.
describe('chaos: the model misbehaves, nothing is lost', { timeout: 150_000 }, () => {
  it('30% 429 with Retry-After 2 s: all completed, no retry sooner than Retry-After', async () => {
    const run = await chaos('throttle', '429=0.3:2000');
    expectSafe(run);
    expectAllCompleted(run.report);
    const { model } = run.report.details;
    expect(model.byOutcome.throttled).toBeGreaterThan(20);
    expect(run.report.details.metrics[METRIC.MODEL_RETRIES]).toBeGreaterThan(0);
    expect(model.retryAfter.violations).toBe(0);
    expect(model.retryAfter.honoured).toBeGreaterThan(0);
  });

  it('20% 5xx (500/502/503/529): all completed, nothing dead-lettered but bad input', async () => {
    const run = await chaos('server-errors', '5xx=0.2');
    expectSafe(run);
    expectAllCompleted(run.report);
    expect(run.report.details.model.byOutcome['server-error']).toBeGreaterThan(10);
    expect(run.report.details.metrics[METRIC.MODEL_RETRIES]).toBeGreaterThan(0);
  });

  it('a brownout (every call 100 ms, half of them ×30): no Lambda timeout, in-flight calls within the bound', async () => {
    const run = await chaos('brownout', 'brownout', { messages: 150, timeScale: TIMEOUT_SCENARIO_TIME_SCALE });
    expectSafe(run);
    expectNoLambdaTimeout(run);
    expectAllCompleted(run.report);
    // The brownout really slowed calls down, and concurrency stayed bounded by the event source and the bulkhead.
    expect(run.report.details.model.maxInFlight).toBeGreaterThan(1);
  });

  it('5% of calls hang: each is cut off by its timeout and retried, all completed', async () => {
    const run = await chaos('hang', 'hang=0.05', { timeScale: TIMEOUT_SCENARIO_TIME_SCALE });
    expectSafe(run);
    expectNoLambdaTimeout(run);
    expectAllCompleted(run.report);
    expect(run.report.details.model.byOutcome.hang).toBeGreaterThan(0);
    const errors = run.logLines.filter((line) => line.message === 'record' && line.errorClass === 'Timeout');
    expect(errors.length + run.report.details.metrics[METRIC.MODEL_RETRIES]!).toBeGreaterThan(0);
  });

  it('10% truncated, 5% malformed, 5% wrong schema: no invalid result stored, one repair at most per tier', async () => {
    const run = await chaos('garbage', 'truncated=0.1,malformed=0.05,schema=0.05');
    expectSafe(run);
    expectAllCompleted(run.report);
    const { model, metrics } = run.report.details;
    const invalid = model.byOutcome.truncated + model.byOutcome.malformed + model.byOutcome.schema;
    expect(invalid).toBeGreaterThan(10);
    // Counted as validation failures (at most: a killed invocation's metrics are lost with it).
    expect(metrics[METRIC.VALIDATION_FAILURES]).toBeGreaterThan(0);
    expect(metrics[METRIC.VALIDATION_FAILURES]).toBeLessThanOrEqual(invalid);
    // A repair follows an invalid answer, never more than one per answer.
    expect(model.repairs).toBeGreaterThan(0);
    expect(model.repairs).toBeLessThanOrEqual(invalid);
    // Model calls per record stay under the per-receive cap (6).
    for (const line of run.logLines.filter((entry) => entry.message === 'record')) expect(line.attempts).toBeLessThanOrEqual(6);
  });

  it('quota exhausted: the quota error is never retried, the breaker opens, records are settled by the rules', async () => {
    const run = await chaos('quota', 'quota=1', { environment: { [ENV.BREAKER_WHEN_OPEN]: 'fallback' } });
    expectSafe(run);
    expectAllCompleted(run.report);
    const { model, metrics } = run.report.details;
    expect(metrics[METRIC.MODEL_RETRIES] ?? 0).toBe(0);
    // Each claim of a key met the quota error once per model at most: no retry of it.
    expect(model.byOutcome.quota).toBe(model.requests);
    const claims = run.ledger.filter((item) => item.status === LEDGER_STATUS.COMPLETED).reduce((total, item) => total + Number(item.claims), 0);
    expect(model.requests).toBeLessThanOrEqual(2 * claims);
    expect(run.breakers.filter((item) => Number(item[BREAKER.OPEN_COUNT] ?? 0) >= 1).length).toBeGreaterThan(0);
    expect(metrics[METRIC.BREAKER_OPEN]).toBeGreaterThan(0);
    expect(run.report.byTier.rules).toBe(run.report.completed);
  });

  it('an outage longer than the retry budget: nothing lost, the breaker opens once, probes one at a time, all completed by the models after recovery', async () => {
    // 100% 503 from 0.4 s to 6 s (local time) after the first call: longer than one invocation
    // (6 s, of which 4.4 s for model calls); the breaker's cooldown is 6 s.
    const run = await chaos('outage', 'outage=2-30');
    expectSafe(run);
    expectAllCompleted(run.report);
    const opened = run.logLines.filter((line) => line.message === 'breaker opened');
    expect(opened.filter((line) => line.modelId === 'sim-primary')).toHaveLength(1);
    const primary = run.breakers.find((item) => item[CONTROL.PARTITION_KEY] === `${CONTROL.BREAKER_PREFIX}sim-primary`);
    expect(primary).toMatchObject({ [BREAKER.OPEN_COUNT]: 1, [BREAKER.STATE]: 'closed' });
    for (const item of run.breakers) expect(item[BREAKER.OPEN_COUNT] ?? 0).toBeLessThanOrEqual(1);
    // One probe at a time: each probe's outcome is logged once; a failed one reopens the breaker
    // for a whole cooldown, so a 5.6 s outage leaves room for one failed probe per model at most.
    const probes = run.logLines.filter((line) => line.message === 'breaker closed after a probe' || line.message === 'breaker reopened after a probe');
    expect(probes.filter((line) => line.modelId === 'sim-primary' && line.message === 'breaker closed after a probe')).toHaveLength(1);
    expect(probes.filter((line) => line.modelId === 'sim-primary').length).toBeLessThanOrEqual(2);
    // Deferred, not settled for less: every result came from a model after the outage.
    expect(run.report.byTier.rules).toBe(0);
    expect(run.report.details.model.byOutcome.outage).toBeGreaterThan(0);
    expect(run.report.details.metrics[METRIC.BREAKER_OPEN]).toBeGreaterThan(0);
  });

  it('duplicates under load: model calls = unique keys', async () => {
    const run = await chaos('duplicates', 'base=20', { messages: 150, duplicates: 0.4 });
    expectSafe(run);
    expectAllCompleted(run.report);
    const fresh = run.report.unique - run.report.rejected;
    expect(run.report.sent - run.report.unique).toBeGreaterThan(40);
    // Every model call belongs to a claim of its key, and a duplicate never claims: so the calls
    // are at least the unique keys and at most their claims (a key is claimed again only when an
    // invocation died holding it — a Lambda timeout on a starved machine).
    const claims = run.ledger.filter((item) => item.status === LEDGER_STATUS.COMPLETED).reduce((total, item) => total + Number(item.claims), 0);
    const calls = run.report.details.model.requests;
    expect(calls).toBeGreaterThanOrEqual(fresh);
    expect(calls).toBeLessThanOrEqual(claims);
    if (run.coldStarts === stack.eventSource.maxConcurrency) {
      // No invocation died: exactly one call per unique input, every re-send skipped. (A key may
      // still have been claimed twice: a record that found too little time left for a model call
      // after its claim goes back to the queue without calling.)
      expect(calls).toBe(fresh);
      expect(run.report.modelCalls).toBe(fresh);
      expect(run.report.duplicatesSkipped).toBe(run.report.sent - run.report.unique);
    }
  });
});

/**
 * Local mode sees the same alarms: the synthesized stack's bundled processor runs on the embedded
 * emulators (over HTTP), and the alarm catalog is evaluated over what it emits. This file lives
 * with the observability tests it belongs to, but it is an integration test: it starts fauxqs,
 * dynalite and the worker-thread execution environments, bounded to a few hundred messages on
 * loopback.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { METRIC, METRIC_DIMENSION, METRIC_SERVICE, METRICS_NAMESPACE } from '../../lambda/contract';
import { loadStageConfig } from '../../lib/config/stage-load';
import { buildAlarmCatalog } from '../../lib/observability/alarm-catalog';
import { alarmIds } from '../../lib/observability/runbook';
import type { LocalAlarmState } from '../../local/alarm-evaluator';
import { startLocalPipeline } from '../../local/local-pipeline';
import { buildReport } from '../../local/report';
import { runLocal, sendBodies, waitForDrain } from '../../local/run-local';
import { synthesizeLocalStack } from '../../local/stack-model';
import { buildBodies } from '../../local/workload';

const stack = synthesizeLocalStack({ stage: 'dev' });
const catalog = buildAlarmCatalog(loadStageConfig('dev'), { stackName: stack.stackName });
const scratch = mkdtempSync(join(tmpdir(), 'alarms-local-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function stateOf(alarms: readonly LocalAlarmState[], id: string): LocalAlarmState {
  const found = alarms.find((alarm) => alarm.id === id);
  if (!found) throw new Error(`the report lists no alarm ${id}`);
  return found;
}

describe('local mode evaluates the alarm catalog', () => {
  it("a run with poison messages fires the DLQ alarm; the report lists every catalog alarm; the processor's EMF carries the catalog's metrics under (service, stage)", async () => {
    // Prepare: 120 generated tickets (20% re-sent) carry nine malformed lines, each rejected to the
    // DLQ at once. Without the scheduled monitors: a small sample against the reference baseline is
    // not what this checks.
    const alarmsFile = join(scratch, 'alarms.json');
    const pipeline = await startLocalPipeline({ stack, timeScale: 0.1, alarmsFile, monitors: false });
    try {
      const bodies = buildBodies({ messages: 120, seed: 3, duplicates: 0.2 });

      // Act
      const started = Date.now();
      pipeline.emulators.counter.reset();
      await sendBodies(pipeline.sqs, pipeline.resources.inputQueueUrl, bodies);
      expect(await waitForDrain(pipeline, 60_000)).toBe(true);
      await pipeline.poller.stop();
      const report = await buildReport(pipeline, bodies, Date.now() - started, 0);

      // Assess: nothing lost; every alarm of the catalog reported, the DLQ alarm fired.
      expect(report.invariantViolations).toEqual([]);
      expect(report.invariantHolds).toBe(true);
      expect(report.rejected).toBe(9);
      expect(report.alarms.map((alarm) => alarm.id)).toEqual(alarmIds(catalog));
      expect(report.alarms.map((alarm) => alarm.name)).toEqual([catalog.composite.name, ...catalog.alarms.map((alarm) => alarm.name)]);
      const dlq = stateOf(report.alarms, 'dlq-has-messages');
      expect(dlq).toMatchObject({ state: 'ALARM', runbook: `${catalog.runbookBaseUrl}#dlq-has-messages` });
      expect(dlq.firstFiredAt).not.toBeNull();
      // The DLQ alarm is a ticket: it never pages. (Whether anything else fired depends on how busy
      // the machine is — a starved worker can time out an invocation — so only the page's cause is checked.)
      expect(stateOf(report.alarms, 'pipeline-unhealthy').reason).not.toContain('dlq-has-messages');
      expect(catalog.composite.children).not.toContain('dlq-has-messages');
      for (const id of ['processor-silent', 'input-age-over-sla']) {
        expect(stateOf(report.alarms, id), id).toMatchObject({ state: 'OK', firstFiredAt: null });
      }
      for (const id of ['dynamodb-throttles', 'dynamodb-system-errors']) {
        expect(stateOf(report.alarms, id), id).toMatchObject({ state: 'INSUFFICIENT_DATA', observable: false });
      }

      // Assess: what a CloudWatch alarm on (service, stage) would see of the bundled processor's EMF.
      const alarmSet = { [METRIC_DIMENSION.SERVICE]: METRIC_SERVICE.PROCESSOR, [METRIC_DIMENSION.STAGE]: 'dev' };
      const seen = (name: string) => pipeline.logs.metrics.values({ namespace: METRICS_NAMESPACE, name, dimensions: alarmSet }, 0, Number.MAX_SAFE_INTEGER);
      for (const name of [
        METRIC.RECORDS_RECEIVED,
        METRIC.RECORDS_COMPLETED,
        METRIC.RECORDS_REJECTED,
        METRIC.DUPLICATES_SKIPPED,
        METRIC.MODEL_CALLS,
        METRIC.MODEL_LATENCY,
        METRIC.RECORD_AGE,
      ]) {
        expect(
          seen(name).length,
          `${name} under (service, stage); seen under ${JSON.stringify(pipeline.logs.metrics.dimensionSetsOf(METRICS_NAMESPACE, name))}`,
        ).toBeGreaterThan(0);
      }
      const completed = seen(METRIC.RECORDS_COMPLETED).reduce((total, value) => total + value, 0);
      expect(completed).toBe(pipeline.logs.total(METRIC.RECORDS_COMPLETED));

      // Assess: the states `pipectl status --local` reads.
      const onDisk = JSON.parse(readFileSync(alarmsFile, 'utf8')) as { updatedAt: string; alarms: LocalAlarmState[] };
      expect(onDisk.alarms).toEqual(report.alarms);
    } finally {
      await pipeline.stop();
    }
  });

  it('--faults 5xx=0.9 fires the model error-rate alarm (and the composite shows it)', async () => {
    // Prepare: 200 distinct tickets against a model that fails 90% of calls with 500/502/503/529 —
    // enough work for several (scaled) minutes of attempts, as the alarm wants 2 of 3 minutes over
    // 10 attempts each. No re-sends: duplicates under faults are the chaos tests' subject (see
    // test/chaos), and this test is about the alarm.
    const bodies = buildBodies({ messages: 200, seed: 9, duplicates: 0 });

    // Act
    // Retries and queue backoff stretch the run; on a busy machine draining can take well over a minute.
    const report = await runLocal(bodies, { stack, timeScale: 0.1, faults: '5xx=0.9', monitors: false, drainTimeoutMs: 150_000 });

    // Assess: nothing lost, and the alarm that names the failure fired.
    expect(report.invariantViolations).toEqual([]);
    expect(report.invariantHolds).toBe(true);
    const errorRate = stateOf(report.alarms, 'model-error-rate');
    expect(errorRate.firstFiredAt, `${errorRate.reason}; model calls ${report.modelCalls}, metrics ${JSON.stringify(report.details.metrics)}`).not.toBeNull();
    expect(stateOf(report.alarms, 'pipeline-unhealthy').firstFiredAt).not.toBeNull();
  }, 180_000);

  it('a stopped processor pages through "pipeline unhealthy" (age over the SLA, processor silent), and both clear when it resumes', async () => {
    // Prepare: time scale 0.01, so dev's 900 s SLA is 9 s and a 60 s period 0.6 s. The event
    // source is not started: messages wait, as after `pipectl pause` or a disabled mapping.
    const pipeline = await startLocalPipeline({ stack, timeScale: 0.01, autoStart: false, monitors: false });
    const waitFor = async (what: string, predicate: (alarms: readonly LocalAlarmState[]) => boolean, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(pipeline.alarms.states())) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${what}: ${JSON.stringify(pipeline.alarms.states().map(({ id, state }) => [id, state]))}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    try {
      await sendBodies(pipeline.sqs, pipeline.resources.inputQueueUrl, buildBodies({ messages: 20, seed: 11 }));

      // Act 1: wait for the page.
      await waitFor(
        'the composite alarm',
        (alarms) => stateOf(alarms, 'pipeline-unhealthy').state === 'ALARM' && stateOf(alarms, 'input-age-over-sla').state === 'ALARM',
        30_000,
      );
      const paged = pipeline.alarms.states();

      // Act 2: resume, drain, wait for both alarms to clear. (Not the composite: at this time scale
      // a 0.3 s Lambda timeout on a busy machine may fire processor-errors for a while, rightly.)
      pipeline.poller.start();
      expect(await waitForDrain(pipeline, 30_000)).toBe(true);
      const cleared = (alarms: readonly LocalAlarmState[]) => ['input-age-over-sla', 'processor-silent'].every((id) => stateOf(alarms, id).state === 'OK');
      await waitFor('recovery', cleared, 30_000);
      const recovered = pipeline.alarms.states();

      // Assess: the age alarm fired only once the oldest message was past the SLA in real-time terms.
      expect(stateOf(paged, 'processor-silent').state).toBe('ALARM');
      expect(stateOf(paged, 'input-age-over-sla').firstFiredAfterSeconds).toBeGreaterThanOrEqual(900);
      expect(stateOf(paged, 'pipeline-unhealthy').reason).toMatch(/in ALARM: .*input-age-over-sla/);
      for (const id of ['input-age-over-sla', 'processor-silent']) {
        expect(stateOf(recovered, id).state, id).toBe('OK');
        expect(stateOf(recovered, id).firstFiredAt, id).not.toBeNull();
        expect(stateOf(recovered, 'pipeline-unhealthy').reason, id).not.toContain(id);
      }
    } finally {
      await pipeline.stop();
    }
  }, 120_000);
});

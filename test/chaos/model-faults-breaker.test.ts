/**
 * Chaos, as in model-faults.test.ts (its header), the two faults that open the breaker: a quota
 * exhausted for good (settled by the rules) and an outage longer than the retry budget (deferred,
 * then completed by the models). In a file of their own so that they run beside the others.
 */
import { describe, expect, it } from 'vitest';
import { BREAKER, CONTROL, ENV, LEDGER_STATUS, METRIC } from '../../lambda/contract';
import { DynamoDbBreakerStore } from '../../lambda/resilience/dynamodb-breaker-store';
import { chaos, expectAllCompleted, expectSafe, stack, TIMEOUT_SCENARIO_TIME_SCALE } from './model-chaos';

const PRIMARY = stack.processor.environment[ENV.PRIMARY_MODEL_ID] as string;

// Each run is bounded by its drain timeout (90 s); on a busy machine a run may need more than
// vitest's default 60 s to get there.
describe('chaos: the model fails for longer than the retries, the breaker opens, nothing is lost', { timeout: 150_000 }, () => {
  it('quota exhausted: the quota error is never retried, the breaker opens, records are settled by the rules', async () => {
    // At half speed, as the scenarios that assert no timeout: this one asserts no retry, and a call cut
    // off by its timeout is rightly retried (at ×0.2, beside the full suite at load ~24, a run took 47 s
    // instead of 10 and counted two retries).
    const run = await chaos('quota', 'quota=1', { environment: { [ENV.BREAKER_WHEN_OPEN]: 'fallback' }, timeScale: TIMEOUT_SCENARIO_TIME_SCALE });
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
    // The outage is ended by state, not by a clock: it starts 0.4 s (local time) after the first
    // call and lasts until the primary's breaker has opened in the control table — however long
    // a loaded machine takes to fail enough calls — and is ended then, within the breaker's 6 s
    // cooldown. A fixed 5.6 s window (outage=2-30) closed before the breaker opened at load ~20.
    // What is asserted is unchanged: the breaker opened once, one probe closed it, nothing was
    // settled by the rules or lost meanwhile.
    const run = await chaos('outage', 'outage=2-100000', {
      afterSend: async (pipeline) => {
        const breakers = new DynamoDbBreakerStore(pipeline.dynamodb, pipeline.resources.controlTableName);
        await expect.poll(async () => (await breakers.read(PRIMARY)).openCount, { timeout: 120_000, interval: 100 }).toBeGreaterThan(0);
        pipeline.simulator.endOutage();
      },
    });
    expectSafe(run);
    expectAllCompleted(run.report);
    const opened = run.logLines.filter((line) => line.message === 'breaker opened');
    expect(opened.filter((line) => line.modelId === PRIMARY)).toHaveLength(1);
    const primary = run.breakers.find((item) => item[CONTROL.PARTITION_KEY] === `${CONTROL.BREAKER_PREFIX}${PRIMARY}`);
    expect(primary).toMatchObject({ [BREAKER.OPEN_COUNT]: 1, [BREAKER.STATE]: 'closed' });
    for (const item of run.breakers) expect(item[BREAKER.OPEN_COUNT] ?? 0).toBeLessThanOrEqual(1);
    // One probe at a time: each probe's outcome is logged once; a failed one reopens the breaker
    // for a whole cooldown. The outage ends as soon as the open breaker is read (every 0.1 s),
    // normally well before the first probe; one failed probe per model is allowed for a read that
    // a starved machine delayed past the cooldown.
    const probes = run.logLines.filter((line) => line.message === 'breaker closed after a probe' || line.message === 'breaker reopened after a probe');
    expect(probes.filter((line) => line.modelId === PRIMARY && line.message === 'breaker closed after a probe')).toHaveLength(1);
    expect(probes.filter((line) => line.modelId === PRIMARY).length).toBeLessThanOrEqual(2);
    // Deferred, not settled for less: every result came from a model after the outage.
    expect(run.report.byTier.rules).toBe(0);
    expect(run.report.details.model.byOutcome.outage).toBeGreaterThan(0);
    expect(run.report.details.metrics[METRIC.BREAKER_OPEN]).toBeGreaterThan(0);
    // The wait for the breaker (up to 120 s) comes before the drain (up to 90 s).
  }, 300_000);
});

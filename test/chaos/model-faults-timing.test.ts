/**
 * Chaos, as in model-faults.test.ts (its header), the two scenarios that assert that no
 * invocation times out under slow and hung calls: at half speed (a 15 s invocation), which a
 * starved CPU must not decide for them. In a file of their own so that they run beside the others.
 */
import { describe, expect, it } from 'vitest';
import { METRIC } from '../../lambda/contract';
import { chaos, expectAllCompleted, expectNoLambdaTimeout, expectSafe, TIMEOUT_SCENARIO_TIME_SCALE } from './model-chaos';

// Each run is bounded by its drain timeout (90 s); on a busy machine a run may need more than
// vitest's default 60 s to get there.
describe('chaos: the model is slow or hangs, no invocation times out, nothing is lost', { timeout: 150_000 }, () => {
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
});

/**
 * Chaos: a model outage inside a provider-quota run (issue 14): pacing must not keep the chain
 * from failing over (a 5xx is not paced against), and once the outage is over the primary serves
 * again. Each run is paced to the quota as in quota-pacing.test.ts (quota-run.ts).
 *
 * The failover is asserted on state, not on what a fixed time window happened to hold: the outage
 * lasts for the whole first run, which goes on until the primary's breaker has opened in the
 * control table — however long a loaded machine takes to fail enough calls — and then until the
 * secondary has been asked. With a fixed 10 s window, on a loaded machine the window could close
 * before the breaker opened or any record got through its primary retries to the secondary (one
 * clean-clone CI run of five, 2026-12-03).
 *
 * Bounded: 60 and 100 messages, loopback only; the first run stops once both have happened, the
 * second when the input queue has drained (or after its drain timeout).
 */
import { describe, expect, it } from 'vitest';
import { DynamoDbBreakerStore } from '../../lambda/resilience/dynamodb-breaker-store';
import { startLocalPipeline } from '../../local/local-pipeline';
import { sendBodies } from '../../local/run-local';
import { buildBodies } from '../../local/workload';
import { drainedRun, pacedStack, PRIMARY, RPM, SECONDARY, TIME_SCALE } from './quota-run';

const paced = pacedStack();

/** Generous bounds of the state waits below: they end as soon as the state is there. */
const POLL = { timeout: 240_000, interval: 250 } as const;

describe('an outage inside a quota run', () => {
  it("fails over: once the outage has opened the primary's breaker, the chain goes on to the secondary", async () => {
    // Prepare: an outage from 2 s (simulator time) that outlasts the test, and more work than the
    // breaker needs calls to open (its minimum of 20 calls in the window, at least half failed).
    const bodies = buildBodies({ messages: 60, seed: 14 });
    const pipeline = await startLocalPipeline({ stack: paced, faults: `rpm=${RPM},outage=2-100000`, timeScale: TIME_SCALE, monitors: false });
    try {
      const breakers = new DynamoDbBreakerStore(pipeline.dynamodb, pipeline.resources.controlTableName);
      await sendBodies(pipeline.sqs, pipeline.resources.inputQueueUrl, bodies);

      // Act: the run goes on until the outage has opened the primary's breaker.
      await expect.poll(async () => (await breakers.read(PRIMARY)).openCount, POLL).toBeGreaterThan(0);

      // Assess: the chain fell over to the secondary (after the primary's retries, or past its open
      // breaker): the simulator was asked for it. With the secondary tier skipped, it never is.
      await expect.poll(() => pipeline.simulator.stats().byModel[SECONDARY] ?? 0, POLL).toBeGreaterThan(0);
      expect(pipeline.simulator.stats().byOutcome.outage).toBeGreaterThan(0);
    } finally {
      await pipeline.stop();
    }
  }, 600_000);

  it('serves from the primary again after the outage, and every input settles once', async () => {
    const report = await drainedRun(`rpm=${RPM},outage=2-12`, paced, 100);
    expect(report.invariantHolds, report.invariantViolations.join('; ')).toBe(true);
    expect(report.details.model.byOutcome.outage).toBeGreaterThan(0);
    // Before the outage (its first 2 s) the quota lets through at most 2 s × 1 call/s + one slot
    // of 10 = 12 calls and during it every call fails, so more than 12 primary answers can only
    // come from after it (how many more depends on how fast the machine drains the rest, which is
    // not what this asserts).
    expect(report.byTier.primary).toBeGreaterThan(12);
  }, 600_000);
});

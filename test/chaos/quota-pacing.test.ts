/**
 * Chaos: the whole local pipeline against a provider quota (issue 14). With pacing, a quota
 * well under the pipeline's own throughput is met without failing over: every completed record
 * served by the primary, none by the rules, nothing dead-lettered, few 429s. Without pacing
 * (`RATE_PACING=off`), the same run draws many more 429s. Every run asserts the invariant. An
 * outage inside a quota run is in quota-outage.test.ts; what both share, in quota-run.ts.
 *
 * Bounded: 150 and 200 messages, loopback only, each run ends when the input queue has drained
 * (or after its drain timeout). The unpaced run is the long one: its 200 calls wait on the quota.
 */
import { describe, expect, it } from 'vitest';
import { QUOTA_ENV } from '../../lambda/contract';
import type { LocalRunReport } from '../../local/report';
import { synthesizeLocalStack } from '../../local/stack-model';
import { drainedRun, pacedStack, RPM } from './quota-run';

const paced = pacedStack();
const unpaced = synthesizeLocalStack({ overrides: { quotas: { pacing: 'off' } } });

const refusedShare = (report: LocalRunReport) => {
  const { byOutcome, requests } = report.details.model;
  return requests > 0 ? byOutcome['rate-limited'] / requests : 0;
};

describe('pacing to a provider quota', () => {
  it('meets the quota on the primary: no rules, no dead letters, under 5% 429s; unpaced draws more 429s', async () => {
    expect(paced.processor.environment[QUOTA_ENV.MODEL_QUOTAS]).toContain(`"rpm":${RPM}`);
    // The two runs are independent (a pipeline and a simulator each) and mostly wait on the quota's
    // clock: side by side. The unpaced run has more messages than the provider's full bucket (one
    // minute's worth, 60) plus what it refills while they run (2 a second at half speed): unless it
    // takes 70 s to make its first 200 calls (under 3 messages a second), some are refused.
    const [pacedRun, unpacedRun] = await Promise.all([drainedRun(`rpm=${RPM}`, paced), drainedRun(`rpm=${RPM}`, unpaced, 200)]);
    expect(pacedRun.invariantHolds, pacedRun.invariantViolations.join('; ')).toBe(true);
    expect(pacedRun.byTier.rules).toBe(0);
    expect(pacedRun.deadLettered).toBe(pacedRun.rejected);
    expect(pacedRun.byTier.primary).toBeGreaterThanOrEqual(0.99 * pacedRun.completed);
    expect(refusedShare(pacedRun)).toBeLessThan(0.05);

    expect(unpacedRun.invariantHolds, unpacedRun.invariantViolations.join('; ')).toBe(true);
    expect(unpacedRun.details.model.byOutcome['rate-limited']).toBeGreaterThan(pacedRun.details.model.byOutcome['rate-limited']);
  }, 600_000);
});

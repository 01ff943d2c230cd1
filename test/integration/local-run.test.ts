/**
 * `pipectl local` end to end: the invariant `sent = completed + dead-lettered + in review`
 * (duplicates counted once), computed from the emulators' state.
 */
import { describe, expect, it } from 'vitest';
import { loadStageConfig } from '../../lib/config/stage-config';
import { startLocalPipeline } from '../../local/local-pipeline';
import { buildReport, keyOfBody } from '../../local/report';
import { runLocal, sendBodies } from '../../local/run-local';
import { synthesizeLocalStack } from '../../local/stack-model';
import { buildBodies } from '../../local/workload';

describe('a local run', () => {
  const stack = synthesizeLocalStack();

  it('of 2,000 messages with 20% duplicates holds the invariant', async () => {
    const bodies = buildBodies({ messages: 2000, duplicates: 0.2, seed: 7 });
    const unique = new Set(bodies.map(keyOfBody)).size;
    const report = await runLocal(bodies, { stack });

    expect(report.invariantViolations).toEqual([]);
    expect(report.invariantHolds).toBe(true);
    expect(report.sent).toBe(2000);
    expect(report.unique).toBe(unique);
    expect(report.completed + report.deadLettered + report.inReview).toBe(report.unique);
    // The generated workload carries nine malformed lines; each is rejected once, on its first receive.
    expect(report.rejected).toBe(9);
    expect(report.deadLettered).toBe(9);
    // Every re-send was recognised, and only first sends reached the model (no faults are injected).
    // Every re-send was recognised. On a starved machine an invocation can time out after its work
    // was done; its records come back and count as duplicates too, so this is a lower bound.
    expect(report.duplicatesSkipped).toBeGreaterThanOrEqual(report.sent - report.unique);
    // Every completed key was served by the model (no faults are injected), and no call was made
    // without a claim: a second call for a key needs a second claim (a lease taken over).
    expect(report.modelCalls).toBeGreaterThanOrEqual(report.completed);
    // (A call cut by its timeout on a starved machine may be retried inside the same claim.)
    expect(report.modelCalls).toBeLessThanOrEqual(report.details.claims * loadStageConfig('dev').retry.callsPerReceive);
    expect(report.details.claims).toBeGreaterThanOrEqual(report.completed);
    expect(report.byTier.primary).toBe(report.completed);
    // The happy path: two writes per fresh message (claim, complete), one per rejection and one
    // conditional write per duplicate that reached DynamoDB; reads only from dynalite's missing
    // ReturnValuesOnConditionCheckFailure (see dynamodb-ledger-store.ts), at most one per duplicate.
    // The model layer adds at most one write (the budget's ADD) and one read (the breaker, cached)
    // per invocation, and nothing per record.
    const { 'dynamodb.write': writes, 'dynamodb.read': reads } = report.apiCalls;
    // On a starved machine a timed-out invocation's keys are claimed again (a takeover): each claim
    // beyond the first costs its own claim and completion, and a refused claim (claimed elsewhere,
    // failed) its conditional write; those are counted, not assumed away.
    const { invocations, claims, metrics } = report.details;
    const refused = (metrics.RecordsClaimedElsewhere ?? 0) + (metrics.RecordsFailed ?? 0);
    expect(writes).toBeLessThanOrEqual(2 * claims + report.rejected + report.duplicatesSkipped + refused + invocations);
    expect(writes).toBeGreaterThanOrEqual(2 * report.completed + report.rejected);
    expect(reads).toBeLessThanOrEqual(report.duplicatesSkipped + refused + invocations);
    // Every catalog alarm is reported; the nine rejected lines sit in the DLQ, so its alarm fires.
    expect(report.alarms.length).toBeGreaterThan(10);
    expect(report.alarms.find((alarm) => alarm.id === 'dlq-has-messages')?.state).toBe('ALARM');
  });

  it('reports a broken invariant when messages are left unprocessed', async () => {
    // The poller never starts: what was sent is neither completed, dead-lettered nor in review.
    const pipeline = await startLocalPipeline({ stack, autoStart: false });
    try {
      const bodies = buildBodies({ messages: 5, seed: 3 });
      await sendBodies(pipeline.sqs, pipeline.resources.inputQueueUrl, bodies);
      const report = await buildReport(pipeline, bodies, 0, 0);
      expect(report.invariantHolds).toBe(false);
      expect(report.invariantViolations).toEqual(
        expect.arrayContaining([
          `${report.unique} sent key(s) are neither completed, dead-lettered nor in review`,
          `${bodies.length} message(s) are still on the input queue`,
        ]),
      );
    } finally {
      await pipeline.stop();
    }
  });
});

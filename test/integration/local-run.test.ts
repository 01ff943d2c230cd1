/**
 * `pipectl local` end to end: the invariant `sent = completed + dead-lettered + in review`
 * (duplicates counted once), computed from the emulators' state.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { LEDGER, LEDGER_STATUS, MESSAGE_ATTRIBUTE } from '../../lambda/contract';
import { loadStageConfig } from '../../lib/config/stage-load';
import { startLocalPipeline } from '../../local/local-pipeline';
import { keyOfMessageBody as keyOfBody } from '../../lambda/processor/message-parser';
import { buildReport } from '../../local/report';
import { runLocal, sendBodies } from '../../local/run-local';
import { synthesizeLocalStack } from '../../local/stack-model';
import { buildBodies } from '../../local/workload';

describe('a local run', () => {
  const stack = synthesizeLocalStack();

  // 1,000 messages (it was 2,000 until 2026-12-03): five environments each run about twenty batches,
  // with every kind of re-send, the same paths a larger run takes; the larger run was a quarter of
  // the suite's time target on its own. `pipectl local --messages 2000 --duplicates 0.2` runs it.
  it('of 1,000 messages with 20% duplicates holds the invariant', async () => {
    const bodies = buildBodies({ messages: 1000, duplicates: 0.2, seed: 7 });
    const unique = new Set(bodies.map(keyOfBody)).size;
    const report = await runLocal(bodies, { stack });

    expect(report.invariantViolations).toEqual([]);
    expect(report.invariantHolds).toBe(true);
    expect(report.sent).toBe(1000);
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
    // without a claim: a second call for a key needs a second claim (a lease taken over). Counted
    // at the simulator, not from the processor's metric lines: an invocation killed at its timeout
    // on a starved machine loses its lines (1,589 recorded calls for 1,591 completed keys, in a
    // full run at load 10).
    const modelRequests = report.details.model.requests;
    expect(modelRequests).toBeGreaterThanOrEqual(report.completed);
    // (A call cut by its timeout on a starved machine may be retried inside the same claim.)
    expect(modelRequests).toBeLessThanOrEqual(report.details.claims * loadStageConfig('dev').retry.callsPerReceive);
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
    // Bounded by the run's own drain timeout (120 s for 1,000 messages), after the drift reference run.
  }, 300_000);

  it('reports a broken invariant when messages are left unprocessed', async () => {
    // The poller never starts: what was sent is neither completed, dead-lettered nor in review.
    // No drift reference run (a pipeline of its own on a cold cache): what is asserted is the ledger's reading.
    const pipeline = await startLocalPipeline({ stack, autoStart: false, monitors: { driftReference: false } });
    try {
      const bodies = buildBodies({ messages: 5, seed: 3 });
      await sendBodies(pipeline.sqs, pipeline.resources.inputQueueUrl, bodies);
      const report = await buildReport(pipeline, bodies, 0, 0);
      expect(report.invariantHolds).toBe(false);
      expect(report.invariantViolations).toEqual(
        expect.arrayContaining([
          expect.stringMatching(new RegExp(`^${report.unique} sent key\\(s\\) are neither completed, dead-lettered nor in review: `)),
          `${bodies.length} message(s) are still on the input queue`,
        ]),
      );
      expect(report.details.violatingKeys.filter((entry) => entry.problem === 'lost')).toHaveLength(report.unique);
      expect(report.details.inputQueueDepth).toBe(bodies.length);
    } finally {
      await pipeline.stop();
    }
  });

  it('reports every way a key can end wrong: in two places, two review messages, left IN_PROGRESS or FAILED', async () => {
    // The emulators are given the end state directly (no poller, no reconciler that could settle
    // it): what is asserted is the report's reading of that state.
    const pipeline = await startLocalPipeline({ stack, autoStart: false, monitors: false });
    try {
      const bodies = [...new Map(buildBodies({ messages: 12, seed: 5 }).map((body) => [keyOfBody(body), body])).values()].slice(0, 5);
      const [twice, reviewedTwice, inProgress, failed, fine] = bodies.map(keyOfBody) as [string, string, string, string, string];
      const item = (key: string, status: string) =>
        pipeline.dynamodb.send(
          new PutItemCommand({ TableName: pipeline.resources.ledgerTableName, Item: { [LEDGER.PARTITION_KEY]: { S: key }, [LEDGER.STATUS]: { S: status } } }),
        );
      const review = (key: string) =>
        pipeline.sqs.send(
          new SendMessageCommand({
            QueueUrl: pipeline.resources.reviewQueueUrl,
            MessageBody: '{}',
            MessageAttributes: { [MESSAGE_ATTRIBUTE.INPUT_HASH]: { DataType: 'String', StringValue: key } },
          }),
        );
      await item(twice, LEDGER_STATUS.COMPLETED);
      await review(twice);
      await item(reviewedTwice, LEDGER_STATUS.IN_REVIEW);
      await review(reviewedTwice);
      await review(reviewedTwice);
      await item(inProgress, LEDGER_STATUS.IN_PROGRESS);
      await item(failed, LEDGER_STATUS.FAILED);
      await item(fine, LEDGER_STATUS.COMPLETED);

      const report = await buildReport(pipeline, bodies, 0, 0);

      expect(report.invariantHolds).toBe(false);
      expect(report.details.finalReconcilerRun).toBe('none');
      const problems = report.details.violatingKeys.map(({ key, problem, ledgerStatus, places }) => ({ key, problem, ledgerStatus, places }));
      expect(problems).toEqual(
        expect.arrayContaining([
          { key: twice, problem: 'in-two-places', ledgerStatus: LEDGER_STATUS.COMPLETED, places: ['completed', 'review'] },
          { key: reviewedTwice, problem: 'duplicate-review', ledgerStatus: LEDGER_STATUS.IN_REVIEW, places: ['review'] },
          { key: inProgress, problem: 'in-progress', ledgerStatus: LEDGER_STATUS.IN_PROGRESS, places: [] },
          { key: inProgress, problem: 'lost', ledgerStatus: LEDGER_STATUS.IN_PROGRESS, places: [] },
          { key: failed, problem: 'failed', ledgerStatus: LEDGER_STATUS.FAILED, places: [] },
          { key: failed, problem: 'lost', ledgerStatus: LEDGER_STATUS.FAILED, places: [] },
        ]),
      );
      expect(problems.filter((problem) => problem.key === fine)).toEqual([]);
      expect(problems).toHaveLength(6);
      for (const [count, text] of [
        [1, 'key(s) ended in more than one of completed / DLQ / review'],
        [1, 'key(s) have more than one review message'],
        [1, 'ledger item(s) are still IN_PROGRESS after the final reconciler run'],
        [1, 'ledger item(s) are still FAILED after the final reconciler run'],
        [2, 'sent key(s) are neither completed, dead-lettered nor in review'],
      ] as const) {
        expect(report.invariantViolations.some((violation) => violation.startsWith(`${count} ${text}: `))).toBe(true);
      }
      // The key completed and also in review counts once, as completed; the one reviewed twice, once.
      expect(report.completed).toBe(2);
      expect(report.inReview).toBe(1);
    } finally {
      await pipeline.stop();
    }
  });
});

import { randomUUID } from 'node:crypto';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTROL, JOB, JOB_STATUS, LEDGER_STATUS, METRIC, METRIC_DIMENSION, METRIC_SERVICE, METRICS_NAMESPACE } from '../../lambda/contract';
import { DynamoDbLedgerStore } from '../../lambda/ledger/dynamodb-ledger-store';
import { checkJob, type CompletenessContext, reconcile, registerJob } from '../../lambda/monitors/completeness';
import { deadLetterWitness } from '../../lambda/monitors/dead-letter-witness';
import { inputKey } from '../../lambda/processor/input-key';
import { peekMessages } from '../../lambda/shared/queue-peek';
import { LOCAL_CREDENTIALS, OBSERVER_USER_AGENT } from '../../local/emulators';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { sendBodies, waitForDrain } from '../../local/run-local';
import { MONITOR_NAMES } from '../../local/scheduled-monitors';
import { synthesizeLocalStack } from '../../local/stack-model';

/*
 * Completeness against the real ledger on the embedded DynamoDB (dynalite), with the table and its
 * indexes created from the synthesized template: the reconciler's own functions in-process (exact
 * counts and keys), then the bundled reconciler Lambda in local mode after the event source dropped
 * messages on purpose (the test-only fault), which must page through the `incomplete-job` alarm.
 */

let pipeline: LocalPipeline;
let client: DynamoDBClient;
let store: DynamoDbLedgerStore;
let context: CompletenessContext;
const MAX_RECEIVES = 5;

beforeAll(async () => {
  // At real time, so a busy machine cannot time out invocations (the counts below are exact).
  pipeline = await startLocalPipeline({ stack: synthesizeLocalStack(), timeScale: 1, monitors: { autoStart: false, driftReference: false } });
  client = new DynamoDBClient({
    region: pipeline.emulators.region,
    endpoint: pipeline.emulators.dynamodbEndpoint,
    credentials: LOCAL_CREDENTIALS,
    customUserAgent: OBSERVER_USER_AGENT,
  });
  store = new DynamoDbLedgerStore({ client, tableName: pipeline.resources.ledgerTableName, ttlDays: 30 });
  context = { client, ledgerTable: pipeline.resources.ledgerTableName, controlTable: pipeline.resources.controlTableName, maxReceiveCount: MAX_RECEIVES };
}, 120_000);

afterAll(async () => {
  client?.destroy();
  await pipeline?.stop();
});

// Every job gets its own inputs: an input completed under one job is a duplicate in the next.
const ticket = (index: number, jobId: string) => ({
  task: 'ticket-triage',
  jobId,
  input: { subject: `Order ${index}`, body: `Where is order ${index} of ${jobId}?` },
});

describe('reconcile (in-process, on dynalite)', () => {
  it('finds exactly the missing and the stuck items of an overdue job, and records them on the job', async () => {
    // Prepare: a job of 12 inputs whose ledger items end in every state the processor writes
    const jobId = `job-${randomUUID()}`;
    const now = Date.now();
    const keys = Array.from({ length: 12 }, (_, index) => inputKey('ticket-triage', '1', ticket(index, jobId).input));
    const claim = (key: string, token: string, leaseUntil: number, receiveCount = 1) =>
      store.claim({
        key,
        task: 'ticket-triage',
        taskVersion: '1',
        messageId: `m-${token}`,
        receiveCount,
        jobId,
        claimToken: token,
        leaseUntil,
        now: now - 60_000,
      });
    const result = { category: 'shipping', priority: 'medium', confidence: 0.8, summary: 'shipping (medium)' };
    for (const key of keys.slice(0, 5)) {
      await claim(key, key, now + 60_000);
      await store.complete({ key, claimToken: key, result, tier: 'primary', modelId: 'm', tokensIn: 1, tokensOut: 1, modelLatencyMs: 1, modelCalls: 1, now });
    }
    await claim(keys[5]!, 'r', now + 60_000);
    await store.markInReview({ key: keys[5]!, claimToken: 'r', reasons: ['low confidence'], now });
    // Failed on the last receive (dead-lettered by the redrive) and on an early one (still retrying).
    await claim(keys[6]!, 'f5', now + 60_000, MAX_RECEIVES);
    await store.recordFailure({ key: keys[6]!, claimToken: 'f5', errorClass: 'throttled', message: 'x', receiveCount: MAX_RECEIVES, now });
    await claim(keys[7]!, 'f1', now + 60_000);
    await store.recordFailure({ key: keys[7]!, claimToken: 'f1', errorClass: 'throttled', message: 'x', receiveCount: 1, now });
    // Two attempts that died (lease over), one of them on its message's last receive, and one in flight.
    await claim(keys[8]!, 's1', now - 1_000);
    await claim(keys[9]!, 's2', now - 1_000, MAX_RECEIVES);
    await claim(keys[10]!, 'live', now + 60_000);
    // keys[11] never reached the ledger.
    await registerJob(client, context.controlTable, { jobId, expected: 12, sentAt: now - 120_000, deadline: now - 1, source: 'test' });

    // Act
    const run = await reconcile(context, now);

    // Assess: the two attempts on a last receive (failed, died) are settled as dead-lettered by this
    // run (issue 12, ledger convergence): 12 = completed 5 + dead-lettered 2 + in review 1 +
    // missing 4 (stuck 1, pending 2, not in the ledger 1)
    const job = run.jobs.find((candidate) => candidate.jobId === jobId);
    expect(job).toMatchObject({
      expected: 12,
      completed: 5,
      deadLettered: 2,
      inReview: 1,
      missing: 4,
      stuck: 1,
      pending: 2,
      notInLedger: 1,
      status: JOB_STATUS.INCOMPLETE,
    });
    expect(run.settledItems).toBeGreaterThanOrEqual(2);
    // The processor's last error stays (what `pipectl dlq redrive --reason` matches); the one that
    // died before recording any gets OutOfReceives; the reconciler's reason is settledReason.
    for (const [key, lastErrorClass] of [
      [keys[6]!, 'throttled'],
      [keys[9]!, 'OutOfReceives'],
    ] as const) {
      const { Item: settled } = await client.send(new GetItemCommand({ TableName: context.ledgerTable, Key: { pk: { S: key } }, ConsistentRead: true }));
      expect(unmarshall(settled!)).toMatchObject({
        status: LEDGER_STATUS.DEAD_LETTERED,
        lastErrorClass,
        settledReason: expect.stringMatching(/^out-of-receives: /),
      });
    }
    expect(new Set(job?.stuckKeys)).toEqual(new Set([keys[8]]));
    expect(new Set(job?.pendingKeys)).toEqual(new Set([keys[7], keys[10]]));
    expect(job!.completed + job!.deadLettered + job!.inReview + job!.missing).toBe(12);
    expect(run.incompleteItems).toBeGreaterThanOrEqual(4);
    expect(run.cost.requests).toBeGreaterThanOrEqual(17); // the jobs scan + one query per shard

    const { Item } = await client.send(
      new GetItemCommand({ TableName: context.controlTable, Key: { [CONTROL.PARTITION_KEY]: { S: `${CONTROL.JOB_PREFIX}${jobId}` } }, ConsistentRead: true }),
    );
    const recorded = unmarshall(Item!);
    expect(recorded).toMatchObject({
      [JOB.STATUS]: JOB_STATUS.INCOMPLETE,
      [JOB.MISSING]: 4,
      [JOB.COMPLETED]: 5,
      [JOB.NOT_IN_LEDGER]: 1,
      [JOB.RECONCILED_AT]: now,
    });
    expect(new Set(recorded[JOB.STUCK_KEYS])).toEqual(new Set([keys[8]]));
  });

  it('leaves a job alone before its deadline, marks a complete one complete and never reads it again', async () => {
    // Prepare
    const now = Date.now();
    const early = `job-${randomUUID()}`;
    const done = `job-${randomUUID()}`;
    const key = inputKey('ticket-triage', '1', ticket(1, done).input);
    await store.claim({ key, task: 'ticket-triage', taskVersion: '1', messageId: 'm', jobId: done, claimToken: 't', leaseUntil: now + 1000, now });
    await store.complete({
      key,
      claimToken: 't',
      result: { summary: 'x' },
      tier: 'rules',
      modelId: 'rules',
      tokensIn: 0,
      tokensOut: 0,
      modelLatencyMs: 0,
      modelCalls: 1,
      now,
    });
    await registerJob(client, context.controlTable, { jobId: early, expected: 3, sentAt: now, deadline: now + 3_600_000 });
    await registerJob(client, context.controlTable, { jobId: done, expected: 1, sentAt: now - 10, deadline: now - 1 });

    // Act
    const first = await reconcile(context, now);
    const second = await reconcile(context, now + 1);

    // Assess
    expect(first.jobs.map((job) => job.jobId)).not.toContain(early);
    expect(first.jobs.find((job) => job.jobId === done)?.status).toBe(JOB_STATUS.COMPLETE);
    expect(second.jobs.map((job) => job.jobId)).not.toContain(done);
    // pipectl jobs reads any job on demand, the early one included
    expect(await checkJob(context, early, now)).toMatchObject({ status: JOB_STATUS.OPEN, missing: 3, notInLedger: 3, overdue: false });
  });

  it('settles in one run an item whose later receives all died before writing, because its message is in the DLQ', async () => {
    // Prepare: two inputs FAILED on their first receive. SQS then redrove one of them to the DLQ
    // after receives that wrote nothing (timeouts before the claim): its item still says receive 1.
    // The other's message is still on its way (no DLQ copy). The DLQ also holds an unrelated message.
    const jobId = `job-${randomUUID()}`;
    const now = Date.now();
    const messages = [0, 1].map((index) => ticket(100 + index, jobId));
    const keys = messages.map((message) => inputKey('ticket-triage', '1', message.input));
    for (const [index, key] of keys.entries()) {
      await store.claim({
        key,
        task: 'ticket-triage',
        taskVersion: '1',
        messageId: `m${index}`,
        receiveCount: 1,
        jobId,
        claimToken: `t${index}`,
        leaseUntil: now + 60_000,
        now: now - 60_000,
      });
      await store.recordFailure({ key, claimToken: `t${index}`, errorClass: 'throttled', message: 'x', receiveCount: 1, now: now - 30_000 });
    }
    await registerJob(client, context.controlTable, { jobId, expected: 2, sentAt: now - 120_000, deadline: now - 1, source: 'test' });
    const dlq = pipeline.resources.inputDlqUrl;
    await sendBodies(pipeline.sqs, dlq, [JSON.stringify(messages[0]), JSON.stringify(ticket(999, 'elsewhere'))]);
    const sqs = new SQSClient({ region: pipeline.emulators.region, endpoint: pipeline.emulators.sqsEndpoint, credentials: LOCAL_CREDENTIALS });
    const witness = deadLetterWitness(sqs, { url: dlq, limit: 100 });

    // Act
    const withoutWitness = await reconcile(context, now);
    const unreadable = await reconcile({ ...context, deadLetterWitness: { keysInDeadLetterQueue: () => Promise.reject(new Error('AccessDenied')) } }, now);
    const withWitness = await reconcile({ ...context, deadLetterWitness: witness }, now + 1);

    // Assess: without the DLQ nothing can tell (both pending); with it the redriven one is settled
    // at once, the other is left to its live message, and the DLQ still holds both its messages.
    expect(withoutWitness.jobs.find((job) => job.jobId === jobId)).toMatchObject({ deadLettered: 0, pending: 2 });
    // A DLQ the reconciler cannot read leaves them for a later run, and says so; the job is still counted.
    expect(unreadable.deadLetterWitnessError).toBe('read the DLQ: AccessDenied');
    expect(unreadable.jobs.find((job) => job.jobId === jobId)).toMatchObject({ deadLettered: 0, pending: 2 });
    expect(withWitness.jobs.find((job) => job.jobId === jobId)).toMatchObject({ deadLettered: 1, pending: 1, missing: 1 });
    const status = async (key: string) =>
      unmarshall((await client.send(new GetItemCommand({ TableName: context.ledgerTable, Key: { pk: { S: key } }, ConsistentRead: true }))).Item!);
    expect(await status(keys[0]!)).toMatchObject({ status: LEDGER_STATUS.DEAD_LETTERED });
    expect(await status(keys[1]!)).toMatchObject({ status: LEDGER_STATUS.FAILED });
    const peeked = await peekMessages(sqs, dlq, { visibilitySeconds: 1 });
    expect(peeked.messages.map((message) => JSON.parse(message.Body!).jobId).sort()).toEqual(['elsewhere', jobId]);
    await peeked.release();
    sqs.destroy();
  });

  it('settles the unsettled items of messages sent without a job from the DLQ side, and reads an unchanged DLQ no more', async () => {
    // Prepare: three inputs sent with no job (any SQS producer). One FAILED whose message SQS has
    // redriven; one IN_PROGRESS whose holder's lease is still live, its message redriven too (the
    // holder gave it back and its release write failed); one FAILED whose message is still on its way.
    const now = Date.now();
    const messages = [0, 1, 2].map((index) => ({ task: 'ticket-triage', input: { subject: `no job ${index} ${randomUUID()}`, body: 'b' } }));
    const keys = messages.map((message) => inputKey('ticket-triage', '1', message.input));
    for (const [index, key] of keys.entries()) {
      const claimToken = `nj${index}`;
      await store.claim({
        key,
        task: 'ticket-triage',
        taskVersion: '1',
        messageId: `nj${index}`,
        receiveCount: 1,
        claimToken,
        leaseUntil: now + 60_000,
        now: now - 1_000,
      });
      if (index !== 1) await store.recordFailure({ key, claimToken, errorClass: 'throttled', message: 'x', receiveCount: 1, now: now - 500 });
    }
    const dlq = pipeline.resources.inputDlqUrl;
    await sendBodies(pipeline.sqs, dlq, [JSON.stringify(messages[0]), JSON.stringify(messages[1])]);
    const sqs = new SQSClient({ region: pipeline.emulators.region, endpoint: pipeline.emulators.sqsEndpoint, credentials: LOCAL_CREDENTIALS });
    const inner = deadLetterWitness(sqs, { url: dlq, limit: 100 });
    const sweeps: boolean[] = [];
    const witness = {
      ...inner,
      sweepDue: async (at: number) => {
        const gate = await inner.sweepDue!(at);
        sweeps.push(gate.due);
        return gate;
      },
    };
    const status = async (key: string) =>
      unmarshall((await client.send(new GetItemCommand({ TableName: context.ledgerTable, Key: { pk: { S: key } }, ConsistentRead: true }))).Item!).status;

    // Act: a run while the lease is live, a run after it ended (the DLQ unchanged), and one more.
    const first = await reconcile({ ...context, deadLetterWitness: witness }, now);
    const second = await reconcile({ ...context, deadLetterWitness: witness }, now + 61_000);
    const third = await reconcile({ ...context, deadLetterWitness: witness }, now + 62_000);

    // Assess: the redriven FAILED item settles at once; the live lease is left to its holder, and
    // because of it the unchanged DLQ is swept again, which settles it once the lease has ended;
    // the item whose message is not in the DLQ stays FAILED; a third run does not sweep the
    // unchanged DLQ (the other tests' overdue job may still read it for its own undecided item).
    expect(first.settledFromDeadLetterQueue).toBe(1);
    expect(second.settledFromDeadLetterQueue).toBe(1);
    expect(await status(keys[0]!)).toBe(LEDGER_STATUS.DEAD_LETTERED);
    expect(await status(keys[1]!)).toBe(LEDGER_STATUS.DEAD_LETTERED);
    expect(await status(keys[2]!)).toBe(LEDGER_STATUS.FAILED);
    expect(third.settledFromDeadLetterQueue).toBe(0);
    expect(sweeps).toEqual([true, true, false]);
    sqs.destroy();
  });

  it('refuses to register a job id twice', async () => {
    const jobId = `job-${randomUUID()}`;
    const registration = { jobId, expected: 1, sentAt: 1, deadline: 2 };
    expect(await registerJob(client, context.controlTable, registration)).toBe('registered');
    expect(await registerJob(client, context.controlTable, { ...registration, expected: 99 })).toBe('exists');
  });
});

describe('the reconciler in local mode', () => {
  it('runs on its timer at least every 2 s, the drift monitor at least every 10 s (their scaled rates are longer)', () => {
    // A local run lasts seconds; an idle drift run still queries every shard of its window, so it
    // runs less often than the reconciler, whose runs are what settle keys.
    expect(pipeline.monitors!.intervals).toEqual({ [MONITOR_NAMES.RECONCILER]: 2_000, [MONITOR_NAMES.DRIFT_MONITOR]: 30_000 });
  });

  it('pages through incomplete-job when the event source drops messages of a registered job', async () => {
    // Prepare: a job of 40 tickets; the test-only fault drops the ones whose subject ends in 7
    const jobId = `dropped-${randomUUID()}`;
    const bodies = Array.from({ length: 40 }, (_, index) => JSON.stringify(ticket(index, jobId)));
    const dropped = bodies.filter((body) => /Order \d*7"/.test(body)).length;
    pipeline.poller.dropMessages((message) => /Order \d*7"/.test(message.Body ?? ''));
    const sentAt = Date.now();
    // The producer's two steps: register the job (deadline 2 s on), then send with its jobId.
    await registerJob(client, context.controlTable, { jobId, expected: bodies.length, sentAt, deadline: sentAt + 2_000, source: 'test' });
    await sendBodies(pipeline.sqs, pipeline.resources.inputQueueUrl, bodies);
    expect(await waitForDrain(pipeline, 60_000)).toBe(true);
    pipeline.poller.dropMessages(undefined);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, sentAt + 2_100 - Date.now())));

    // Act: one scheduled run of the bundled reconciler
    const [run] = await pipeline.monitors!.runOnce(MONITOR_NAMES.RECONCILER);
    const alarms = await pipeline.alarms.finish();

    // Assess
    expect(dropped).toBe(4);
    expect(pipeline.poller.droppedMessages).toBe(dropped);
    expect(run?.result).toMatchObject({ kind: 'ok', result: { jobsIncomplete: expect.any(Number) } });
    const job = await checkJob(context, jobId, Date.now());
    expect(job).toMatchObject({ completed: 40 - dropped, missing: dropped, notInLedger: dropped, stuck: 0, status: JOB_STATUS.INCOMPLETE });
    // Published as EMF under the alarm's exact dimension set (service, stage), as on AWS
    const published = pipeline.logs.metrics.values(
      {
        namespace: METRICS_NAMESPACE,
        name: METRIC.INCOMPLETE_JOB_ITEMS,
        dimensions: { [METRIC_DIMENSION.SERVICE]: METRIC_SERVICE.RECONCILER, [METRIC_DIMENSION.STAGE]: 'dev' },
      },
      0,
      Number.POSITIVE_INFINITY,
    );
    expect(published.length).toBeGreaterThan(0);
    expect(Math.max(...published)).toBeGreaterThanOrEqual(dropped);
    expect(alarms.find((alarm) => alarm.id === 'incomplete-job')?.state).toBe('ALARM');
  }, 180_000);
});

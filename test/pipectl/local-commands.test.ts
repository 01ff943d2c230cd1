/**
 * The on-call commands against local mode, as a user runs them: the real pipeline (bundled
 * processor, poller, fauxqs, dynalite), its control API, a serve file, and `pipectl … --local`
 * parsed by commander in-process. Every message that flows is accounted for:
 * `sent = completed + dead-lettered + in review`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LEDGER_STATUS, MESSAGE_ATTRIBUTE } from '../../lambda/contract';
import { DynamoDbLedgerStore } from '../../lambda/ledger/dynamodb-ledger-store';
import { REJECTION_REASON } from '../../lambda/errors/pipeline-errors';
import { inputKey } from '../../lambda/processor/input-key';
import { SqsQueueGateway } from '../../lambda/processor/queue-gateway';
import { type ControlApi, startPipelineControlApi } from '../../local/control-api';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { keyOfMessageBody as keyOfBody } from '../../lambda/processor/message-parser';
import { waitForDrain } from '../../local/run-local';
import { synthesizeLocalStack } from '../../local/stack-model';
import { DONE_STATUSES, getLedgerItems } from '../../pipectl/ledger-reader';
import { servedEndpoints, writeServeFile } from '../../pipectl/local-endpoints';
import { keyOfMessage } from '../../pipectl/queue-inspector';
import { inspectMessages } from '../../local/queue-inspection';
import { localTarget, type PipelineTarget } from '../../pipectl/target';
import { pipectl } from './cli-harness';

// Tests that wait for the pipeline to drain get room for a loaded machine; none waits longer than it must.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

const scratch = mkdtempSync(join(tmpdir(), 'pipectl-cmds-'));
/** The processor's switch refresh in this file's pipeline, in ms: a quiet breaker is re-read as often. */
const REFRESH_MS = 1_000;
const serveFile = join(scratch, 'serve.json');
const local = ['--local', serveFile];

let pipeline: LocalPipeline;
let controlApi: ControlApi;
let target: PipelineTarget;
let producer: SQSClient;

beforeAll(async () => {
  // A processor log (and the alarm states written next to it), as `pipectl local --serve` has. At
  // a quarter of real time a function timeout is 7.5 s: a busy machine slows the pipeline down
  // without turning its invocations into timeouts, which these tests are not about.
  // Switches and a quiet breaker re-read every second (15 s by default): the breaker test waits for that.
  pipeline = await startLocalPipeline({
    stack: synthesizeLocalStack(),
    logFile: join(scratch, 'processor.log'),
    timeScale: 0.25,
    environment: { SWITCH_REFRESH_MS: String(REFRESH_MS) },
    // No drift reference run: with this environment of its own it would cost a pipeline (~10 s of
    // CPU) on a cold cache, and no command tested here reads drift.
    monitors: { driftReference: false },
  });
  controlApi = await startPipelineControlApi(pipeline);
  const { emulators } = pipeline;
  writeServeFile(servedEndpoints(pipeline, { lambdaEndpoint: controlApi.endpoint, logFile: join(scratch, 'processor.log'), pid: process.pid }), serveFile);
  target = localTarget(serveFile);
  // A producer other than pipectl: what any SQS client can send, bad lines included.
  producer = new SQSClient({
    region: emulators.region,
    endpoint: emulators.sqsEndpoint,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    useQueueUrlAsEndpoint: false,
  });
}, 120_000);

afterAll(async () => {
  target?.destroy();
  producer?.destroy();
  await controlApi?.stop();
  await pipeline?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const ticket = (subject: string, body = `Details about ${subject.toLowerCase()}.`) => ({ subject, body });
const line = (input: object, extra: object = {}) => JSON.stringify({ task: 'ticket-triage', input, ...extra });

/** Waits until the input queue is empty and nothing is in flight (a loaded machine runs the pipeline slower). */
async function drain(): Promise<void> {
  expect(await waitForDrain(pipeline, 120_000)).toBe(true);
}

/**
 * Where each sent body's key ended: completed (ledger), dead-lettered (DLQ), in review (review
 * queue), or nowhere. Read with pipectl's own readers, which put every message back.
 */
async function accountFor(bodies: readonly string[]) {
  const keys = new Set(bodies.map(keyOfBody));
  const ledger = await getLedgerItems(target.dynamodb, target.resources.ledgerTableName, keys);
  // Read through the emulator's inspection, not a receive: the reconciler's DLQ sweep may hold
  // a message in flight at this moment, which a receive would not see (and would count as lost).
  const sqsEndpoint = target.local?.sqsEndpoint as string;
  const deadLettered = new Set((await inspectMessages(sqsEndpoint, target.resources.inputDlqUrl)).map(keyOfMessage));
  const inReview = new Set((await inspectMessages(sqsEndpoint, target.resources.reviewQueueUrl)).map(keyOfMessage));
  const outcome = { completed: 0, deadLettered: 0, inReview: 0, lost: [] as string[] };
  for (const key of keys) {
    if (ledger.get(key)?.status === LEDGER_STATUS.COMPLETED) outcome.completed += 1;
    else if (inReview.has(key)) outcome.inReview += 1;
    else if (deadLettered.has(key)) outcome.deadLettered += 1;
    else outcome.lost.push(key);
  }
  return { unique: keys.size, ...outcome };
}

describe('send', () => {
  const file = join(scratch, 'tickets.jsonl');
  const good = Array.from({ length: 23 }, (_, index) => line(ticket(`Order ${index} did not arrive`)));
  // Two re-sends of earlier tickets (one restyled), and two lines the processor would reject.
  const lines = [...good, good[3] as string, JSON.stringify(JSON.parse(good[5] as string), null, 1).replace(/\n/g, ' '), 'not json', line({ subject: 'x' })];

  it('refuses a file with invalid lines, naming them, and sends nothing', async () => {
    writeFileSync(file, `${lines.join('\n')}\n`);
    const run = await pipectl(['send', file, ...local, '--yes']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${file}:26: NOT_JSON: `);
    expect(run.stderr).toContain(`${file}:27: INVALID_INPUT: `);
    expect(run.stderr).toMatch(/2 of 27 line\(s\) are invalid: nothing was sent/);
    const items = await getLedgerItems(target.dynamodb, target.resources.ledgerTableName, good.map(keyOfBody));
    expect(items.size).toBe(0);
  });

  it('--dry-run validates and sends nothing', async () => {
    const run = await pipectl(['send', file, ...local, '--skip-invalid', '--dry-run', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ valid: 25, unique: 23, invalid: 2, toSend: 25, sent: 0, dryRun: true });
    expect((await pipectl(['jobs', ...local, '--json'])).stdout.trim()).toBe('[]');
  });

  it('sends the valid lines with --skip-invalid, registers the job, and the job completes: sent = completed + dead-lettered + in review', async () => {
    const run = await pipectl(['send', file, ...local, '--skip-invalid', '--yes']);
    expect(run.code, run.stderr).toBe(0);
    const jobId = run.stdout.trim();
    expect(jobId).toMatch(/^job-[0-9a-f]{16}$/);
    expect(run.stderr).toMatch(/registered job job-[0-9a-f]{16}: 25 message\(s\)/);
    await drain();

    const jobs = await pipectl(['jobs', jobId, ...local, '--json']);
    expect(jobs.code, jobs.stderr).toBe(0);
    const progress = JSON.parse(jobs.stdout);
    expect(progress).toMatchObject({ jobId, sent: 25, expected: 23, completed: 23, deadLettered: 0, inReview: 0, missing: 0, status: 'complete' });
    expect(progress.completed + progress.deadLettered + progress.inReview).toBe(progress.expected);
    const accounted = await accountFor(good);
    expect(accounted).toMatchObject({ unique: 23, completed: 23, lost: [] });
  });

  it('is resumable: the same file again sends nothing that is done and says so', async () => {
    const run = await pipectl(['send', file, ...local, '--skip-invalid', '--yes', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ alreadyDone: 25, toSend: 0, sent: 0, resumed: true });
    expect(run.stderr).toMatch(/25 message\(s\) were already done/);
    expect(run.stderr).toMatch(/resuming job/);
  });

  it('a new job of inputs another job settled counts only its own inputs, so it can complete', async () => {
    const mixed = join(scratch, 'mixed.jsonl');
    writeFileSync(mixed, `${[good[0], good[1], line(ticket('Only in the second job'))].join('\n')}\n`);
    const run = await pipectl(['send', mixed, ...local, '--yes', '--json', '--job-id', 'second-job']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ valid: 3, unique: 3, alreadyDone: 2, settledElsewhere: 2, sent: 1 });
    expect(run.stderr).toMatch(/2 of those input\(s\) were settled under another job \(or none\): the job counts 1 input\(s\), not 3/);
    await drain();
    expect(JSON.parse((await pipectl(['jobs', 'second-job', ...local, '--json'])).stdout)).toMatchObject({
      sent: 3,
      expected: 1,
      completed: 1,
      missing: 0,
      status: 'complete',
    });
  });

  it('refuses to reuse a job id for another input', async () => {
    const other = join(scratch, 'other.jsonl');
    writeFileSync(other, `${line(ticket('Another one'))}\n`);
    const jobs = JSON.parse((await pipectl(['jobs', ...local, '--json'])).stdout) as Array<{ jobId: string; sent: number }>;
    const jobId = jobs.find((job) => job.sent === 25)?.jobId as string;
    const run = await pipectl(['send', other, ...local, '--yes', '--job-id', jobId]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/already registered with 25 messages; this input has 1/);
  });

  it('reads standard input with -', async () => {
    const run = await pipectl(['send', '-', ...local, '--yes', '--job-id', 'stdin-job'], { stdin: `${line(ticket('From a pipe'))}\n` });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('stdin-job');
    await drain();
    expect(JSON.parse((await pipectl(['jobs', 'stdin-job', ...local, '--json'])).stdout)).toMatchObject({ completed: 1, missing: 0, status: 'complete' });
  });
});

describe('pause and resume', () => {
  // Whatever an assertion below does, the pipeline runs again for the tests after it.
  afterAll(async () => {
    await pipectl(['resume', ...local, '--yes']);
  });

  it('pausing stops processing, nothing is lost, status says so loudly; resuming processes the backlog', async () => {
    const paused = await pipectl(['pause', ...local, '--yes', '--wait', '10s']);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout.trim()).toBe('Disabled');

    const bodies = Array.from({ length: 12 }, (_, index) => line(ticket(`Paused ticket ${index}`)));
    for (const body of bodies) await producer.send(new SendMessageCommand({ QueueUrl: target.resources.inputQueueUrl, MessageBody: body }));
    // Long enough for several poll cycles of a running poller at this time scale.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const status = await pipectl(['status', ...local, '--json']);
    const report = JSON.parse(status.stdout);
    expect(report.mapping).toMatchObject({ paused: true, state: 'Disabled' });
    expect(report.queues[0]).toMatchObject({ role: 'input', visible: 12, inFlight: 0 });
    // The age of the oldest waiting message, read without receiving it.
    expect(report.queues[0].oldestAgeMs).toBeGreaterThanOrEqual(1000);
    const screen = await pipectl(['status', ...local]);
    expect(screen.stdout).toContain('PROCESSOR PAUSED');
    expect(screen.stdout).toContain('resume with: pipectl resume --local');
    const before = await getLedgerItems(target.dynamodb, target.resources.ledgerTableName, bodies.map(keyOfBody));
    expect(before.size).toBe(0);

    const resumed = await pipectl(['resume', ...local, '--yes']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/12 queued message\(s\) will be processed/);
    await drain();
    expect(await accountFor(bodies)).toMatchObject({ unique: 12, completed: 12, deadLettered: 0, inReview: 0, lost: [] });
  });
});

describe('dlq', () => {
  const rejected = ['not json at all', '{"task":"ticket-triage","input":{"subject":"no body"}}', 'still not json'];
  const fresh = line(ticket('Stuck during the outage'));
  const alreadyDone = line(ticket('Order 7 did not arrive'));
  // One whose attempts timed out until its receives ran out: the ledger holds why.
  const timedOut = line(ticket('Timed out five times'));
  let rejectedIds: string[] = [];

  beforeAll(async () => {
    for (const body of rejected) await producer.send(new SendMessageCommand({ QueueUrl: target.resources.inputQueueUrl, MessageBody: body }));
    await drain();
    // What the queue's redrive policy leaves after maxReceiveCount: the bare body, no failure attributes.
    // One input never completed, one completed earlier (a copy from before an outage).
    for (const body of [fresh, alreadyDone, timedOut])
      await producer.send(new SendMessageCommand({ QueueUrl: target.resources.inputDlqUrl, MessageBody: body }));
    const dynamodb = new DynamoDBClient({
      region: target.region,
      endpoint: target.local?.dynamodbEndpoint,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const ledger = new DynamoDbLedgerStore({ client: dynamodb, tableName: target.resources.ledgerTableName, ttlDays: 30 });
    const now = Date.now();
    const key = keyOfBody(timedOut);
    await ledger.claim({ key, task: 'ticket-triage', taskVersion: '1', messageId: 'm-timeout', claimToken: 't-timeout', leaseUntil: now + 60_000, now });
    await ledger.recordFailure({ key, claimToken: 't-timeout', errorClass: 'Timeout', message: 'the model call timed out', receiveCount: 5, now });
    dynamodb.destroy();
  });

  it('list groups dead letters by reason and leaves them in the DLQ', async () => {
    const run = await pipectl(['dlq', 'list', ...local, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const listing = JSON.parse(run.stdout);
    expect(listing.total).toBe(6);
    const counts = Object.fromEntries(listing.groups.map((group: { failureClass: string; count: number }) => [group.failureClass, group.count]));
    expect(counts).toEqual({ [REJECTION_REASON.NOT_JSON]: 2, [REJECTION_REASON.INVALID_INPUT]: 1, MAX_RECEIVES_EXCEEDED: 3 });
    const exhausted = listing.groups.find((group: { failureClass: string }) => group.failureClass === 'MAX_RECEIVES_EXCEEDED');
    expect(exhausted.lastErrors).toEqual({ Timeout: 1 });
    rejectedIds = listing.groups
      .filter((group: { badInput: boolean }) => group.badInput)
      .flatMap((group: { samples: Array<{ messageId: string }> }) => group.samples.map((sample) => sample.messageId));
    // Read twice: the first read put everything back.
    expect(JSON.parse((await pipectl(['dlq', 'list', ...local, '--json'])).stdout).total).toBe(6);
    const screen = await pipectl(['dlq', 'list', ...local]);
    expect(screen.stdout).toMatch(/NOT_JSON\s+2\s+bad input/);
  });

  it('status shows the DLQ alarm local mode raised, and the last hour by tier from the processor log', async () => {
    // The local evaluator samples the DLQ and evaluates one (scaled) period after the first dead letter.
    let screen = '';
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 500))) {
      screen = (await pipectl(['status', ...local])).stdout;
      if (screen.includes('dlq-has-messages')) break;
    }
    expect(screen).toMatch(/alarms {8}\d+ in ALARM:[\s\S]*✘ AiPipeline-dev-dlq-has-messages/);
    expect(screen).toMatch(/→ 6 dead letter\(s\): pipectl dlq list --local/);
    const report = JSON.parse((await pipectl(['status', ...local, '--json'])).stdout);
    expect(report.lastHour).toMatchObject({ source: 'processor log', byTier: { secondary: 0, rules: 0 } });
    // Everything completed so far went to the primary model: the send and pause tests' 36 inputs.
    expect(report.lastHour.completed).toBeGreaterThanOrEqual(36);
    expect(report.lastHour.byTier.primary).toBe(report.lastHour.completed);
  });

  it('triage writes the incident files from the evidence and changes nothing', async () => {
    const before = JSON.parse((await pipectl(['dlq', 'list', ...local, '--json'])).stdout);
    const out = join(scratch, 'incidents');
    const run = await pipectl(['triage', '--alarm', 'dlq-has-messages', '--since', '30m', '--out', out, ...local]);
    expect(run.code, run.stderr).toBe(0);
    const markdownFile = run.stdout.trim();
    expect(markdownFile).toMatch(/incident-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\.md$/);
    const markdown = readFileSync(markdownFile, 'utf8');
    const evidence = JSON.parse(readFileSync(markdownFile.replace(/\.md$/, '.json'), 'utf8'));
    expect(evidence.deadLetters.total).toBe(6);
    expect(evidence.deadLetters.groups.map((group: { failureClass: string }) => group.failureClass).sort()).toEqual([
      'INVALID_INPUT',
      'MAX_RECEIVES_EXCEEDED',
      'NOT_JSON',
    ]);
    // Bodies stay out unless asked for (they may hold customer data).
    const samples = evidence.deadLetters.groups.flatMap((group: { samples: object[] }) => group.samples);
    expect(samples.length).toBeGreaterThan(0);
    for (const sample of samples) expect(sample).not.toHaveProperty('body');
    expect(evidence.configuration.models).toMatchObject({ PRIMARY_MODEL_ID: 'sim-primary' });
    expect(evidence.configuration.tasks).toEqual([{ name: 'ticket-triage', version: '1' }]);
    expect(Object.keys(evidence.runbook)).toContain('dlq-has-messages');
    expect(markdown).toContain('## Dead letters');
    expect(markdown).toMatch(/\| NOT_JSON \| 2 \| bad input \|/);
    expect(markdown).toContain('## dlq-has-messages: Input DLQ has messages'.replace('## ', '### '));
    expect(markdown).toContain('Processor metrics in the window');
    // The post-mortem template, its timeline prefilled with what triage saw.
    expect(markdown).toContain('# Post-mortem: <title');
    expect(markdown).toMatch(/\| \d{2}:\d{2}:\d{2} \| dlq: first dead letter of the window sent/);
    expect(markdown).toMatch(/\| \d{2}:\d{2}:\d{2} \| triage: pipectl triage collected this evidence \|/);
    expect(markdown).toMatch(/\*\*Alarms:\*\* .*AiPipeline-dev-dlq-has-messages/);
    const after = JSON.parse((await pipectl(['dlq', 'list', ...local, '--json'])).stdout);
    expect(after.total).toBe(before.total);
  });

  it('show prints one dead letter with its failure and ledger item; an unknown id says what to do', async () => {
    const run = await pipectl(['dlq', 'show', rejectedIds[0] as string, ...local]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/reason\s+(NOT_JSON|INVALID_INPUT) \(bad input\)/);
    expect(run.stdout).toMatch(/ledger\s+\{.*"status":"REJECTED"/);
    const byKey = await pipectl(['dlq', 'show', keyOfBody(fresh), ...local, '--json']);
    expect(JSON.parse(byKey.stdout)).toMatchObject({ key: keyOfBody(fresh), failureClass: 'MAX_RECEIVES_EXCEEDED', badInput: false });
    const missing = await pipectl(['dlq', 'show', 'no-such-id', ...local]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no dead letter with message id or key no-such-id.*pipectl dlq list --local/);
  });

  it('redrive --dry-run moves nothing; without --yes nothing moves either', async () => {
    const dry = await pipectl(['dlq', 'redrive', '--reason', 'MAX_RECEIVES_EXCEEDED', '--dry-run', ...local, '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ method: 'dry-run', moved: 3, duplicates: 1, badInput: 0, skipped: 3 });
    // --reason also takes the last error class the ledger recorded.
    const byError = await pipectl(['dlq', 'redrive', '--reason', 'Timeout', '--dry-run', ...local, '--json']);
    expect(JSON.parse(byError.stdout)).toMatchObject({ method: 'dry-run', moved: 1, byClass: { MAX_RECEIVES_EXCEEDED: 1 }, skipped: 5 });
    const unconfirmed = await pipectl(['dlq', 'redrive', ...local]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/Re-run with --yes to confirm \(or --dry-run to see what it would do\)/);
    expect(JSON.parse((await pipectl(['dlq', 'list', ...local, '--json'])).stdout).total).toBe(6);
  });

  it('redrive --reason moves only that class, says how many were duplicates, and the ledger dedupes them', async () => {
    const run = await pipectl(['dlq', 'redrive', '--reason', 'MAX_RECEIVES_EXCEEDED', '--rate', '50', ...local, '--yes', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ method: 'receive-send-delete', moved: 3, duplicates: 1, skipped: 3 });
    await drain();
    const items = await getLedgerItems(target.dynamodb, target.resources.ledgerTableName, [fresh, alreadyDone, timedOut].map(keyOfBody));
    expect([...items.values()].map((item) => item.status)).toEqual([LEDGER_STATUS.COMPLETED, LEDGER_STATUS.COMPLETED, LEDGER_STATUS.COMPLETED]);
    // The reconciler's DLQ sweep may hold the queue when we list it, longer than the listing's own
    // 4 s of retries on a loaded machine (the clean-clone CI of 2026-12-03 listed 0 of the 3; that
    // run did not show whether they were held or gone). The listing counts what is held elsewhere
    // (`heldElsewhere`) and an operator runs it again: so do we. Held or listed, none may be gone.
    let left = JSON.parse((await pipectl(['dlq', 'list', ...local, '--json'])).stdout);
    for (let attempt = 0; left.heldElsewhere > 0 && attempt < 8; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      left = JSON.parse((await pipectl(['dlq', 'list', ...local, '--json'])).stdout);
    }
    expect(left.total + left.heldElsewhere).toBe(3);
    expect(left.total).toBe(3);
    expect(await accountFor([...rejected, fresh, alreadyDone, timedOut])).toMatchObject({ unique: 6, completed: 3, deadLettered: 3, inReview: 0, lost: [] });
  }, 120_000);

  it('redrive of everything falls back from StartMessageMoveTask locally; bad input is rejected again, nothing is lost', async () => {
    const run = await pipectl(['dlq', 'redrive', ...local, '--yes', '--rate', '50']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/note: StartMessageMoveTask is not available here/);
    expect(run.stdout).toMatch(/moved 3 message\(s\).*\n.*0 of them are duplicates.*\n\s+3 are bad input and will be rejected again/);
    await drain();
    expect(await accountFor(rejected)).toMatchObject({ unique: 3, deadLettered: 3, lost: [] });
  });
});

describe('review', () => {
  const input = ticket('Ambiguous request', 'Something something, please advise.');
  const key = inputKey('ticket-triage', '1', input);

  beforeAll(async () => {
    // Escalate one record with the processor's own ledger and queue code (the fallback chain ends
    // in review only when every tier fails, which needs the model layer's faults).
    const dynamodb = new DynamoDBClient({
      region: target.region,
      endpoint: target.local?.dynamodbEndpoint,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const ledger = new DynamoDbLedgerStore({ client: dynamodb, tableName: target.resources.ledgerTableName, ttlDays: 30 });
    const now = Date.now();
    await ledger.claim({ key, task: 'ticket-triage', taskVersion: '1', messageId: 'm-review', claimToken: 't1', leaseUntil: now + 60_000, now });
    const gateway = new SqsQueueGateway({
      client: producer,
      inputQueueUrl: target.resources.inputQueueUrl,
      deadLetterQueueUrl: target.resources.inputDlqUrl,
      reviewQueueUrl: target.resources.reviewQueueUrl,
    });
    await gateway.escalate(JSON.stringify({ key, task: 'ticket-triage', taskVersion: '1', input, reasons: ['primary: output failed the schema'] }), {
      [MESSAGE_ATTRIBUTE.INPUT_HASH]: key,
      [MESSAGE_ATTRIBUTE.FAILURE_REASON]: 'ESCALATED',
    });
    await ledger.markInReview({ key, claimToken: 't1', reasons: ['primary: output failed the schema'], now });
    dynamodb.destroy();
  });

  it('list shows the record with why it is there, and leaves it in the queue', async () => {
    const run = await pipectl(['review', 'list', ...local]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(key);
    expect(run.stdout).toContain('primary: output failed the schema');
    const json = JSON.parse((await pipectl(['review', 'list', ...local, '--json'])).stdout);
    expect(json.items).toHaveLength(1);
    expect(json.items[0]).toMatchObject({ key, task: 'ticket-triage', ledgerStatus: LEDGER_STATUS.IN_REVIEW, reasons: ['primary: output failed the schema'] });
  });

  it('resolve refuses a result that fails the task schema, and changes nothing', async () => {
    const run = await pipectl([
      'review',
      'resolve',
      key,
      '--result',
      '{"category":"weather","priority":"high","confidence":2,"summary":"x"}',
      ...local,
      '--yes',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/does not match the ticket-triage output schema: category: .*confidence: /);
    const items = await getLedgerItems(target.dynamodb, target.resources.ledgerTableName, [key]);
    expect(items.get(key)?.status).toBe(LEDGER_STATUS.IN_REVIEW);
    expect(JSON.parse((await pipectl(['review', 'list', ...local, '--json'])).stdout).items).toHaveLength(1);
  });

  it('resolve writes the result as tier human and removes the review message; repeating it is harmless', async () => {
    const result = { category: 'other', priority: 'low', confidence: 1, summary: 'Asked for advice; answered by support.' };
    const run = await pipectl(['review', 'resolve', key, '--result', JSON.stringify(result), '--by', 'on-call', ...local, '--yes']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('resolved');
    expect(run.stderr).toMatch(/1 review message\(s\) removed/);
    const item = (await getLedgerItems(target.dynamodb, target.resources.ledgerTableName, [key])).get(key);
    expect(item).toMatchObject({ status: LEDGER_STATUS.COMPLETED, tier: 'human', result, resolvedBy: 'on-call' });
    // As a processor completion: in the byHour index, with the task's drift features.
    expect(item?.hourShard).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}#[0-9a-f]$/);
    expect(item?.features).toMatchObject({ category: 'other', priority: 'low', servingTier: 'human' });
    expect(DONE_STATUSES.has(String(item?.status))).toBe(true);
    expect(JSON.parse((await pipectl(['review', 'list', ...local, '--json'])).stdout).items).toHaveLength(0);

    const again = await pipectl(['review', 'resolve', key, '--result', JSON.stringify(result), ...local, '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe('already-resolved');
  });

  it('resolve of a key that is not in review refuses', async () => {
    const completed = keyOfBody(line(ticket('Order 3 did not arrive')));
    const run = await pipectl([
      'review',
      'resolve',
      completed,
      '--result',
      '{"category":"other","priority":"low","confidence":1,"summary":"x"}',
      ...local,
      '--yes',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/is COMPLETED \(tier primary\), not in review: nothing changed/);
  });
});

/**
 * Runs the AWS CLI without blocking this process: the emulators it talks to live in this process's
 * event loop, which `spawnSync` would freeze.
 */
function aws(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('aws', args, { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('breaker', () => {
  afterAll(async () => {
    await pipectl(['breaker', 'close', '--model', 'sim-primary', ...local, '--yes']);
  });

  it('open needs a model and a reason, and without --yes changes nothing', async () => {
    const noModel = await pipectl(['breaker', 'open', ...local, '--yes']);
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toMatch(/which model\? Give --model <id>/);
    const noReason = await pipectl(['breaker', 'open', '--model', 'sim-primary', ...local, '--yes']);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/--reason is required/);
    const unconfirmed = await pipectl(['breaker', 'open', '--model', 'sim-primary', '--reason', 'drill', ...local]);
    expect(unconfirmed.code).toBe(2);
    const status = JSON.parse((await pipectl(['breaker', 'status', '--model', 'sim-primary', ...local, '--json'])).stdout);
    expect(status[0].forced).toBeUndefined();
  });

  it('forced open, the processor serves from the next tier; closed again, from the primary model', async () => {
    const opened = await pipectl(['breaker', 'open', '--model', 'sim-primary', '--reason', 'provider incident drill', '--by', 'test', ...local, '--yes']);
    expect(opened.code, opened.stderr).toBe(0);
    expect(opened.stdout.trim()).toBe('open (forced)');
    const screen = (await pipectl(['status', ...local])).stdout;
    expect(screen).toMatch(/✘ sim-primary: open \(forced\).*forced by .*: provider incident drill/);
    // An instance that read the breaker closed keeps that reading for up to REFRESH_MS (a quiet breaker is read as often as the switches).
    await new Promise((resolve) => setTimeout(resolve, REFRESH_MS + 500));

    const during = line(ticket('Sent while the breaker was forced open'));
    await producer.send(new SendMessageCommand({ QueueUrl: target.resources.inputQueueUrl, MessageBody: during }));
    await drain();
    const closed = await pipectl(['breaker', 'close', '--model', 'sim-primary', ...local, '--yes']);
    expect(closed.code, closed.stderr).toBe(0);
    expect(closed.stdout.trim()).toBe('closed');
    // Instances trust the open state they read for a moment (2.5 × BREAKER_CACHE_MS, scaled): well under REFRESH_MS.
    await new Promise((resolve) => setTimeout(resolve, REFRESH_MS + 500));
    const after = line(ticket('Sent after the breaker was closed'));
    await producer.send(new SendMessageCommand({ QueueUrl: target.resources.inputQueueUrl, MessageBody: after }));
    await drain();
    const items = await getLedgerItems(target.dynamodb, target.resources.ledgerTableName, [keyOfBody(during), keyOfBody(after)]);
    expect(items.get(keyOfBody(during))).toMatchObject({ status: LEDGER_STATUS.COMPLETED, tier: 'secondary' });
    expect(items.get(keyOfBody(after))).toMatchObject({ status: LEDGER_STATUS.COMPLETED, tier: 'primary' });
  });
});

const awsCli = spawnSync('aws', ['--version'], { encoding: 'utf8' });
const awsCliMissing = awsCli.error || awsCli.status !== 0 ? 'the AWS CLI (aws) is not installed' : undefined;
if (awsCliMissing) console.warn(`pipectl local AWS CLI test skipped: ${awsCliMissing}`);

describe.skipIf(awsCliMissing !== undefined)('the AWS CLI against the local endpoints (as the README shows)', () => {
  it('sends with `aws sqs send-message` and reads the result with `aws dynamodb get-item`', async () => {
    const input = ticket('Sent by the AWS CLI');
    const env = { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_DEFAULT_REGION: target.region };
    const send = await aws(
      [
        '--endpoint-url',
        target.local?.sqsEndpoint as string,
        'sqs',
        'send-message',
        '--queue-url',
        target.resources.inputQueueUrl,
        '--message-body',
        line(input),
      ],
      env,
    );
    expect(send.status, send.stderr).toBe(0);
    expect(JSON.parse(send.stdout)).toHaveProperty('MessageId');
    await drain();
    const key = inputKey('ticket-triage', '1', input);
    const get = await aws(
      [
        '--endpoint-url',
        target.local?.dynamodbEndpoint as string,
        'dynamodb',
        'get-item',
        '--table-name',
        target.resources.ledgerTableName,
        '--key',
        JSON.stringify({ pk: { S: key } }),
      ],
      env,
    );
    expect(get.status, get.stderr).toBe(0);
    expect(JSON.parse(get.stdout).Item.status.S).toBe(LEDGER_STATUS.COMPLETED);
  });
});

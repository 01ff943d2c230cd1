/**
 * Every AWS call a Lambda of this stack makes is allowed by its role in the synthesized template.
 *
 * The bug class: code makes a call its role does not allow. Local mode never enforces IAM, so such
 * a call works in every local test and fails only on AWS, as AccessDenied. Real instance (fixed in
 * 3c3fae8): the reconciler settled redriven items with GetItem/UpdateItem on the ledger and read
 * the input DLQ, while its role allowed only a Query on one index.
 *
 * How: the whole local pipeline runs with call attribution on (local/call-attribution.ts: each
 * function's SDK requests carry its logical id in the User-Agent app id; the emulators record
 * service, operation and table/index/queue of each) over a workload that reaches every path the
 * functions have, then each recorded (function, action, resource) is evaluated against the
 * function's role policies, resolved to the local names (test/support/role-policies.ts). The event
 * source mapping's requests count against the processor's role, as on AWS; SQS calls on a queue
 * encrypted with a key of this stack also need the KMS actions SQS makes with the caller's
 * credentials. A failure lists `<function> <action> on <resource>`: exactly what to grant.
 *
 * The workload (120 messages, time scale 0.2 as in test/chaos): valid, duplicate (byte-identical
 * and restyled) and malformed tickets (→ DLQ), entity ids with agents' small edits and two loopers
 * (→ review), a minConfidence that sends low-confidence answers to review, model faults (5xx, 429
 * with Retry-After, malformed answers and an outage: retries, the shared breaker's writes, failed
 * records backed off with ChangeMessageVisibility), a configured provider quota (its shared
 * bucket's writes), a registered job with its items, then the reconciler (with one item whose
 * message SQS redrove after receives that wrote nothing, so it reads the DLQ and settles the item)
 * and the drift monitor (first run: no baseline, it marks the first day). Runtime switches are read
 * by every processor environment at init.
 *
 * Proof that it catches the class (2026-12-02): with the reconciler's `ledgerItemActions` and its
 * DLQ grant (`grant` + `grantDecrypt`) removed from lib/constructs/monitors.ts — the role as it was
 * before 3c3fae8 — this test failed with exactly:
 *
 *   MonitorsReconciler1CFDFEE4 dynamodb:GetItem on LedgerB7379752
 *   MonitorsReconciler1CFDFEE4 dynamodb:UpdateItem on LedgerB7379752
 *   MonitorsReconciler1CFDFEE4 kms:Decrypt on InputQueueKeyB3564956 (SQS makes it for sqs:ReceiveMessage on InputQueueDeadLetterQueue6F81AC97)
 *   MonitorsReconciler1CFDFEE4 sqs:ChangeMessageVisibility on InputQueueDeadLetterQueue6F81AC97
 *   MonitorsReconciler1CFDFEE4 sqs:ReceiveMessage on InputQueueDeadLetterQueue6F81AC97
 *
 * and passes with the role as it is. On the current roles it found no other missing permission.
 *
 * Not covered: calls to services local mode has no endpoint for (CloudWatch PutMetricData — local
 * mode publishes EMF —, Lambda UpdateEventSourceMapping by the drift auto-pause, Bedrock,
 * Secrets Manager, CloudWatch Logs); their role actions are printed as not observable. IAM
 * conditions are not evaluated (no statement on DynamoDB or SQS has one). The dev stage only: prod
 * refuses fault injection, and the KMS actions a table's customer managed key (prod) needs are not
 * derived from the DynamoDB calls.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbLedgerStore } from '../../lambda/ledger/dynamodb-ledger-store';
import { registerJob } from '../../lambda/monitors/completeness';
import { inputKey } from '../../lambda/processor/input-key';
import type { AttributedCall } from '../../local/call-attribution';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { sendBodies, waitForDrain } from '../../local/queue-drain';
import { buildReport, type LocalRunReport } from '../../local/report';
import { defaultDrainTimeoutMs } from '../../local/run-local';
import { MONITOR_NAMES, type MonitorRun } from '../../local/scheduled-monitors';
import { synthesizeLocalStack } from '../../local/stack-model';
import { buildBodies } from '../../local/workload';
import {
  type IamRequest,
  iamRequestsOf,
  isAllowed,
  LocalResolver,
  type ResolvedStatement,
  roleOf,
  statementsOfRole,
  wildcardMatches,
} from '../support/role-policies';

/** As the other chaos runs: on a busy two-core machine a 3 s invocation has too little headroom. */
const TIME_SCALE = 0.2;
/** At least 100: the generated workload has its nine malformed lines from 100 messages on. */
const MESSAGES = 120;
/** Model faults that make every layer of the model path work: retries, Retry-After, repair, breaker. */
const FAULTS = '5xx=0.2,429=0.1:500,malformed=0.05,outage=4-6';
/** Services local mode has endpoints for: calls to anything else cannot be seen here. */
const OBSERVABLE = /^(dynamodb|sqs):/;

const stack = synthesizeLocalStack({
  overrides: {
    // Low-confidence answers go to review; a configured quota makes the processor share its bucket.
    model: { minConfidence: 0.75 },
    quotas: { models: { 'sim-primary': { rpm: 6000 }, 'sim-secondary': { rpm: 6000 } } },
  },
});
const scratch = mkdtempSync(join(tmpdir(), 'iam-covers-calls-'));

let pipeline: LocalPipeline;
let report: LocalRunReport;
let monitorRuns: MonitorRun[];
let calls: AttributedCall[];
let resolver: LocalResolver;

beforeAll(async () => {
  pipeline = await startLocalPipeline({
    stack,
    faults: FAULTS,
    timeScale: TIME_SCALE,
    attributeCalls: true,
    logFile: join(scratch, 'processor.log'),
    // Run by hand below, so each runs on the state it needs; no reference run (a first-day drift run).
    monitors: { autoStart: false, driftReference: false },
  });
  // The pipeline's own DynamoDB client carries the observer mark: the staging below is not attributed.
  const observer = pipeline.dynamodb;
  const { ledgerTableName, controlTableName, inputQueueUrl, inputDlqUrl } = pipeline.resources;
  const jobId = `iam-${randomUUID()}`;
  // Every message that is a JSON object joins the job (the text is kept: restyled duplicates stay restyled).
  const bodies = buildBodies({ messages: MESSAGES, duplicates: 0.1, agentEdits: 0.1, seed: 7 }).map((body) =>
    body.trimStart().startsWith('{"') ? body.replace('{', `{"jobId":${JSON.stringify(jobId)},`) : body,
  );
  const sentAt = Date.now();
  await registerJob(observer, controlTableName, { jobId, expected: bodies.length, sentAt, deadline: sentAt + 1, source: 'iam-covers-calls' });
  await sendBodies(pipeline.sqs, inputQueueUrl, bodies);
  // A bound, not an expectation: the whole file takes 25-35 s alone (docs/testing.md),
  // but beside the full suite (load 10-20 on two cores) it twice outlasted the default 60 s.
  expect(await waitForDrain(pipeline, Math.max(150_000, defaultDrainTimeoutMs(pipeline, bodies.length)))).toBe(true);
  await pipeline.poller.stop();
  report = await buildReport(pipeline, bodies, Date.now() - sentAt, 0);

  // An item of the job whose message SQS redrove after receives that wrote nothing: FAILED on its
  // first receive, its message in the DLQ. Only the DLQ can tell the reconciler (completeness.ts).
  const redriven = { task: 'ticket-triage', jobId, input: { subject: 'Redriven', body: `Nothing was written after the first receive (${jobId})` } };
  const key = inputKey('ticket-triage', '1', redriven.input);
  const now = Date.now();
  const store = new DynamoDbLedgerStore({ client: observer, tableName: ledgerTableName, ttlDays: 30 });
  await store.claim({
    key,
    task: 'ticket-triage',
    taskVersion: '1',
    messageId: 'redriven',
    receiveCount: 1,
    jobId,
    claimToken: 'redriven',
    leaseUntil: now + 1_000,
    now: now - 60_000,
  });
  await store.recordFailure({ key, claimToken: 'redriven', errorClass: 'throttled', message: 'staged', receiveCount: 1, now: now - 30_000 });
  await sendBodies(pipeline.sqs, inputDlqUrl, [JSON.stringify(redriven)]);
  monitorRuns = [...(await pipeline.monitors!.runOnce(MONITOR_NAMES.RECONCILER)), ...(await pipeline.monitors!.runOnce(MONITOR_NAMES.DRIFT_MONITOR))];
  calls = pipeline.emulators.attribution!.list();
  resolver = new LocalResolver(stack.template, pipeline.physicalIds, pipeline.emulators.region);
}, 240_000);

afterAll(async () => {
  await pipeline?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** The functions of the stack local mode runs: the processor and the scheduled monitors. */
function functionIds(): string[] {
  return [stack.processor.logicalId, ...stack.scheduledFunctions.map((fn) => fn.logicalId)];
}

function statementsOf(functionId: string): ResolvedStatement[] {
  return statementsOfRole(stack.template, roleOf(stack.template, functionId), resolver);
}

function describeCall(call: AttributedCall, request: IamRequest): string {
  const via = call.via ? ` (${call.via})` : '';
  const implied = request.impliedBy ? ` (SQS makes it for ${request.impliedBy})` : '';
  return `${call.functionId}${via} ${request.action} on ${request.resourceName}${implied}`;
}

describe('IAM covers every call the functions make (local run, attributed at the emulators)', () => {
  it('reached every path of the workload: each function ran and called, the job settled, the DLQ and review got messages', () => {
    // Assess: the workload did what the header says, or the coverage below would mean little
    expect(monitorRuns.map((run) => [run.monitor, run.result.kind])).toEqual([
      [MONITOR_NAMES.RECONCILER, 'ok'],
      [MONITOR_NAMES.DRIFT_MONITOR, 'ok'],
    ]);
    const reconciler = monitorRuns[0]?.result;
    expect(reconciler?.kind === 'ok' && reconciler.result).toMatchObject({ jobsChecked: 1, settledItems: 1 });
    expect(report.rejected).toBeGreaterThan(0);
    expect(report.duplicatesSkipped).toBeGreaterThan(0);
    expect(report.inReview).toBeGreaterThan(0);
    expect(report.entities.count).toBeGreaterThan(0);
    expect(report.modelCalls).toBeGreaterThan(0);
    for (const functionId of functionIds())
      expect(
        calls.some((call) => call.functionId === functionId),
        functionId,
      ).toBe(true);
    expect(calls.some((call) => call.via === 'event-source')).toBe(true);
    const operations = new Set(calls.filter((call) => !call.via).map((call) => `${call.functionId} ${call.service}.${call.operation}`));
    const processor = stack.processor.logicalId;
    // The processor's writes the faults and review paths cause: the DLQ and review sends, the backoff
    // of failed records (batched per invocation since lambda/processor/visibility-changes.ts; a
    // single change when one record of the batch needs it).
    const sqsOperations = [...operations].filter((operation) => operation.startsWith(`${processor} sqs.`)).map((operation) => operation.split(' ')[1]);
    expect(sqsOperations).toContain('sqs.SendMessage');
    expect(sqsOperations.some((operation) => operation.startsWith('sqs.ChangeMessageVisibility'))).toBe(true);
    expect(
      sqsOperations.every((operation) => ['sqs.SendMessage', 'sqs.ChangeMessageVisibility', 'sqs.ChangeMessageVisibilityBatch'].includes(operation ?? '')),
    ).toBe(true);
    expect(
      calls
        .filter((call) => call.functionId === processor && call.operation === 'SendMessage')
        .map((call) => call.queueUrl)
        .sort(),
    ).toEqual([pipeline.resources.inputDlqUrl, pipeline.resources.reviewQueueUrl].sort());
  });

  it('allows every call: no function makes a call its role in the template does not allow', () => {
    // Act
    const unallowed = calls.flatMap((call) =>
      iamRequestsOf(call, stack.template, resolver)
        .filter((request) => !isAllowed(statementsOf(call.functionId), request))
        .map((request) => describeCall(call, request)),
    );

    // Assess: each line is a grant to add, least privilege, on exactly that resource
    expect([...new Set(unallowed)].sort()).toEqual([]);
  });

  it('lists the role actions the run never exercised (information, not a failure)', () => {
    // Act
    const lines: string[] = [];
    for (const functionId of functionIds()) {
      const requests = calls.filter((call) => call.functionId === functionId).flatMap((call) => iamRequestsOf(call, stack.template, resolver));
      for (const statement of statementsOf(functionId).filter((candidate) => candidate.effect === 'Allow')) {
        for (const action of statement.actions) {
          for (const resource of statement.resources) {
            const used = requests.some((request) => wildcardMatches(action, request.action, true) && wildcardMatches(resource, request.resourceArn));
            if (used) continue;
            const observable = OBSERVABLE.test(action) || (action.startsWith('kms:') && resource.includes(':kms:'));
            lines.push(`${functionId} ${action} on ${resolver.nameOf(resource)}${observable ? '' : ' (not observable in local mode)'}`);
          }
        }
      }
    }
    const recorded = calls.map(
      (call) =>
        `${call.functionId}${call.via ? ` (${call.via})` : ''} ${call.service}.${call.operation} ${call.tableName ?? call.queueUrl?.slice(call.queueUrl.lastIndexOf('/') + 1) ?? ''}${call.indexName ? `/index/${call.indexName}` : ''} ×${call.count}`,
    );
    process.stdout.write(`iam-covers-calls: calls recorded (${recorded.length}):\n${recorded.map((line) => `  ${line}`).join('\n')}\n`);
    process.stdout.write(`iam-covers-calls: role actions this run never exercised (${lines.length}):\n${lines.map((line) => `  ${line}`).join('\n')}\n`);

    // Assess: only that the listing ran over every function's role
    expect(functionIds().every((functionId) => statementsOf(functionId).length > 0)).toBe(true);
  });
});

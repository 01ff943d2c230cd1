/**
 * Crash-point exploration (issue 12). For each path a record can take, at each receive count up to
 * maxReceiveCount, the execution environment dies just before and just after each of its side
 * effects in turn (ledger writes, queue sends, visibility changes, the batch response) — side
 * effect k = 0, 1, 2, … until a run has fewer than k. Then the queue's semantics play out with
 * healthy environments (redelivery after visibility, redrive to the DLQ past maxReceiveCount) and
 * the reconciler runs. Every run must end with the invariant holding. Deterministic: a simulated
 * clock and queue, in-memory ledger (the same transition table as DynamoDB), no timers.
 */
import { describe, expect, it } from 'vitest';
import { LEDGER_STATUS } from '../../lambda/contract';
import { ModelCallError } from '../../lambda/errors/pipeline-errors';
import type { ModelRequest, ModelResponse } from '../../lambda/model/model-provider';
import { keyOfMessageBody } from '../../lambda/processor/message-parser';
import { type CrashPoint, Simulation, type SimulationOptions, VALID_ANSWER } from './simulation';

const INPUT = { subject: 'Double charge on order 1182', body: 'I was charged twice for order 1182, please refund one of them.', customerTier: 'pro' };
const BODY = JSON.stringify({ task: 'ticket-triage', input: INPUT, jobId: 'job-crash' });
/** The same input, written differently (a producer's re-send): the same key. */
const RESENT = JSON.stringify({ jobId: 'job-other', input: { customerTier: 'pro', body: INPUT.body, subject: ` ${INPUT.subject} ` }, task: 'ticket-triage' });
const BAD = '{"task":"ticket-triage","input":';

const answer = (request: ModelRequest, text: string): ModelResponse => ({ text, modelId: request.modelId, tokensIn: 10, tokensOut: 10, finishReason: 'stop' });

/** A path a record can take, as a model script, the bodies sent, and where it ends when nothing crashes. */
interface Path {
  readonly name: string;
  readonly bodies: readonly string[];
  readonly options: SimulationOptions;
  /** Where the key ends when nothing crashes. */
  readonly natural: string;
  /** Receive 1 dies right after its claim, so the receive under test takes an ended lease over. */
  readonly takeover?: boolean;
  /** Nothing settles the key before its last receive (with no crash, the run starts at that receive). */
  readonly lastReceiveSettles?: boolean;
}

const PATHS: readonly Path[] = [
  { name: 'completed', bodies: [BODY], options: { model: (request) => answer(request, VALID_ANSWER) }, natural: LEDGER_STATUS.COMPLETED },
  // Two messages, one input: in one batch the second follows the first (leader/follower); a later copy is a duplicate.
  { name: 'duplicate', bodies: [BODY, RESENT], options: { model: (request) => answer(request, VALID_ANSWER) }, natural: LEDGER_STATUS.COMPLETED },
  { name: 'rejected', bodies: [BAD], options: { model: (request) => answer(request, VALID_ANSWER) }, natural: LEDGER_STATUS.REJECTED },
  {
    name: 'escalated',
    bodies: [BODY],
    options: {
      model: (request) => answer(request, 'not json'),
      environment: { TASK_POLICIES: JSON.stringify({ 'ticket-triage': { tiers: ['primary', 'human'] } }) },
    },
    natural: LEDGER_STATUS.IN_REVIEW,
  },
  // Transient model trouble: deferred to later receives, settled by the rules on the last one.
  { name: 'deferred', bodies: [BODY], options: { model: () => new ModelCallError('ServerError', 'HTTP 500') }, natural: LEDGER_STATUS.COMPLETED },
  {
    name: 'fallback',
    bodies: [BODY],
    options: { model: (request) => answer(request, request.modelId === 'sim-primary' ? 'not json' : VALID_ANSWER) },
    natural: LEDGER_STATUS.COMPLETED,
  },
  { name: 'takeover', bodies: [BODY], options: { model: (request) => answer(request, VALID_ANSWER) }, natural: LEDGER_STATUS.COMPLETED, takeover: true },
  // The ledger refuses every completion (a DynamoDB error, not a crash): failed on each receive,
  // dead-lettered by the owner on the last, redriven by SQS.
  {
    name: 'out of receives',
    bodies: [BODY],
    options: { model: (request) => answer(request, VALID_ANSWER), completeFails: true },
    natural: LEDGER_STATUS.DEAD_LETTERED,
    lastReceiveSettles: true,
  },
  // Every invocation starts with too little time for a model call (a brownout's late batches):
  // given back until the last receive, which settles by the rules (they need no model time).
  {
    name: 'no model time',
    bodies: [BODY],
    options: { model: (request) => answer(request, VALID_ANSWER), remainingMs: 3_000 + 1_000 + 100 },
    natural: LEDGER_STATUS.COMPLETED,
    lastReceiveSettles: true,
  },
  // An outage: every breaker open. Given back unclaimed (no ledger write) until the last receive,
  // which stores the rules' answer with one write that claims and completes at once.
  {
    name: 'breaker open',
    bodies: [BODY],
    options: { model: (request) => answer(request, VALID_ANSWER), breakersOpen: true },
    natural: LEDGER_STATUS.COMPLETED,
    lastReceiveSettles: true,
  },
  // The same outage for a task with no rules tier: the last receive claims, then escalates.
  {
    name: 'escalated, breaker open',
    bodies: [BODY],
    options: {
      model: (request) => answer(request, VALID_ANSWER),
      breakersOpen: true,
      environment: { TASK_POLICIES: JSON.stringify({ 'ticket-triage': { tiers: ['primary', 'secondary', 'human'] } }) },
    },
    natural: LEDGER_STATUS.IN_REVIEW,
    lastReceiveSettles: true,
  },
];

const MAX_RECEIVE_COUNT = 5;

/** Side effects each path's runs attempted, over the whole file (the README's coverage table). */
const SEEN = new Map<string, Set<string>>();
let RUNS = 0;

/** No double delivery, or SQS hands the message to a second environment at once, crashing the first copy or the second. */
type DoubleDelivery = false | 'first' | 'second';

interface RunResult {
  readonly sim: Simulation;
  readonly receive: number;
  readonly point?: CrashPoint;
  /** Whether the crash point was reached. */
  readonly crashed: boolean;
  readonly effects: readonly string[];
}

/**
 * One run: the messages are sent; receives before `receive` die before doing anything (so the
 * message comes back with its receive count raised); receive `receive` runs with the crash point
 * (and, when `doubleDelivery`, a second healthy copy of the message runs concurrently); then the
 * queue plays out and the reconciler runs.
 */
async function run(path: Path, receive: number, point: CrashPoint | undefined, doubleDelivery: DoubleDelivery = false): Promise<RunResult> {
  const sim = new Simulation(path.options);
  sim.trackedKey = keyOfMessageBody(path.bodies[0] as string);
  for (const body of path.bodies) sim.queue.send(body);
  const nextReceive = () => {
    sim.clock.now = Math.max(sim.clock.now, sim.queue.nextVisibleAt() ?? sim.clock.now);
    return sim.queue.receive(10);
  };
  for (let earlier = 1; earlier < receive; earlier += 1) {
    // Receive 1 of a takeover dies after its claim; the other earlier receives die before any side effect.
    await sim.invoke(nextReceive(), path.takeover && earlier === 1 ? { index: 0, when: 'after' } : { index: 0, when: 'before' });
  }
  const records = nextReceive();
  expect(records.length).toBeGreaterThan(0);
  let injector;
  if (doubleDelivery) {
    const again = sim.queue.deliverAgain(records[0]?.messageId as string);
    // The crash is injected into the first copy, or (`second`) into the copy SQS handed out again.
    const [first, second] = await Promise.all([
      sim.invoke(records, doubleDelivery === 'second' ? undefined : point),
      sim.invoke(again ? [again] : [], doubleDelivery === 'second' ? point : undefined),
    ]);
    injector = doubleDelivery === 'second' ? second : first;
  } else {
    injector = await sim.invoke(records, point);
  }
  await sim.playOut();
  RUNS += 1;
  const seen = SEEN.get(path.name) ?? new Set<string>();
  for (const effect of injector.effects) seen.add(effect);
  SEEN.set(path.name, seen);
  return { sim, receive, point, crashed: injector.crashed, effects: injector.effects };
}

/** The invariant, from the simulated queues' and the ledger's final state. */
function assertInvariant(result: RunResult, path: Path): void {
  const { sim } = result;
  const key = sim.trackedKey;
  const item = sim.ledger.items.get(key);
  const status = item?.status;
  const dlqCopies = sim.queue.dlq.filter((copy) => copy.key === key);
  const reviewCopies = sim.queue.review.filter((copy) => copy.key === key);
  const history = sim.ledger.history.get(key) ?? [];
  const context = `${path.name}: effects ${result.effects.join(' → ')}; ledger ${history.join(' → ') || '(none)'}; dlq ${dlqCopies.length}, review ${reviewCopies.length}`;

  // Nothing left on the queue, so nothing may be left in flight in the ledger.
  expect(sim.queue.messages.size, context).toBe(0);
  expect([LEDGER_STATUS.IN_PROGRESS, LEDGER_STATUS.FAILED], context).not.toContain(status);

  // Exactly one final place per key.
  const completed = status === LEDGER_STATUS.COMPLETED;
  const inReview = status === LEDGER_STATUS.IN_REVIEW;
  const deadLettered = status === LEDGER_STATUS.REJECTED || status === LEDGER_STATUS.DEAD_LETTERED || (item === undefined && dlqCopies.length > 0);
  expect([completed, inReview, deadLettered].filter(Boolean), context).toHaveLength(1);
  // In the DLQ with no ledger item: only when the environment of the last receive died before its
  // first ledger write — nothing was written, so nothing can know (the reconciler counts it as not
  // in the ledger). Every other way to the DLQ leaves its reason in the ledger.
  if (item === undefined) {
    const done = result.point ? result.effects.slice(0, result.point.index + (result.point.when === 'after' ? 1 : 0)) : result.effects;
    const diedBeforeWriting = result.crashed && !done.some((effect) => effect.startsWith('ledger.'));
    expect(result.receive === MAX_RECEIVE_COUNT && diedBeforeWriting, `${context}: dead-lettered with no ledger item`).toBe(true);
  }

  // Never in two of review / DLQ / completed; at most one review notice, at most one DLQ copy sent by the processor.
  expect(reviewCopies.length, context).toBeLessThanOrEqual(inReview ? 1 : 0);
  expect(dlqCopies.filter((copy) => copy.by === 'processor').length, context).toBeLessThanOrEqual(1);
  // A settled key's message in the DLQ can only be SQS's redrive of a copy whose environment died
  // after settling and before its batch response on the last receive — nothing can delete a message
  // that no environment is alive to delete. pipectl dlq shows such copies as settled (the ledger
  // is the truth); the processor itself never sends a settled key to the DLQ.
  if (completed || inReview)
    expect(
      dlqCopies.filter((copy) => copy.by === 'processor'),
      context,
    ).toEqual([]);
  // Dead-lettered in the ledger: the body is in the DLQ for an operator to redrive.
  if (status === LEDGER_STATUS.DEAD_LETTERED) expect(dlqCopies.length, context).toBeGreaterThan(0);

  // Model calls within the caps, and never once the key is settled.
  expect(sim.callsAfterFinal, context).toBe(0);
  expect(sim.maxCallsInOneInvocation, context).toBeLessThanOrEqual(sim.config.modelCallsPerReceive * path.bodies.length);
  expect(sim.modelCalls, context).toBeLessThanOrEqual(sim.config.modelCallsPerKey + sim.config.modelCallsPerReceive);
}

/** Every crash point of one path at one receive: k = 0, 1, … before and after, until k is past the run's side effects. */
async function explore(path: Path, receive: number, doubleDelivery: DoubleDelivery = false): Promise<number> {
  let runs = 0;
  for (let index = 0; ; index += 1) {
    let reached = false;
    for (const when of ['before', 'after'] as const) {
      const result = await run(path, receive, { index, when }, doubleDelivery);
      runs += 1;
      assertInvariant(result, path);
      reached ||= result.crashed;
    }
    if (!reached) return runs;
    expect(index, `${path.name}: side effects do not end`).toBeLessThan(40);
  }
}

describe('crash-point exploration: the invariant holds at every crash point', () => {
  it.each(PATHS.map((path) => [path.name, path] as const))('%s: without a crash, ends where the path leads', async (_name, path) => {
    const result = await run(path, path.takeover ? 2 : path.lastReceiveSettles ? MAX_RECEIVE_COUNT : 1, undefined);
    assertInvariant(result, path);
    expect(result.sim.ledger.items.get(result.sim.trackedKey)?.status).toBe(path.natural);
    // The side effects the exploration enumerates: at least a ledger write and the batch response.
    expect(result.effects).toContain('batch-response');
    expect(result.effects.some((effect) => effect.startsWith('ledger.'))).toBe(true);
  });

  const receives = Array.from({ length: MAX_RECEIVE_COUNT }, (_, index) => index + 1);
  const cases = PATHS.flatMap((path) => receives.filter((receive) => !path.takeover || receive >= 2).map((receive) => [path.name, receive, path] as const));

  it.each(cases)('%s, crash at receive %i: before and after every side effect', async (_name, receive, path) => {
    const runs = await explore(path, receive);
    expect(runs).toBeGreaterThanOrEqual(4);
  });

  it.each(cases)('%s, crash at receive %i with SQS delivering the message twice at once', async (_name, receive, path) => {
    const runs = await explore(path, receive, 'first');
    expect(runs).toBeGreaterThanOrEqual(4);
  });

  it.each(cases)('%s, crash at receive %i in the second of two concurrent copies', async (_name, receive, path) => {
    const runs = await explore(path, receive, 'second');
    expect(runs).toBeGreaterThanOrEqual(2);
  });

  // Runs last (tests in a file run in order): the side effects each path reached, as the README's
  // "Crash-point coverage" table lists them; a path that stops reaching one fails here.
  it('reached every side effect the coverage table lists', () => {
    const common = ['batch-response', 'ledger.claim', 'ledger.complete', 'ledger.observeReceive', 'sqs.changeVisibility'];
    const expected: Record<string, readonly string[]> = {
      completed: common,
      duplicate: common,
      rejected: ['batch-response', 'ledger.recordRejection', 'sqs.deadLetter'],
      escalated: ['batch-response', 'ledger.claim', 'ledger.markInReview', 'ledger.observeReceive', 'sqs.changeVisibility', 'sqs.escalate'],
      deferred: [...common, 'ledger.recordFailure'],
      fallback: common,
      takeover: common,
      'out of receives': [...common, 'ledger.recordDeadLetter', 'ledger.recordFailure'],
      'no model time': ['batch-response', 'ledger.completeUnclaimed', 'sqs.changeVisibility'],
      'breaker open': ['batch-response', 'ledger.completeUnclaimed', 'sqs.changeVisibility'],
      'escalated, breaker open': ['batch-response', 'ledger.claim', 'ledger.markInReview', 'ledger.observeReceive', 'sqs.changeVisibility', 'sqs.escalate'],
    };
    for (const path of PATHS) {
      expect([...(SEEN.get(path.name) ?? [])].sort(), path.name).toEqual([...(expected[path.name] ?? [])].sort());
    }
    if (process.env.CRASH_POINTS_PRINT) console.log(`${RUNS} runs`, Object.fromEntries([...SEEN].map(([name, effects]) => [name, [...effects].sort()])));
  });
});

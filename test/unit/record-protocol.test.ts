/**
 * The per-record protocol and the fallback chain on the in-memory ledger and the simulated queue:
 * cases the crash-point exploration does not reach on its own (the clock moving inside an
 * invocation, a breaker whose writes fail, an in-batch follower of an escalation).
 */
import { describe, expect, it } from 'vitest';
import { BREAKER_STATE, LEDGER_STATUS } from '../../lambda/contract';
import { ModelCallError } from '../../lambda/errors/pipeline-errors';
import type { ModelRequest } from '../../lambda/model/model-provider';
import { keyOfMessageBody } from '../../lambda/processor/message-parser';
import { CLOSED_SNAPSHOT } from '../../lambda/resilience/breaker-state';
import type { DynamoDbBreakerStore } from '../../lambda/resilience/dynamodb-breaker-store';
import { Simulation, VALID_ANSWER } from '../crash-points/simulation';

const INPUT = { subject: 'Charged twice', body: 'I was charged twice for order 1182, please refund one of them.' };
const BODY = JSON.stringify({ task: 'ticket-triage', input: INPUT });
const answer = (request: ModelRequest, text: string) => ({ text, modelId: request.modelId, tokensIn: 5, tokensOut: 5, finishReason: 'stop' as const });

/** Another attempt's claim of `key` (message `messageId`), its lease ending `leaseMs` from now. */
function claimBy(sim: Simulation, key: string, messageId: string, leaseMs: number, receiveCount?: number) {
  return sim.ledger.claim({
    key,
    task: 'ticket-triage',
    taskVersion: '1',
    messageId,
    receiveCount,
    claimToken: 'T',
    leaseUntil: sim.clock.now + leaseMs,
    now: sim.clock.now,
  });
}

describe('an in-batch follower of an escalated record', () => {
  it('takes the leader’s review as a duplicate: one review notice, no model call of its own, both messages deleted', async () => {
    const sim = new Simulation({
      model: (request) => answer(request, 'not json'),
      environment: { TASK_POLICIES: JSON.stringify({ 'ticket-triage': { tiers: ['primary', 'human'] } }) },
    });
    sim.queue.send(BODY);
    sim.queue.send(JSON.stringify({ input: INPUT, task: 'ticket-triage' }));
    const records = sim.queue.receive(10);
    expect(records).toHaveLength(2);

    await sim.invoke(records);

    const key = keyOfMessageBody(BODY);
    expect(sim.ledger.items.get(key)?.status).toBe(LEDGER_STATUS.IN_REVIEW);
    expect(sim.queue.review.map((copy) => copy.key)).toEqual([key]);
    expect(sim.queue.messages.size).toBe(0);
    // The leader's two passes (a call and its repair); the follower made none.
    expect(sim.modelCalls).toBe(2);
  });
});

describe('the visibility of a record given back (issue 12, defect 10)', () => {
  it('a Retry-After longer than SQS allows is clamped to what is left of 12 h since the receive, not refused', async () => {
    let sim: Simulation | undefined;
    sim = new Simulation({
      functionTimeoutMs: 900_000,
      model: () => {
        // A slow call: ten minutes of the receive's 12 hours are gone when the record is given back.
        (sim as Simulation).clock.now += 600_000;
        return new ModelCallError('Throttled', 'HTTP 429', { retryAfterMs: 13 * 3_600_000 });
      },
    });
    sim.queue.send(BODY);
    const receivedAt = sim.clock.now;
    await sim.invoke(sim.queue.receive(10));

    const visibleAt = sim.queue.nextVisibleAt() as number;
    // Not the queue's default visibility (what a refused change leaves): hidden for nearly 12 h from the receive.
    expect(visibleAt - receivedAt).toBeGreaterThan(11 * 3_600_000);
    expect(visibleAt - receivedAt).toBeLessThanOrEqual(12 * 3_600_000);
    expect(sim.ledger.items.get(keyOfMessageBody(BODY))?.status).toBe(LEDGER_STATUS.FAILED);
  });
});

describe('breaker probe settlement (issue 12, defect 8)', () => {
  /** A breaker whose cooldown is over, so the first call is the probe; the probe's settling writes fail. */
  function failingProbeStore(calls: string[], onTakeProbe: () => void = () => undefined): DynamoDbBreakerStore {
    const open = { ...CLOSED_SNAPSHOT, state: BREAKER_STATE.OPEN, openUntil: 0, openCount: 1 };
    return {
      read: async () => open,
      record: async () => open,
      open: async () => false,
      takeProbe: async (_model: string, token: string, _now: number, probeUntil: number) => {
        onTakeProbe();
        return { ...open, state: BREAKER_STATE.HALF_OPEN, probeToken: token, probeUntil };
      },
      closeAfterProbe: async () => {
        calls.push('closeAfterProbe');
        throw new Error('ProvisionedThroughputExceededException');
      },
      reopenAfterProbe: async () => {
        calls.push('reopenAfterProbe');
        throw new Error('ProvisionedThroughputExceededException');
      },
      releaseProbe: async () => {
        calls.push('releaseProbe');
        return undefined;
      },
    } as unknown as DynamoDbBreakerStore;
  }

  it('a failed "close after the probe" write keeps the paid answer: the record completes with it', async () => {
    const writes: string[] = [];
    const sim = new Simulation({ model: (request) => answer(request, VALID_ANSWER), breakerStore: failingProbeStore(writes) });
    sim.queue.send(BODY);
    await sim.invoke(sim.queue.receive(10));

    expect(writes).toEqual(['closeAfterProbe']);
    expect(sim.ledger.items.get(keyOfMessageBody(BODY))).toMatchObject({ status: LEDGER_STATUS.COMPLETED, tier: 'primary' });
    expect(sim.modelCalls).toBe(1);
  });

  it('a failed "reopen" write does not hide the model error: the chain still falls back', async () => {
    const writes: string[] = [];
    const sim = new Simulation({
      model: (request) => (request.modelId === 'sim-primary' ? new ModelCallError('ServerError', 'HTTP 500') : answer(request, VALID_ANSWER)),
      breakerStore: failingProbeStore(writes),
    });
    sim.queue.send(BODY);
    await sim.invoke(sim.queue.receive(10));

    // The primary's probe failed and its reopen write failed; the secondary (its own probe) served.
    expect(writes).toEqual(['reopenAfterProbe', 'closeAfterProbe']);
    expect(sim.ledger.items.get(keyOfMessageBody(BODY))).toMatchObject({ status: LEDGER_STATUS.COMPLETED, tier: 'secondary' });
    expect(sim.modelCalls).toBe(2);
  });

  it('a probe refused for lack of time is released at once, not left to lapse', async () => {
    const writes: string[] = [];
    let sim: Simulation | undefined;
    // Time enough to start the record (1.3 s for models, one attempt needs 1 s), but taking the probe
    // is a slow write (0.5 s): the retry policy then refuses the probe's call.
    const slowTake = () => {
      (sim as Simulation).clock.now += 500;
    };
    sim = new Simulation({
      model: (request) => answer(request, VALID_ANSWER),
      breakerStore: failingProbeStore(writes, slowTake),
      remainingMs: 3_000 + 1_000 + 1_300,
    });
    sim.queue.send(BODY);
    await sim.invoke(sim.queue.receive(10));
    expect(sim.modelCalls).toBe(0);
    expect(writes).toContain('releaseProbe');
  });
});

describe('bad input (issue 12, defect 7)', () => {
  it('a redelivery of the same rejected message sends no second DLQ copy; another message with the same body does', async () => {
    const sim = new Simulation({ model: (request) => answer(request, VALID_ANSWER) });
    const bad = '{"task":"ticket-triage","input":';
    sim.queue.send(bad);
    const [record] = sim.queue.receive(10);

    await sim.invoke([record!]);
    // The same message again (its batch response was lost, say): the rejection is found, nothing re-sent.
    await sim.invoke([record!]);
    expect(sim.queue.dlq.filter((copy) => copy.by === 'processor')).toHaveLength(1);

    // An operator's DLQ redrive or a producer's re-send is a new message: it goes to the DLQ again.
    sim.queue.send(bad);
    await sim.invoke(sim.queue.receive(10));
    expect(sim.queue.dlq.filter((copy) => copy.by === 'processor')).toHaveLength(2);
    expect(sim.ledger.items.get(keyOfMessageBody(bad))).toMatchObject({ status: LEDGER_STATUS.REJECTED, messageId: record!.messageId });
    expect(sim.queue.messages.size).toBe(0);
  });
});

describe('an outage: every breaker open (issue 17, outage cost)', () => {
  /** The ledger writes of one invocation, by name, from the in-memory ledger's history and item. */
  async function receiveOnce(sim: Simulation) {
    sim.clock.now = Math.max(sim.clock.now, sim.queue.nextVisibleAt() ?? sim.clock.now);
    const records = sim.queue.receive(10);
    expect(records).toHaveLength(1);
    await sim.invoke(records);
    return records[0]?.attributes.ApproximateReceiveCount;
  }

  it('before the last receive a record goes back unclaimed; the last receive stores the rules’ answer with one write and no model call', async () => {
    const sim = new Simulation({ model: (request) => answer(request, VALID_ANSWER), breakersOpen: true });
    sim.queue.send(BODY);
    const key = keyOfMessageBody(BODY);
    for (let receive = 1; receive < sim.config.maxReceiveCount; receive += 1) {
      expect(await receiveOnce(sim)).toBe(String(receive));
      expect(sim.ledger.items.get(key), `receive ${receive}`).toBeUndefined();
      expect(sim.queue.messages.size).toBe(1);
    }

    await receiveOnce(sim);

    expect(sim.ledger.items.get(key)).toMatchObject({ status: LEDGER_STATUS.COMPLETED, tier: 'rules', claims: 1, receiveCount: sim.config.maxReceiveCount });
    // One write: the key went straight to COMPLETED (a claim would have passed through IN_PROGRESS).
    expect(sim.ledger.history.get(key)).toEqual([LEDGER_STATUS.COMPLETED]);
    expect(sim.queue.messages.size).toBe(0);
    expect(sim.modelCalls).toBe(0);
  });

  it('with no rules tier, the last receive claims and escalates: one review notice', async () => {
    const sim = new Simulation({
      model: (request) => answer(request, VALID_ANSWER),
      breakersOpen: true,
      environment: { TASK_POLICIES: JSON.stringify({ 'ticket-triage': { tiers: ['primary', 'secondary', 'human'] } }) },
    });
    sim.queue.send(BODY);
    for (let receive = 1; receive <= sim.config.maxReceiveCount; receive += 1) await receiveOnce(sim);

    const key = keyOfMessageBody(BODY);
    expect(sim.ledger.history.get(key)).toEqual([LEDGER_STATUS.IN_PROGRESS, LEDGER_STATUS.IN_REVIEW]);
    expect(sim.queue.review.map((copy) => copy.key)).toEqual([key]);
    expect(sim.modelCalls).toBe(0);
  });

  it('a model after the rules whose breaker is closed is called only after a claim: the last receive claims, then serves', async () => {
    const sim = new Simulation({
      // The rules' answer (confidence at most 0.95) is below the task's bar, so the chain goes on to the secondary.
      model: (request) => answer(request, JSON.stringify({ ...JSON.parse(VALID_ANSWER), confidence: 1 })),
      breakersOpen: ['sim-primary'],
      environment: { TASK_POLICIES: JSON.stringify({ 'ticket-triage': { tiers: ['primary', 'rules', 'secondary', 'human'], minConfidence: 0.99 } }) },
    });
    sim.queue.send(BODY);
    const key = keyOfMessageBody(BODY);
    for (let receive = 1; receive < sim.config.maxReceiveCount; receive += 1) await receiveOnce(sim);
    expect(sim.ledger.items.get(key)).toBeUndefined();

    await receiveOnce(sim);

    expect(sim.ledger.items.get(key)).toMatchObject({ status: LEDGER_STATUS.COMPLETED, tier: 'secondary' });
    expect(sim.ledger.history.get(key)).toEqual([LEDGER_STATUS.IN_PROGRESS, LEDGER_STATUS.COMPLETED]);
    expect(sim.modelCalls).toBe(1);
  });

  it('a key another message completed meanwhile is a duplicate of the one write: nothing changes', async () => {
    const sim = new Simulation({ model: (request) => answer(request, VALID_ANSWER), breakersOpen: true });
    sim.queue.send(BODY);
    const key = keyOfMessageBody(BODY);
    for (let receive = 1; receive < sim.config.maxReceiveCount; receive += 1) await receiveOnce(sim);
    await claimBy(sim, key, 'other', 1);
    await sim.ledger.complete({
      key,
      claimToken: 'T',
      result: { by: 'other' },
      tier: 'primary',
      modelId: 'm',
      tokensIn: 0,
      tokensOut: 0,
      modelLatencyMs: 0,
      modelCalls: 1,
      now: sim.clock.now,
    });

    await receiveOnce(sim);

    expect(sim.ledger.items.get(key)).toMatchObject({ status: LEDGER_STATUS.COMPLETED, tier: 'primary', claims: 1 });
    expect(sim.queue.messages.size).toBe(0);
    expect(sim.queue.dlq).toEqual([]);
  });
});

/**
 * Found by `npm run mutation:protocol` (2026-12-03): branches whose removal the crash-point
 * exploration did not notice, because the invariant still held at the end of the run.
 */
describe('leases held by someone else (mutation survivors)', () => {
  /** Receives of the message that die before any side effect, so the next receive has count `count + 1`. */
  async function burnReceives(sim: Simulation, count: number): Promise<void> {
    for (let receive = 1; receive <= count; receive += 1) {
      sim.clock.now = Math.max(sim.clock.now, sim.queue.nextVisibleAt() ?? sim.clock.now);
      await sim.invoke(sim.queue.receive(10), { index: 0, when: 'before' });
    }
    sim.clock.now = Math.max(sim.clock.now, sim.queue.nextVisibleAt() ?? sim.clock.now);
  }

  it('a key leased by another message is not served: no model call, the copy goes back, the lease stays', async () => {
    const sim = new Simulation({ model: (request) => answer(request, VALID_ANSWER) });
    sim.queue.send(BODY);
    const key = keyOfMessageBody(BODY);
    await claimBy(sim, key, 'other', 600_000);

    await sim.invoke(sim.queue.receive(10));

    expect(sim.modelCalls).toBe(0);
    expect(sim.queue.messages.size).toBe(1);
    expect(sim.ledger.items.get(key)).toMatchObject({ status: LEDGER_STATUS.IN_PROGRESS, claimToken: 'T', messageId: 'other' });
  });

  it('on the last receive, a lease held by this same message (an earlier receive’s) keeps the message: its receive count is recorded, not deleted as a duplicate', async () => {
    const sim = new Simulation({ model: (request) => answer(request, VALID_ANSWER) });
    const messageId = sim.queue.send(BODY);
    const key = keyOfMessageBody(BODY);
    await burnReceives(sim, sim.config.maxReceiveCount - 1);
    await claimBy(sim, key, messageId, 600_000, sim.config.maxReceiveCount - 1);

    const records = sim.queue.receive(10);
    expect(records[0]?.attributes.ApproximateReceiveCount).toBe(String(sim.config.maxReceiveCount));
    await sim.invoke(records);

    expect(sim.queue.messages.size).toBe(1);
    expect(sim.ledger.items.get(key)).toMatchObject({ status: LEDGER_STATUS.IN_PROGRESS, claimToken: 'T', receiveCount: sim.config.maxReceiveCount });
    // Hidden until the holder's lease has ended, so the next receive (a redrive) happens after it.
    expect(sim.queue.nextVisibleAt()).toBeGreaterThan(sim.ledger.items.get(key)?.leaseUntil as number);
  });

  it('an escalation whose lease was taken over during the model call sends no review notice', async () => {
    let sim: Simulation | undefined;
    const key = keyOfMessageBody(BODY);
    sim = new Simulation({
      model: (request) => {
        // Another attempt takes the key over while this one waits for the model.
        const item = (sim as Simulation).ledger.items.get(key);
        if (item) item.claimToken = 'someone-else';
        return answer(request, 'not json');
      },
      environment: { TASK_POLICIES: JSON.stringify({ 'ticket-triage': { tiers: ['primary', 'human'] } }) },
    });
    sim.queue.send(BODY);

    await sim.invoke(sim.queue.receive(10));

    expect(sim.queue.review).toEqual([]);
    expect(sim.ledger.items.get(key)).toMatchObject({ status: LEDGER_STATUS.IN_PROGRESS, claimToken: 'someone-else' });
  });
});

/**
 * The ledger's transition table as pure functions: `allows` (what the in-memory store and the
 * crash-point exploration decide by) at each guard's edge, and `conditionExpression` (what the
 * DynamoDB store sends) written out by hand for every transition. Both stores are checked against
 * dynalite edge by edge in test/integration/ledger-store.test.ts; this file is what the mutation
 * run (`npm run mutation`) sees, with no emulator.
 */
import { describe, expect, it } from 'vitest';
import { LEDGER_STATUS } from '../../lambda/contract';
import {
  allows,
  conditionExpression,
  type GuardItem,
  type GuardRequest,
  LEDGER_TRANSITION,
  type LedgerTransition,
} from '../../lambda/ledger/ledger-transitions';

const NOW = 1_000_000;
const { IN_PROGRESS, COMPLETED, IN_REVIEW, FAILED, DEAD_LETTERED, REJECTED } = LEDGER_STATUS;

/** An item held by attempt A (message m-A, receive 2), its lease ending at `leaseUntil`. */
const held = (status: GuardItem['status'], leaseUntil?: number): GuardItem => ({ status, claimToken: 'A', leaseUntil, messageId: 'm-A', receiveCount: 2 });

const STATES: Readonly<Record<string, GuardItem | undefined>> = {
  absent: undefined,
  leased: held(IN_PROGRESS, NOW + 1),
  'lease ends now': held(IN_PROGRESS, NOW),
  'lease ended': held(IN_PROGRESS, NOW - 1),
  'in progress, no lease': held(IN_PROGRESS),
  COMPLETED: held(COMPLETED),
  IN_REVIEW: held(IN_REVIEW),
  FAILED: held(FAILED),
  DEAD_LETTERED: held(DEAD_LETTERED),
  REJECTED: { status: REJECTED, messageId: 'm-A' },
};

/** Which states each write may start from, for a writer that names token A (the holder's) and for one that names B. */
const ALLOWED: ReadonlyArray<readonly [LedgerTransition, GuardRequest, readonly string[]]> = [
  [LEDGER_TRANSITION.CLAIM, { now: NOW }, ['absent', 'lease ended', 'in progress, no lease', 'FAILED', 'DEAD_LETTERED']],
  [LEDGER_TRANSITION.COMPLETE_UNCLAIMED, { now: NOW }, ['absent', 'lease ended', 'in progress, no lease', 'FAILED', 'DEAD_LETTERED']],
  [LEDGER_TRANSITION.COMPLETE, { now: NOW, claimToken: 'A' }, ['leased', 'lease ends now', 'lease ended', 'in progress, no lease', 'COMPLETED']],
  [LEDGER_TRANSITION.COMPLETE, { now: NOW, claimToken: 'B' }, []],
  [LEDGER_TRANSITION.COMPLETE, { now: NOW }, []],
  [LEDGER_TRANSITION.REVIEW, { now: NOW, claimToken: 'A' }, ['leased', 'lease ends now', 'lease ended', 'in progress, no lease', 'IN_REVIEW']],
  [LEDGER_TRANSITION.REVIEW, { now: NOW, claimToken: 'B' }, []],
  [LEDGER_TRANSITION.FAIL, { now: NOW, claimToken: 'A' }, ['leased', 'lease ends now', 'lease ended', 'in progress, no lease', 'FAILED']],
  [LEDGER_TRANSITION.FAIL, { now: NOW, claimToken: 'B' }, []],
  [LEDGER_TRANSITION.DEAD_LETTER, { now: NOW, claimToken: 'A' }, ['leased', 'lease ends now', 'lease ended', 'in progress, no lease', 'DEAD_LETTERED']],
  [LEDGER_TRANSITION.DEAD_LETTER, { now: NOW, claimToken: 'B' }, []],
  // The reconciler: an ended lease (not one ending this millisecond) or a failure, fenced by the token it read.
  [LEDGER_TRANSITION.OUT_OF_RECEIVES, { now: NOW, claimToken: 'A' }, ['lease ended', 'in progress, no lease', 'FAILED']],
  [LEDGER_TRANSITION.OUT_OF_RECEIVES, { now: NOW, claimToken: 'B' }, []],
  // The same message at a later receive, whatever the lease.
  [LEDGER_TRANSITION.OBSERVE_RECEIVE, { now: NOW, messageId: 'm-A', receiveCount: 3 }, ['leased', 'lease ends now', 'lease ended', 'in progress, no lease']],
  [LEDGER_TRANSITION.OBSERVE_RECEIVE, { now: NOW, messageId: 'm-A', receiveCount: 2 }, []],
  [LEDGER_TRANSITION.OBSERVE_RECEIVE, { now: NOW, messageId: 'm-A', receiveCount: 1 }, []],
  [LEDGER_TRANSITION.OBSERVE_RECEIVE, { now: NOW, messageId: 'm-A' }, []],
  [LEDGER_TRANSITION.OBSERVE_RECEIVE, { now: NOW, messageId: 'm-Z', receiveCount: 3 }, []],
  [LEDGER_TRANSITION.REJECT, { now: NOW }, ['absent']],
];

describe('allows: where each write may start', () => {
  it.each(ALLOWED.map(([transition, request, states]) => [transition, JSON.stringify(request), request, states] as const))(
    '%s with %s',
    (transition, _shown, request, states) => {
      const allowed = Object.entries(STATES)
        .filter(([, item]) => allows(transition, item, request))
        .map(([state]) => state);
      expect(allowed).toEqual(states);
    },
  );

  it('an item that never recorded a receive count is observed at any later receive', () => {
    const item: GuardItem = { status: IN_PROGRESS, claimToken: 'A', leaseUntil: NOW + 1, messageId: 'm-A' };
    expect(allows(LEDGER_TRANSITION.OBSERVE_RECEIVE, item, { now: NOW, messageId: 'm-A', receiveCount: 1 })).toBe(true);
  });

  it('a token is never matched by its absence: an item with no token refuses a writer with none', () => {
    const item: GuardItem = { status: IN_PROGRESS, leaseUntil: NOW + 1 };
    expect(allows(LEDGER_TRANSITION.COMPLETE, item, { now: NOW })).toBe(false);
    expect(allows(LEDGER_TRANSITION.COMPLETE, item, { now: NOW, claimToken: 'A' })).toBe(false);
  });
});

describe('conditionExpression: what the DynamoDB store sends, per transition', () => {
  type Expected = readonly [string, readonly string[]];
  /** A claim's condition: no item, a failure, a dead letter, or an ended lease. */
  const CLAIMABLE: Expected = [
    'attribute_not_exists(#pk) OR #status = :st_FAILED OR #status = :st_DEAD_LETTERED OR (#status = :st_IN_PROGRESS AND #leaseUntil < :now)',
    [':st_FAILED', ':st_DEAD_LETTERED', ':st_IN_PROGRESS', ':now'],
  ];
  /** The owner's write: from IN_PROGRESS, or a repeat of its own write to `status`, with its token. */
  const owners = (status: string): Expected => [
    `(#status = :st_IN_PROGRESS AND #claimToken = :claimToken) OR (#status = :st_${status} AND #claimToken = :claimToken)`,
    [':st_IN_PROGRESS', ':claimToken', `:st_${status}`],
  ];
  const EXPECTED: Readonly<Record<LedgerTransition, Expected>> = {
    claim: CLAIMABLE,
    completeUnclaimed: CLAIMABLE,
    observeReceive: [
      '(#status = :st_IN_PROGRESS AND #messageId = :messageId AND (attribute_not_exists(#receiveCount) OR #receiveCount < :receiveCount))',
      [':st_IN_PROGRESS', ':messageId', ':receiveCount'],
    ],
    complete: owners('COMPLETED'),
    review: owners('IN_REVIEW'),
    fail: owners('FAILED'),
    deadLetter: owners('DEAD_LETTERED'),
    outOfReceives: [
      '(#status = :st_IN_PROGRESS AND #leaseUntil < :now AND #claimToken = :claimToken) OR (#status = :st_FAILED AND #claimToken = :claimToken)',
      [':st_IN_PROGRESS', ':now', ':claimToken', ':st_FAILED'],
    ],
    reject: ['attribute_not_exists(#pk)', []],
  };

  it.each(Object.values(LEDGER_TRANSITION))('%s', (transition) => {
    const { expression, values } = conditionExpression(transition);
    const [text, needed] = EXPECTED[transition];
    expect(expression).toBe(text);
    expect([...values]).toEqual(needed);
  });
});

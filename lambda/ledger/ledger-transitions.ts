import { LEDGER_STATUS, type LedgerStatus } from '../contract';

/**
 * The ledger's state machine: which write may move an item from which status to which, and what
 * guards it. The DynamoDB store builds its condition expressions from this table and the in-memory
 * store (tests) evaluates the same rules, so the two cannot drift apart.
 *
 * ```
 *  write            from                                   guard                                  to
 *  ───────────────  ─────────────────────────────────────  ─────────────────────────────────────  ─────────────
 *  claim            (no item) | FAILED | DEAD_LETTERED     —                                      IN_PROGRESS
 *  claim (takeover) IN_PROGRESS                            lease ended (leaseUntil < now)         IN_PROGRESS
 *  completeUnclaimed as claim (takeover included)          — (one write, no model call)           COMPLETED
 *  observeReceive   IN_PROGRESS                            same message, higher receive count     IN_PROGRESS
 *  complete         IN_PROGRESS | COMPLETED*               claim token is the writer's            COMPLETED
 *  review           IN_PROGRESS | IN_REVIEW*               claim token is the writer's            IN_REVIEW
 *  fail             IN_PROGRESS | FAILED*                  claim token is the writer's            FAILED
 *  deadLetter       IN_PROGRESS | DEAD_LETTERED*           claim token is the writer's            DEAD_LETTERED
 *  outOfReceives    IN_PROGRESS (lease ended) | FAILED     token as the reconciler read it        DEAD_LETTERED
 *  reject           (no item)                              —                                      REJECTED
 *  resolve          IN_REVIEW                              (pipectl review: a person's decision)  COMPLETED
 *  (* the writer's own earlier write: a retried request repeats it and changes nothing new)
 * ```
 *
 * A write that finds its guard false changes nothing and is reported as `stale` with the status
 * it found, never thrown: a stale owner (its lease was taken over) learns it lost, and the caller
 * decides what its message does next. COMPLETED, IN_REVIEW and REJECTED are final for the
 * processor; FAILED and DEAD_LETTERED may be claimed again (the message came back, or an operator
 * redrove the DLQ).
 */
export const LEDGER_TRANSITION = {
  CLAIM: 'claim',
  /**
   * Claim and complete in one write, for a record served with no model call (the rules on its last
   * receive, every model refused by its breaker or no time left for one): nothing happens between
   * the two that a lease would protect, so the second write bought nothing.
   */
  COMPLETE_UNCLAIMED: 'completeUnclaimed',
  OBSERVE_RECEIVE: 'observeReceive',
  COMPLETE: 'complete',
  REVIEW: 'review',
  FAIL: 'fail',
  DEAD_LETTER: 'deadLetter',
  OUT_OF_RECEIVES: 'outOfReceives',
  REJECT: 'reject',
} as const;
export type LedgerTransition = (typeof LEDGER_TRANSITION)[keyof typeof LEDGER_TRANSITION];

/** "No item yet", as a `from` of the table. */
export const ABSENT = 'ABSENT' as const;

/** One way into a transition: a status the item is in, and what else must hold. */
export interface FromRule {
  readonly status: LedgerStatus | typeof ABSENT;
  /** The item's lease has ended (`leaseUntil < now`). */
  readonly leaseEnded?: true;
  /** The item's claim token is the one the write names. */
  readonly token?: true;
  /** The item's message id is the writer's and its recorded receive count is lower than the writer's. */
  readonly sameMessageLaterReceive?: true;
}

/** One row of the table. */
export interface TransitionRule {
  readonly from: readonly FromRule[];
  readonly to: LedgerStatus;
}

const { IN_PROGRESS, COMPLETED, IN_REVIEW, FAILED, DEAD_LETTERED, REJECTED } = LEDGER_STATUS;

/** Where a claim may start: no item, a failure, a dead letter (a redrive), or an ended lease (a takeover). */
const CLAIMABLE: readonly FromRule[] = [{ status: ABSENT }, { status: FAILED }, { status: DEAD_LETTERED }, { status: IN_PROGRESS, leaseEnded: true }];

/** The table itself (see the diagram above). */
export const TRANSITIONS: Readonly<Record<LedgerTransition, TransitionRule>> = {
  claim: { from: CLAIMABLE, to: IN_PROGRESS },
  completeUnclaimed: { from: CLAIMABLE, to: COMPLETED },
  observeReceive: { from: [{ status: IN_PROGRESS, sameMessageLaterReceive: true }], to: IN_PROGRESS },
  complete: {
    from: [
      { status: IN_PROGRESS, token: true },
      { status: COMPLETED, token: true },
    ],
    to: COMPLETED,
  },
  review: {
    from: [
      { status: IN_PROGRESS, token: true },
      { status: IN_REVIEW, token: true },
    ],
    to: IN_REVIEW,
  },
  fail: {
    from: [
      { status: IN_PROGRESS, token: true },
      { status: FAILED, token: true },
    ],
    to: FAILED,
  },
  deadLetter: {
    from: [
      { status: IN_PROGRESS, token: true },
      { status: DEAD_LETTERED, token: true },
    ],
    to: DEAD_LETTERED,
  },
  // The reconciler decides from what it read (itemOutOfReceives in completeness.ts); the token
  // makes sure nothing was written since, and an IN_PROGRESS lease must still have ended.
  outOfReceives: {
    from: [
      { status: IN_PROGRESS, token: true, leaseEnded: true },
      { status: FAILED, token: true },
    ],
    to: DEAD_LETTERED,
  },
  reject: { from: [{ status: ABSENT }], to: REJECTED },
};

/** Statuses a claim reports as a duplicate: the key's work is done, whatever the outcome. */
export const FINAL_FOR_PROCESSOR: ReadonlySet<LedgerStatus> = new Set([COMPLETED, IN_REVIEW, REJECTED]);

/** What a guard looks at on the current item (undefined: no item). */
export interface GuardItem {
  readonly status: LedgerStatus;
  readonly claimToken?: string;
  readonly leaseUntil?: number;
  readonly messageId?: string;
  readonly receiveCount?: number;
}

/** What the write brings to its guard. */
export interface GuardRequest {
  readonly now: number;
  readonly claimToken?: string;
  readonly messageId?: string;
  readonly receiveCount?: number;
}

/** Whether the table allows `transition` on `item` (undefined: no item) for this request. */
export function allows(transition: LedgerTransition, item: GuardItem | undefined, request: GuardRequest): boolean {
  return TRANSITIONS[transition].from.some((rule) => {
    if (rule.status === ABSENT) return item === undefined;
    if (!item || item.status !== rule.status) return false;
    if (rule.leaseEnded && !((item.leaseUntil ?? Number.NEGATIVE_INFINITY) < request.now)) return false;
    if (rule.token && (request.claimToken === undefined || item.claimToken !== request.claimToken)) return false;
    if (rule.sameMessageLaterReceive && !(item.messageId === request.messageId && (item.receiveCount ?? 0) < (request.receiveCount ?? 0))) return false;
    return true;
  });
}

/** Attribute names the conditions use (with `#`), and the values they need (with `:`). */
export const GUARD_ATTRIBUTE = {
  pk: '#pk',
  status: '#status',
  claimToken: '#claimToken',
  leaseUntil: '#leaseUntil',
  messageId: '#messageId',
  receiveCount: '#receiveCount',
} as const;

/**
 * The DynamoDB condition expression of a transition, built from the same table: an OR of its
 * `from` rules, each an AND of its guards. Values used: `:st_<STATUS>`, `:now`, `:claimToken`,
 * `:messageId`, `:receiveCount` (only those the rules name).
 */
export function conditionExpression(transition: LedgerTransition): { readonly expression: string; readonly values: ReadonlySet<string> } {
  const values = new Set<string>();
  const a = GUARD_ATTRIBUTE;
  const parts = TRANSITIONS[transition].from.map((rule) => {
    if (rule.status === ABSENT) return `attribute_not_exists(${a.pk})`;
    const statusValue = `:st_${rule.status}`;
    values.add(statusValue);
    const terms = [`${a.status} = ${statusValue}`];
    if (rule.leaseEnded) {
      values.add(':now');
      terms.push(`${a.leaseUntil} < :now`);
    }
    if (rule.token) {
      values.add(':claimToken');
      terms.push(`${a.claimToken} = :claimToken`);
    }
    if (rule.sameMessageLaterReceive) {
      values.add(':messageId');
      values.add(':receiveCount');
      terms.push(`${a.messageId} = :messageId`, `(attribute_not_exists(${a.receiveCount}) OR ${a.receiveCount} < :receiveCount)`);
    }
    return terms.length === 1 ? terms[0] : `(${terms.join(' AND ')})`;
  });
  return { expression: parts.join(' OR '), values };
}

/** What a fenced write came to: it took effect, or it found the item elsewhere and changed nothing. */
export type WriteOutcome =
  | { readonly kind: 'applied' }
  /** The guard was false: nothing changed. `status` is what the item was found in (undefined: no item). */
  | { readonly kind: 'stale'; readonly status?: LedgerStatus; readonly messageId?: string };

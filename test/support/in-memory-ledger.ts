import { LEDGER_STATUS, type LedgerStatus } from '../../lambda/contract';
import type {
  ClaimOutcome,
  ClaimRequest,
  ClaimWriteOutcome,
  CompleteRequest,
  FailureRequest,
  LedgerStore,
  ObserveReceiveRequest,
  OutOfReceivesRequest,
  RejectionRequest,
  ReviewRequest,
  UnclaimedCompleteOutcome,
  UnclaimedCompleteRequest,
} from '../../lambda/ledger/ledger-store';
import {
  allows,
  FINAL_FOR_PROCESSOR,
  type GuardRequest,
  LEDGER_TRANSITION,
  type LedgerTransition,
  type WriteOutcome,
} from '../../lambda/ledger/ledger-transitions';

/** One ledger item as the in-memory store keeps it (the attributes the protocol reads and tests assert on). */
export interface MemoryLedgerItem {
  key: string;
  status: LedgerStatus;
  claimToken?: string;
  leaseUntil?: number;
  messageId?: string;
  receiveCount?: number;
  jobId?: string;
  claims: number;
  result?: unknown;
  tier?: string;
  reviewReasons?: readonly string[];
  lastErrorClass?: string;
  reason?: string;
  /** Epoch ms of the last write. */
  updatedAt?: number;
}

/**
 * The ledger in memory, for unit tests and the crash-point exploration: every write is decided by
 * `allows()` over the same transition table (lambda/ledger/ledger-transitions.ts) from which the
 * DynamoDB store builds its condition expressions. It keeps each key's history of statuses.
 */
export class InMemoryLedgerStore implements LedgerStore {
  readonly items = new Map<string, MemoryLedgerItem>();
  /** Every status each key passed through, in order. */
  readonly history = new Map<string, LedgerStatus[]>();

  async claim(request: ClaimRequest): Promise<ClaimOutcome> {
    const outcome = this.claimWrite(LEDGER_TRANSITION.CLAIM, request, (item) => ({
      ...item,
      status: LEDGER_STATUS.IN_PROGRESS,
      leaseUntil: request.leaseUntil,
    }));
    return outcome.kind === 'written' ? { kind: 'claimed', takenOver: outcome.takenOver, previousStatus: outcome.previousStatus } : outcome;
  }

  async completeUnclaimed(request: UnclaimedCompleteRequest): Promise<UnclaimedCompleteOutcome> {
    const outcome = this.claimWrite(LEDGER_TRANSITION.COMPLETE_UNCLAIMED, request, (item) => ({
      ...item,
      status: LEDGER_STATUS.COMPLETED,
      result: request.result,
      tier: request.tier,
      leaseUntil: undefined,
    }));
    return outcome.kind === 'written' ? { kind: 'completed', takenOver: outcome.takenOver, previousStatus: outcome.previousStatus } : outcome;
  }

  /** A write that starts a claim: guarded as a claim, refused as a claim is (duplicate, claimed elsewhere). */
  private claimWrite(
    transition: LedgerTransition,
    request: Omit<ClaimRequest, 'leaseUntil'>,
    next: (item: MemoryLedgerItem) => MemoryLedgerItem,
  ): ClaimWriteOutcome {
    const item = this.items.get(request.key);
    if (!allows(transition, item, { now: request.now })) {
      const current = item as MemoryLedgerItem;
      if (FINAL_FOR_PROCESSOR.has(current.status)) return { kind: 'duplicate', status: current.status };
      return { kind: 'claimed-elsewhere', leaseUntil: current.leaseUntil ?? request.now, messageId: current.messageId, receiveCount: current.receiveCount };
    }
    const previousStatus = item?.status;
    this.set(
      request.key,
      next({
        ...(item ?? { key: request.key, status: LEDGER_STATUS.IN_PROGRESS, claims: 0 }),
        claimToken: request.claimToken,
        messageId: request.messageId,
        receiveCount: request.receiveCount ?? 1,
        // The first claimer's job wins (if_not_exists in the DynamoDB store).
        jobId: item?.jobId ?? request.jobId,
        claims: (item?.claims ?? 0) + 1,
        updatedAt: request.now,
      }),
    );
    return { kind: 'written', takenOver: previousStatus === LEDGER_STATUS.IN_PROGRESS, previousStatus };
  }

  async observeReceive(request: ObserveReceiveRequest): Promise<WriteOutcome> {
    return this.write(LEDGER_TRANSITION.OBSERVE_RECEIVE, request.key, request, (item) => ({ ...item, receiveCount: request.receiveCount }));
  }

  async complete(request: CompleteRequest): Promise<WriteOutcome> {
    return this.write(LEDGER_TRANSITION.COMPLETE, request.key, request, (item) => ({
      ...item,
      status: LEDGER_STATUS.COMPLETED,
      result: request.result,
      tier: request.tier,
      leaseUntil: undefined,
    }));
  }

  async recordFailure(request: FailureRequest): Promise<WriteOutcome> {
    return this.write(LEDGER_TRANSITION.FAIL, request.key, { ...request, receiveCount: undefined }, (item) => ({
      ...item,
      status: LEDGER_STATUS.FAILED,
      lastErrorClass: request.errorClass,
      leaseUntil: undefined,
    }));
  }

  async recordDeadLetter(request: FailureRequest): Promise<WriteOutcome> {
    return this.write(LEDGER_TRANSITION.DEAD_LETTER, request.key, { ...request, receiveCount: undefined }, (item) => ({
      ...item,
      status: LEDGER_STATUS.DEAD_LETTERED,
      lastErrorClass: request.errorClass,
      leaseUntil: undefined,
    }));
  }

  async settleOutOfReceives(request: OutOfReceivesRequest): Promise<WriteOutcome> {
    return this.write(LEDGER_TRANSITION.OUT_OF_RECEIVES, request.key, request, (item) => ({
      ...item,
      status: LEDGER_STATUS.DEAD_LETTERED,
      lastErrorClass: item.lastErrorClass ?? 'OutOfReceives',
      leaseUntil: undefined,
    }));
  }

  async recordRejection(request: RejectionRequest): Promise<WriteOutcome> {
    return this.write(LEDGER_TRANSITION.REJECT, request.key, request, () => ({
      key: request.key,
      status: LEDGER_STATUS.REJECTED,
      reason: request.reason,
      messageId: request.messageId,
      jobId: request.jobId,
      claims: 0,
    }));
  }

  async markInReview(request: ReviewRequest): Promise<WriteOutcome> {
    return this.write(LEDGER_TRANSITION.REVIEW, request.key, request, (item) => ({
      ...item,
      status: LEDGER_STATUS.IN_REVIEW,
      reviewReasons: request.reasons,
      ...(request.input === undefined ? {} : { input: request.input }),
      leaseUntil: undefined,
    }));
  }

  private write(transition: LedgerTransition, key: string, guard: GuardRequest, next: (item: MemoryLedgerItem) => MemoryLedgerItem): WriteOutcome {
    const item = this.items.get(key);
    if (!allows(transition, item, guard)) return { kind: 'stale', status: item?.status, messageId: item?.messageId };
    this.set(key, { ...next(item ?? { key, status: LEDGER_STATUS.IN_PROGRESS, claims: 0 }), updatedAt: guard.now });
    return { kind: 'applied' };
  }

  private set(key: string, item: MemoryLedgerItem): void {
    const previous = this.items.get(key)?.status;
    this.items.set(key, item);
    if (previous !== item.status) {
      const history = this.history.get(key) ?? [];
      history.push(item.status);
      this.history.set(key, history);
    }
  }
}

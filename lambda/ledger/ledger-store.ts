import type { LedgerStatus } from '../contract';
import type { WriteOutcome } from './ledger-transitions';

export type { WriteOutcome } from './ledger-transitions';

/**
 * The ledger: one item per idempotency key, the single source of truth for what happened to a
 * unit of work. The processor talks to it only through this interface; the DynamoDB
 * implementation translates SDK errors into these outcomes.
 *
 * Claim, call, complete, and the lease (why a crash loses nothing and duplicates nothing):
 *
 * ```
 *  invocation A   claim(lease = A's deadline) ── model call ── complete ✓      (A stops working
 *                 │                                                │           `margin` before
 *                 ▼                                                ▼           its deadline)
 *  ledger item    IN_PROGRESS(A) ──────────────────────────────── COMPLETED
 *  invocation B          claim ✗ claimed-elsewhere (lease live) → retry later → claim ✗ duplicate
 *
 *  crash case:    claim(A) ── A killed ✗ · · · · lease ends (≤ A's deadline) · · ·
 *                 visibility timeout (≥ 6 × function timeout) ends → redelivery → claim ✓ taken over
 * ```
 * The lease ends an allowance before the moment the Lambda service would kill A (clock skew between
 * instances, a write still in flight), and A's own work is budgeted to finish before then. Every
 * write after the claim names A's claim token (see ledger-transitions.ts): if B took the key over
 * anyway, A's late write changes nothing and comes back `stale`.
 */
export interface LedgerStore {
  /** Take the key (or take over an ended lease). */
  claim(request: ClaimRequest): Promise<ClaimOutcome>;
  /**
   * The holder of the lease is this same message, seen again at a higher receive count (its
   * earlier receive's lease is still live): record the receive count, so that an attempt that dies
   * on the last receive is known to be out of receives.
   */
  observeReceive(request: ObserveReceiveRequest): Promise<WriteOutcome>;
  /** IN_PROGRESS → COMPLETED by the claim's owner. */
  complete(request: CompleteRequest): Promise<WriteOutcome>;
  /**
   * Claim and complete in one write (from wherever a claim may start → COMPLETED): a record the
   * processor served with no model call — the rules on its last receive, with every model refused
   * by its breaker or no time left for one. During an outage that is most records, and claim +
   * complete was two writes for one decision. Refused as a claim is refused.
   */
  completeUnclaimed(request: UnclaimedCompleteRequest): Promise<UnclaimedCompleteOutcome>;
  /** IN_PROGRESS → FAILED by the claim's owner: a retryable failure, the message goes back to the queue. */
  recordFailure(request: FailureRequest): Promise<WriteOutcome>;
  /** IN_PROGRESS → DEAD_LETTERED by the claim's owner: a failure on the message's last receive. */
  recordDeadLetter(request: FailureRequest): Promise<WriteOutcome>;
  /** (no item) → REJECTED: the message was bad input (the key is the raw body's hash). */
  recordRejection(request: RejectionRequest): Promise<WriteOutcome>;
  /**
   * COMPLETED → COMPLETED with the shadow candidate's answer in the `shadow` attribute (never the
   * result); nothing when the item is not COMPLETED. Not a state transition: the shadow run's side note.
   * @returns whether it was written
   */
  recordShadow?(request: ShadowRequest): Promise<boolean>;
  /** IN_PROGRESS → IN_REVIEW by the claim's owner: escalated to a person. */
  markInReview(request: ReviewRequest): Promise<WriteOutcome>;
  /**
   * The reconciler's write: an item whose message SQS redrove behind the ledger's back (an ended
   * lease or FAILED, out of receives or abandoned; see completeness.ts) → DEAD_LETTERED, fenced by
   * the claim token it read.
   */
  settleOutOfReceives(request: OutOfReceivesRequest): Promise<WriteOutcome>;
}

/** Per-call options every write takes. */
export interface WriteOptions {
  /** Aborts the request (the invocation is about to end; the lease is ending). */
  readonly signal?: AbortSignal;
}

export interface ObserveReceiveRequest extends WriteOptions {
  readonly key: string;
  readonly messageId: string;
  readonly receiveCount: number;
  readonly now: number;
}

export interface OutOfReceivesRequest extends WriteOptions {
  readonly key: string;
  /** The claim token of the item as the reconciler read it. */
  readonly claimToken: string;
  /** Why (kept on the item as its last error). */
  readonly reason: string;
  readonly now: number;
}

export interface ClaimRequest extends WriteOptions {
  readonly key: string;
  readonly task: string;
  readonly taskVersion: string;
  readonly messageId: string;
  /** The message's ApproximateReceiveCount: how the reconciler knows an attempt was the last one. @default 1 */
  readonly receiveCount?: number;
  /** The job of the first claimer: a later claim never moves the key to another job. */
  readonly jobId?: string;
  /** A value unique to this attempt; completing requires it unless nobody completed first. */
  readonly claimToken: string;
  /** Epoch ms when the lease ends: an allowance before the invocation's deadline. */
  readonly leaseUntil: number;
  readonly now: number;
}

export type ClaimOutcome =
  | ClaimWritten<'claimed'>
  /** The key reached a final state before (COMPLETED, IN_REVIEW or REJECTED): skip, no model call. */
  | { readonly kind: 'duplicate'; readonly status: LedgerStatus }
  /** A live lease is held by `messageId` (this same message when SQS delivered it twice, or an earlier receive). */
  | { readonly kind: 'claimed-elsewhere'; readonly leaseUntil: number; readonly messageId?: string; readonly receiveCount?: number };

export interface CompleteRequest extends WriteOptions {
  readonly key: string;
  readonly claimToken: string;
  readonly result: unknown;
  /** Which tier produced the result: primary, secondary, rules or human. */
  readonly tier: string;
  readonly modelId: string;
  readonly tokensIn: number;
  readonly tokensOut: number;
  readonly modelLatencyMs: number;
  readonly modelCalls: number;
  /**
   * The task's drift features of this result (see `TaskDefinition.features`): stored with it, so
   * the drift monitor reads them from the ledger. The completion also files the item under its
   * hour in the `byHour` index.
   */
  readonly features?: Readonly<Record<string, string>>;
  /** Which variant served the result (`VARIANT` in lambda/contract.ts): stored as `variant`. */
  readonly variant?: string;
  /** The candidate version of the task's prompt that served a model tier's result (unset: the current version). */
  readonly promptVersion?: string;
  readonly now: number;
}

/** A completion with the claim it stands for (no lease: nothing runs between the two). */
export type UnclaimedCompleteRequest = Omit<ClaimRequest, 'leaseUntil'> & CompleteRequest;

/** Why a write that starts a claim was refused: the key is settled, or a live lease holds it. */
export type ClaimRefusal = Exclude<ClaimOutcome, { readonly kind: 'claimed' }>;

/** A write that starts a claim went through: `kind` names the write, the rest is the item it replaced. */
interface ClaimWritten<Kind extends string> {
  readonly kind: Kind;
  readonly takenOver: boolean;
  readonly previousStatus?: LedgerStatus;
}

/** What a write that starts a claim did to the item (a store's own step; the interface names it per write). */
export type ClaimWriteOutcome = ClaimWritten<'written'> | ClaimRefusal;

export type UnclaimedCompleteOutcome = ClaimWritten<'completed'> | ClaimRefusal;

export interface FailureRequest extends WriteOptions {
  readonly key: string;
  readonly claimToken: string;
  readonly errorClass: string;
  readonly message: string;
  readonly receiveCount: number;
  readonly now: number;
}

export interface RejectionRequest extends WriteOptions {
  readonly key: string;
  readonly reason: string;
  readonly detail: string;
  readonly messageId: string;
  readonly bodyBytes: number;
  /** The envelope's job id when the body was a JSON object with one, so the job counts its bad lines as dead-lettered. */
  readonly jobId?: string;
  readonly now: number;
}

export interface ReviewRequest extends WriteOptions {
  readonly key: string;
  readonly claimToken: string;
  readonly reasons: readonly string[];
  /**
   * The validated input, kept on the IN_REVIEW item: review is a ledger state, and a reviewer must
   * read the input without receiving the (at most once) notice. The DynamoDB table is encrypted;
   * the item's TTL bounds how long it stays.
   */
  readonly input?: unknown;
  readonly now: number;
}

/** The shadow candidate's answer to a completed record (lambda/processor/shadow-run.ts). */
export interface ShadowRequest extends WriteOptions {
  readonly key: string;
  readonly shadow: {
    readonly modelId: string;
    /** The candidate version of the task's prompt (`<task>@<version>`), when the shadow names one. */
    readonly promptVersion?: string;
    readonly result?: unknown;
    /** Same category and priority as the result. */
    readonly agrees?: boolean;
    readonly latencyMs: number;
    readonly costUsd: number;
    readonly error?: string;
    readonly at: number;
  };
}

import type { LedgerStatus } from '../contract';

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
 * The lease ends no later than the moment the Lambda service would kill A, and A's own work is
 * budgeted to finish before then, so a live owner is never overtaken, and a dead owner's key is
 * free again before its message is seen again.
 */
export interface LedgerStore {
  claim(request: ClaimRequest): Promise<ClaimOutcome>;
  complete(request: CompleteRequest): Promise<'completed' | 'already-completed'>;
  /** The attempt failed with a retryable error: release the lease and keep the failure context. */
  recordFailure(request: FailureRequest): Promise<void>;
  /** The message was bad input: record why (the key is the raw body's hash). */
  recordRejection(request: RejectionRequest): Promise<void>;
  /** The record was escalated to the human-review queue. */
  markInReview(request: ReviewRequest): Promise<void>;
}

export interface ClaimRequest {
  readonly key: string;
  readonly task: string;
  readonly taskVersion: string;
  readonly messageId: string;
  readonly jobId?: string;
  /** A value unique to this attempt; completing requires it unless nobody completed first. */
  readonly claimToken: string;
  /** Epoch ms when the lease ends: no later than the invocation's deadline. */
  readonly leaseUntil: number;
  readonly now: number;
}

export type ClaimOutcome =
  | { readonly kind: 'claimed'; readonly takenOver: boolean; readonly previousStatus?: LedgerStatus }
  /** The key reached a terminal state before (COMPLETED or IN_REVIEW): skip, no model call. */
  | { readonly kind: 'duplicate'; readonly status: LedgerStatus }
  | { readonly kind: 'claimed-elsewhere'; readonly leaseUntil: number };

export interface CompleteRequest {
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
  readonly now: number;
}

export interface FailureRequest {
  readonly key: string;
  readonly claimToken: string;
  readonly errorClass: string;
  readonly message: string;
  readonly receiveCount: number;
  readonly now: number;
}

export interface RejectionRequest {
  readonly key: string;
  readonly reason: string;
  readonly detail: string;
  readonly messageId: string;
  readonly bodyBytes: number;
  /** The envelope's job id when the body was a JSON object with one, so the job counts its bad lines as dead-lettered. */
  readonly jobId?: string;
  readonly now: number;
}

export interface ReviewRequest {
  readonly key: string;
  readonly claimToken: string;
  readonly reasons: readonly string[];
  readonly now: number;
}

import { METRIC, REUSED_TIER, TIER } from '../contract';
import { type EntityDecisions, ENTITY_EVENT, type EntityState } from '../resilience/entity-decisions';
import { signatureOf, similarity, textOf } from '../resilience/text-similarity';
import type { RecordWork, Served, TierNote } from './fallback-chain';
import type { RuntimeConfig } from './runtime-config';

/** What the guard needs. */
export interface EntityGuardDependencies {
  readonly decisions: EntityDecisions;
  readonly config: Pick<RuntimeConfig, 'entityDecisionLimit' | 'entityWindowSeconds' | 'entityReuseThreshold'>;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Tiers whose result is an automated decision: counted in the window, and reusable. */
const AUTOMATED: ReadonlySet<string> = new Set([TIER.PRIMARY, TIER.SECONDARY, TIER.RULES]);

/**
 * Escalation loops across edits (issue 16), in front of the fallback chain, for records whose
 * envelope names an `entityId` (a record without one costs nothing here: no request, no work):
 *
 * ```
 *  read entity#<id> ─► held? ─────────────────────────► review ("escalation loop", held)
 *        │              no
 *        ├─► small edit of the last decided input? ───► reuse that decision (tier `reused`, no model call)
 *        │              no
 *        └─► reserve a slot in the window ─► full ────► review ("escalation loop"), hold the entity
 *                                      └─► reserved ──► the chain as usual; its decision becomes the last
 * ```
 * Only a person's resolve (`pipectl review resolve`) lifts the hold.
 */
export class EntityGuard {
  private readonly now: () => number;
  /** The state each record's reservation left, for `settled` to write on (one write, no re-read). */
  private readonly reserved = new WeakMap<RecordWork, EntityState>();
  /**
   * Records the guard served (a reuse, a loop, a held entity): their metric is counted, and a held
   * record's history line written, once the ledger took their outcome — so a record that fails
   * after the guard and comes back is counted once, and the contended item waits.
   */
  private readonly served = new WeakMap<RecordWork, { readonly metric: string; readonly heldState?: EntityState }>();

  constructor(private readonly deps: EntityGuardDependencies) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Before the chain: what to serve instead of it (a reused decision, or review for a loop), or
   * undefined to run the chain. Throws a `DependencyError` when the entity item cannot be read or
   * written: the record then goes back to the queue like any failed write.
   */
  async serve(work: RecordWork, until: number): Promise<Served | undefined> {
    const { entityId, key, task, input } = work.message;
    if (entityId === undefined) return undefined;
    const { decisions, config } = this.deps;
    const options = { signal: signalUntil(until, this.now()) };
    const state = await decisions.read(entityId, options);
    const signature = signatureOf(textOf(input));

    // Held, unless this record already has a slot in the window (it failed after reserving and came back).
    if (state.hold && !state.decisions.some((entry) => entry.key === key && entry.at > this.now() - config.entityWindowSeconds * 1000)) {
      await decisions.markReview(entityId, key, signature, task, this.now(), options);
      this.served.set(work, { metric: METRIC.ENTITY_LOOPS_DETECTED, heldState: state });
      return toReview(work, `escalation loop: entity ${entityId} is held (${state.hold.reason}, item ${state.hold.key}) until a person resolves it`);
    }

    const last = state.last;
    if (last && last.task === task.name && last.taskVersion === task.version && last.key !== key) {
      const score = similarity(signature, last.signature);
      if (score >= config.entityReuseThreshold) {
        await decisions.recordEvent(state, { at: this.now(), key, kind: ENTITY_EVENT.REUSED, tier: last.tier, similarity: score }, options);
        this.served.set(work, { metric: METRIC.ENTITY_DECISIONS_REUSED });
        const note: TierNote = {
          tier: REUSED_TIER,
          modelId: last.modelId,
          reason: `a small edit of ${last.key} (similarity ${score.toFixed(2)} ≥ ${config.entityReuseThreshold}): its ${last.tier} decision is reused`,
        };
        return {
          tier: REUSED_TIER,
          result: last.result,
          modelId: last.modelId,
          tokensIn: 0,
          tokensOut: 0,
          latencyMs: 0,
          modelCalls: 0,
          notes: [...work.notes, note],
        };
      }
    }

    const windowMs = config.entityWindowSeconds * 1000;
    const reservation = await decisions.reserve(state, key, config.entityDecisionLimit, windowMs, this.now(), options);
    if (reservation.kind === 'reserved') {
      this.reserved.set(work, reservation.state);
      return undefined;
    }
    await decisions.markReview(entityId, key, signature, task, this.now(), options);
    this.served.set(work, { metric: METRIC.ENTITY_LOOPS_DETECTED });
    const reason =
      reservation.kind === 'loop'
        ? `escalation loop: entity ${entityId} had ${reservation.count} automated decisions in ${config.entityWindowSeconds} s (limit ${config.entityDecisionLimit}); held until a person resolves it`
        : `escalation loop: entity ${entityId} is held (${reservation.hold.reason}, item ${reservation.hold.key}) until a person resolves it`;
    return toReview(work, reason);
  }

  /**
   * After the ledger took the record's result: an automated decision becomes the entity's last,
   * for later small edits to reuse (and a held record's history line is added). A failure here is swallowed: the record is settled, and the
   * cost of a lost write is one more classification of the next edit.
   */
  async settled(work: RecordWork, served: Served, until: number): Promise<void> {
    const { entityId, key, task, input } = work.message;
    const guarded = this.served.get(work);
    if (guarded) {
      this.served.delete(work);
      work.metrics.count(guarded.metric, 1, { task: task.name });
      if (guarded.heldState) {
        await this.deps.decisions
          .recordEvent(guarded.heldState, { at: this.now(), key, kind: ENTITY_EVENT.HELD }, { signal: signalUntil(until, this.now()) })
          .catch(() => undefined);
      }
      return;
    }
    const state = this.reserved.get(work);
    if (!state || entityId === undefined || !AUTOMATED.has(served.tier)) return;
    this.reserved.delete(work);
    await this.deps.decisions
      .recordDecision(
        state,
        {
          key,
          at: this.now(),
          task: task.name,
          taskVersion: task.version,
          tier: served.tier,
          modelId: served.modelId,
          result: served.result,
          signature: signatureOf(textOf(input)),
        },
        { signal: signalUntil(until, this.now()) },
      )
      .catch(() => undefined);
  }
}

/** Review, with the loop as the reason (the review item's reasons say "escalation loop"). */
function toReview(work: RecordWork, reason: string): Served {
  return {
    tier: TIER.HUMAN,
    result: undefined,
    modelId: 'none',
    tokensIn: 0,
    tokensOut: 0,
    latencyMs: 0,
    modelCalls: 0,
    notes: [...work.notes, { tier: 'entity', reason }],
  };
}

function signalUntil(until: number, now: number): AbortSignal {
  return AbortSignal.timeout(Math.max(1, until - now));
}

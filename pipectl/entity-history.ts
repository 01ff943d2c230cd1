import { MessageEnvelope } from '../lambda/processor/message-parser';
import { EntityDecisions, type HistoryEntry } from '../lambda/resilience/entity-decisions';
import { UsageError } from './errors';
import type { PipelineTarget } from './target';

/** What `pipectl review entity <id>` shows: the entity guard's item, without the signatures. */
export interface EntityHistory {
  readonly entityId: string;
  /** No automated decision, reuse or hold was ever recorded for it. */
  readonly unknown: boolean;
  /** Set while automation is stopped for the entity: the review item that holds it, and why. */
  readonly hold?: { readonly key: string; readonly at: number; readonly reason: string };
  /** Automated decisions counted in the window (the keys, oldest first). */
  readonly decisions: ReadonlyArray<{ readonly key: string; readonly at: number }>;
  /** The decision a small edit would reuse. */
  readonly last?: { readonly key: string; readonly at: number; readonly tier: string; readonly modelId: string; readonly result: unknown };
  /** The last events, oldest first: decided, reused (with similarity), loop, held, resolved. */
  readonly history: readonly HistoryEntry[];
}

/** Reads one entity's decisions from the control table (one consistent GetItem; changes nothing). */
export async function entityHistory(target: PipelineTarget, entityId: string): Promise<EntityHistory> {
  if (!MessageEnvelope.shape.entityId.safeParse(entityId).success) {
    throw new UsageError(`"${entityId.slice(0, 40)}" is not an entity id: letters, digits and . _ : # / -, at most 128 characters`);
  }
  const state = await new EntityDecisions(target.dynamodb, target.resources.controlTableName).read(entityId);
  const { last } = state;
  return {
    entityId,
    unknown: state.version === 0,
    ...(state.hold ? { hold: state.hold } : {}),
    decisions: state.decisions,
    ...(last ? { last: { key: last.key, at: last.at, tier: last.tier, modelId: last.modelId, result: last.result } } : {}),
    history: state.history,
  };
}

/**
 * The resolve hook: when the entity guard sent review item `key` there, the person's resolve lifts
 * the entity's hold, clears its window and makes the person's answer its last decision.
 *
 * @returns the entity released, or undefined when the item was not held for an entity.
 */
export function releaseEntityOnResolve(target: PipelineTarget, key: string, result: unknown, resolvedBy: string, now: number): Promise<string | undefined> {
  return new EntityDecisions(target.dynamodb, target.resources.controlTableName).release(key, { result, by: resolvedBy, now });
}

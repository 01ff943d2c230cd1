import { ConditionalCheckFailedException, type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { CONTROL, ENTITY } from '../contract';
import { DependencyError } from '../errors/pipeline-errors';
import { type Signature, signatureBytes, signatureFromBytes } from './text-similarity';

/**
 * Why the counts live in the control table, as one item per entity (`entity#<entityId>`), and not
 * in the ledger: the ledger holds one item per input hash, and an entity's edits are many inputs,
 * so a count there would need a query over an index that every completion writes (a cost on the
 * happy path of every input, entity or not). The control table already holds small shared state
 * that many instances update (breaker, budget, per-key calls); one small item per entity is read
 * and written only for inputs that name an entity. Its writes never touch a ledger item, so the
 * ledger's fenced state machine is unchanged.
 *
 * Every write is conditioned on the item's `version` (optimistic concurrency): edits of one entity
 * processed at the same time by different instances cannot both take the last slot of the window.
 */

/** One automated decision counted in the entity's sliding window. */
export interface WindowEntry {
  readonly key: string;
  /** Epoch ms. */
  readonly at: number;
}

/** The entity's last automated decision, what a small edit reuses. */
export interface LastDecision {
  readonly key: string;
  readonly at: number;
  readonly task: string;
  readonly taskVersion: string;
  readonly tier: string;
  readonly modelId: string;
  readonly result: unknown;
  /** MinHash of the decided input's text (text-similarity.ts); the text itself is never stored. */
  readonly signature: Signature;
}

/** Automation stopped for the entity until a person resolves its review item. */
export interface Hold {
  readonly key: string;
  readonly at: number;
  readonly reason: string;
}

/** Values of `HistoryEntry.kind`. */
export const ENTITY_EVENT = {
  /** A model tier or the rules decided (counted in the window). */
  DECIDED: 'decided',
  /** A small edit reused the last decision. */
  REUSED: 'reused',
  /** Past the limit: sent to review, the entity held. */
  LOOP: 'loop',
  /** Held: sent to review without classification. */
  HELD: 'held',
  /** A person resolved a held item: hold and window cleared. */
  RESOLVED: 'resolved',
} as const;
export type EntityEvent = (typeof ENTITY_EVENT)[keyof typeof ENTITY_EVENT];

/** One line of the entity's history, for `pipectl review entity <id>`. */
export interface HistoryEntry {
  readonly at: number;
  readonly key: string;
  readonly kind: EntityEvent;
  readonly tier?: string;
  /** The estimated similarity to the last decided input, when one was compared. */
  readonly similarity?: number;
  readonly by?: string;
}

/** The entity item as read. */
export interface EntityState {
  readonly entityId: string;
  /** 0: no item yet. */
  readonly version: number;
  readonly decisions: readonly WindowEntry[];
  readonly last?: LastDecision;
  readonly hold?: Hold;
  readonly history: readonly HistoryEntry[];
}

/** What `reserve` came to. */
export type Reservation =
  | { readonly kind: 'reserved'; readonly state: EntityState; readonly count: number }
  /** The window was full: the entity is now held (by this key). */
  | { readonly kind: 'loop'; readonly state: EntityState; readonly count: number }
  /** Someone else's item is holding the entity. */
  | { readonly kind: 'held'; readonly state: EntityState; readonly hold: Hold };

/** History lines kept per entity: enough for a reviewer to see the loop. */
export const HISTORY_LIMIT = 50;
/** An entity quiet for a month is forgotten (DynamoDB TTL). */
const TTL_SECONDS = 30 * 86_400;
/** Optimistic writes retried this many times under contention before the record goes back to the queue. */
const MAX_ATTEMPTS = 8;

/** Per-call options. */
export interface EntityCallOptions {
  readonly signal?: AbortSignal;
}

/**
 * The per-entity decisions in the control table: the sliding window of automated decisions, the
 * last decision (for reuse), the hold and a short history.
 */
export class EntityDecisions {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /** The entity's state (one consistent GetItem); an unknown entity reads as empty. */
  async read(entityId: string, options: EntityCallOptions = {}): Promise<EntityState> {
    try {
      const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.itemKey(entityId), ConsistentRead: true }), {
        abortSignal: options.signal,
      });
      return fromItem(entityId, Item ? unmarshall(Item) : undefined);
    } catch (error) {
      throw new DependencyError('dynamodb', `reading entity ${entityId} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Takes a slot of the window for `key`: past `limit` decisions in the last `windowMs`, the entity
   * is held instead. A key that already has a slot (its earlier receive failed) keeps it.
   */
  async reserve(state: EntityState, key: string, limit: number, windowMs: number, now: number, options: EntityCallOptions = {}): Promise<Reservation> {
    let outcome: Reservation | undefined;
    await this.mutate(state, options, (current) => {
      const live = current.decisions.filter((entry) => entry.at > now - windowMs);
      // Before the hold: a record that took its slot, failed and came back keeps it, even if the
      // window filled up (and the entity was held) meanwhile — the slot was counted for it.
      if (live.some((entry) => entry.key === key)) {
        outcome = { kind: 'reserved', state: current, count: live.length };
        return undefined;
      }
      if (current.hold) {
        outcome = { kind: 'held', state: current, hold: current.hold };
        return undefined;
      }
      if (live.length >= limit) {
        const hold = { key, at: now, reason: `escalation loop: ${live.length} automated decisions in ${Math.round(windowMs / 1000)} s (limit ${limit})` };
        const next = { ...current, decisions: live, hold, history: appended(current.history, { at: now, key, kind: ENTITY_EVENT.LOOP }) };
        outcome = { kind: 'loop', state: next, count: live.length };
        return next;
      }
      const next = { ...current, decisions: [...live, { key, at: now }] };
      outcome = { kind: 'reserved', state: next, count: live.length + 1 };
      return next;
    });
    return outcome as Reservation;
  }

  /** Records an automated decision as the entity's last (a later decision already recorded wins). */
  async recordDecision(state: EntityState, decision: LastDecision, options: EntityCallOptions = {}): Promise<void> {
    await this.mutate(state, options, (current) => {
      if (current.last && current.last.at > decision.at)
        return { ...current, history: appended(current.history, { at: decision.at, key: decision.key, kind: ENTITY_EVENT.DECIDED, tier: decision.tier }) };
      return {
        ...current,
        last: decision,
        history: appended(current.history, { at: decision.at, key: decision.key, kind: ENTITY_EVENT.DECIDED, tier: decision.tier }),
      };
    });
  }

  /** Adds a line to the entity's history (a reuse, a held item). */
  async recordEvent(state: EntityState, entry: HistoryEntry, options: EntityCallOptions = {}): Promise<void> {
    await this.mutate(state, options, (current) => ({ ...current, history: appended(current.history, entry) }));
  }

  /**
   * Remembers which entity a review item belongs to, with the signature of its input, so that a
   * person's resolve can release the entity and make the person's answer its last decision.
   */
  async markReview(
    entityId: string,
    key: string,
    signature: Signature,
    task: { name: string; version: string },
    now: number,
    options: EntityCallOptions = {},
  ): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [CONTROL.PARTITION_KEY]: { S: `${CONTROL.ENTITY_REVIEW_PREFIX}${key}` } },
          UpdateExpression: 'SET #entityId = :entityId, #signature = :signature, #task = :task, #taskVersion = :taskVersion, #expiresAt = :expiresAt',
          ExpressionAttributeNames: {
            '#entityId': ENTITY.REVIEW_ENTITY_ID,
            '#signature': 'signature',
            '#task': 'task',
            '#taskVersion': 'taskVersion',
            '#expiresAt': CONTROL.TTL,
          },
          ExpressionAttributeValues: {
            ':entityId': { S: entityId },
            ':signature': { B: signatureBytes(signature) },
            ':task': { S: task.name },
            ':taskVersion': { S: task.version },
            ':expiresAt': { N: String(Math.floor(now / 1000) + TTL_SECONDS) },
          },
        }),
        { abortSignal: options.signal },
      );
    } catch (error) {
      throw new DependencyError('dynamodb', `recording the entity of review item ${key} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * A person resolved review item `key`: when the entity guard sent it there, the entity's hold and
   * window are cleared and the person's result becomes its last decision (so the next small edit
   * reuses the person's answer). Returns the entity released, or undefined when the item was not
   * the entity guard's.
   */
  async release(key: string, resolution: { readonly result: unknown; readonly by: string; readonly now: number }): Promise<string | undefined> {
    // biome-ignore lint/suspicious/noExplicitAny: an unmarshalled DynamoDB item: untyped JSON, read field by field.
    let pointer: Record<string, any> | undefined;
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { [CONTROL.PARTITION_KEY]: { S: `${CONTROL.ENTITY_REVIEW_PREFIX}${key}` } },
          ConsistentRead: true,
        }),
      );
      pointer = Item ? unmarshall(Item) : undefined;
    } catch (error) {
      throw new DependencyError('dynamodb', `reading the entity of review item ${key} failed: ${(error as Error).message}`, { cause: error });
    }
    const entityId = pointer?.[ENTITY.REVIEW_ENTITY_ID];
    // Released already: a repeated resolve must not clear decisions made since.
    if (typeof entityId !== 'string' || pointer?.releasedAt !== undefined) return undefined;
    const signature = signatureFromBytes(pointer?.signature as Uint8Array | undefined);
    const state = await this.read(entityId);
    await this.mutate(state, {}, (current) => ({
      ...current,
      hold: undefined,
      decisions: [],
      last: signature
        ? {
            key,
            at: resolution.now,
            task: String(pointer?.task),
            taskVersion: String(pointer?.taskVersion),
            tier: 'human',
            modelId: 'human',
            result: resolution.result,
            signature,
          }
        : current.last,
      history: appended(current.history, { at: resolution.now, key, kind: ENTITY_EVENT.RESOLVED, tier: 'human', by: resolution.by.slice(0, 128) }),
    }));
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [CONTROL.PARTITION_KEY]: { S: `${CONTROL.ENTITY_REVIEW_PREFIX}${key}` } },
          UpdateExpression: 'SET #releasedAt = :now',
          ExpressionAttributeNames: { '#releasedAt': 'releasedAt' },
          ExpressionAttributeValues: { ':now': { N: String(resolution.now) } },
        }),
      );
    } catch (error) {
      throw new DependencyError('dynamodb', `marking review item ${key} released failed: ${(error as Error).message}`, { cause: error });
    }
    return entityId;
  }

  /**
   * Read-modify-write conditioned on `version`: `change` gets the current state and returns the
   * next one (undefined: nothing to write). On a conflict the item is read again and `change` runs
   * again on what another instance wrote.
   */
  private async mutate(state: EntityState, options: EntityCallOptions, change: (current: EntityState) => EntityState | undefined): Promise<void> {
    let current = state;
    for (let attempt = 1; ; attempt += 1) {
      const next = change(current);
      if (!next) return;
      try {
        await this.client.send(this.writeCommand(current.version, next), { abortSignal: options.signal });
        return;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) {
          throw new DependencyError('dynamodb', `writing entity ${state.entityId} failed: ${(error as Error).message}`, { cause: error });
        }
        if (attempt >= MAX_ATTEMPTS)
          throw new DependencyError('dynamodb', `entity ${state.entityId} is contended: ${MAX_ATTEMPTS} conflicting writes`, { cause: error });
      }
      current = await this.read(state.entityId, options);
    }
  }

  private writeCommand(version: number, next: EntityState): UpdateItemCommand {
    const values: Record<string, unknown> = {
      ':version': version,
      ':nextVersion': version + 1,
      ':decisions': next.decisions,
      ':history': next.history.slice(-HISTORY_LIMIT),
      ':expiresAt': Math.floor(Date.now() / 1000) + TTL_SECONDS,
    };
    const sets = ['#version = :nextVersion', '#decisions = :decisions', '#history = :history', '#expiresAt = :expiresAt'];
    const removes: string[] = [];
    if (next.last) {
      values[':last'] = { ...next.last, result: JSON.stringify(next.last.result), signature: signatureBytes(next.last.signature) };
      sets.push('#last = :last');
    } else removes.push('#last');
    if (next.hold) {
      values[':hold'] = next.hold;
      sets.push('#hold = :hold');
    } else removes.push('#hold');
    return new UpdateItemCommand({
      TableName: this.tableName,
      Key: this.itemKey(next.entityId),
      UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
      ConditionExpression: version === 0 ? 'attribute_not_exists(#version)' : '#version = :version',
      ExpressionAttributeNames: {
        '#version': ENTITY.VERSION,
        '#decisions': ENTITY.DECISIONS,
        '#history': ENTITY.HISTORY,
        '#last': ENTITY.LAST,
        '#hold': ENTITY.HOLD,
        '#expiresAt': CONTROL.TTL,
      },
      ExpressionAttributeValues: marshall(version === 0 ? withoutKey(values, ':version') : values, {
        removeUndefinedValues: true,
        convertClassInstanceToMap: true,
      }),
    });
  }

  private itemKey(entityId: string) {
    return { [CONTROL.PARTITION_KEY]: { S: `${CONTROL.ENTITY_PREFIX}${entityId}` } };
  }
}

function withoutKey(values: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _omitted, ...rest } = values;
  return rest;
}

function appended(history: readonly HistoryEntry[], entry: HistoryEntry): HistoryEntry[] {
  return [...history, entry].slice(-HISTORY_LIMIT);
}

/** The state of an item as stored (undefined: none yet). */
// biome-ignore lint/suspicious/noExplicitAny: an unmarshalled DynamoDB item: untyped JSON, read field by field.
function fromItem(entityId: string, item: Record<string, any> | undefined): EntityState {
  if (!item) return { entityId, version: 0, decisions: [], history: [] };
  const last = item[ENTITY.LAST];
  const signature = last ? signatureFromBytes(last.signature as Uint8Array) : undefined;
  return {
    entityId,
    version: Number(item[ENTITY.VERSION] ?? 0),
    decisions: Array.isArray(item[ENTITY.DECISIONS]) ? item[ENTITY.DECISIONS] : [],
    history: Array.isArray(item[ENTITY.HISTORY]) ? item[ENTITY.HISTORY] : [],
    ...(item[ENTITY.HOLD] ? { hold: item[ENTITY.HOLD] as Hold } : {}),
    ...(last && signature
      ? {
          last: {
            key: String(last.key),
            at: Number(last.at),
            task: String(last.task),
            taskVersion: String(last.taskVersion),
            tier: String(last.tier),
            modelId: String(last.modelId),
            result: JSON.parse(String(last.result)) as unknown,
            signature,
          },
        }
      : {}),
  };
}

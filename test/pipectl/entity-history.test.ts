/**
 * `pipectl review entity` and the resolve hook, on the control table in dynalite over HTTP: what
 * the processor's entity guard wrote is what the operator reads, and a resolve releases the hold.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatEntityHistory } from '../../bin/commands/review-entity';
import { EntityDecisions } from '../../lambda/resilience/entity-decisions';
import { signatureOf } from '../../lambda/resilience/text-similarity';
import { type Emulators, LOCAL_CREDENTIALS, startEmulators } from '../../local/emulators';
import { entityHistory, releaseEntityOnResolve } from '../../pipectl/entity-history';
import { UsageError } from '../../pipectl/errors';
import type { PipelineTarget } from '../../pipectl/target';

const TABLE = 'control-entity-history';
const T = Date.UTC(2026, 11, 2, 17, 0, 0);
const TASK = { name: 'ticket-triage', version: '1' };
let emulators: Emulators;
let client: DynamoDBClient;
let target: PipelineTarget;

beforeAll(async () => {
  emulators = await startEmulators();
  client = new DynamoDBClient({ endpoint: emulators.dynamodbEndpoint, region: emulators.region, credentials: LOCAL_CREDENTIALS });
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  target = { dynamodb: client, resources: { controlTableName: TABLE } } as unknown as PipelineTarget;
});
afterAll(async () => {
  client?.destroy();
  await emulators?.stop();
});

/** What the guard writes for `decided` decisions, then a loop on `loopKey`. */
async function loopedEntity(entityId: string, decided: readonly string[], loopKey: string): Promise<void> {
  const decisions = new EntityDecisions(client, TABLE);
  for (const [index, key] of decided.entries()) {
    const reservation = await decisions.reserve(await decisions.read(entityId), key, decided.length, 3_600_000, T + index);
    expect(reservation.kind).toBe('reserved');
    await decisions.recordDecision(await decisions.read(entityId), {
      key,
      at: T + index,
      task: TASK.name,
      taskVersion: TASK.version,
      tier: 'primary',
      modelId: 'sim-primary',
      result: { category: 'billing' },
      signature: signatureOf(key),
    });
  }
  const loop = await decisions.reserve(await decisions.read(entityId), loopKey, decided.length, 3_600_000, T + 100);
  expect(loop.kind).toBe('loop');
  await decisions.markReview(entityId, loopKey, signatureOf('the held input'), TASK, T + 100);
}

describe('pipectl review entity', () => {
  it('shows the decisions, the last one and the hold, oldest event first', async () => {
    await loopedEntity('ticket-1', ['k1', 'k2'], 'k3');
    const history = await entityHistory(target, 'ticket-1');

    expect(history.unknown).toBe(false);
    expect(history.hold).toMatchObject({ key: 'k3' });
    expect(history.hold?.reason).toContain('escalation loop');
    expect(history.decisions.map((entry) => entry.key)).toEqual(['k1', 'k2']);
    expect(history.last).toMatchObject({ key: 'k2', tier: 'primary', result: { category: 'billing' } });
    expect(history.history.map((entry) => `${entry.kind} ${entry.key}`)).toEqual(['decided k1', 'decided k2', 'loop k3']);
    const text = formatEntityHistory(history, 'local');
    expect(text).toContain('HELD');
    expect(text).toContain('pipectl review resolve k3');
  });

  it('says so for an entity it never saw, and refuses an id that is not one', async () => {
    expect((await entityHistory(target, 'ticket-never')).unknown).toBe(true);
    expect(formatEntityHistory(await entityHistory(target, 'ticket-never'), 'local')).toContain('no decisions recorded');
    await expect(entityHistory(target, 'jane@example.com')).rejects.toBeInstanceOf(UsageError);
  });
});

describe('a record that took a slot, failed and came back after the entity was held', () => {
  it('keeps its slot: reserved, not held', async () => {
    await loopedEntity('ticket-3', ['b1', 'b2'], 'b3');
    const decisions = new EntityDecisions(client, TABLE);
    const again = await decisions.reserve(await decisions.read('ticket-3'), 'b2', 2, 3_600_000, T + 500);
    expect(again.kind).toBe('reserved');
    const other = await decisions.reserve(await decisions.read('ticket-3'), 'b9', 2, 3_600_000, T + 500);
    expect(other.kind).toBe('held');
  });
});

describe('resolving a held item', () => {
  it("lifts the hold, clears the window and makes the person's answer the last decision, once", async () => {
    await loopedEntity('ticket-2', ['a1', 'a2', 'a3'], 'a4');
    const answer = { category: 'account', priority: 'low', confidence: 1, summary: 'By a person.' };

    expect(await releaseEntityOnResolve(target, 'a4', answer, 'sam', T + 200)).toBe('ticket-2');
    const after = await entityHistory(target, 'ticket-2');
    expect(after.hold).toBeUndefined();
    expect(after.decisions).toEqual([]);
    expect(after.last).toMatchObject({ key: 'a4', tier: 'human', result: answer });
    expect(after.history.at(-1)).toMatchObject({ kind: 'resolved', key: 'a4', by: 'sam' });

    // A repeated resolve (the command is safe to repeat) changes nothing more.
    expect(await releaseEntityOnResolve(target, 'a4', answer, 'sam', T + 300)).toBeUndefined();
    expect((await entityHistory(target, 'ticket-2')).history).toHaveLength(after.history.length);
  });

  it('leaves items the entity guard did not send to review alone', async () => {
    expect(await releaseEntityOnResolve(target, 'not-an-entity-item', {}, 'sam', T)).toBeUndefined();
  });
});

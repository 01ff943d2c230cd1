import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEDGER } from '../../lambda/contract';
import { logicalIdOf, type SynthesizedStage, synthStage } from './synth-stage';

const stages: Record<string, SynthesizedStage> = {};

beforeAll(() => {
  for (const stage of ['dev', 'prod']) stages[stage] = synthStage(stage);
});

afterAll(() => {
  for (const synth of Object.values(stages)) synth.dispose();
});

function ledger(stage: string) {
  const synth = stages[stage]!;
  const id = logicalIdOf(synth, synth.stack.ledger.table);
  return { synth, resource: synth.templateJson.Resources[id] };
}

describe.each(['dev', 'prod'])('LedgerTable (%s)', (stage) => {
  it('is a plain table keyed by the string attribute from the contract', () => {
    // Prepare
    const { resource } = ledger(stage);

    // Assess
    expect(resource.Type).toBe('AWS::DynamoDB::Table');
    expect(resource.Properties.KeySchema).toEqual([{ AttributeName: LEDGER.PARTITION_KEY, KeyType: 'HASH' }]);
    // The other definitions are the index keys (test/infra/monitors.test.ts).
    expect(resource.Properties.AttributeDefinitions[0]).toEqual({ AttributeName: LEDGER.PARTITION_KEY, AttributeType: 'S' });
  });

  it.each([
    ['on-demand billing', 'BillingMode', 'PAY_PER_REQUEST'],
    ['point-in-time recovery', 'PointInTimeRecoverySpecification', { PointInTimeRecoveryEnabled: true }],
    ['TTL on the contract attribute', 'TimeToLiveSpecification', { AttributeName: LEDGER.TTL, Enabled: true }],
    ['a stream of old and new images', 'StreamSpecification', { StreamViewType: 'NEW_AND_OLD_IMAGES' }],
  ])('has %s', (_what, property, expected) => {
    // Prepare
    const { resource } = ledger(stage);

    // Assess
    expect(resource.Properties[property]).toEqual(expected);
  });
});

describe('LedgerTable lifecycle', () => {
  it.each([
    ['dev', 'Delete', false],
    ['prod', 'Retain', true],
  ] as const)('in %s: deletion policy %s, deletion protection %s', (stage, policy, protection) => {
    // Prepare
    const { resource } = ledger(stage);

    // Assess
    expect(resource).toMatchObject({ DeletionPolicy: policy, UpdateReplacePolicy: policy });
    expect(resource.Properties.DeletionProtectionEnabled).toBe(protection);
  });
});

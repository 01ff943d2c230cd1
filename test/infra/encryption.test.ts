/** Encryption at rest: every queue, table and topic is encrypted with KMS; prod's tables with its own rotating key. */
import { describe, expect, it } from 'vitest';
import { STAGES } from '../../lib/config/stages';
import { logicalIdOf, synthStage } from './synth-stage';

const ofType = (resources: Record<string, any>, type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
const keyIdOf = (value: unknown): string | undefined => (value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];

describe.each(Object.keys(STAGES))('encryption at rest in the %s stack', (stage) => {
  const synth = synthStage(stage);
  const resources = synth.templateJson.Resources;
  const rotatingKeys = new Set(
    ofType(resources, 'AWS::KMS::Key')
      .filter(([, key]) => key.Properties.EnableKeyRotation === true)
      .map(([id]) => id),
  );

  it('encrypts every queue and topic with a customer-managed key that rotates', () => {
    const encrypted = [...ofType(resources, 'AWS::SQS::Queue'), ...ofType(resources, 'AWS::SNS::Topic')];
    expect(encrypted.length).toBeGreaterThanOrEqual(6);
    for (const [id, resource] of encrypted) {
      expect(rotatingKeys.has(keyIdOf(resource.Properties.KmsMasterKeyId) ?? ''), id).toBe(true);
    }
  });

  it('encrypts every table with KMS: the stage key when configured, else the AWS-managed key', () => {
    const tables = ofType(resources, 'AWS::DynamoDB::Table');
    expect(tables.length).toBe(2);
    for (const [id, table] of tables) {
      const sse = table.Properties.SSESpecification;
      // SSEEnabled without an SSEType is KMS with the AWS-managed aws/dynamodb key (KMS is the only type).
      expect(sse?.SSEEnabled, id).toBe(true);
      expect([undefined, 'KMS']).toContain(sse.SSEType);
      if (synth.config.ledger.customerManagedKey) {
        expect(keyIdOf(sse.KMSMasterKeyId), id).toBe(logicalIdOf(synth, synth.stack.dataKey!));
        expect(rotatingKeys.has(keyIdOf(sse.KMSMasterKeyId) ?? '')).toBe(true);
      } else {
        expect(sse.KMSMasterKeyId, id).toBeUndefined();
      }
    }
  });

  it('lets every function that touches the tables use their key', () => {
    if (!synth.stack.dataKey) {
      expect(synth.config.ledger.customerManagedKey).toBe(false);
      return;
    }
    const keyId = logicalIdOf(synth, synth.stack.dataKey);
    const functions = [synth.stack.processor.function, synth.stack.monitors.reconciler, synth.stack.monitors.driftMonitor];
    for (const fn of functions) {
      const roleId = logicalIdOf(synth, fn.role!);
      const statements = ofType(resources, 'AWS::IAM::Policy')
        .filter(([, policy]) => policy.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleId))
        .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement);
      const onKey = statements.filter((statement: { Resource: unknown }) => JSON.stringify(statement.Resource).includes(keyId));
      const actions = new Set(onKey.flatMap((statement: { Action: string | string[] }) => [statement.Action].flat()));
      expect([...actions].sort(), fn.node.path).toEqual(['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey']);
    }
  });
});

it('production uses its own key for the tables', () => {
  expect(synthStage('prod').config.ledger.customerManagedKey).toBe(true);
});

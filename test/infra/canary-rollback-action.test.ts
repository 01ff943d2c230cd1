/**
 * The canary alarm's unattended rollback on AWS (issue 15): an EventBridge rule on exactly that
 * alarm entering ALARM invokes a Lambda whose role can touch the control table's items and nothing
 * else. (What the function does, run from its bundle against dynalite: test/integration/canary-rollback.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARY_ALARM_ID, ENV } from '../../lambda/contract';
import { logicalIdOf, type SynthesizedStage, synthStage } from './synth-stage';

let synth: SynthesizedStage;
beforeAll(() => {
  synth = synthStage('prod');
});
afterAll(() => synth?.dispose());

describe('the canary rollback action', () => {
  it('an EventBridge rule on the canary alarm entering ALARM targets the rollback function, with retries', () => {
    const resources = synth.templateJson.Resources as Record<string, any>;
    const alarmId = logicalIdOf(synth, synth.stack.observability.alarms.get(CANARY_ALARM_ID)!);
    const functionId = logicalIdOf(synth, synth.stack.canaryRollback.function);
    const rule = resources[logicalIdOf(synth, synth.stack.canaryRollback.rule)].Properties;
    expect(rule.EventPattern).toEqual({
      source: ['aws.cloudwatch'],
      'detail-type': ['CloudWatch Alarm State Change'],
      resources: [{ 'Fn::GetAtt': [alarmId, 'Arn'] }],
      detail: { state: { value: ['ALARM'] } },
    });
    expect(rule.Targets).toHaveLength(1);
    expect(rule.Targets[0]).toMatchObject({ Arn: { 'Fn::GetAtt': [functionId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 2 } });
    // EventBridge may invoke it (and nothing else may): the permission names the rule.
    const permissions = Object.values(resources).filter(
      (resource) => resource.Type === 'AWS::Lambda::Permission' && resource.Properties.FunctionName?.['Fn::GetAtt']?.[0] === functionId,
    );
    expect(permissions.map((permission) => permission.Properties.Principal)).toEqual(['events.amazonaws.com']);
    expect(resources[functionId].Properties.Environment.Variables[ENV.CONTROL_TABLE]).toEqual({ Ref: logicalIdOf(synth, synth.stack.control.table) });
  });

  it('its role reads and writes control-table items only (and its own logs, and the table key)', () => {
    const resources = synth.templateJson.Resources as Record<string, any>;
    const roleId = logicalIdOf(synth, synth.stack.canaryRollback.function.role!);
    const statements = Object.values(resources)
      .filter((resource) => resource.Type === 'AWS::IAM::Policy' && resource.Properties.Roles.some((role: any) => role.Ref === roleId))
      .flatMap((resource) => resource.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>);
    const controlArn = { 'Fn::GetAtt': [logicalIdOf(synth, synth.stack.control.table), 'Arn'] };
    const dynamodb = statements.filter((statement) => [statement.Action].flat().some((action) => action.startsWith('dynamodb:')));
    expect(dynamodb).toHaveLength(1);
    expect([dynamodb[0]!.Action].flat().sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(dynamodb[0]!.Resource).toEqual(controlArn);
    const others = statements
      .flatMap((statement) => [statement.Action].flat())
      .filter((action) => !action.startsWith('dynamodb:') && !action.startsWith('kms:') && !action.startsWith('logs:'));
    expect(others).toEqual([]);
  });
});

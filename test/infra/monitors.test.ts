import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, LEDGER, LEDGER_INDEX, METRICS_NAMESPACE, MONITOR_ENV } from '../../lambda/contract';
import { loadStageConfig, StageConfigError } from '../../lib/config/stage-load';
import { logicalIdOf, type SynthesizedStage, synthStage } from './synth-stage';

const stages: Record<string, SynthesizedStage> = {};
let autoPause: SynthesizedStage;

beforeAll(() => {
  for (const stage of ['dev', 'prod']) stages[stage] = synthStage(stage);
  autoPause = synthStage('dev', { overrides: { drift: { autoPause: true } } });
});

afterAll(() => {
  for (const synth of [...Object.values(stages), autoPause]) synth?.dispose();
});

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Every statement of the policies attached to a role. */
function statementsOf(synth: SynthesizedStage, roleId: string): Statement[] {
  return Object.values(synth.templateJson.Resources)
    .filter((resource: any) => resource.Type === 'AWS::IAM::Policy' && resource.Properties.Roles.some((role: any) => role.Ref === roleId))
    .flatMap((resource: any) => resource.Properties.PolicyDocument.Statement as Statement[]);
}

/**
 * The actions of the statements, except a table key's (a stage with a customer managed key grants
 * it to every function that reads the tables; `kmsOnKeysOnly` checks those separately).
 */
function actionsOf(statements: readonly Statement[]): string[] {
  return statements
    .flatMap((statement) => asList(statement.Action))
    .filter((action) => !action.startsWith('kms:'))
    .sort();
}

/** Every KMS action of a role is on a KMS key of this stack, never on `*` or another resource. */
function kmsOnKeysOnly(synth: SynthesizedStage, statements: readonly Statement[]): boolean {
  return statements
    .filter((statement) => asList(statement.Action).some((action) => action.startsWith('kms:')))
    .every((statement) => {
      const target = (statement.Resource as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0];
      return target !== undefined && synth.templateJson.Resources[target]?.Type === 'AWS::KMS::Key';
    });
}

function monitor(synth: SynthesizedStage, which: 'reconciler' | 'driftMonitor') {
  const fn = synth.stack.monitors[which];
  const functionId = logicalIdOf(synth, fn);
  const roleId = logicalIdOf(synth, fn.role!);
  return { functionId, roleId, resource: synth.templateJson.Resources[functionId], statements: statementsOf(synth, roleId) };
}

describe.each(['dev', 'prod'])('Ledger indexes (%s)', (stage) => {
  it('shards jobs by jobShard and completions by hourShard + completedAt, projecting only what the monitors read', () => {
    // Prepare
    const synth = stages[stage]!;
    const table = synth.templateJson.Resources[logicalIdOf(synth, synth.stack.ledger.table)].Properties;

    // Assess
    expect(table.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: LEDGER_INDEX.BY_JOB,
        KeySchema: [{ AttributeName: LEDGER.JOB_SHARD, KeyType: 'HASH' }],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [LEDGER.STATUS, LEDGER.LEASE_UNTIL, LEDGER.RECEIVE_COUNT] },
      },
      {
        IndexName: LEDGER_INDEX.BY_HOUR,
        KeySchema: [
          { AttributeName: LEDGER.HOUR_SHARD, KeyType: 'HASH' },
          { AttributeName: LEDGER.COMPLETED_AT, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [LEDGER.TASK, LEDGER.FEATURES] },
      },
    ]);
    expect(table.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: LEDGER.JOB_SHARD, AttributeType: 'S' },
        { AttributeName: LEDGER.HOUR_SHARD, AttributeType: 'S' },
        { AttributeName: LEDGER.COMPLETED_AT, AttributeType: 'N' },
      ]),
    );
  });

  it('gives no role index access it does not need: only the monitors name an index, each exactly one', () => {
    // Prepare
    const synth = stages[stage]!;
    const indexResources = Object.entries(synth.templateJson.Resources)
      .filter(([, resource]: [string, any]) => resource.Type === 'AWS::IAM::Policy')
      .flatMap(([id, resource]: [string, any]) =>
        (resource.Properties.PolicyDocument.Statement as Statement[])
          .flatMap((statement) => asList(statement.Resource))
          .map((value) => JSON.stringify(value))
          .filter((value) => value.includes('/index/'))
          .map((value) => ({ id, value })),
      );

    // Assess
    expect(indexResources.map(({ value }) => value.match(/\/index\/[^"]+/)?.[0]).sort()).toEqual([
      `/index/${LEDGER_INDEX.BY_HOUR}`,
      `/index/${LEDGER_INDEX.BY_JOB}`,
    ]);
    expect(indexResources.every(({ id }) => id.startsWith('Monitors'))).toBe(true);
  });
});

describe.each(['dev', 'prod'])('Monitors (%s)', (stage) => {
  it.each([
    ['reconciler', 'rate(5 minutes)'],
    ['driftMonitor', 'rate(15 minutes)'],
  ] as const)('runs the %s on an EventBridge schedule, %s, without Lambda retries', (which, rate) => {
    // Prepare
    const synth = stages[stage]!;
    const { functionId, resource } = monitor(synth, which);
    const rules = Object.values(synth.templateJson.Resources).filter(
      (candidate: any) =>
        candidate.Type === 'AWS::Events::Rule' && candidate.Properties.Targets.some((target: any) => target.Arn['Fn::GetAtt']?.[0] === functionId),
    ) as any[];
    const invokeConfigs = Object.values(synth.templateJson.Resources).filter(
      (candidate: any) => candidate.Type === 'AWS::Lambda::EventInvokeConfig' && candidate.Properties.FunctionName.Ref === functionId,
    ) as any[];

    // Assess
    expect(rules).toHaveLength(1);
    expect(rules[0].Properties.ScheduleExpression).toBe(rate);
    expect(rules[0].Properties.State).toBe('ENABLED');
    expect(invokeConfigs.map((config) => config.Properties.MaximumRetryAttempts)).toEqual([0]);
    expect(resource.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
  });

  it('gives the reconciler a Query on byJob, GetItem/UpdateItem on ledger items, Scan/UpdateItem on the control table, a read of the DLQ, PutMetricData in the namespace, logs — nothing else', () => {
    // Prepare
    const synth = stages[stage]!;
    const { statements, resource } = monitor(synth, 'reconciler');
    const ledgerId = logicalIdOf(synth, synth.stack.ledger.table);
    const controlId = logicalIdOf(synth, synth.stack.control.table);
    const dlqId = logicalIdOf(synth, synth.stack.inputQueue.deadLetterQueue);

    // Assess
    expect(actionsOf(statements)).toEqual([
      'cloudwatch:PutMetricData',
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:Scan',
      'dynamodb:UpdateItem',
      'dynamodb:UpdateItem',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'sqs:ChangeMessageVisibility',
      'sqs:GetQueueAttributes',
      'sqs:ReceiveMessage',
    ]);
    // Settling a redriven item (completeness.ts settleRedriven): the ledger table itself, items only.
    // (Before 2026-12-02 the role lacked these, so every settle on AWS would have been AccessDenied.)
    expect(statements.find((statement) => asList(statement.Action).includes('dynamodb:GetItem'))).toMatchObject({
      Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      Resource: { 'Fn::GetAtt': [ledgerId, 'Arn'] },
    });
    // The DLQ is read and released, never deleted from or sent to; its messages are decrypted with the queue pair's key.
    const queueKeyId = logicalIdOf(synth, synth.stack.inputQueue.encryptionKey);
    expect(statements.find((statement) => asList(statement.Action).includes('kms:Decrypt'))?.Resource).toEqual({ 'Fn::GetAtt': [queueKeyId, 'Arn'] });
    expect(statements.find((statement) => asList(statement.Action).includes('sqs:ReceiveMessage'))?.Resource).toEqual({ 'Fn::GetAtt': [dlqId, 'Arn'] });
    expect(kmsOnKeysOnly(synth, statements)).toBe(true);
    expect(statements.find((statement) => statement.Action === 'dynamodb:Query')?.Resource).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [ledgerId, 'Arn'] }, `/index/${LEDGER_INDEX.BY_JOB}`]],
    });
    expect(statements.find((statement) => asList(statement.Action).includes('dynamodb:Scan'))?.Resource).toEqual({ 'Fn::GetAtt': [controlId, 'Arn'] });
    expect(resource.Properties.Environment.Variables).toMatchObject({
      [ENV.STAGE]: stage,
      [ENV.MAX_RECEIVE_COUNT]: String(synth.config.inputQueue.maxReceiveCount),
      [MONITOR_ENV.METRICS_PUBLISHER]: 'cloudwatch',
      [ENV.LEDGER_TABLE]: { Ref: ledgerId },
      [ENV.CONTROL_TABLE]: { Ref: controlId },
      [ENV.INPUT_DLQ_URL]: { Ref: dlqId },
    });
  });

  it('gives the drift monitor a Query on byHour, GetItem/PutItem on the control table, PutMetricData — no queue, no ledger write, no pause', () => {
    // Prepare
    const synth = stages[stage]!;
    const { statements, resource } = monitor(synth, 'driftMonitor');

    // Assess
    const actions = actionsOf(statements);
    expect(actions).toEqual([
      'cloudwatch:PutMetricData',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
    expect(kmsOnKeysOnly(synth, statements)).toBe(true);
    expect(actions.some((action) => action.startsWith('sqs:') || action.startsWith('lambda:') || action.startsWith('bedrock:'))).toBe(false);
    expect(statements.find((statement) => asList(statement.Action).includes('dynamodb:PutItem'))?.Resource).toEqual({
      'Fn::GetAtt': [logicalIdOf(synth, synth.stack.control.table), 'Arn'],
    });
    expect(resource.Properties.Environment.Variables).toMatchObject({
      [MONITOR_ENV.DRIFT_WINDOW_SECONDS]: '3600',
      [MONITOR_ENV.DRIFT_EPSILON]: '0.0001',
      [MONITOR_ENV.DRIFT_SAMPLE_SHARDS]: '16',
      [MONITOR_ENV.DRIFT_MAX_ITEMS]: '20000',
      [MONITOR_ENV.DRIFT_AUTO_PAUSE]: 'false',
    });
    expect(resource.Properties.Environment.Variables).not.toHaveProperty(MONITOR_ENV.EVENT_SOURCE_MAPPING_ID);
  });

  it('lets both put metrics only into the pipeline namespace', () => {
    // Prepare
    const synth = stages[stage]!;

    // Assess
    for (const which of ['reconciler', 'driftMonitor'] as const) {
      const putMetricData = monitor(synth, which).statements.filter((statement) => asList(statement.Action).includes('cloudwatch:PutMetricData'));
      expect(putMetricData).toEqual([
        { Effect: 'Allow', Action: 'cloudwatch:PutMetricData', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': METRICS_NAMESPACE } } },
      ]);
    }
  });
});

describe('Monitors with the opt-in auto-pause', () => {
  it('may update the processor event source mapping, that one only, at the page threshold by default', () => {
    // Prepare
    const { statements, resource } = monitor(autoPause, 'driftMonitor');
    const pause = statements.filter((statement) => asList(statement.Action).some((action) => action.startsWith('lambda:')));
    const [mappingId] = Object.entries(autoPause.templateJson.Resources).find(
      ([, candidate]: [string, any]) => candidate.Type === 'AWS::Lambda::EventSourceMapping',
    )!;

    // Assess
    expect(pause).toHaveLength(1);
    expect(pause[0]?.Action).toBe('lambda:UpdateEventSourceMapping');
    expect(JSON.stringify(pause[0]?.Resource)).toContain('event-source-mapping');
    expect(resource.Properties.Environment.Variables).toMatchObject({
      [MONITOR_ENV.DRIFT_AUTO_PAUSE]: 'true',
      [MONITOR_ENV.DRIFT_AUTO_PAUSE_THRESHOLD]: String(autoPause.config.observability.alarms.driftPage),
      [MONITOR_ENV.EVENT_SOURCE_MAPPING_ID]: { Ref: mappingId },
    });
  });
});

describe('drift and completeness config', () => {
  it('has the documented defaults', () => {
    const config = loadStageConfig('dev');
    expect(config.drift).toMatchObject({ windowMinutes: 60, scheduleMinutes: 15, epsilon: 0.0001, sampleShards: 16, autoPause: false });
    expect(config.completeness).toMatchObject({ jobDeadlineMinutes: 60, scheduleMinutes: 5 });
  });

  it.each([
    ['a window shorter than the schedule', { drift: { windowMinutes: 10, scheduleMinutes: 15 } }, /drift\.windowMinutes: must be >= drift\.scheduleMinutes/],
    ['a small-sample size below the minimum sample', { drift: { minSampleSize: 500, smallSampleSize: 100 } }, /drift\.smallSampleSize/],
    ['more shards than the index has', { drift: { sampleShards: 17 } }, /drift\.sampleShards/],
    ['a zero job deadline', { completeness: { jobDeadlineMinutes: 0 } }, /completeness\.jobDeadlineMinutes/],
  ])('rejects %s, naming the key', (_what, overrides, message) => {
    expect(() => loadStageConfig('dev', overrides)).toThrow(StageConfigError);
    expect(() => loadStageConfig('dev', overrides)).toThrow(message);
  });
});

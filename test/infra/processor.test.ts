import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, METRICS_NAMESPACE } from '../../lambda/contract';
import { logicalIdOf, type SynthesizedStage, synthStage } from './synth-stage';

const stages: Record<string, SynthesizedStage> = {};

beforeAll(() => {
  for (const stage of ['dev', 'prod']) stages[stage] = synthStage(stage);
});

afterAll(() => {
  for (const synth of Object.values(stages)) synth.dispose();
});

/** Logical ids of everything the processor touches. */
function ids(synth: SynthesizedStage) {
  const { stack } = synth;
  return {
    function: logicalIdOf(synth, stack.processor.function),
    role: logicalIdOf(synth, stack.processor.function.role!),
    logGroup: logicalIdOf(synth, stack.processor.logGroup),
    inputQueue: logicalIdOf(synth, stack.inputQueue.queue),
    inputDlq: logicalIdOf(synth, stack.inputQueue.deadLetterQueue),
    inputKey: logicalIdOf(synth, stack.inputQueue.encryptionKey),
    reviewQueue: logicalIdOf(synth, stack.reviewQueue.queue),
    reviewKey: logicalIdOf(synth, stack.reviewQueue.encryptionKey),
    table: logicalIdOf(synth, stack.ledger.table),
    control: logicalIdOf(synth, stack.control.table),
  };
}

function resourcesOfType(synth: SynthesizedStage, type: string): Array<[string, any]> {
  return Object.entries(synth.templateJson.Resources).filter(([, resource]) => resource.Type === type);
}

/** `{ 'Fn::GetAtt': [id, 'Arn'] }` or `{ Ref: id }` → id; anything else as JSON, so a test fails visibly. */
function referencedId(value: unknown): string {
  const intrinsic = value as { 'Fn::GetAtt'?: [string, string]; Ref?: string };
  return intrinsic['Fn::GetAtt']?.[0] ?? intrinsic.Ref ?? JSON.stringify(value);
}

/** Every Allow statement of every policy attached to the role, flattened to action → sorted resource ids. */
function grantedActions(synth: SynthesizedStage, roleId: string): Record<string, string[]> {
  const granted: Record<string, string[]> = {};
  for (const [, policy] of resourcesOfType(synth, 'AWS::IAM::Policy')) {
    if (!policy.Properties.Roles.some((role: unknown) => referencedId(role) === roleId)) continue;
    for (const statement of policy.Properties.PolicyDocument.Statement) {
      expect(statement.Effect).toBe('Allow');
      for (const action of [statement.Action].flat()) {
        granted[action] = [...(granted[action] ?? []), ...[statement.Resource].flat().map(referencedId)].sort();
      }
    }
  }
  return granted;
}

describe.each(['dev', 'prod'])('Processor (%s)', (stage) => {
  it('runs on Node.js 24 on arm64 with the memory and timeout of the stage', () => {
    // Prepare
    const synth = stages[stage]!;
    const fn = synth.templateJson.Resources[ids(synth).function];

    // Assess
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: synth.config.processor.memoryMb,
      Timeout: synth.config.processor.timeoutSeconds,
    });
  });

  it('sets exactly the environment the runtime contract names', () => {
    // Prepare
    const synth = stages[stage]!;
    const { config } = synth;
    const resource = ids(synth);

    // Act
    const environment = synth.templateJson.Resources[resource.function].Properties.Environment.Variables;

    // Assess
    expect(environment).toEqual({
      [ENV.STAGE]: stage,
      [ENV.LEDGER_TABLE]: { Ref: resource.table },
      [ENV.CONTROL_TABLE]: { Ref: resource.control },
      [ENV.INPUT_QUEUE_URL]: { Ref: resource.inputQueue },
      [ENV.INPUT_DLQ_URL]: { Ref: resource.inputDlq },
      [ENV.REVIEW_QUEUE_URL]: { Ref: resource.reviewQueue },
      [ENV.RECORD_CONCURRENCY]: String(config.processor.recordConcurrency),
      [ENV.CLAIMED_ELSEWHERE_VISIBILITY_SECONDS]: String(config.processor.claimedElsewhereVisibilitySeconds),
      [ENV.TIME_MARGIN_MS]: String(config.processor.timeMarginMs),
      [ENV.LEDGER_TTL_DAYS]: String(config.ledger.ttlDays),
      [ENV.LOG_RAW_INPUT]: 'false',
      [ENV.ALLOW_FAULT_INJECTION]: stage === 'prod' ? 'false' : 'true',
      [ENV.MODEL_PROVIDER]: 'simulated',
      [ENV.PRIMARY_MODEL_ID]: config.model.primaryModelId,
      [ENV.SIMULATOR_SEED]: String(config.model.simulatorSeed),
      [ENV.SIMULATOR_LATENCY_MS]: String(config.model.simulatorLatencyMs),
      [ENV.POWERTOOLS_SERVICE_NAME]: config.serviceName,
      [ENV.POWERTOOLS_METRICS_NAMESPACE]: METRICS_NAMESPACE,
      [ENV.POWERTOOLS_LOG_LEVEL]: config.processor.logLevel,
      NODE_OPTIONS: '--enable-source-maps',
    });
    // Every name the contract declares is set: a new ENV entry without a value fails here.
    expect(Object.keys(environment)).toEqual(expect.arrayContaining(Object.values(ENV)));
  });

  it('is fed by the input queue with partial batch responses and bounded concurrency', () => {
    // Prepare
    const synth = stages[stage]!;
    const resource = ids(synth);
    const mappings = resourcesOfType(synth, 'AWS::Lambda::EventSourceMapping');

    // Assess
    expect(mappings).toHaveLength(1);
    expect(mappings[0]![1].Properties).toEqual({
      FunctionName: { Ref: resource.function },
      EventSourceArn: { 'Fn::GetAtt': [resource.inputQueue, 'Arn'] },
      BatchSize: synth.config.processor.batchSize,
      MaximumBatchingWindowInSeconds: synth.config.processor.maxBatchingWindowSeconds,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: synth.config.processor.maxConcurrency },
      Tags: [{ Key: 'stage', Value: stage }],
    });
  });

  it('may do exactly what the handler needs, on exactly the resources it uses', () => {
    // Prepare
    const synth = stages[stage]!;
    const resource = ids(synth);

    // Act
    const granted = grantedActions(synth, resource.role);

    // Assess
    const inputQueue = [resource.inputQueue];
    expect(granted).toEqual({
      'logs:CreateLogStream': [resource.logGroup],
      'logs:PutLogEvents': [resource.logGroup],
      // what the event source polls with; ChangeMessageVisibility also backs failed records off
      'sqs:ReceiveMessage': inputQueue,
      'sqs:DeleteMessage': inputQueue,
      'sqs:ChangeMessageVisibility': inputQueue,
      'sqs:GetQueueAttributes': inputQueue,
      'sqs:GetQueueUrl': inputQueue,
      'sqs:SendMessage': [resource.inputDlq, resource.reviewQueue].sort(),
      // Decrypt: reading the input queue and sending; GenerateDataKey: sending to the DLQ and review queue
      'kms:Decrypt': [resource.inputKey, resource.reviewKey].sort(),
      'kms:GenerateDataKey': [resource.inputKey, resource.reviewKey].sort(),
      // the ledger by key; the control table (breaker, budget) read and updated, never written whole
      'dynamodb:GetItem': [resource.table, resource.control].sort(),
      'dynamodb:PutItem': [resource.table],
      'dynamodb:UpdateItem': [resource.table, resource.control].sort(),
    });
  });

  it('has no wildcard action or resource and no managed policy', () => {
    // Prepare
    const synth = stages[stage]!;
    const resource = ids(synth);

    // Act
    const granted = grantedActions(synth, resource.role);

    // Assess
    expect(Object.keys(granted).filter((action) => action.includes('*'))).toEqual([]);
    expect(Object.values(granted).flat().filter((id) => id.includes('*'))).toEqual([]);
    expect(synth.templateJson.Resources[resource.role].Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('logs to its own log group with the retention of the stage', () => {
    // Prepare
    const synth = stages[stage]!;
    const resource = ids(synth);
    const logGroup = synth.templateJson.Resources[resource.logGroup];
    const expectedPolicy = stage === 'prod' ? 'Retain' : 'Delete';

    // Assess
    expect(logGroup.Properties.RetentionInDays).toBe(synth.config.processor.logRetentionDays);
    expect(logGroup).toMatchObject({ DeletionPolicy: expectedPolicy, UpdateReplacePolicy: expectedPolicy });
    expect(synth.templateJson.Resources[resource.function].Properties.LoggingConfig).toEqual({
      LogGroup: { Ref: resource.logGroup },
    });
  });
});

describe('Processor log retention', () => {
  it.each([
    ['dev', 30],
    ['prod', 90],
  ])('keeps %s logs for %i days', (stage, days) => {
    // Prepare
    const synth = stages[stage]!;

    // Assess
    synth.template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: days });
  });
});

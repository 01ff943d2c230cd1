import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, METRICS_NAMESPACE, QUOTA_ENV } from '../../lambda/contract';
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
      [ENV.SECONDARY_MODEL_ID]: config.model.secondaryModelId,
      [ENV.MODEL_MAX_OUTPUT_TOKENS]: String(config.model.maxOutputTokens),
      [ENV.MODEL_PRICES]: JSON.stringify(config.model.prices),
      [ENV.MIN_CONFIDENCE]: String(config.model.minConfidence),
      [ENV.TASK_POLICIES]: JSON.stringify(config.model.taskPolicies),
      [ENV.RETRY_MAX_ATTEMPTS]: String(config.retry.maxAttempts),
      [ENV.RETRY_BASE_DELAY_MS]: String(config.retry.baseDelayMs),
      [ENV.RETRY_MAX_DELAY_MS]: String(config.retry.maxDelayMs),
      [ENV.MODEL_CALL_TIMEOUT_MS]: String(config.retry.callTimeoutMs),
      [ENV.MODEL_CALLS_PER_RECEIVE]: String(config.retry.callsPerReceive),
      [ENV.MODEL_CALLS_PER_KEY]: String(config.retry.callsPerKey),
      [ENV.QUEUE_BACKOFF_BASE_SECONDS]: String(config.retry.queueBackoffBaseSeconds),
      [ENV.QUEUE_BACKOFF_MAX_SECONDS]: String(config.retry.queueBackoffMaxSeconds),
      // The queue's own maxReceiveCount: the processor settles a record on its last receive.
      [ENV.MAX_RECEIVE_COUNT]: String(config.inputQueue.maxReceiveCount),
      [ENV.BREAKER_FAILURE_THRESHOLD]: String(config.breaker.failureThreshold),
      [ENV.BREAKER_FAILURE_RATE_PERCENT]: String(config.breaker.failureRatePercent),
      [ENV.BREAKER_MIN_CALLS]: String(config.breaker.minCalls),
      [ENV.BREAKER_WINDOW_MS]: String(config.breaker.windowSeconds * 1000),
      [ENV.BREAKER_COOLDOWN_MS]: String(config.breaker.cooldownSeconds * 1000),
      [ENV.BREAKER_CACHE_MS]: String(config.breaker.cacheMs),
      [ENV.BREAKER_WHEN_OPEN]: config.breaker.whenOpen,
      [ENV.BUDGET_TOKENS_PER_HOUR]: String(config.budget.tokensPerHour),
      [ENV.BUDGET_USD_PER_HOUR]: String(config.budget.usdPerHour),
      [ENV.BUDGET_WHEN_EXHAUSTED]: config.budget.whenExhausted,
      [ENV.SIMULATOR_SEED]: String(config.model.simulatorSeed),
      [ENV.SIMULATOR_LATENCY_MS]: String(config.model.simulatorLatencyMs),
      // Provider quotas (issue 14): none configured in these stages, pacing on.
      [QUOTA_ENV.MODEL_QUOTAS]: '{}',
      [QUOTA_ENV.RATE_PACING]: 'on',
      [QUOTA_ENV.QUOTA_WINDOW_MS]: '60000',
      [QUOTA_ENV.QUOTA_MAX_BURST]: String(config.processor.batchSize),
      [ENV.ENTITY_DECISION_LIMIT]: String(config.entityLoops.decisionLimit),
      [ENV.ENTITY_WINDOW_SECONDS]: String(config.entityLoops.windowSeconds),
      [ENV.ENTITY_REUSE_THRESHOLD]: String(config.entityLoops.reuseThreshold),
      [ENV.SHADOW_MODEL_ID]: config.shadow.modelId,
      [ENV.SHADOW_PERCENT]: String(config.shadow.percent),
      [ENV.SHADOW_TASK_VERSION]: config.shadow.taskVersion,
      [ENV.SHADOW_MAX_PER_HOUR]: String(config.shadow.maxPerHour),
      [ENV.POWERTOOLS_SERVICE_NAME]: config.serviceName,
      [ENV.POWERTOOLS_METRICS_NAMESPACE]: METRICS_NAMESPACE,
      [ENV.POWERTOOLS_LOG_LEVEL]: config.processor.logLevel,
      [ENV.POWERTOOLS_LOGGER_SAMPLE_RATE]: String(config.processor.recordLogSampleRate),
    });
    // Every name the contract declares is set: a new ENV entry without a value fails here. The
    // OpenAI-compatible endpoint's two are set only with that provider (see below); the runtime
    // switches' refresh period is an optional override (local tests shorten it), unset by the stack.
    const onlyWithOpenAi: string[] = [ENV.MODEL_BASE_URL, ENV.MODEL_API_KEY_SECRET_ARN, ENV.SWITCH_REFRESH_MS];
    expect(Object.keys(environment)).toEqual(expect.arrayContaining(Object.values(ENV).filter((name) => !onlyWithOpenAi.includes(name))));
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
    // prod encrypts the tables with its own key: the processor may use it, with exact actions only
    const dataKey = synth.stack.dataKey ? [logicalIdOf(synth, synth.stack.dataKey)] : [];
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
      'kms:Decrypt': [resource.inputKey, resource.reviewKey, ...dataKey].sort(),
      'kms:GenerateDataKey': [resource.inputKey, resource.reviewKey, ...dataKey].sort(),
      ...(dataKey.length > 0 ? { 'kms:Encrypt': dataKey, 'kms:DescribeKey': dataKey } : {}),
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
    expect(
      Object.values(granted)
        .flat()
        .filter((id) => id.includes('*')),
    ).toEqual([]);
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

describe('Processor with a real model provider', () => {
  const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pipeline/model-key-AbC123';
  const synths: SynthesizedStage[] = [];
  afterAll(() => {
    for (const synth of synths) synth.dispose();
  });

  it('bedrock: may invoke exactly the configured models (foundation model ids and an inference profile ARN), nothing else', () => {
    // Prepare
    const profile = 'arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-3-haiku-20240307-v1:0';
    const synth = synthStage('dev', {
      overrides: { model: { provider: 'bedrock', primaryModelId: 'anthropic.claude-3-5-sonnet-20240620-v1:0', secondaryModelId: profile } },
    });
    synths.push(synth);

    // Act
    const granted = grantedPolicyStatements(synth, ids(synth).role).filter((statement) =>
      [statement.Action].flat().some((action: string) => action.startsWith('bedrock:')),
    );

    // Assess
    expect(granted).toHaveLength(1);
    expect(granted[0]).toMatchObject({ Action: 'bedrock:InvokeModel', Effect: 'Allow' });
    expect(JSON.stringify(granted[0].Resource)).toContain('foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0');
    expect([granted[0].Resource].flat()).toContain(profile);
    expect([granted[0].Resource].flat()).toHaveLength(2);
    const environment = synth.templateJson.Resources[ids(synth).function].Properties.Environment.Variables;
    expect(environment).toMatchObject({ [ENV.MODEL_PROVIDER]: 'bedrock', [ENV.SECONDARY_MODEL_ID]: profile });
    expect(environment[ENV.MODEL_BASE_URL]).toBeUndefined();
    expect(nagViolations(synth)).toEqual([]);
  });

  it('openai-compatible: passes the secret ARN, never a key, and may read only that secret', () => {
    // Prepare
    const synth = synthStage('dev', {
      overrides: {
        model: {
          provider: 'openai-compatible',
          primaryModelId: 'gpt-4o',
          secondaryModelId: 'gpt-4o-mini',
          openAiCompatible: { baseUrl: 'https://api.openai.com/v1', apiKeySecretArn: SECRET },
        },
      },
    });
    synths.push(synth);
    const resource = ids(synth);

    // Act
    const environment = synth.templateJson.Resources[resource.function].Properties.Environment.Variables;
    const granted = grantedActions(synth, resource.role);

    // Assess
    expect(environment).toMatchObject({
      [ENV.MODEL_PROVIDER]: 'openai-compatible',
      [ENV.MODEL_BASE_URL]: 'https://api.openai.com/v1',
      [ENV.MODEL_API_KEY_SECRET_ARN]: SECRET,
    });
    expect(granted['secretsmanager:GetSecretValue']).toEqual([JSON.stringify(SECRET)]);
    expect(Object.keys(granted).filter((action) => action.startsWith('bedrock:'))).toEqual([]);
    // No variable carries anything that looks like a key.
    for (const [name, value] of Object.entries(environment)) {
      expect(name).not.toMatch(/API_KEY$/);
      expect(JSON.stringify(value)).not.toMatch(/sk-[A-Za-z0-9]/);
    }
    expect(nagViolations(synth)).toEqual([]);
  });

  it.each<[string, object, RegExp]>([
    [
      'a key in the config (there is no field for one)',
      {
        model: {
          provider: 'openai-compatible',
          primaryModelId: 'gpt-4o',
          secondaryModelId: '',
          openAiCompatible: { baseUrl: 'https://api.openai.com/v1', apiKeySecretArn: SECRET, apiKey: 'sk-live' },
        },
      },
      /unknown key\(s\) apiKey/,
    ],
    [
      'a secret name instead of its complete ARN',
      {
        model: {
          provider: 'openai-compatible',
          primaryModelId: 'gpt-4o',
          secondaryModelId: '',
          openAiCompatible: { baseUrl: 'https://api.openai.com/v1', apiKeySecretArn: 'pipeline/model-key' },
        },
      },
      /apiKeySecretArn: must be the complete ARN/,
    ],
    [
      'plain http',
      {
        model: {
          provider: 'openai-compatible',
          primaryModelId: 'gpt-4o',
          secondaryModelId: '',
          openAiCompatible: { baseUrl: 'http://llm.internal/v1', apiKeySecretArn: SECRET },
        },
      },
      /baseUrl: must be an https:\/\/ URL/,
    ],
    ['no endpoint', { model: { provider: 'openai-compatible', primaryModelId: 'gpt-4o', secondaryModelId: '' } }, /model.openAiCompatible: is required/],
    ['a simulated model id on bedrock', { model: { provider: 'bedrock' } }, /model.primaryModelId: "sim-primary" is a simulated model id/],
    ['a call timeout longer than the function can run', { retry: { callTimeoutMs: 31_000 } }, /retry.callTimeoutMs: must be at most/],
  ])('refuses %s at synth', (_name, overrides, message) => {
    expect(() => synthStage('dev', { overrides: overrides as never })).toThrow(message);
  });
});

/** Every Allow statement of every policy attached to the role, as written. */
function grantedPolicyStatements(synth: SynthesizedStage, roleId: string): any[] {
  return resourcesOfType(synth, 'AWS::IAM::Policy')
    .filter(([, policy]) => policy.Properties.Roles.some((role: unknown) => referencedId(role) === roleId))
    .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement);
}

/** cdk-nag's unacknowledged findings of a synthesized stage. */
function nagViolations(synth: SynthesizedStage): string[] {
  // The report must come from cdk-nag, or an empty list would prove nothing.
  expect(synth.report.pluginReports.map((report) => report.pluginName).join(' ')).toMatch(/AwsSolutions/);
  return synth.report.pluginReports.flatMap((report) =>
    report.violations.map((violation) => `${violation.ruleName}: ${violation.violatingConstructs.map((c) => c.constructPath).join(', ')}`),
  );
}

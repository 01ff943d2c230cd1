import { afterEach, describe, expect, it, vi } from 'vitest';
import { ENV, QUOTA_ENV, SWITCH_REFRESH_MS } from '../../lambda/contract';
import { breakerSettingsOf, FORBIDDEN_KEY_VARIABLES, readRuntimeConfig, RUNTIME_CONFIG_VARIABLES } from '../../lambda/processor/runtime-config';

/** The variables the Processor construct always sets; everything else has a default. */
const REQUIRED = {
  [ENV.STAGE]: 'dev',
  [ENV.LEDGER_TABLE]: 'ledger-dev',
  [ENV.CONTROL_TABLE]: 'control-dev',
  [ENV.INPUT_QUEUE_URL]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/input',
  [ENV.INPUT_DLQ_URL]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/input-dlq',
  [ENV.REVIEW_QUEUE_URL]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/review',
} as const;

/** Every env var name the reader maps to a config field. */
const READ_NAMES = Object.values(RUNTIME_CONFIG_VARIABLES);

function errorMessageOf(env: NodeJS.ProcessEnv): string {
  try {
    readRuntimeConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return (error as Error).message;
  }
  throw new Error(`expected the configuration to be rejected: ${JSON.stringify(env)}`);
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('readRuntimeConfig: valid environments', () => {
  it('applies every default when only the required variables are set', () => {
    expect(readRuntimeConfig({ ...REQUIRED })).toEqual({
      stage: 'dev',
      ledgerTable: 'ledger-dev',
      controlTable: 'control-dev',
      inputQueueUrl: REQUIRED[ENV.INPUT_QUEUE_URL],
      inputDlqUrl: REQUIRED[ENV.INPUT_DLQ_URL],
      reviewQueueUrl: REQUIRED[ENV.REVIEW_QUEUE_URL],
      recordConcurrency: 5,
      claimedElsewhereVisibilitySeconds: 10,
      timeMarginMs: 3_000,
      ledgerTtlDays: 30,
      logRawInput: false,
      modelProvider: 'simulated',
      primaryModelId: 'sim-primary',
      secondaryModelId: undefined,
      modelBaseUrl: undefined,
      modelApiKeySecretArn: undefined,
      maxOutputTokens: 512,
      modelPrices: {},
      minConfidence: 0,
      taskPolicies: {},
      retryMaxAttempts: 3,
      retryBaseDelayMs: 200,
      retryMaxDelayMs: 5000,
      modelCallTimeoutMs: 10_000,
      modelCallsPerReceive: 6,
      modelCallsPerKey: 20,
      queueBackoffBaseSeconds: 10,
      queueBackoffMaxSeconds: 300,
      maxReceiveCount: 5,
      breakerFailureThreshold: 0,
      breakerFailureRatePercent: 50,
      breakerMinCalls: 20,
      breakerWindowMs: 60_000,
      breakerCooldownMs: 30_000,
      breakerCacheMs: 2000,
      breakerWhenOpen: 'defer',
      budgetTokensPerHour: 0,
      budgetUsdPerHour: 0,
      budgetWhenExhausted: 'fallback',
      simulatorSeed: 42,
      simulatorLatencyMs: 0,
      modelQuotas: {},
      ratePacing: 'on',
      quotaWindowMs: 60_000,
      quotaMaxBurst: 10,
      entityDecisionLimit: 3,
      entityWindowSeconds: 86_400,
      entityReuseThreshold: 0.6,
      shadowModelId: undefined,
      shadowPercent: 0,
      shadowMaxPerHour: 1000,
    });
  });

  it.each<[string, string]>([
    [ENV.ENTITY_DECISION_LIMIT, '0'],
    [ENV.ENTITY_WINDOW_SECONDS, ''],
    [ENV.ENTITY_REUSE_THRESHOLD, '-0.1'],
    [ENV.ENTITY_REUSE_THRESHOLD, '2'],
  ])('refuses the entity-loop setting %s=%j, naming the variable', (variable, value) => {
    expect(() => readRuntimeConfig({ ...REQUIRED, [variable]: value })).toThrow(variable);
  });

  it('reads the model layer: providers, prices, task policies, retry, breaker and budget settings', () => {
    const config = readRuntimeConfig({
      ...REQUIRED,
      [ENV.MODEL_PROVIDER]: 'openai-compatible',
      [ENV.MODEL_BASE_URL]: 'https://api.openai.com/v1',
      [ENV.MODEL_API_KEY_SECRET_ARN]: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:model-key-AbCdEf',
      [ENV.SECONDARY_MODEL_ID]: 'gpt-4o-mini',
      [ENV.MODEL_PRICES]: JSON.stringify({ 'gpt-4o-mini': { inputUsdPerMillionTokens: 0.15, outputUsdPerMillionTokens: 0.6 } }),
      [ENV.TASK_POLICIES]: JSON.stringify({ 'ticket-triage': { tiers: ['rules', 'human'], minConfidence: 0.6 } }),
      [ENV.BREAKER_WHEN_OPEN]: 'fallback',
      [ENV.BUDGET_USD_PER_HOUR]: '2.5',
      [ENV.BUDGET_WHEN_EXHAUSTED]: 'defer',
    });
    expect(config).toMatchObject({
      modelProvider: 'openai-compatible',
      modelBaseUrl: 'https://api.openai.com/v1',
      secondaryModelId: 'gpt-4o-mini',
      modelPrices: { 'gpt-4o-mini': { inputUsdPerMillionTokens: 0.15, outputUsdPerMillionTokens: 0.6 } },
      taskPolicies: { 'ticket-triage': { tiers: ['rules', 'human'], minConfidence: 0.6 } },
      breakerWhenOpen: 'fallback',
      budgetUsdPerHour: 2.5,
      budgetWhenExhausted: 'defer',
    });
  });

  it.each(['http://127.0.0.1:8080/v1', 'http://localhost:9/v1'])(
    'lets an openai-compatible endpoint on loopback (%s) run without an API key secret',
    (baseUrl) => {
      const config = readRuntimeConfig({ ...REQUIRED, [ENV.MODEL_PROVIDER]: 'openai-compatible', [ENV.MODEL_BASE_URL]: baseUrl });
      expect(config.modelApiKeySecretArn).toBeUndefined();
    },
  );

  it('reads every variable, coercing numbers and flags', () => {
    const config = readRuntimeConfig({
      ...REQUIRED,
      [ENV.RECORD_CONCURRENCY]: '12',
      [ENV.CLAIMED_ELSEWHERE_VISIBILITY_SECONDS]: '45',
      [ENV.TIME_MARGIN_MS]: '1500',
      [ENV.LEDGER_TTL_DAYS]: '7',
      [ENV.LOG_RAW_INPUT]: 'true',
      [ENV.MODEL_PROVIDER]: 'simulated',
      [ENV.PRIMARY_MODEL_ID]: 'sim-large',
      [ENV.SIMULATOR_SEED]: '-7',
      [ENV.SIMULATOR_LATENCY_MS]: '250',
    });
    expect(config).toMatchObject({
      recordConcurrency: 12,
      claimedElsewhereVisibilitySeconds: 45,
      timeMarginMs: 1_500,
      ledgerTtlDays: 7,
      logRawInput: true,
      modelProvider: 'simulated',
      primaryModelId: 'sim-large',
      simulatorSeed: -7,
      simulatorLatencyMs: 250,
    });
  });

  it.each<[string, string, string, unknown]>([
    [ENV.RECORD_CONCURRENCY, '1', 'recordConcurrency', 1],
    [ENV.RECORD_CONCURRENCY, '100', 'recordConcurrency', 100],
    [ENV.CLAIMED_ELSEWHERE_VISIBILITY_SECONDS, '0', 'claimedElsewhereVisibilitySeconds', 0],
    [ENV.CLAIMED_ELSEWHERE_VISIBILITY_SECONDS, '43200', 'claimedElsewhereVisibilitySeconds', 43_200],
    [ENV.TIME_MARGIN_MS, '0', 'timeMarginMs', 0],
    [ENV.LEDGER_TTL_DAYS, '0.5', 'ledgerTtlDays', 0.5],
    [ENV.LOG_RAW_INPUT, 'false', 'logRawInput', false],
    [ENV.SIMULATOR_LATENCY_MS, '2.5', 'simulatorLatencyMs', 2.5],
  ])('accepts the limit %s=%s', (name, value, field, expected) => {
    expect(readRuntimeConfig({ ...REQUIRED, [name]: value })).toHaveProperty(field, expected);
  });

  it('reads process.env when no environment is passed', () => {
    for (const [name, value] of Object.entries(REQUIRED)) vi.stubEnv(name, value);
    vi.stubEnv(ENV.RECORD_CONCURRENCY, '9');
    expect(readRuntimeConfig()).toMatchObject({ stage: 'dev', recordConcurrency: 9 });
  });
});

describe('readRuntimeConfig: invalid environments fail, naming the variable', () => {
  it.each(Object.keys(REQUIRED))('missing %s', (name) => {
    const env: NodeJS.ProcessEnv = { ...REQUIRED };
    delete env[name];
    const message = errorMessageOf(env);
    expect(message).toMatch(/^processor configuration is invalid: /);
    expect(message).toContain(name);
  });

  it.each<[string, string]>([
    [ENV.STAGE, ''],
    [ENV.LEDGER_TABLE, ''],
    [ENV.INPUT_QUEUE_URL, 'not a url'],
    [ENV.INPUT_DLQ_URL, 'sqs/input-dlq'],
    [ENV.REVIEW_QUEUE_URL, ''],
    [ENV.RECORD_CONCURRENCY, '0'],
    [ENV.RECORD_CONCURRENCY, '101'],
    [ENV.RECORD_CONCURRENCY, 'five'],
    [ENV.RECORD_CONCURRENCY, '2.5'],
    [ENV.RECORD_CONCURRENCY, ''],
    [ENV.CLAIMED_ELSEWHERE_VISIBILITY_SECONDS, '-1'],
    [ENV.CLAIMED_ELSEWHERE_VISIBILITY_SECONDS, '43201'],
    [ENV.TIME_MARGIN_MS, '-1'],
    [ENV.TIME_MARGIN_MS, '1.5'],
    [ENV.TIME_MARGIN_MS, '3s'],
    // An empty or blank variable is a mistake, not 0 (which would remove the safety margin).
    [ENV.TIME_MARGIN_MS, ''],
    [ENV.TIME_MARGIN_MS, ' '],
    [ENV.TIME_MARGIN_MS, '0x10'],
    [ENV.CLAIMED_ELSEWHERE_VISIBILITY_SECONDS, ''],
    [ENV.SIMULATOR_SEED, ''],
    [ENV.SIMULATOR_SEED, ' '],
    [ENV.SIMULATOR_LATENCY_MS, ''],
    [ENV.LEDGER_TTL_DAYS, '0'],
    [ENV.LEDGER_TTL_DAYS, '-30'],
    [ENV.LEDGER_TTL_DAYS, 'Infinity'],
    [ENV.LOG_RAW_INPUT, 'yes'],
    [ENV.LOG_RAW_INPUT, 'TRUE'],
    [ENV.LOG_RAW_INPUT, '1'],
    [ENV.MODEL_PROVIDER, 'gpt'],
    [ENV.MODEL_PROVIDER, 'Simulated'],
    [ENV.MODEL_PRICES, '{not json'],
    [ENV.MODEL_PRICES, JSON.stringify({ m: { inputUsdPerMillionTokens: -1, outputUsdPerMillionTokens: 1 } })],
    [ENV.TASK_POLICIES, JSON.stringify({ 'ticket-triage': { tiers: ['oracle'] } })],
    [ENV.MIN_CONFIDENCE, '1.5'],
    [ENV.RETRY_MAX_ATTEMPTS, '0'],
    [ENV.MODEL_CALL_TIMEOUT_MS, '0'],
    [ENV.BREAKER_WHEN_OPEN, 'panic'],
    [ENV.BREAKER_FAILURE_RATE_PERCENT, '101'],
    [ENV.BUDGET_WHEN_EXHAUSTED, ''],
    [ENV.PRIMARY_MODEL_ID, ''],
    [ENV.SIMULATOR_SEED, '1.5'],
    [ENV.SIMULATOR_SEED, 'abc'],
    [ENV.SIMULATOR_LATENCY_MS, '-1'],
  ])('%s=%j', (name, value) => {
    const message = errorMessageOf({ ...REQUIRED, [name]: value });
    expect(message).toMatch(/^processor configuration is invalid: /);
    expect(message).toContain(`${name}: `);
    // Only the bad variable is blamed.
    for (const other of READ_NAMES.filter((candidate) => candidate !== name)) expect(message).not.toContain(other);
  });

  it.each<[string, Record<string, string>, string]>([
    ['no base URL', {}, ENV.MODEL_BASE_URL],
    ['a remote endpoint without an API key secret', { [ENV.MODEL_BASE_URL]: 'https://api.openai.com/v1' }, ENV.MODEL_API_KEY_SECRET_ARN],
    ['plain http to a remote endpoint', { [ENV.MODEL_BASE_URL]: 'http://llm.internal/v1', [ENV.MODEL_API_KEY_SECRET_ARN]: 'arn:x' }, ENV.MODEL_BASE_URL],
  ])('refuses the openai-compatible provider with %s', (_name, env, blamed) => {
    const message = errorMessageOf({ ...REQUIRED, [ENV.MODEL_PROVIDER]: 'openai-compatible', ...env });
    expect(message).toContain(`${blamed}: `);
  });

  it.each(FORBIDDEN_KEY_VARIABLES)('refuses an API key in the environment (%s): keys come from Secrets Manager only', (name) => {
    const message = errorMessageOf({ ...REQUIRED, [name]: 'sk-not-a-real-key' });
    expect(message).toContain(`${name} must not be set`);
    expect(message).not.toContain('sk-not-a-real-key');
  });

  it('lists every bad variable at once', () => {
    const message = errorMessageOf({ ...REQUIRED, [ENV.RECORD_CONCURRENCY]: '0', [ENV.LOG_RAW_INPUT]: 'yes', [ENV.STAGE]: undefined });
    for (const name of [ENV.RECORD_CONCURRENCY, ENV.LOG_RAW_INPUT, ENV.STAGE]) expect(message).toContain(`${name}: `);
  });

  it('names the variable, not the internal field name', () => {
    const message = errorMessageOf({ ...REQUIRED, [ENV.RECORD_CONCURRENCY]: '0' });
    expect(message).not.toContain('recordConcurrency');
  });
});

describe('readRuntimeConfig: optional text settings', () => {
  it.each<[string, 'modelBaseUrl' | 'modelApiKeySecretArn' | 'shadowModelId', string]>([
    [ENV.MODEL_BASE_URL, 'modelBaseUrl', 'http://127.0.0.1:8080/v1'],
    [ENV.MODEL_API_KEY_SECRET_ARN, 'modelApiKeySecretArn', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:k'],
    [ENV.SHADOW_MODEL_ID, 'shadowModelId', 'model-candidate'],
  ])('%s is trimmed, and blank means unset', (variable, field, value) => {
    expect(readRuntimeConfig({ ...REQUIRED, [variable]: `  ${value}\t` })[field]).toBe(value);
    expect(readRuntimeConfig({ ...REQUIRED, [variable]: ' \t ' })[field]).toBeUndefined();
    expect(readRuntimeConfig({ ...REQUIRED, [variable]: '' })[field]).toBeUndefined();
  });

  it('has no shadow task version by default', () => {
    const config = readRuntimeConfig({ ...REQUIRED });
    expect(config.shadowTaskVersion).toBeUndefined();
    expect(readRuntimeConfig({ ...REQUIRED, [ENV.SHADOW_TASK_VERSION]: '   ' }).shadowTaskVersion).toBeUndefined();
  });

  it.each<[string, { task: string; version: string }]>([
    ['ticket-triage@2', { task: 'ticket-triage', version: '2' }],
    [' ticket-triage@1 ', { task: 'ticket-triage', version: '1' }],
  ])('reads the shadow task version %j as task and version', (value, expected) => {
    expect(readRuntimeConfig({ ...REQUIRED, [ENV.SHADOW_TASK_VERSION]: value }).shadowTaskVersion).toEqual(expected);
  });

  it.each<[string, string]>([
    ['ticket-triage@9', 'task ticket-triage has no version "9"; registered: 1, 2'],
    ['nope', '"nope" is not <task>@<version>, e.g. ticket-triage@1'],
    ['ticket-triage@', '"ticket-triage@" is not <task>@<version>, e.g. ticket-triage@1'],
    ['no-such-task@1', 'no task "no-such-task"; tasks: ticket-triage'],
  ])('refuses the shadow task version %j, naming the variable and why', (value, why) => {
    expect(errorMessageOf({ ...REQUIRED, [ENV.SHADOW_TASK_VERSION]: value })).toBe(`processor configuration is invalid: ${ENV.SHADOW_TASK_VERSION}: ${why}`);
  });
});

describe('readRuntimeConfig: the exact refusal messages', () => {
  it.each([ENV.MODEL_PRICES, ENV.TASK_POLICIES, QUOTA_ENV.MODEL_QUOTAS])('%s that is not JSON: "must be JSON"', (variable) => {
    expect(errorMessageOf({ ...REQUIRED, [variable]: '{not json' })).toBe(`processor configuration is invalid: ${variable}: must be JSON`);
  });

  it('reads the JSON settings it is given', () => {
    const config = readRuntimeConfig({ ...REQUIRED, [QUOTA_ENV.MODEL_QUOTAS]: JSON.stringify({ 'model-a': { rpm: 60, tpm: 90_000 } }) });
    expect(config.modelQuotas).toEqual({ 'model-a': { rpm: 60, tpm: 90_000 } });
  });

  it('joins every problem, in the order of the variables, with "; "', () => {
    expect(errorMessageOf({ ...REQUIRED, [ENV.LOG_RAW_INPUT]: 'yes', [ENV.RECORD_CONCURRENCY]: '0' })).toBe(
      `processor configuration is invalid: ${ENV.RECORD_CONCURRENCY}: Too small: expected number to be >=1; ${ENV.LOG_RAW_INPUT}: Invalid option: expected one of "true"|"false"`,
    );
  });

  it('names every API key variable that is set, even to an empty value, and the secret variable to use instead', () => {
    expect(errorMessageOf({ ...REQUIRED, OPENAI_API_KEY: 'sk-x', ANTHROPIC_API_KEY: '' })).toBe(
      `processor configuration is invalid: OPENAI_API_KEY, ANTHROPIC_API_KEY must not be set: the model API key is read from the Secrets Manager secret named by ${ENV.MODEL_API_KEY_SECRET_ARN}`,
    );
  });

  it('accepts an environment with unrelated variables that merely contain API_KEY', () => {
    expect(readRuntimeConfig({ ...REQUIRED, SOME_OTHER_API_KEY_HINT: 'x' }).stage).toBe('dev');
  });
});

describe('readRuntimeConfig: the openai-compatible provider', () => {
  const OPENAI = { ...REQUIRED, [ENV.MODEL_PROVIDER]: 'openai-compatible' };
  const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:model-key-AbCdEf';
  const invalid = (problem: string) => `processor configuration is invalid: ${problem}`;

  it.each<[string, Record<string, string>, string]>([
    ['no base URL', {}, `${ENV.MODEL_BASE_URL}: is required by the openai-compatible provider`],
    ['a blank base URL', { [ENV.MODEL_BASE_URL]: '   ' }, `${ENV.MODEL_BASE_URL}: is required by the openai-compatible provider`],
    ['a base URL that is not a URL', { [ENV.MODEL_BASE_URL]: 'not a url', [ENV.MODEL_API_KEY_SECRET_ARN]: SECRET }, `${ENV.MODEL_BASE_URL}: must be a URL`],
    ['a base URL that is not a URL, and no secret', { [ENV.MODEL_BASE_URL]: 'llm.internal' }, `${ENV.MODEL_BASE_URL}: must be a URL`],
    [
      'a remote endpoint without an API key secret',
      { [ENV.MODEL_BASE_URL]: 'https://llm.example.com:8443/v1' },
      `${ENV.MODEL_API_KEY_SECRET_ARN}: is required for llm.example.com:8443: only a loopback endpoint (local mode) may be called without an API key`,
    ],
    [
      'plain http to a remote endpoint, with a secret',
      { [ENV.MODEL_BASE_URL]: 'http://llm.internal/v1', [ENV.MODEL_API_KEY_SECRET_ARN]: SECRET },
      `${ENV.MODEL_BASE_URL}: must be https (plain http only to a loopback endpoint)`,
    ],
    [
      'plain http to a remote endpoint, without a secret',
      { [ENV.MODEL_BASE_URL]: 'http://llm.internal/v1' },
      `${ENV.MODEL_API_KEY_SECRET_ARN}: is required for llm.internal: only a loopback endpoint (local mode) may be called without an API key; ${ENV.MODEL_BASE_URL}: must be https (plain http only to a loopback endpoint)`,
    ],
  ])('refuses %s, with exactly that message', (_name, env, problem) => {
    expect(errorMessageOf({ ...OPENAI, ...env })).toBe(invalid(problem));
  });

  it.each(['http://127.0.0.1:8080/v1', 'http://localhost:9/v1', 'http://[::1]:8080/v1', 'https://localhost/v1'])(
    'accepts the loopback endpoint %s without a secret, over http or https',
    (baseUrl) => {
      expect(readRuntimeConfig({ ...OPENAI, [ENV.MODEL_BASE_URL]: baseUrl })).toMatchObject({ modelBaseUrl: baseUrl, modelApiKeySecretArn: undefined });
    },
  );

  it('accepts a remote https endpoint with a secret', () => {
    expect(readRuntimeConfig({ ...OPENAI, [ENV.MODEL_BASE_URL]: 'https://api.openai.com/v1', [ENV.MODEL_API_KEY_SECRET_ARN]: SECRET })).toMatchObject({
      modelBaseUrl: 'https://api.openai.com/v1',
      modelApiKeySecretArn: SECRET,
    });
  });

  it('checks the base URL of no other provider', () => {
    expect(readRuntimeConfig({ ...REQUIRED, [ENV.MODEL_PROVIDER]: 'simulated', [ENV.MODEL_BASE_URL]: 'http://llm.internal/v1' }).modelBaseUrl).toBe(
      'http://llm.internal/v1',
    );
  });
});

describe('breakerSettingsOf', () => {
  it('derives the shared breaker settings from the defaults', () => {
    expect(breakerSettingsOf(readRuntimeConfig({ ...REQUIRED }))).toEqual({
      failureThreshold: 0,
      failureRatePercent: 50,
      minCalls: 20,
      windowMs: 60_000,
      cooldownMs: 30_000,
      cacheMs: 2000,
      quietCacheMs: SWITCH_REFRESH_MS,
      openCacheMs: 5000,
      probeLeaseMs: 13_000,
    });
  });

  it('takes each setting from its own variable', () => {
    const config = readRuntimeConfig({
      ...REQUIRED,
      [ENV.BREAKER_FAILURE_THRESHOLD]: '4',
      [ENV.BREAKER_FAILURE_RATE_PERCENT]: '25.5',
      [ENV.BREAKER_MIN_CALLS]: '7',
      [ENV.BREAKER_WINDOW_MS]: '30000',
      [ENV.BREAKER_COOLDOWN_MS]: '9000',
      [ENV.BREAKER_CACHE_MS]: '1000',
      [ENV.MODEL_CALL_TIMEOUT_MS]: '4000',
      [ENV.TIME_MARGIN_MS]: '500',
    });
    expect(breakerSettingsOf(config, 3000)).toEqual({
      failureThreshold: 4,
      failureRatePercent: 25.5,
      minCalls: 7,
      windowMs: 30_000,
      cooldownMs: 9000,
      cacheMs: 1000,
      quietCacheMs: 3000,
      openCacheMs: 2500,
      probeLeaseMs: 4500,
    });
  });

  it('reads a quiet breaker no more often than cacheMs, even when the switches refresh faster', () => {
    const config = readRuntimeConfig({ ...REQUIRED, [ENV.BREAKER_CACHE_MS]: '20000' });
    expect(breakerSettingsOf(config)).toMatchObject({ cacheMs: 20_000, quietCacheMs: 20_000, openCacheMs: 50_000 });
    expect(breakerSettingsOf(config, 25_000)).toMatchObject({ quietCacheMs: 25_000 });
  });
});

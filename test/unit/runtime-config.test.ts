import { afterEach, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../lambda/contract';
import { FORBIDDEN_KEY_VARIABLES, readRuntimeConfig, RUNTIME_CONFIG_VARIABLES } from '../../lambda/processor/runtime-config';

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

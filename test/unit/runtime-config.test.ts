import { afterEach, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../lambda/contract';
import { readRuntimeConfig } from '../../lambda/processor/runtime-config';

/** The variables the Processor construct always sets; everything else has a default. */
const REQUIRED = {
  [ENV.STAGE]: 'dev',
  [ENV.LEDGER_TABLE]: 'ledger-dev',
  [ENV.INPUT_QUEUE_URL]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/input',
  [ENV.INPUT_DLQ_URL]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/input-dlq',
  [ENV.REVIEW_QUEUE_URL]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/review',
} as const;

/** Every env var name the reader maps to a config field. */
const READ_NAMES = [
  ENV.STAGE,
  ENV.LEDGER_TABLE,
  ENV.INPUT_QUEUE_URL,
  ENV.INPUT_DLQ_URL,
  ENV.REVIEW_QUEUE_URL,
  ENV.RECORD_CONCURRENCY,
  ENV.CLAIMED_ELSEWHERE_VISIBILITY_SECONDS,
  ENV.TIME_MARGIN_MS,
  ENV.LEDGER_TTL_DAYS,
  ENV.LOG_RAW_INPUT,
  ENV.MODEL_PROVIDER,
  ENV.PRIMARY_MODEL_ID,
  ENV.SIMULATOR_SEED,
  ENV.SIMULATOR_LATENCY_MS,
];

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
      simulatorSeed: 42,
      simulatorLatencyMs: 0,
    });
  });

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
    [ENV.MODEL_PROVIDER, 'bedrock'],
    [ENV.MODEL_PROVIDER, 'Simulated'],
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

  it('lists every bad variable at once', () => {
    const message = errorMessageOf({ ...REQUIRED, [ENV.RECORD_CONCURRENCY]: '0', [ENV.LOG_RAW_INPUT]: 'yes', [ENV.STAGE]: undefined });
    for (const name of [ENV.RECORD_CONCURRENCY, ENV.LOG_RAW_INPUT, ENV.STAGE]) expect(message).toContain(`${name}: `);
  });

  it('names the variable, not the internal field name', () => {
    const message = errorMessageOf({ ...REQUIRED, [ENV.RECORD_CONCURRENCY]: '0' });
    expect(message).not.toContain('recordConcurrency');
  });
});

import { describe, expect, it } from 'vitest';
import { MODEL_PROVIDERS } from '../../lambda/contract';
import { loadStageConfig, StageConfigError } from '../../lib/config/stage-load';
import type { StageConfigOverrides } from '../../lib/config/stage-schema';
import { STAGES } from '../../lib/config/stages';

/** Runs `loadStageConfig` and returns the error it throws (the tests below expect one). */
function configError(stage: string, overrides?: StageConfigOverrides): StageConfigError {
  try {
    loadStageConfig(stage, overrides);
  } catch (error) {
    if (error instanceof StageConfigError) return error;
    throw error;
  }
  throw new Error(`stage "${stage}" loaded without error`);
}

describe('loadStageConfig', () => {
  it.each(Object.keys(STAGES))('loads the built-in stage %s', (stage) => {
    // Act
    const config = loadStageConfig(stage);

    // Assess
    expect(config.stage).toBe(stage);
  });

  it('applies the documented defaults to dev', () => {
    // Act
    const config = loadStageConfig('dev');

    // Assess
    expect(config).toMatchObject({
      production: false,
      removalPolicy: 'destroy',
      logRawInput: false,
      allowFaultInjection: true,
      processor: {
        memoryMb: 512,
        timeoutSeconds: 30,
        batchSize: 10,
        maxBatchingWindowSeconds: 1,
        maxConcurrency: 5,
        recordConcurrency: 5,
        timeMarginMs: 3000,
        claimedElsewhereVisibilitySeconds: 10,
      },
      inputQueue: { visibilityTimeoutSeconds: 180, retentionDays: 4, maxReceiveCount: 5, dlqRetentionDays: 14 },
      ledger: { ttlDays: 30, pointInTimeRecovery: true },
      model: { provider: 'simulated', primaryModelId: 'sim-primary', simulatorSeed: 42, simulatorLatencyMs: 0 },
    });
  });

  it('makes prod a production stage that retains data and allows no fault injection', () => {
    // Act
    const config = loadStageConfig('prod');

    // Assess
    expect(config).toMatchObject({ production: true, removalPolicy: 'retain', logRawInput: false, allowFaultInjection: false });
  });

  it('merges overrides key by key, keeping the stage values it does not replace', () => {
    // Act
    const config = loadStageConfig('dev', { processor: { timeoutSeconds: 10 } });

    // Assess
    expect(config.processor.timeoutSeconds).toBe(10);
    expect(config.processor.memoryMb).toBe(512);
    expect(config.removalPolicy).toBe('destroy');
  });

  it('rejects an unknown stage and lists the valid ones', () => {
    // Act
    const error = configError('qa');

    // Assess
    expect(error.message).toContain('unknown stage "qa": valid stages are dev, prod');
  });

  it.each([
    ['inputQueue', 'inputQueue.visibilityTimeoutSeconds: visibility timeout must be >= 6 x processor timeout: 120 s < 6 x 30 s = 180 s'],
    ['reviewQueue', 'reviewQueue.visibilityTimeoutSeconds: visibility timeout must be >= 6 x processor timeout: 120 s < 6 x 30 s = 180 s'],
  ] as const)('rejects a %s visibility timeout under 6 x the processor timeout', (queue, expected) => {
    // Act
    const error = configError('dev', { [queue]: { visibilityTimeoutSeconds: 120 } });

    // Assess
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toContain(expected);
  });

  it('defaults the entity-loop block (issue 16) and names a bad key', () => {
    // Act
    const config = loadStageConfig('dev');
    const error = configError('dev', { entityLoops: { decisionLimit: 0, reuseThreshold: 1.5 } } as never);

    // Assess
    expect(config.entityLoops).toEqual({ decisionLimit: 3, windowSeconds: 86_400, reuseThreshold: 0.6, loopAlarmThreshold: 5 });
    expect(error.issues.join('\n')).toContain('entityLoops.decisionLimit');
    expect(error.issues.join('\n')).toContain('entityLoops.reuseThreshold');
  });

  it('accepts a visibility timeout of exactly 6 x the processor timeout', () => {
    // Act
    const config = loadStageConfig('dev', {
      processor: { timeoutSeconds: 60 },
      inputQueue: { visibilityTimeoutSeconds: 360 },
      reviewQueue: { visibilityTimeoutSeconds: 360 },
    });

    // Assess
    expect(config.inputQueue.visibilityTimeoutSeconds).toBe(360);
  });

  it('checks the visibility rule against an overridden processor timeout', () => {
    // Act
    const error = configError('dev', { processor: { timeoutSeconds: 60 } });

    // Assess: both queues keep 180 s, which is now under 6 x 60 s
    expect(error.issues).toEqual([
      expect.stringContaining('inputQueue.visibilityTimeoutSeconds: visibility timeout must be >= 6 x processor timeout: 180 s < 6 x 60 s = 360 s'),
      expect.stringContaining('reviewQueue.visibilityTimeoutSeconds: visibility timeout must be >= 6 x processor timeout: 180 s < 6 x 60 s = 360 s'),
    ]);
  });

  it.each<[string, StageConfigOverrides, string]>([
    [
      'DLQ retention equal to the source',
      { inputQueue: { dlqRetentionDays: 4 } },
      "inputQueue.dlqRetentionDays: DLQ retention must be longer than the source queue's: 4 days <= 4 days",
    ],
    [
      'DLQ retention shorter than the source',
      { reviewQueue: { retentionDays: 10, dlqRetentionDays: 9 } },
      "reviewQueue.dlqRetentionDays: DLQ retention must be longer than the source queue's: 9 days <= 10 days",
    ],
    ['maxConcurrency under the SQS minimum of 2', { processor: { maxConcurrency: 1 } }, 'processor.maxConcurrency: Too small: expected number to be >=2'],
    ['batchSize 0', { processor: { batchSize: 0 } }, 'processor.batchSize: Too small: expected number to be >=1'],
    ['batchSize above 10,000', { processor: { batchSize: 10_001 } }, 'processor.batchSize: Too big: expected number to be <=10000'],
    [
      'batchSize above 10 without a batching window',
      { processor: { batchSize: 100, maxBatchingWindowSeconds: 0 } },
      'processor.maxBatchingWindowSeconds: must be > 0 when processor.batchSize (100) is above 10',
    ],
    [
      'a time margin as long as the timeout',
      { processor: { timeMarginMs: 30_000 } },
      'processor.timeMarginMs: must be less than processor.timeoutSeconds x 1000 (30000 ms)',
    ],
    [
      'a log retention CloudWatch does not offer',
      { processor: { logRetentionDays: 2 as never } },
      'processor.logRetentionDays: 2 is not valid; valid values are 1, 3, 5, 7, 14, 30,',
    ],
    ['an unknown removal policy', { removalPolicy: 'keep' as never }, 'removalPolicy: "keep" is not valid; valid values are "destroy", "retain"'],
    [
      'an unknown model provider',
      { model: { provider: 'gpt' as never } },
      `model.provider: "gpt" is not valid; valid values are ${MODEL_PROVIDERS.map((p) => `"${p}"`).join(', ')}`,
    ],
    ['a misspelt key', { processor: { timeoutSecond: 5 } as never }, 'processor: unknown key(s) timeoutSecond; valid keys are memoryMb, timeoutSeconds,'],
  ])('rejects %s, naming the key', (_case, overrides, expected) => {
    // Act
    const error = configError('dev', overrides);

    // Assess
    expect(error.issues).toEqual([expect.stringContaining(expected)]);
  });

  it.each(['allowFaultInjection', 'logRawInput'] as const)('rejects %s in a production stage', (key) => {
    // Act
    const error = configError('prod', { [key]: true });

    // Assess
    expect(error.issues).toEqual([`${key}: must be false in a production stage unless allowUnsafeProductionSettings is true`]);
  });

  it('allows fault injection in production only with the explicit override', () => {
    // Act
    const config = loadStageConfig('prod', { allowFaultInjection: true, allowUnsafeProductionSettings: true });

    // Assess
    expect(config.allowFaultInjection).toBe(true);
  });

  it('reports every problem at once, in an error named StageConfigError', () => {
    // Act
    const error = configError('dev', { processor: { maxConcurrency: 1, memoryMb: 64 } });

    // Assess
    expect(error.name).toBe('StageConfigError');
    expect(error.issues).toHaveLength(2);
    expect(error.message).toMatch(/^invalid stage config "dev":\n {2}- processor\.memoryMb: .*\n {2}- processor\.maxConcurrency: /);
  });
});

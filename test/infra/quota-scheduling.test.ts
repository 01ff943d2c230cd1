/**
 * Provider quotas in the stage config and the template (issue 14): the event source's batch size
 * and maxConcurrency follow from the primary model's RPM; the processor gets the quota and the
 * pacing switch in its environment.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { QUOTA_ENV } from '../../lambda/contract';
import { schedulingForQuota } from '../../lib/config/quota-config';
import { loadStageConfig } from '../../lib/config/stage-load';
import { type SynthesizedStage, synthStage } from './synth-stage';

const base = { batchSize: 10, recordConcurrency: 5, maxConcurrency: 5, timeoutSeconds: 30, expectedCallLatencyMs: 1000 };

describe('schedulingForQuota', () => {
  it.each([
    // rpm, expected maxConcurrency, expected batchSize
    [undefined, 5, 10], // no quota: as configured
    [600, 3, 10], // 10 calls/s; 2 s per batch of 10 → 5 calls/s per environment → ceil(1.25 × 10 / 5) = 3
    [120, 2, 10], // 2 calls/s: one environment is enough, 2 is the event source's least
    [6000, 5, 10], // 100 calls/s would need 25: capped at the configured 5
    [6, 2, 1], // 0.1 calls/s: a batch of 10 would wait 100 s for its tokens; one record per batch
  ])('rpm %s → maxConcurrency %s, batchSize %s', (rpm, maxConcurrency, batchSize) => {
    const scheduling = schedulingForQuota({ ...base, rpm });
    expect(scheduling.maxConcurrency).toBe(maxConcurrency);
    expect(scheduling.batchSize).toBe(batchSize);
    expect(scheduling.explanation.length).toBeGreaterThan(20);
  });
});

describe('stage config: quotas', () => {
  it('defaults to pacing on with no quota', () => {
    expect(loadStageConfig('dev').quotas).toEqual({ pacing: 'on', models: {}, expectedCallLatencyMs: 1000, atQuotaPercent: 90 });
  });

  it('refuses a model quota with neither rpm nor tpm, naming the key', () => {
    expect(() => loadStageConfig('dev', { quotas: { models: { 'sim-primary': {} } } } as never)).toThrow(/quotas/);
  });
});

describe('template', () => {
  let synth: SynthesizedStage | undefined;
  afterAll(() => synth?.dispose());

  it('sizes the event source from the primary RPM and passes the quota to the processor', () => {
    synth = synthStage('dev', { overrides: { quotas: { models: { 'sim-primary': { rpm: 600, tpm: 90_000 } } } } as never });
    const mappings = Object.values(synth.templateJson.Resources).filter((resource: any) => resource.Type === 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(1);
    expect((mappings[0] as any).Properties).toMatchObject({ BatchSize: 10, ScalingConfig: { MaximumConcurrency: 3 } });
    const fn = Object.values(synth.templateJson.Resources).find(
      (resource: any) => resource.Type === 'AWS::Lambda::Function' && resource.Properties.Environment?.Variables?.[QUOTA_ENV.MODEL_QUOTAS],
    ) as any;
    expect(JSON.parse(fn.Properties.Environment.Variables[QUOTA_ENV.MODEL_QUOTAS])).toEqual({ 'sim-primary': { rpm: 600, tpm: 90_000 } });
    expect(fn.Properties.Environment.Variables).toMatchObject({
      [QUOTA_ENV.RATE_PACING]: 'on',
      [QUOTA_ENV.QUOTA_WINDOW_MS]: '60000',
      [QUOTA_ENV.QUOTA_MAX_BURST]: '10',
    });
  });
});

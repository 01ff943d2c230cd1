/**
 * Drift is measured on what the models served (issue 13, item 8): an outage that moves serving to
 * the rules tier changes the answers' distribution without any change in the data. The serving
 * mix is scored on every item, as its own signal; every other feature only on model-served items.
 */
import { describe, expect, it } from 'vitest';
import { DRIFT_MAX_FEATURE, DRIFT_SERVING_MIX_FEATURE, METRIC, METRIC_DIMENSION } from '../../lambda/contract';
import { countFeatures, type FeatureDrift, maxScore } from '../../lambda/monitors/drift-assessment';
import { type DriftRun, driftMetrics } from '../../lambda/monitors/drift-monitor';
import { loadStageConfig } from '../../lib/config/stage-load';
import { buildAlarmCatalog } from '../../lib/observability/alarm-catalog';

const item = (tier: string, category: string) => ({ task: 'ticket-triage', features: { category, customerTier: 'pro', servingTier: tier } });

describe('countFeatures', () => {
  it('counts the serving tier on every item, the other features only on model-served items', () => {
    const items = [item('primary', 'billing'), item('secondary', 'billing'), item('rules', 'other'), item('rules', 'other'), item('human', 'other')];
    const counted = countFeatures(items).get('ticket-triage');
    expect(counted?.histograms.servingTier).toEqual({ primary: 1, secondary: 1, rules: 2, human: 1 });
    expect(counted?.histograms.category).toEqual({ billing: 2 });
    expect(counted?.histograms.customerTier).toEqual({ pro: 2 });
    expect(counted?.items).toBe(5);
  });
});

describe('scores', () => {
  const feature = (name: string, score: number): FeatureDrift =>
    ({ feature: name, score, psi: score, ordered: false, baselineItems: 100, windowItems: 100 }) as FeatureDrift;

  it('the data/model drift maximum leaves the serving mix out; the serving mix is published on its own', () => {
    const features = [feature('category', 0.05), feature('servingTier', 2.5)];
    expect(maxScore(features)).toBe(0.05);
    const run = {
      at: 1,
      tasks: [{ task: 'ticket-triage', status: 'scored', features, maxScore: maxScore(features), windowItems: 100, withoutFeatures: 0 }],
      maxScore: 0.05,
    } as unknown as DriftRun;
    const data = driftMetrics(run, 'dev').filter((datum) => datum.name === METRIC.DRIFT_SCORE && datum.dimensions[METRIC_DIMENSION.TASK] === undefined);
    expect(data.map((datum) => [datum.dimensions[METRIC_DIMENSION.FEATURE], datum.value])).toEqual([
      [DRIFT_MAX_FEATURE, 0.05],
      [DRIFT_SERVING_MIX_FEATURE, 2.5],
    ]);
  });

  it('a drift alarm says when the serving mix moved', () => {
    const alarm = buildAlarmCatalog(loadStageConfig('dev')).alarms.find((candidate) => candidate.id === 'serving-mix-shift');
    expect(
      alarm?.signal.kind === 'metric' && alarm.signal.metric.source.kind === 'pipeline' && alarm.signal.metric.source.dimensions[METRIC_DIMENSION.FEATURE],
    ).toBe(DRIFT_SERVING_MIX_FEATURE);
    expect(alarm?.severity).toBe('ticket');
  });
});

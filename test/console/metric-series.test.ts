/**
 * The console's charts of a deployed stage: which GetMetricData queries the catalog's dashboard
 * becomes (the resource dimensions of this stage's queues, function and tables), and how the
 * answers land in the charts. CloudWatch is a stub here (moto has no SEARCH); no network.
 */
import type { CloudWatchClient, GetMetricDataCommand, MetricDataQuery, MetricDataResult } from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import { METRIC } from '../../lambda/contract';
import { catalogOfStage } from '../../lib/observability/stage-catalogs';
import { MetricSeriesReader, STAGE_WINDOW } from '../../pipectl/console/metric-series';
import type { PipelineTarget } from '../../pipectl/target';

const catalog = catalogOfStage('dev');
const NOW = Date.parse('2026-12-02T12:00:00Z');

/** A stage target whose CloudWatch answers every metric query with one point (value = its position), and SEARCH as told. */
function stageWith(search: (query: MetricDataQuery) => MetricDataResult[] | Error): { target: PipelineTarget; calls: MetricDataQuery[][] } {
  const calls: MetricDataQuery[][] = [];
  const cloudwatch = {
    async send(command: GetMetricDataCommand) {
      const queries = command.input.MetricDataQueries ?? [];
      calls.push(queries);
      const results: MetricDataResult[] = [];
      for (const [index, query] of queries.entries()) {
        if (query.Expression) {
          const answer = search(query);
          if (answer instanceof Error) throw answer;
          results.push(...answer);
        } else results.push({ Id: query.Id, Label: query.Label, Timestamps: [new Date(NOW - 60_000)], Values: [index] });
      }
      return { MetricDataResults: results };
    },
  } as unknown as CloudWatchClient;
  const target = {
    kind: 'stage',
    stage: 'dev',
    region: 'us-east-1',
    description: 'stage dev',
    production: false,
    resources: {
      inputQueueUrl: 'https://sqs.us-east-1.amazonaws.com/1/ci-Input',
      inputDlqUrl: 'https://sqs.us-east-1.amazonaws.com/1/ci-InputDlq',
      reviewQueueUrl: 'https://sqs.us-east-1.amazonaws.com/1/ci-Review',
      reviewDlqUrl: 'https://sqs.us-east-1.amazonaws.com/1/ci-ReviewDlq',
      ledgerTableName: 'ci-Ledger',
      controlTableName: 'ci-Control',
      processorFunctionName: 'ci-Processor',
      eventSourceMappingId: 'esm',
    },
    cloudwatch,
  } as unknown as PipelineTarget;
  return { target, calls };
}

const dimensionsOf = (query: MetricDataQuery) =>
  Object.fromEntries((query.MetricStat?.Metric?.Dimensions ?? []).map((dimension) => [dimension.Name, dimension.Value]));

describe('charts of a deployed stage', () => {
  it("queries every graph metric of the catalog with this stage's resource names, one-minute periods over three hours", async () => {
    const { target, calls } = stageWith(() => []);
    const rows = await new MetricSeriesReader(target, catalog).charts(NOW);
    const metricCall = calls.find((queries) => queries.every((query) => !query.Expression)) ?? [];
    expect(metricCall).toHaveLength(catalog.dashboard.flatMap((row) => row.graphs).flatMap((graph) => graph.left).length);
    const byName = (name: string) => metricCall.filter((query) => query.MetricStat?.Metric?.MetricName === name);
    expect(byName('ApproximateNumberOfMessagesVisible').map(dimensionsOf)).toEqual([
      { QueueName: 'ci-Input' },
      { QueueName: 'ci-InputDlq' },
      { QueueName: 'ci-Review' },
    ]);
    expect(byName('Invocations').map(dimensionsOf)).toEqual([{ FunctionName: 'ci-Processor' }]);
    expect(byName(METRIC.MODEL_LATENCY).map((query) => query.MetricStat?.Stat)).toEqual(['p50', 'p95', 'p99']);
    expect(dimensionsOf(byName(METRIC.RECORDS_COMPLETED)[0] as MetricDataQuery)).toEqual({ service: 'processor', stage: 'dev' });
    expect(new Set(metricCall.map((query) => query.MetricStat?.Period))).toEqual(new Set([60]));
    const chart = rows.flatMap((row) => row.charts).find((candidate) => candidate.title === 'Queue depth');
    expect(chart?.toMs).toBe(NOW);
    expect(chart && chart.toMs - chart.fromMs).toBe(STAGE_WINDOW.windowMs);
    // Each answer lands on its own line of its own chart.
    const position = metricCall.findIndex(
      (query) => query.MetricStat?.Metric?.MetricName === 'ApproximateNumberOfMessagesVisible' && dimensionsOf(query).QueueName === 'ci-InputDlq',
    );
    expect(chart?.series.find((series) => series.label === 'DLQ')?.points).toEqual([[NOW - 60_000, position]]);
  });

  it('draws a SEARCH breakdown as one line per series found', async () => {
    const { target } = stageWith((query) => [
      { Id: query.Id, Label: 'secondary', Timestamps: [new Date(NOW - 120_000), new Date(NOW - 60_000)], Values: [3, 4] },
      { Id: query.Id, Label: 'rules', Timestamps: [new Date(NOW - 60_000)], Values: [1] },
    ]);
    const rows = await new MetricSeriesReader(target, catalog).charts(NOW);
    const fallbacks = rows.flatMap((row) => row.charts).find((chart) => chart.title === 'Fallbacks by tier');
    expect(fallbacks?.series.filter((series) => series.label.startsWith('by tier: ')).map((series) => [series.label, series.points.length])).toEqual([
      ['by tier: secondary', 2],
      ['by tier: rules', 1],
    ]);
  });

  it('a failed SEARCH is said on its charts only; the others keep their data', async () => {
    const { target } = stageWith(() => Object.assign(new Error('SEARCH is not supported'), { name: 'InvalidParameterValue' }));
    const charts = (await new MetricSeriesReader(target, catalog).charts(NOW)).flatMap((row) => row.charts);
    const withSearch = catalog.dashboard
      .flatMap((row) => row.graphs)
      .filter((graph) => graph.search)
      .map((graph) => graph.title);
    expect(withSearch.length).toBeGreaterThan(0);
    for (const chart of charts) {
      if (withSearch.includes(chart.title)) expect(chart.notes.join(' ')).toMatch(/GetMetricData failed: SEARCH is not supported/);
      else expect(chart.notes).toEqual([]);
      expect(chart.series.some((series) => series.points.length > 0)).toBe(true);
    }
  });
});

import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import type { AlarmCatalog, DashboardGraph, MetricQuery, ResourceRole } from '../../lib/observability/alarm-types';
import { computeStatistic } from '../../local/alarm-rules';
import { emfDatapoints, MetricStore, type SeriesKey } from '../../local/log-sink';
import { resourceName } from '../triage';
import type { QueueStatus, StatusReport } from '../status';
import type { PipelineTarget } from '../target';

/** One line of a chart: (epoch ms, value) points, oldest first; periods without data are absent. */
export interface ChartSeries {
  readonly label: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

/** A dashboard graph with its data. */
export interface ChartData {
  readonly title: string;
  readonly width: number;
  readonly series: readonly ChartSeries[];
  readonly thresholds: ReadonlyArray<{ readonly label: string; readonly value: number }>;
  readonly fromMs: number;
  readonly toMs: number;
  /** What this chart cannot show here (a metric local mode does not observe, a failed read). */
  readonly notes: readonly string[];
}

/** A dashboard row with its charts. */
export interface ChartRow {
  readonly heading: string;
  readonly charts: readonly ChartData[];
}

/** The window and period the charts cover. */
export interface ChartWindow {
  readonly windowMs: number;
  readonly periodMs: number;
}

/** The CloudWatch dashboard's default interval and a one-minute period. */
export const STAGE_WINDOW: ChartWindow = { windowMs: 3 * 3_600_000, periodMs: 60_000 };
/** A local run lasts minutes and its clock runs faster: at most ten minutes, in periods of at most ten seconds. */
export const LOCAL_WINDOW: ChartWindow = { windowMs: 10 * 60_000, periodMs: 10_000 };

const RESOURCE_DIMENSION = { 'AWS/SQS': 'QueueName', 'AWS/Lambda': 'FunctionName', 'AWS/DynamoDB': 'TableName' } as const;

/** The CloudWatch identity of a catalog metric in this target. */
export function seriesKeyOf(target: PipelineTarget, query: MetricQuery): SeriesKey {
  const { source } = query;
  if (source.kind === 'pipeline') return { namespace: source.namespace, name: source.name, dimensions: source.dimensions };
  return {
    namespace: source.namespace,
    name: source.name,
    dimensions: { [RESOURCE_DIMENSION[source.namespace]]: resourceName(target, source.resource), ...(source.extraDimensions ?? {}) },
  };
}

const QUEUE_ROLE: Readonly<Record<QueueStatus['role'], ResourceRole | undefined>> = {
  input: 'inputQueue',
  inputDlq: 'inputDlq',
  review: 'reviewQueue',
  reviewDlq: 'reviewDlq',
};

/**
 * The data behind the dashboard's graphs, for the graphs the catalog declares (the same catalog
 * the CloudWatch dashboard is generated from, so the console cannot show a different picture).
 *
 * A deployed stage: one GetMetricData call per refresh, with the operator's credentials (the same
 * read `pipectl status` and `triage` make). Local mode has no CloudWatch: the pipeline metrics
 * come from the EMF lines of the processor log (read incrementally, parsed as local mode's alarm
 * evaluator parses them), and the queue metrics from the status reads the overview already makes.
 */
export class MetricSeriesReader {
  private readonly store = new MetricStore();
  private logOffset = 0;
  private logSize = 0;
  /** The first datapoint seen locally: a local run lasts a minute or two, and is drawn across the whole chart. */
  private firstSeen?: number;

  constructor(
    private readonly target: PipelineTarget,
    private readonly catalog: AlarmCatalog,
    readonly window: ChartWindow = target.kind === 'local' ? LOCAL_WINDOW : STAGE_WINDOW,
  ) {
    this.store.retentionMs = 2 * window.windowMs;
  }

  /** Locally: keeps the queue depths and ages a status read saw, as the SQS metrics would have. */
  recordStatus(report: StatusReport): void {
    if (this.target.kind !== 'local') return;
    for (const queue of report.queues) {
      const role = QUEUE_ROLE[queue.role];
      if (!role) continue;
      const dimensions = { QueueName: queue.name };
      const record = (name: string, value: number) => this.recordPoint({ namespace: 'AWS/SQS', name, dimensions, timestamp: report.at, values: [value] });
      record('ApproximateNumberOfMessagesVisible', queue.visible);
      record('ApproximateNumberOfMessagesNotVisible', queue.inFlight);
      record('ApproximateAgeOfOldestMessage', (queue.oldestAgeMs ?? 0) / 1000);
    }
  }

  /** Every row of the catalog's dashboard with its data up to `now`. */
  async charts(now = Date.now()): Promise<ChartRow[]> {
    if (this.target.kind === 'local') {
      this.readLog();
      // From the first datapoint (at least a minute, at most the window), in about 60 periods.
      const fromMs = Math.max(now - this.window.windowMs, Math.min(now - 60_000, (this.firstSeen ?? now) - 1000));
      const periodMs = Math.min(this.window.periodMs, Math.max(1000, Math.round((now - fromMs) / 60 / 1000) * 1000));
      return this.catalog.dashboard.map((row) => ({ heading: row.heading, charts: row.graphs.map((graph) => this.localChart(graph, fromMs, now, periodMs)) }));
    }
    return this.stageCharts(now - this.window.windowMs, now);
  }

  private recordPoint(point: SeriesKey & { readonly timestamp: number; readonly values: readonly number[] }): void {
    this.firstSeen = Math.min(this.firstSeen ?? point.timestamp, point.timestamp);
    this.store.record(point);
  }

  /**
   * One statistic of one catalog metric over the last `windowMs` (e.g. the model's p99 latency of
   * the last five minutes), or undefined without data.
   */
  async summary(query: MetricQuery, windowMs: number, now = Date.now()): Promise<number | undefined> {
    if (this.target.kind === 'local') {
      this.readLog();
      return computeStatistic(this.store.values(seriesKeyOf(this.target, query), now - windowMs, now), query.statistic);
    }
    if (!this.target.cloudwatch) return undefined;
    const period = Math.max(60, Math.round(windowMs / 60_000) * 60);
    const { MetricDataResults = [] } = await this.target.cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(now - period * 1000),
        EndTime: new Date(now),
        MetricDataQueries: [{ Id: 's0', MetricStat: this.metricStat(query, period) }],
      }),
    );
    return MetricDataResults[0]?.Values?.[0];
  }

  private localChart(graph: DashboardGraph, fromMs: number, toMs: number, periodMs: number): ChartData {
    const notes: string[] = [];
    const series = graph.left.map((query) => {
      if (query.source.kind === 'aws' && query.source.namespace !== 'AWS/SQS') {
        notes.push(`${query.label}: ${query.source.namespace} is not observed in local mode`);
        return { label: query.label, points: [] };
      }
      const key = seriesKeyOf(this.target, query);
      const points: Array<[number, number]> = [];
      for (let start = fromMs; start < toMs; start += periodMs) {
        const value = computeStatistic(this.store.values(key, start, start + periodMs), query.statistic);
        if (value !== undefined) points.push([start, value]);
      }
      return { label: query.label, points };
    });
    if (graph.search) notes.push(`${graph.search.label}: a CloudWatch SEARCH, shown on a deployed stage only`);
    notes.push(`local mode: ${periodMs / 1000}-second periods`);
    return { title: graph.title, width: graph.width, series, thresholds: graph.thresholds ?? [], fromMs, toMs, notes };
  }

  private async stageCharts(fromMs: number, toMs: number): Promise<ChartRow[]> {
    const graphs = this.catalog.dashboard.flatMap((row) => row.graphs);
    const period = this.window.periodMs / 1000;
    const metricQueries: MetricDataQuery[] = [];
    const searchQueries: MetricDataQuery[] = [];
    graphs.forEach((graph, graphIndex) => {
      for (const [index, query] of graph.left.entries()) {
        metricQueries.push({ Id: `g${graphIndex}m${index}`, Label: query.label, MetricStat: this.metricStat(query, period) });
      }
      if (graph.search) searchQueries.push({ Id: `g${graphIndex}s`, Expression: graph.search.expression, Label: graph.search.label });
    });
    // Two calls: a SEARCH that fails (an account without those metrics yet, an emulator without
    // SEARCH) costs its own breakdowns, not every chart.
    const [metrics, searches] = await Promise.all([this.metricData(metricQueries, fromMs, toMs), this.metricData(searchQueries, fromMs, toMs)]);
    return this.catalog.dashboard.map((row) => ({
      heading: row.heading,
      charts: row.graphs.map((graph) => {
        const index = graphs.indexOf(graph);
        const series: ChartSeries[] = graph.left.map((query, metricIndex) => ({
          label: query.label,
          points: metrics.series.get(`g${index}m${metricIndex}`)?.[0]?.points ?? [],
        }));
        for (const found of searches.series.get(`g${index}s`) ?? [])
          series.push({ label: `${graph.search?.label ?? 'search'}: ${found.label}`, points: found.points });
        const notes = [metrics.failure, graph.search ? searches.failure : undefined].filter((note): note is string => note !== undefined);
        return { title: graph.title, width: graph.width, series, thresholds: graph.thresholds ?? [], fromMs, toMs, notes };
      }),
    }));
  }

  /**
   * GetMetricData, every page, as series by query id (a SEARCH answers several series under its
   * id, told apart by label), or why it failed.
   */
  private async metricData(queries: MetricDataQuery[], fromMs: number, toMs: number): Promise<{ series: Map<string, ChartSeries[]>; failure?: string }> {
    const series = new Map<string, ChartSeries[]>();
    if (queries.length === 0) return { series };
    const cloudwatch = this.target.cloudwatch;
    if (!cloudwatch) return { series, failure: 'no CloudWatch client for this target' };
    try {
      let nextToken: string | undefined;
      do {
        // GetMetricData takes 500 queries per call; the catalog's dashboard has a few dozen.
        const page = await cloudwatch.send(
          new GetMetricDataCommand({
            StartTime: new Date(fromMs),
            EndTime: new Date(toMs),
            MetricDataQueries: queries,
            ScanBy: 'TimestampAscending',
            NextToken: nextToken,
          }),
        );
        for (const result of page.MetricDataResults ?? []) {
          const id = result.Id ?? '';
          const label = result.Label ?? '';
          const points = (result.Timestamps ?? []).map((at, index) => [at.getTime(), result.Values?.[index] ?? 0] as [number, number]);
          const list = series.get(id) ?? [];
          const existing = list.find((entry) => entry.label === label);
          if (existing) (existing.points as Array<readonly [number, number]>).push(...points);
          else list.push({ label, points });
          series.set(id, list);
        }
        nextToken = page.NextToken;
      } while (nextToken);
    } catch (error) {
      return { series, failure: `CloudWatch GetMetricData failed: ${(error as Error).message}` };
    }
    for (const list of series.values()) for (const entry of list) (entry.points as Array<readonly [number, number]>).sort((a, b) => a[0] - b[0]);
    return { series };
  }

  private metricStat(query: MetricQuery, periodSeconds: number): MetricDataQuery['MetricStat'] {
    const key = seriesKeyOf(this.target, query);
    return {
      Metric: { Namespace: key.namespace, MetricName: key.name, Dimensions: Object.entries(key.dimensions).map(([Name, Value]) => ({ Name, Value })) },
      Period: periodSeconds,
      Stat: query.statistic,
    };
  }

  /** Reads what the processor log gained since the last read; a log rewritten by a new run starts over. */
  private readLog(): void {
    const file = this.target.local?.logFile;
    if (!file || !existsSync(file)) return;
    const size = statSync(file).size;
    if (size < this.logSize) this.logOffset = 0;
    this.logSize = size;
    if (size <= this.logOffset) return;
    const buffer = Buffer.alloc(size - this.logOffset);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buffer, 0, buffer.length, this.logOffset);
    } finally {
      closeSync(fd);
    }
    const text = buffer.toString('utf8');
    // Only whole lines: the processor may be writing the last one right now.
    const end = text.lastIndexOf('\n');
    if (end < 0) return;
    this.logOffset += Buffer.byteLength(text.slice(0, end + 1));
    for (const line of text.slice(0, end).split('\n')) {
      if (!line.includes('"_aws"')) continue;
      try {
        for (const point of emfDatapoints(JSON.parse(line))) this.recordPoint(point);
      } catch {
        // A line that is not JSON is not a metric.
      }
    }
  }
}

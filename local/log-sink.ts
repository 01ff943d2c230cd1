import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Where the processor's stdout goes in local mode, standing in for CloudWatch Logs: every line is
 * appended to a log file, and Embedded Metric Format lines are extracted as CloudWatch would
 * extract them: one datapoint per (namespace, metric, dimension set), with the document's
 * timestamp and all its values. `metrics` keeps them for the local alarm evaluator; the running
 * totals per metric name feed the progress bar and the report's counters. The invariant never
 * reads either, it reads the emulators' state.
 */
export class LogSink {
  private readonly totals = new Map<string, number>();
  private readonly stream?: WriteStream;
  private readonly listeners = new Set<(name: string, value: number) => void>();
  /** Every EMF datapoint so far (older ones pruned by the store's retention). */
  readonly metrics = new MetricStore();
  lines = 0;

  constructor(logFile?: string) {
    if (logFile) {
      mkdirSync(dirname(logFile), { recursive: true });
      this.stream = createWriteStream(logFile, { flags: 'w' });
    }
  }

  readonly write = (line: string): void => {
    this.lines += 1;
    this.stream?.write(`${line}\n`);
    if (!line.includes('"_aws"')) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return;
    }
    for (const [name, value] of emfValues(parsed)) {
      this.totals.set(name, (this.totals.get(name) ?? 0) + value);
      for (const listener of this.listeners) listener(name, value);
    }
    for (const point of emfDatapoints(parsed)) this.metrics.record(point);
  };

  /** The sum of a metric over every EMF line so far (0 when it never appeared). */
  total(name: string): number {
    return this.totals.get(name) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.totals].sort(([a], [b]) => a.localeCompare(b)));
  }

  onMetric(listener: (name: string, value: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    const stream = this.stream;
    if (stream) await new Promise<void>((resolve) => stream.end(resolve));
  }
}

/** The (metric name, summed value) pairs of one EMF document. */
export function emfValues(document: unknown): Array<[string, number]> {
  if (!document || typeof document !== 'object') return [];
  const record = document as Record<string, unknown>;
  const values: Array<[string, number]> = [];
  for (const directive of directivesOf(record)) {
    for (const metric of directive.Metrics ?? []) {
      if (!metric.Name) continue;
      values.push([metric.Name, numbersOf(record[metric.Name]).reduce((total, item) => total + item, 0)]);
    }
  }
  return values;
}

/** One metric's values in one document under one dimension set: what CloudWatch stores from EMF. */
export interface MetricDatapoint {
  readonly namespace: string;
  readonly name: string;
  /** The full dimension set (name → value). An alarm matches it exactly. */
  readonly dimensions: Readonly<Record<string, string>>;
  /** Epoch milliseconds. */
  readonly timestamp: number;
  readonly values: readonly number[];
  readonly unit?: string;
}

interface EmfDirective {
  readonly Namespace?: string;
  readonly Dimensions?: ReadonlyArray<readonly string[]>;
  readonly Metrics?: ReadonlyArray<{ readonly Name?: string; readonly Unit?: string }>;
}

/**
 * The datapoints CloudWatch would extract from one EMF document: for every directive, every
 * metric under every dimension set (a set whose dimension has no string value in the document is
 * skipped, as CloudWatch rejects it). A directive without dimension sets yields the metric with
 * no dimensions. Documents without a numeric `_aws.Timestamp` yield nothing.
 */
export function emfDatapoints(document: unknown): MetricDatapoint[] {
  if (!document || typeof document !== 'object') return [];
  const record = document as Record<string, unknown>;
  const timestamp = (record._aws as { Timestamp?: unknown } | undefined)?.Timestamp;
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) return [];
  const points: MetricDatapoint[] = [];
  for (const directive of directivesOf(record)) {
    if (typeof directive.Namespace !== 'string') continue;
    const sets = directive.Dimensions && directive.Dimensions.length > 0 ? directive.Dimensions : [[]];
    for (const set of sets) {
      const dimensions = dimensionValues(record, set);
      if (!dimensions) continue;
      for (const metric of directive.Metrics ?? []) {
        if (!metric.Name) continue;
        const values = numbersOf(record[metric.Name]);
        if (values.length === 0) continue;
        points.push({ namespace: directive.Namespace, name: metric.Name, dimensions, timestamp, values, unit: metric.Unit });
      }
    }
  }
  return points;
}

/** The values of a dimension set's names, or undefined when one has no string value. */
function dimensionValues(record: Record<string, unknown>, names: readonly string[]): Record<string, string> | undefined {
  const dimensions: Record<string, string> = {};
  for (const name of names) {
    const value = record[name];
    if (typeof value !== 'string') return undefined;
    dimensions[name] = value;
  }
  return dimensions;
}

function directivesOf(record: Record<string, unknown>): readonly EmfDirective[] {
  const directives = (record._aws as { CloudWatchMetrics?: unknown } | undefined)?.CloudWatchMetrics;
  return Array.isArray(directives) ? (directives as EmfDirective[]) : [];
}

function numbersOf(raw: unknown): number[] {
  const items = Array.isArray(raw) ? raw : [raw];
  return items.filter((item): item is number => typeof item === 'number' && Number.isFinite(item));
}

/** The identity of a time series: namespace, name and the exact dimension set. */
export interface SeriesKey {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
}

/**
 * Datapoints by time series, for the alarm evaluator: CloudWatch's data model at the size of a
 * local run. Series are matched on the exact dimension set, as alarms match them. Written here
 * because no library keeps EMF datapoints queryable in memory; it is a map of arrays.
 */
export class MetricStore {
  private readonly series = new Map<string, Array<{ readonly timestamp: number; readonly values: readonly number[] }>>();
  /** Datapoints older than this (ms before the newest write) are dropped. @default 1 hour */
  retentionMs = 60 * 60 * 1000;
  private newest = 0;
  private writesSincePrune = 0;

  record(point: SeriesKey & { readonly timestamp: number; readonly values: readonly number[] }): void {
    const key = seriesKey(point);
    let points = this.series.get(key);
    if (!points) this.series.set(key, (points = []));
    points.push({ timestamp: point.timestamp, values: point.values });
    this.newest = Math.max(this.newest, point.timestamp);
    if (++this.writesSincePrune >= 1000) this.prune();
  }

  /** Every value of the series with a timestamp in [fromMs, toMs). */
  values(key: SeriesKey, fromMs: number, toMs: number): number[] {
    const values: number[] = [];
    for (const point of this.series.get(seriesKey(key)) ?? []) {
      if (point.timestamp >= fromMs && point.timestamp < toMs) values.push(...point.values);
    }
    return values;
  }

  /** The dimension sets seen for a metric name: what a developer checks when an alarm sees nothing. */
  dimensionSetsOf(namespace: string, name: string): Array<Record<string, string>> {
    const prefix = `${namespace}\u0000${name}\u0000`;
    return [...this.series.keys()].filter((key) => key.startsWith(prefix)).map((key) => JSON.parse(key.slice(prefix.length)) as Record<string, string>);
  }

  private prune(): void {
    this.writesSincePrune = 0;
    const cutoff = this.newest - this.retentionMs;
    for (const [key, points] of this.series) {
      const kept = points.filter((point) => point.timestamp >= cutoff);
      if (kept.length === 0) this.series.delete(key);
      else if (kept.length < points.length) this.series.set(key, kept);
    }
  }
}

function seriesKey({ namespace, name, dimensions }: SeriesKey): string {
  const sorted = Object.fromEntries(Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b)));
  return `${namespace}\u0000${name}\u0000${JSON.stringify(sorted)}`;
}

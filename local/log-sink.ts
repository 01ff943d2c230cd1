import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Where the processor's stdout goes in local mode, standing in for CloudWatch Logs: every line is
 * appended to a log file, and Embedded Metric Format lines are summed per metric name (what
 * CloudWatch would extract from them). Metrics here feed the progress bar and the report's
 * counters; the invariant never reads them, it reads the emulators' state.
 */
export class LogSink {
  private readonly totals = new Map<string, number>();
  private readonly stream?: WriteStream;
  private readonly listeners = new Set<(name: string, value: number) => void>();
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
  const directives = (record._aws as { CloudWatchMetrics?: Array<{ Metrics?: Array<{ Name?: string }> }> } | undefined)?.CloudWatchMetrics ?? [];
  const values: Array<[string, number]> = [];
  for (const directive of directives) {
    for (const metric of directive.Metrics ?? []) {
      if (!metric.Name) continue;
      const raw = record[metric.Name];
      const numbers = Array.isArray(raw) ? raw : [raw];
      const sum = numbers.reduce<number>((total, item) => total + (typeof item === 'number' && Number.isFinite(item) ? item : 0), 0);
      values.push([metric.Name, sum]);
    }
  }
  return values;
}

import { type MetricUnit, MetricUnit as Unit, type Metrics } from '@aws-lambda-powertools/metrics';
import { METRIC_DIMENSION } from '../contract';

/** The finer dimensions a metric may carry besides `service` and `stage` (see METRIC in lambda/contract.ts). */
export interface MetricDimensions {
  readonly task?: string;
  readonly model?: string;
  readonly tier?: string;
  readonly errorClass?: string;
  /** `baseline` or `canary` (lambda/processor/variants.ts). */
  readonly variant?: string;
}

type MetricUnitValue = (typeof MetricUnit)[keyof typeof MetricUnit];

interface Group {
  readonly dimensions: Record<string, string>;
  /** Count-like metrics, summed. */
  readonly sums: Map<string, { unit: MetricUnitValue; value: number }>;
  /** Distributions (latency, age): every value kept, so CloudWatch can compute percentiles. */
  readonly samples: Map<string, { unit: MetricUnitValue; values: number[] }>;
}

/** Powertools flushes on its own at 100 values of one metric, dropping the dimensions set for the rest: stay under. */
const MAX_VALUES_PER_DOCUMENT = 90;

/**
 * The metrics of one batch, gathered in memory and written as EMF at the end: one document per
 * set of finer dimensions, each published under two dimension sets — `service`+`stage` (what the
 * alarms read, see ALARM_DIMENSIONS in lambda/contract.ts) and `service`+`stage`+the finer ones.
 * Counts are summed per batch, so a batch of ten records writes a handful of log lines, not one
 * per event.
 *
 * Powertools' `singleMetric()` would write one line per metric and value; its shared dimension
 * store cannot hold different dimensions for different metrics of one document.
 */
export class BatchMetrics {
  private readonly groups = new Map<string, Group>();

  /** Adds to a summed metric (counts, tokens, dollars). */
  count(name: string, value: number, dimensions: MetricDimensions = {}, unit: MetricUnitValue = Unit.Count): void {
    if (!Number.isFinite(value)) return;
    const sums = this.group(dimensions).sums;
    const entry = sums.get(name);
    if (entry) entry.value += value;
    else sums.set(name, { unit, value });
  }

  /** Records one value of a distribution (latency, age). */
  observe(name: string, value: number, dimensions: MetricDimensions = {}, unit: MetricUnitValue = Unit.Milliseconds): void {
    if (!Number.isFinite(value)) return;
    const samples = this.group(dimensions).samples;
    const entry = samples.get(name);
    if (entry) entry.values.push(value);
    else samples.set(name, { unit, values: [value] });
  }

  /** Writes everything gathered and starts empty. */
  publish(metrics: Metrics): void {
    for (const group of this.groups.values()) {
      const chunks = Math.max(1, ...[...group.samples.values()].map((entry) => Math.ceil(entry.values.length / MAX_VALUES_PER_DOCUMENT)));
      for (let chunk = 0; chunk < chunks; chunk += 1) {
        metrics.addDimensions({});
        if (Object.keys(group.dimensions).length > 0) metrics.addDimensions(group.dimensions);
        if (chunk === 0) for (const [name, { unit, value }] of group.sums) metrics.addMetric(name, unit, value);
        for (const [name, { unit, values }] of group.samples) {
          for (const value of values.slice(chunk * MAX_VALUES_PER_DOCUMENT, (chunk + 1) * MAX_VALUES_PER_DOCUMENT)) metrics.addMetric(name, unit, value);
        }
        metrics.publishStoredMetrics();
      }
    }
    this.groups.clear();
  }

  private group(dimensions: MetricDimensions): Group {
    // A fixed order, so the same dimensions always land in the same group. The key is built without
    // an object or JSON per observation: this runs several times per record (issue 17's profile).
    let key = '';
    for (const name of GROUP_DIMENSIONS) key += `${dimensions[name] ?? ''}\u0000`;
    let group = this.groups.get(key);
    if (!group) {
      const clean: Record<string, string> = {};
      for (const name of GROUP_DIMENSIONS) {
        const value = dimensions[name];
        if (value) clean[name] = value;
      }
      group = { dimensions: clean, sums: new Map(), samples: new Map() };
      this.groups.set(key, group);
    }
    return group;
  }
}

const GROUP_DIMENSIONS = [
  METRIC_DIMENSION.TASK,
  METRIC_DIMENSION.MODEL,
  METRIC_DIMENSION.TIER,
  METRIC_DIMENSION.ERROR_CLASS,
  METRIC_DIMENSION.VARIANT,
] as const;

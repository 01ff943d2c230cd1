import { CloudWatchClient, PutMetricDataCommand, type StandardUnit } from '@aws-sdk/client-cloudwatch';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC, METRIC_DIMENSION, METRICS_NAMESPACE, type MetricService } from '../contract';
import { MonitorDependencyError } from './errors';
import type { MetricsPublisherName } from './monitor-config';

/** One data point. `dimensions` is the complete set, `service` and `stage` included. */
export interface MetricDatum {
  readonly name: string;
  readonly value: number;
  readonly unit: 'Count' | 'None';
  readonly dimensions: Readonly<Record<string, string>>;
  /** Epoch ms. */
  readonly timestamp: number;
}

/**
 * The heartbeat a scheduled monitor publishes when a run has done its work, with its other
 * metrics (one PutMetricData call): `MonitorHeartbeat` = 1 under (service, stage), what the
 * catalog's heartbeat alarm reads.
 */
export function monitorHeartbeat(service: MetricService, stage: string, timestamp: number): MetricDatum {
  return {
    name: METRIC.MONITOR_HEARTBEAT,
    value: 1,
    unit: 'Count',
    dimensions: { [METRIC_DIMENSION.SERVICE]: service, [METRIC_DIMENSION.STAGE]: stage },
    timestamp,
  };
}

/**
 * Where the monitors' metrics go. On AWS: CloudWatch PutMetricData. In local mode: EMF lines on
 * stdout, which the local Lambda runtime hands to the LogSink, where the local alarm evaluator
 * reads them — so both paths feed the same catalog alarms.
 */
export interface MetricsPublisher {
  publish(data: readonly MetricDatum[]): Promise<void>;
}

/** PutMetricData accepts at most 1,000 data points per request. */
const PUT_METRIC_DATA_LIMIT = 1000;

/**
 * PutMetricData, as the issue asks for the monitors: one call per run (a few dozen points), not
 * on any hot path. The role may only put into the pipeline's namespace (a `cloudwatch:namespace`
 * condition, lib/constructs/monitors.ts).
 */
export class CloudWatchMetricsPublisher implements MetricsPublisher {
  constructor(
    private readonly client: CloudWatchClient,
    private readonly namespace: string = METRICS_NAMESPACE,
  ) {}

  async publish(data: readonly MetricDatum[]): Promise<void> {
    for (let start = 0; start < data.length; start += PUT_METRIC_DATA_LIMIT) {
      const chunk = data.slice(start, start + PUT_METRIC_DATA_LIMIT);
      try {
        await this.client.send(
          new PutMetricDataCommand({
            Namespace: this.namespace,
            MetricData: chunk.map((datum) => ({
              MetricName: datum.name,
              Value: datum.value,
              Unit: datum.unit as StandardUnit,
              Timestamp: new Date(datum.timestamp),
              Dimensions: Object.entries(datum.dimensions).map(([Name, Value]) => ({ Name, Value })),
            })),
          }),
        );
      } catch (error) {
        throw new MonitorDependencyError('cloudwatch', `PutMetricData failed: ${(error as Error).message}`, { cause: error });
      }
    }
  }
}

/**
 * Embedded Metric Format lines through Powertools Metrics (`singleMetric`, one document per data
 * point so each keeps its own dimension set), written to stdout as a Lambda's metrics are.
 */
export class EmfMetricsPublisher implements MetricsPublisher {
  constructor(private readonly namespace: string = METRICS_NAMESPACE) {}

  async publish(data: readonly MetricDatum[]): Promise<void> {
    for (const datum of data) {
      const { [METRIC_DIMENSION.SERVICE]: service, ...rest } = datum.dimensions;
      // serviceName becomes the `service` dimension; no default dimensions, so the set is exactly datum.dimensions.
      const metric = new Metrics({ namespace: this.namespace, serviceName: service ?? 'monitor' }).singleMetric();
      for (const [name, value] of Object.entries(rest)) metric.addDimension(name, value);
      metric.setTimestamp(datum.timestamp);
      // singleMetric flushes at addMetric.
      metric.addMetric(datum.name, datum.unit === 'Count' ? MetricUnit.Count : MetricUnit.NoUnit, datum.value);
    }
  }
}

/** The publisher a monitor's environment names. The CloudWatch client honours AWS_ENDPOINT_URL_CLOUDWATCH. */
export function createPublisher(name: MetricsPublisherName): MetricsPublisher {
  return name === 'emf' ? new EmfMetricsPublisher() : new CloudWatchMetricsPublisher(new CloudWatchClient({}));
}

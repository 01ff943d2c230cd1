import { DRIFT_MAX_FEATURE, METRIC, METRIC_DIMENSION, METRICS_NAMESPACE } from '../../lambda/contract';
import type { StageConfig } from '../config/stage-types';
import type { AlarmDefinition, MetricQuery, MetricUnit, PipelineMetricName, ResourceRole, Statistic } from './alarm-types';

/*
 * What every alarm family of the catalog shares: the metric factories of a stage and the commands
 * a runbook section's first steps start from. Each family (processor-alarms.ts, model-alarms.ts,
 * …) is a function of the stage config and these factories; alarm-catalog.ts assembles them.
 */

/** An alarm as a family declares it: the catalog adds the `name` (`<stack>-<id>`). */
export type AlarmEntry = Omit<AlarmDefinition, 'name'>;

/** A metric the pipeline publishes (EMF), with the dimensions the publisher sets. */
export type PipelineMetricFactory = (
  name: PipelineMetricName,
  statistic: Statistic,
  unit: MetricUnit,
  label: string,
  service?: string,
  feature?: string,
) => MetricQuery;
/** An AWS/SQS metric of one of the stack's queues. */
export type SqsMetricFactory = (name: string, resource: ResourceRole, statistic: Statistic, unit: MetricUnit, label: string) => MetricQuery;
/** An AWS/Lambda metric of one of the stack's functions (the processor unless named). */
export type LambdaMetricFactory = (name: string, statistic: Statistic, unit: MetricUnit, label: string, resource?: ResourceRole) => MetricQuery;

/** The metric factories of one stage. */
export interface CatalogMetrics {
  readonly pipeline: PipelineMetricFactory;
  readonly sqs: SqsMetricFactory;
  readonly lambda: LambdaMetricFactory;
  /** Records served per period: completed by a tier, and escalated to human review. */
  readonly served: { readonly completed: MetricQuery; readonly escalated: MetricQuery };
}

/** The commands every section's first step starts from. */
export const STATUS = '`pipectl status`';
export const triage = (id: string) => `\`pipectl triage --alarm ${id} --since 3h\` (writes incident-<time>.md with the evidence; changes nothing)`;

/** The metric factories of a stage. */
export function catalogMetrics(config: StageConfig): CatalogMetrics {
  const stage = config.stage;
  // The processor's metrics carry the stage's serviceName (its POWERTOOLS_SERVICE_NAME); the monitors' their own.
  const pipeline: PipelineMetricFactory = (
    name: PipelineMetricName,
    statistic: Statistic,
    unit: MetricUnit,
    label: string,
    service: string = config.serviceName,
    feature: string = DRIFT_MAX_FEATURE,
  ): MetricQuery => ({
    source: {
      kind: 'pipeline',
      namespace: METRICS_NAMESPACE,
      name,
      dimensions: {
        [METRIC_DIMENSION.SERVICE]: service,
        [METRIC_DIMENSION.STAGE]: stage,
        ...(name === METRIC.DRIFT_SCORE ? { [METRIC_DIMENSION.FEATURE]: feature } : {}),
      },
    },
    statistic,
    unit,
    label,
  });
  const sqs: SqsMetricFactory = (name: string, resource: ResourceRole, statistic: Statistic, unit: MetricUnit, label: string): MetricQuery => ({
    source: { kind: 'aws', namespace: 'AWS/SQS', name, resource },
    statistic,
    unit,
    label,
  });
  const lambda: LambdaMetricFactory = (
    name: string,
    statistic: Statistic,
    unit: MetricUnit,
    label: string,
    resource: ResourceRole = 'processor',
  ): MetricQuery => ({
    source: { kind: 'aws', namespace: 'AWS/Lambda', name, resource },
    statistic,
    unit,
    label,
  });
  /** One metric per (table, operation): DynamoDB reports ThrottledRequests and SystemErrors per operation only. */
  const served = {
    completed: pipeline(METRIC.RECORDS_COMPLETED, 'Sum', 'Count', 'completed'),
    escalated: pipeline(METRIC.RECORDS_ESCALATED, 'Sum', 'Count', 'escalated'),
  };
  return { pipeline, sqs, lambda, served };
}

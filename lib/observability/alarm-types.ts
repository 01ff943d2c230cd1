import type { METRIC, METRICS_NAMESPACE } from '../../lambda/contract';
import type { EscalationConfig } from '../config/stage-types';
import type { MathExpression } from './metric-math';

/*
 * The shapes of the alarm catalog. Plain data, no aws-cdk-lib: the CDK construct, the dashboard,
 * RUNBOOK.md, `pipectl runbook` and the local alarm evaluator all read the same entries.
 */

/** `page` wakes someone (each paging alarm notifies the page topic); `ticket` is for working hours. */
export const SEVERITIES = ['page', 'ticket'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** CloudWatch's `TreatMissingData` values. */
export type TreatMissingData = 'breaching' | 'notBreaching' | 'ignore' | 'missing';

/** The comparisons the catalog uses (CloudWatch `ComparisonOperator` names). */
export type ComparisonOperator = 'GreaterThanOrEqualToThreshold' | 'GreaterThanThreshold' | 'LessThanThreshold';

/** CloudWatch statistics: the basic ones, or a percentile such as `p99`. */
export type Statistic = 'Sum' | 'Maximum' | 'Minimum' | 'Average' | 'SampleCount' | `p${number}`;

/** A metric name of the pipeline's own namespace. */
export type PipelineMetricName = (typeof METRIC)[keyof typeof METRIC];

/** The stack resources whose AWS-provided metrics the catalog reads. The construct maps each to its metric helper. */
export type ResourceRole =
  | 'inputQueue'
  | 'inputDlq'
  | 'reviewQueue'
  | 'reviewDlq'
  | 'processor'
  | 'reconciler'
  | 'driftMonitor'
  | 'ledgerTable'
  | 'controlTable';

/** What kind of quantity a metric is. Local mode converts durations from its scaled clock back to real time. */
export type MetricUnit = 'Count' | 'Seconds' | 'Milliseconds' | 'Percent' | 'None';

/** Where a metric comes from. */
export type MetricSource =
  | {
      readonly kind: 'pipeline';
      readonly namespace: typeof METRICS_NAMESPACE;
      readonly name: PipelineMetricName;
      /** Exactly the dimensions an alarm matches: `service` and `stage` (see ALARM_DIMENSIONS), plus `feature` for drift. */
      readonly dimensions: Readonly<Record<string, string>>;
    }
  | {
      readonly kind: 'aws';
      readonly namespace: 'AWS/SQS' | 'AWS/Lambda' | 'AWS/DynamoDB';
      readonly name: string;
      /** The resource whose name fills the namespace's resource dimension (QueueName, FunctionName, TableName). */
      readonly resource: ResourceRole;
      /** Dimensions besides the resource's, e.g. DynamoDB's `Operation`. */
      readonly extraDimensions?: Readonly<Record<string, string>>;
    };

/** One metric with its statistic: a graph line, or an input of an alarm. */
export interface MetricQuery {
  readonly source: MetricSource;
  readonly statistic: Statistic;
  readonly unit: MetricUnit;
  /** How a graph labels it. */
  readonly label: string;
}

/** What an alarm compares: one metric, or metric math over several (at most 10, CloudWatch's limit). */
export type AlarmSignal =
  | { readonly kind: 'metric'; readonly metric: MetricQuery }
  | {
      readonly kind: 'math';
      readonly expression: MathExpression;
      /** Inputs by metric id (lowercase first letter). Every id the expression uses is here. */
      readonly metrics: Readonly<Record<string, MetricQuery>>;
      readonly label: string;
      readonly unit: MetricUnit;
    };

/**
 * What the on-call engineer reads: RUNBOOK.md renders one section per alarm from this, in this
 * order. Commands are written as they are typed; `PIPECTL_STAGE` names the stage (see the top
 * of the runbook).
 */
export interface RunbookText {
  /** What the alarm means, in one or two sentences. */
  readonly meaning: string;
  /** What users and downstream consumers notice. */
  readonly impact: string;
  /** Stop the bleeding: the first commands to run, in order. */
  readonly firstFiveMinutes: readonly string[];
  /** How to tell a data problem from an infrastructure problem from model drift. */
  readonly diagnosis: { readonly data: string; readonly infrastructure: string; readonly model: string };
  /** Safe, reversible remediations. */
  readonly remediations: readonly string[];
  /** When NOT to automate the fix. */
  readonly doNotAutomate: string;
  /** How to know it is over. */
  readonly verifyRecovery: readonly string[];
  /** When to call someone else, and whom. */
  readonly escalate: string;
}

/** One alarm of the catalog. */
export interface AlarmDefinition {
  /** Stable, kebab-case: the runbook anchor, the construct id, the end of the alarm name. */
  readonly id: string;
  /** The CloudWatch alarm name: `<stack>-<id>`. */
  readonly name: string;
  readonly title: string;
  readonly severity: Severity;
  /** One line for the AlarmDescription and the runbook's index. */
  readonly summary: string;
  readonly signal: AlarmSignal;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly comparison: ComparisonOperator;
  /** From the stage config (observability.alarms). */
  readonly threshold: number;
  /** How the runbook writes the threshold, e.g. `messages`, `%`, `s`. */
  readonly thresholdUnit: string;
  readonly treatMissingData: TreatMissingData;
  /** Why these periods and this missing-data treatment: printed in the runbook. */
  readonly rationale: string;
  readonly runbook: RunbookText;
}

/** The composite alarm every paging alarm feeds: the dashboard's "is anything paging?"; it notifies nobody (the children page). */
export interface CompositeAlarmDefinition {
  readonly id: string;
  readonly name: string;
  readonly title: string;
  readonly severity: 'page';
  readonly summary: string;
  /** Ids of the alarms in its rule (ANY of them in ALARM). */
  readonly children: readonly string[];
  readonly runbook: RunbookText;
}

/** A graph of the dashboard. */
export interface DashboardGraph {
  readonly title: string;
  readonly left: readonly MetricQuery[];
  /** A CloudWatch SEARCH expression graphed as well (for per-dimension breakdowns such as tiers). */
  readonly search?: { readonly expression: string; readonly label: string };
  /** Horizontal lines: the thresholds of the alarms on these metrics. */
  readonly thresholds?: ReadonlyArray<{ readonly label: string; readonly value: number }>;
  /** 6, 8, 12 or 24 (the dashboard is 24 wide). */
  readonly width: number;
}

/** The catalog of one stage: the alarms, the composite, and the dashboard built from them. */
export interface AlarmCatalog {
  readonly stage: string;
  readonly stackName: string;
  /** Every alarm's name starts with this. */
  readonly alarmNamePrefix: string;
  readonly runbookBaseUrl: string;
  /** The region of the stage's console links (`observability.region`). */
  readonly region: string;
  /** Whom the runbook's escalate step names (`observability.escalation`). */
  readonly escalation: EscalationConfig;
  readonly alarms: readonly AlarmDefinition[];
  readonly composite: CompositeAlarmDefinition;
  /** Rows of the dashboard, top to bottom. */
  readonly dashboard: ReadonlyArray<{ readonly heading: string; readonly graphs: readonly DashboardGraph[] }>;
}

import * as path from 'node:path';
import { PROJECT_ROOT } from '../project-root';
import { FUNCTION_BUILD } from './function-bundling';
import { Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, LEDGER_INDEX, METRIC_SERVICE, METRICS_NAMESPACE, MONITOR_ENV } from '../../lambda/contract';
import type { StageConfig } from '../config/stage-types';

/** The repository root: the bundler's project root, where package-lock.json lives. */

/** The monitors' entry points; each exports `handler`. */
export const RECONCILER_ENTRY = path.join(PROJECT_ROOT, 'lambda', 'monitors', 'reconciler-handler.ts');
export const DRIFT_MONITOR_ENTRY = path.join(PROJECT_ROOT, 'lambda', 'monitors', 'drift-handler.ts');

/**
 * Why the monitors' PutMetricData statement has `Resource: '*'`: the action supports no resource
 * ARNs; the `cloudwatch:namespace` condition keeps it to the pipeline's namespace.
 */
const PUT_METRIC_DATA_REASON =
  "cloudwatch:PutMetricData has no resource-level permissions, so its Resource must be '*'; the statement is scoped " +
  "by a cloudwatch:namespace condition to the pipeline's own namespace, and allows no other action.";

/** Properties of {@link Monitors}. */
export interface MonitorsProps {
  /** The stage config: the `drift` and `completeness` sections, log settings, the input queue's maxReceiveCount. */
  readonly config: StageConfig;
  /** The ledger: both monitors query one index of it each, nothing else. */
  readonly ledgerTable: ITable;
  /** Jobs (the reconciler) and drift baselines (the drift monitor). */
  readonly controlTable: ITable;
  /**
   * The input queue's DLQ: the reconciler reads it (and makes what it read visible again at once)
   * to find messages SQS redrove behind the ledger's back (completeness.ts `DeadLetterWitness`).
   */
  readonly inputDeadLetterQueue: IQueue;
  /** The processor's event source mapping: the drift monitor's opt-in auto-pause disables it. */
  readonly eventSourceMappingId: string;
  readonly eventSourceMappingArn: string;
  /** Applied to the log groups. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The two scheduled monitors that read the ledger instead of trusting counters:
 * - the reconciler (every `completeness.scheduleMinutes`): jobs past their deadline with items
 *   missing → `IncompleteJobItems`;
 * - the drift monitor (every `drift.scheduleMinutes`): PSI per feature of the last window against
 *   the baseline → `DriftScore`.
 *
 * Each has its own role holding only what its handler does: a Query on one ledger index, the
 * control-table actions its items need, PutMetricData in the pipeline's namespace, and — only
 * when the stage opts into the auto-pause — UpdateEventSourceMapping on the processor's mapping.
 * The reconciler also reads and updates single ledger items (settling what SQS redrove behind the
 * ledger's back, fenced by the claim token) and receives from the input DLQ without deleting.
 * Neither can send to a queue, delete a message or invoke a model.
 *
 * A failed run is not retried by Lambda (asynchronous retries off): the next scheduled run is the
 * retry, and two runs never overlap because of a retry.
 */
export class Monitors extends Construct {
  public readonly reconciler: NodejsFunction;
  public readonly driftMonitor: NodejsFunction;
  public readonly reconcilerSchedule: Rule;
  public readonly driftSchedule: Rule;

  public constructor(scope: Construct, id: string, props: MonitorsProps) {
    super(scope, id);
    const { config, ledgerTable, controlTable } = props;
    const { drift, completeness } = config;
    const common = {
      [ENV.STAGE]: config.stage,
      [ENV.LEDGER_TABLE]: ledgerTable.tableName,
      [ENV.CONTROL_TABLE]: controlTable.tableName,
      [MONITOR_ENV.METRICS_PUBLISHER]: 'cloudwatch',
      [ENV.POWERTOOLS_METRICS_NAMESPACE]: METRICS_NAMESPACE,
      [ENV.POWERTOOLS_LOG_LEVEL]: config.processor.logLevel,
      NODE_OPTIONS: '--enable-source-maps',
    };

    this.reconciler = this.monitorFunction('Reconciler', {
      props,
      entry: RECONCILER_ENTRY,
      service: METRIC_SERVICE.RECONCILER,
      description: `${config.stage}: jobs past their deadline with items missing (IncompleteJobItems)`,
      memoryMb: completeness.memoryMb,
      timeoutSeconds: completeness.timeoutSeconds,
      environment: {
        ...common,
        [ENV.POWERTOOLS_SERVICE_NAME]: METRIC_SERVICE.RECONCILER,
        [ENV.MAX_RECEIVE_COUNT]: String(config.inputQueue.maxReceiveCount),
        [MONITOR_ENV.JOB_MAX_KEYS_RECORDED]: String(completeness.maxKeysRecorded),
        [ENV.INPUT_DLQ_URL]: props.inputDeadLetterQueue.queueUrl,
      },
      ledgerIndex: LEDGER_INDEX.BY_JOB,
      // Settling an item SQS redrove: one consistent read of it, then a write fenced by its claim token.
      ledgerItemActions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      // List the jobs (a filtered scan of the small control table), record each one's result.
      controlActions: ['dynamodb:Scan', 'dynamodb:UpdateItem'],
    });

    const autoPauseThreshold = drift.autoPauseThreshold ?? config.observability.alarms.driftPage;
    this.driftMonitor = this.monitorFunction('DriftMonitor', {
      props,
      entry: DRIFT_MONITOR_ENTRY,
      service: METRIC_SERVICE.DRIFT_MONITOR,
      description: `${config.stage}: PSI per feature of the last ${drift.windowMinutes} min against the baseline (DriftScore)`,
      memoryMb: drift.memoryMb,
      timeoutSeconds: drift.timeoutSeconds,
      environment: {
        ...common,
        [ENV.POWERTOOLS_SERVICE_NAME]: METRIC_SERVICE.DRIFT_MONITOR,
        [MONITOR_ENV.DRIFT_WINDOW_SECONDS]: String(drift.windowMinutes * 60),
        [MONITOR_ENV.DRIFT_EPSILON]: String(drift.epsilon),
        [MONITOR_ENV.DRIFT_MIN_SAMPLE]: String(drift.minSampleSize),
        [MONITOR_ENV.DRIFT_SMALL_SAMPLE]: String(drift.smallSampleSize),
        [MONITOR_ENV.DRIFT_SIGNIFICANCE]: String(drift.significanceLevel),
        [MONITOR_ENV.DRIFT_SAMPLE_SHARDS]: String(drift.sampleShards),
        [MONITOR_ENV.DRIFT_MAX_ITEMS]: String(drift.maxItemsPerRun),
        [MONITOR_ENV.DRIFT_AUTO_PAUSE]: String(drift.autoPause),
        ...(drift.autoPause
          ? { [MONITOR_ENV.DRIFT_AUTO_PAUSE_THRESHOLD]: String(autoPauseThreshold), [MONITOR_ENV.EVENT_SOURCE_MAPPING_ID]: props.eventSourceMappingId }
          : {}),
      },
      ledgerIndex: LEDGER_INDEX.BY_HOUR,
      // Read the baseline; write the pending marker and the first-full-day baseline.
      controlActions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
    });
    if (drift.autoPause) {
      this.driftMonitor.addToRolePolicy(new PolicyStatement({ actions: ['lambda:UpdateEventSourceMapping'], resources: [props.eventSourceMappingArn] }));
    }

    // Read and release, never delete: the DLQ's messages stay for the operator (pipectl dlq). The
    // depth tells the sweep whether anything arrived since the last one (dead-letter-witness.ts).
    props.inputDeadLetterQueue.grant(this.reconciler, 'sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes');
    props.inputDeadLetterQueue.encryptionMasterKey?.grantDecrypt(this.reconciler);
    this.reconcilerSchedule = this.schedule('ReconcilerSchedule', this.reconciler, completeness.scheduleMinutes, 'Runs the reconciler');
    this.driftSchedule = this.schedule('DriftSchedule', this.driftMonitor, drift.scheduleMinutes, 'Runs the drift monitor');
  }

  private monitorFunction(
    id: string,
    options: {
      readonly props: MonitorsProps;
      readonly entry: string;
      readonly service: string;
      readonly description: string;
      readonly memoryMb: number;
      readonly timeoutSeconds: number;
      readonly environment: Record<string, string>;
      readonly ledgerIndex: string;
      /** Item-level actions on the ledger table itself (not its indexes). @default none */
      readonly ledgerItemActions?: readonly string[];
      readonly controlActions: readonly string[];
    },
  ): NodejsFunction {
    const { props } = options;
    const logGroup = new LogGroup(this, `${id}LogGroup`, {
      retention: props.config.processor.logRetentionDays,
      removalPolicy: props.removalPolicy,
    });
    // Our own role, as the processor's: the default one's AWSLambdaBasicExecutionRole may write to
    // any log group in the account (AwsSolutions-IAM4).
    const role = new Role(this, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the ${props.config.stage} pipeline ${options.service}`,
    });
    logGroup.grantWrite(role);

    const fn = new NodejsFunction(this, id, {
      entry: options.entry,
      handler: 'handler',
      ...FUNCTION_BUILD,
      description: options.description,
      memorySize: options.memoryMb,
      timeout: Duration.seconds(options.timeoutSeconds),
      role,
      logGroup,
      // The next scheduled run is the retry; Lambda's own asynchronous retries would only overlap it.
      retryAttempts: 0,
      environment: options.environment,
    });

    // The ledger: Query on one index, not on the table and not on `/index/*`.
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${props.ledgerTable.tableArn}/index/${options.ledgerIndex}`] }));
    if (options.ledgerItemActions?.length) {
      role.addToPrincipalPolicy(new PolicyStatement({ actions: [...options.ledgerItemActions], resources: [props.ledgerTable.tableArn] }));
    }
    role.addToPrincipalPolicy(new PolicyStatement({ actions: [...options.controlActions], resources: [props.controlTable.tableArn] }));
    const putMetricData = new PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': METRICS_NAMESPACE } },
    });
    role.addToPrincipalPolicy(putMetricData);
    Validations.of(role).acknowledge({ id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]', reason: PUT_METRIC_DATA_REASON });
    return fn;
  }

  private schedule(id: string, target: NodejsFunction, minutes: number, what: string): Rule {
    return new Rule(this, id, {
      description: `${what} every ${minutes} min (${Stack.of(this).stackName})`,
      schedule: Schedule.rate(Duration.minutes(minutes)),
      // Delivery retries only: an event older than one period is dropped, the next one is due.
      targets: [new LambdaFunction(target, { retryAttempts: 2, maxEventAge: Duration.minutes(Math.max(1, minutes)) })],
    });
  }
}

import { CfnOutput, RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { CANARY_ALARM_ID, STACK_OUTPUT } from '../lambda/contract';
import type { RemovalPolicyName, StageConfig } from './config/stage-types';
import { CanaryRollbackAction } from './constructs/canary-rollback-action';
import { ControlTable } from './constructs/control-table';
import { LedgerTable } from './constructs/ledger-table';
import { Monitors } from './constructs/monitors';
import { Processor } from './constructs/processor';
import { WorkQueue } from './constructs/work-queue';
import { PipelineObservability } from './observability/pipeline-observability';

const REMOVAL_POLICY: Readonly<Record<RemovalPolicyName, RemovalPolicy>> = {
  destroy: RemovalPolicy.DESTROY,
  retain: RemovalPolicy.RETAIN,
};

/** Properties of a {@link PipelineStack}. */
export interface PipelineStackProps extends StackProps {
  /** The validated stage config (see `loadStageConfig`). */
  readonly config: StageConfig;
}

/**
 * The pipeline of one stage: input queue → processor → ledger, with the human-review queue.
 *
 * The stack only composes constructs and declares the outputs that `pipectl`, producers and local
 * mode read. Each output's id is its key in `STACK_OUTPUT`, so the CloudFormation output keys are
 * exactly those strings, and each value is a plain `Ref` to the resource it names.
 */
export class PipelineStack extends Stack {
  /** The queue producers send to, and its dead-letter queue. */
  public readonly inputQueue: WorkQueue;
  /** Records the fallback chain could not settle automatically, for a human. */
  public readonly reviewQueue: WorkQueue;
  /** The idempotency ledger. */
  public readonly ledger: LedgerTable;
  /** The customer-managed key of the tables, when the stage config asks for one. */
  public readonly dataKey?: Key;
  /** Breaker, budget, jobs and baselines: the small state every Lambda and pipectl share. */
  public readonly control: ControlTable;
  /** The processor Lambda and its event source. */
  public readonly processor: Processor;
  /** The scheduled reconciler and drift monitor, which read the ledger. */
  public readonly monitors: Monitors;
  /** The canary alarm's rollback action (EventBridge → Lambda). */
  public readonly canaryRollback: CanaryRollbackAction;
  /** Alarms from the catalog, the page and ticket topics, the dashboard. */
  public readonly observability: PipelineObservability;

  public constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = REMOVAL_POLICY[config.removalPolicy];

    this.inputQueue = new WorkQueue(this, 'InputQueue', {
      config: config.inputQueue,
      removalPolicy,
      purpose: 'pipeline input',
    });
    this.reviewQueue = new WorkQueue(this, 'HumanReviewQueue', {
      config: config.reviewQueue,
      removalPolicy,
      purpose: 'human review',
    });
    // One customer-managed key for both tables when the stage asks for it (prod does).
    this.dataKey = config.ledger.customerManagedKey
      ? new Key(this, 'DataKey', {
          enableKeyRotation: true,
          description: `Encrypts the ${config.stage} pipeline's ledger and control tables`,
          removalPolicy,
        })
      : undefined;
    this.ledger = new LedgerTable(this, 'Ledger', { config: config.ledger, removalPolicy, encryptionKey: this.dataKey });
    this.control = new ControlTable(this, 'Control', { config: config.ledger, removalPolicy, encryptionKey: this.dataKey });
    this.processor = new Processor(this, 'Processor', {
      config,
      inputQueue: this.inputQueue.queue,
      inputDeadLetterQueue: this.inputQueue.deadLetterQueue,
      reviewQueue: this.reviewQueue.queue,
      ledgerTable: this.ledger.table,
      controlTable: this.control.table,
      removalPolicy,
    });
    this.monitors = new Monitors(this, 'Monitors', {
      config,
      ledgerTable: this.ledger.table,
      controlTable: this.control.table,
      inputDeadLetterQueue: this.inputQueue.deadLetterQueue,
      eventSourceMappingId: this.processor.eventSource.eventSourceMappingId,
      eventSourceMappingArn: this.processor.eventSource.eventSourceMappingArn,
      removalPolicy,
    });

    if (this.dataKey) {
      // What the tables' grants do not add: every function that reads or writes them needs the key.
      // Exact actions (no GenerateDataKey*/ReEncrypt* wildcards); DescribeKey lets the SDK check it.
      for (const fn of [this.processor.function, this.monitors.reconciler, this.monitors.driftMonitor]) {
        this.dataKey.grant(fn, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey');
      }
    }

    this.observability = new PipelineObservability(this, 'Observability', {
      config,
      removalPolicy,
      resources: {
        inputQueue: this.inputQueue.queue,
        inputDeadLetterQueue: this.inputQueue.deadLetterQueue,
        reviewQueue: this.reviewQueue.queue,
        reviewDeadLetterQueue: this.reviewQueue.deadLetterQueue,
        processorFunction: this.processor.function,
        reconcilerFunction: this.monitors.reconciler,
        driftMonitorFunction: this.monitors.driftMonitor,
        ledgerTable: this.ledger.table,
        controlTable: this.control.table,
      },
    });

    // The canary alarm's unattended rollback (issue 15): EventBridge on its ALARM → a Lambda that sets canary.percent to 0.
    const canaryAlarm = this.observability.alarms.get(CANARY_ALARM_ID);
    if (!canaryAlarm) throw new Error(`the alarm catalog has no ${CANARY_ALARM_ID} alarm, which the canary rollback acts on`);
    this.canaryRollback = new CanaryRollbackAction(this, 'CanaryRollback', { config, alarm: canaryAlarm, controlTable: this.control.table, removalPolicy });
    if (this.dataKey) this.dataKey.grant(this.canaryRollback.function, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey');

    const outputs: ReadonlyArray<readonly [string, string, string]> = [
      [STACK_OUTPUT.INPUT_QUEUE_URL, this.inputQueue.queue.queueUrl, 'Send task messages here'],
      [STACK_OUTPUT.INPUT_DLQ_URL, this.inputQueue.deadLetterQueue.queueUrl, 'Input that failed or was rejected'],
      [STACK_OUTPUT.REVIEW_QUEUE_URL, this.reviewQueue.queue.queueUrl, 'Records escalated to a human'],
      [STACK_OUTPUT.REVIEW_DLQ_URL, this.reviewQueue.deadLetterQueue.queueUrl, 'Review messages received too often'],
      [STACK_OUTPUT.LEDGER_TABLE_NAME, this.ledger.table.tableName, 'The idempotency ledger: one item per input hash'],
      [STACK_OUTPUT.CONTROL_TABLE_NAME, this.control.table.tableName, 'Breaker, budget, jobs and drift baselines'],
      [STACK_OUTPUT.PROCESSOR_FUNCTION_NAME, this.processor.function.functionName, 'The processor Lambda'],
      [STACK_OUTPUT.PROCESSOR_EVENT_SOURCE_MAPPING_ID, this.processor.eventSource.eventSourceMappingId, 'pipectl pause|resume toggles this mapping'],
      [STACK_OUTPUT.PAGE_TOPIC_ARN, this.observability.pageTopic.topicArn, 'Pages: the composite "pipeline unhealthy" alarm'],
      [STACK_OUTPUT.TICKET_TOPIC_ARN, this.observability.ticketTopic.topicArn, 'Tickets: every alarm, ALARM and OK'],
      [STACK_OUTPUT.DASHBOARD_NAME, this.observability.dashboard.dashboardName, 'The CloudWatch dashboard built from the alarm catalog'],
    ];
    for (const [key, value, description] of outputs) {
      new CfnOutput(this, key, { value, description });
    }

    Tags.of(this).add('stage', config.stage);
  }
}

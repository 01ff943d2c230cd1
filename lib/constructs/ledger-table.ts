import type { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, type CfnTable, ProjectionType, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { LEDGER, LEDGER_INDEX } from '../../lambda/contract';
import type { LedgerConfig } from '../config/stage-types';

/** Properties of a {@link LedgerTable}. */
export interface LedgerTableProps {
  /** Point-in-time recovery and deletion protection, from the stage config. */
  readonly config: LedgerConfig;
  /** Retain in production, destroy in a sandbox. */
  readonly removalPolicy: RemovalPolicy;
  /** The customer-managed key the table is encrypted with; without one, the AWS-managed `aws/dynamodb` KMS key. */
  readonly encryptionKey?: IKey;
}

/**
 * The idempotency ledger: one item per input hash, the pipeline's single source of truth.
 *
 * On-demand billing, because the load follows the queue and is spiky; point-in-time recovery;
 * items expire through TTL on `LEDGER.TTL`; the stream carries old and new images so downstream
 * consumers (and monitors) can subscribe to results instead of polling.
 *
 * Two indexes serve the monitors, which read the ledger instead of counters (see
 * lambda/ledger/ledger-index.ts for the sharded keys):
 * - `byJob` (`jobShard`): every item of a job, for the reconciler and `pipectl jobs`; projects the
 *   status, lease end and receive count, what completeness needs;
 * - `byHour` (`hourShard`, `completedAt`): completed items by hour of completion, for the drift
 *   monitor; sparse (only completions set the key) and projects the task and the features only.
 * Both keys are attributes the processor's existing claim and complete writes set: no extra
 * request per message. Keys-plus-a-few projections keep each index write small.
 * CloudFormation adds one index per stack update: a table deployed before these existed needs
 * one deploy per index (comment one out for the first).
 *
 * A `Table` (AWS::DynamoDB::Table) rather than a `TableV2` (AWS::DynamoDB::GlobalTable): the
 * pipeline is single-region, and local mode creates its tables from this template's properties.
 *
 * Logical id: `<id>` + hash.
 */
export class LedgerTable extends Construct {
  /** The ledger table. */
  public readonly table: Table;

  public constructor(scope: Construct, id: string, props: LedgerTableProps) {
    super(scope, id);
    const { config, removalPolicy } = props;

    // 'Default' makes the table the default child, so its logical id is `<id>` + hash.
    this.table = new Table(this, 'Default', {
      partitionKey: { name: LEDGER.PARTITION_KEY, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: config.pointInTimeRecovery },
      timeToLiveAttribute: LEDGER.TTL,
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
      deletionProtection: config.deletionProtection,
      removalPolicy,
      // Always KMS: the stage's own key when it has one, else the AWS-managed aws/dynamodb key.
      encryption: props.encryptionKey ? TableEncryption.CUSTOMER_MANAGED : TableEncryption.AWS_MANAGED,
      encryptionKey: props.encryptionKey,
    });
    // The indexes are declared on the CloudFormation resource, not with `addGlobalSecondaryIndex`:
    // a `Table` that knows it has indexes makes every `TableGrants` on it (the processor's
    // included) grant `<table>/index/*` too. Nobody but the monitors reads an index, and they are
    // granted the exact index ARN (lib/constructs/monitors.ts), so the L2 is kept unaware.
    const resource = this.table.node.defaultChild as CfnTable;
    resource.globalSecondaryIndexes = [
      {
        indexName: LEDGER_INDEX.BY_JOB,
        keySchema: [{ attributeName: LEDGER.JOB_SHARD, keyType: 'HASH' }],
        projection: { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [LEDGER.STATUS, LEDGER.LEASE_UNTIL, LEDGER.RECEIVE_COUNT] },
      },
      {
        indexName: LEDGER_INDEX.BY_HOUR,
        keySchema: [
          { attributeName: LEDGER.HOUR_SHARD, keyType: 'HASH' },
          { attributeName: LEDGER.COMPLETED_AT, keyType: 'RANGE' },
        ],
        projection: { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [LEDGER.TASK, LEDGER.FEATURES] },
      },
    ];
    resource.attributeDefinitions = [
      { attributeName: LEDGER.PARTITION_KEY, attributeType: AttributeType.STRING },
      { attributeName: LEDGER.JOB_SHARD, attributeType: AttributeType.STRING },
      { attributeName: LEDGER.HOUR_SHARD, attributeType: AttributeType.STRING },
      { attributeName: LEDGER.COMPLETED_AT, attributeType: AttributeType.NUMBER },
    ];
  }
}

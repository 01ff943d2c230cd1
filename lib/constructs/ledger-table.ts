import type { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { LEDGER } from '../../lambda/contract';
import type { LedgerConfig } from '../config/stage-config';

/** Properties of a {@link LedgerTable}. */
export interface LedgerTableProps {
  /** Point-in-time recovery and deletion protection, from the stage config. */
  readonly config: LedgerConfig;
  /** Retain in production, destroy in a sandbox. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The idempotency ledger: one item per input hash, the pipeline's single source of truth.
 *
 * On-demand billing, because the load follows the queue and is spiky; point-in-time recovery;
 * items expire through TTL on `LEDGER.TTL`; the stream carries old and new images so downstream
 * consumers (and monitors) can subscribe to results instead of polling.
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
    });
  }
}

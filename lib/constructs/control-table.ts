import type { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { CONTROL } from '../../lambda/contract';
import type { LedgerConfig } from '../config/stage-types';

/** Properties of a {@link ControlTable}. */
export interface ControlTableProps {
  /** Point-in-time recovery and deletion protection follow the ledger's settings. */
  readonly config: LedgerConfig;
  readonly removalPolicy: RemovalPolicy;
  /** The customer-managed key the table is encrypted with; without one, the AWS-managed `aws/dynamodb` KMS key. */
  readonly encryptionKey?: IKey;
}

/**
 * The pipeline's small shared state, one item per thing (see `CONTROL` in lambda/contract.ts):
 * the circuit breaker of each model (shared by every Lambda), the hourly budget, registered jobs,
 * drift baselines. Kept apart from the ledger so the ledger holds only results, its stream
 * carries only results, and a scan of one never reads the other.
 *
 * Logical id: `<id>` + hash.
 */
export class ControlTable extends Construct {
  public readonly table: Table;

  public constructor(scope: Construct, id: string, props: ControlTableProps) {
    super(scope, id);
    this.table = new Table(this, 'Default', {
      partitionKey: { name: CONTROL.PARTITION_KEY, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.config.pointInTimeRecovery },
      timeToLiveAttribute: CONTROL.TTL,
      deletionProtection: props.config.deletionProtection,
      removalPolicy: props.removalPolicy,
      // Always KMS: the stage's own key when it has one, else the AWS-managed aws/dynamodb key.
      encryption: props.encryptionKey ? TableEncryption.CUSTOMER_MANAGED : TableEncryption.AWS_MANAGED,
      encryptionKey: props.encryptionKey,
    });
  }
}

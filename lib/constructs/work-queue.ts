import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { QueueConfig } from '../config/stage-types';

/** Properties of a {@link WorkQueue}. */
export interface WorkQueueProps {
  /** Visibility, retention and redrive settings, from the stage config. */
  readonly config: QueueConfig;
  /** Applied to the queue, its dead-letter queue and its key. */
  readonly removalPolicy: RemovalPolicy;
  /** What the queue carries; goes into the key's description. */
  readonly purpose: string;
}

/**
 * A queue with its dead-letter queue, both encrypted with a customer managed KMS key and reachable
 * over TLS only. A message goes to the dead-letter queue after `maxReceiveCount` receives, and the
 * dead-letter queue keeps messages longer than the queue does.
 *
 * Logical ids: the queue is `<id>` + hash, the DLQ `<id>DeadLetterQueue` + hash, the key
 * `<id>Key` + hash.
 */
export class WorkQueue extends Construct {
  /** The queue producers send to. */
  public readonly queue: Queue;
  /** Where messages go after `maxReceiveCount` failed receives. */
  public readonly deadLetterQueue: Queue;
  /** The key that encrypts both queues. */
  public readonly encryptionKey: Key;

  public constructor(scope: Construct, id: string, props: WorkQueueProps) {
    super(scope, id);
    const { config, removalPolicy } = props;

    // Why a customer managed key, when cdk-nag's AwsSolutions-SQS2 would accept less:
    // - SSE-SQS (the default) encrypts with keys SQS owns: there is no key policy, key use is not
    //   in CloudTrail, and only the queue policy stands between a principal and the plaintext.
    // - The AWS managed key (alias/aws/sqs) is KMS, but its key policy cannot be edited, so SNS,
    //   EventBridge or another account can never be allowed to send, nor access revoked at the key.
    // - With our own key, reading a message takes an IAM grant on the key as well as on the queue,
    //   each use is in CloudTrail, and rotation is on (AwsSolutions-KMS5). One key per queue pair
    //   keeps a consumer of one queue from decrypting another's messages; a key costs $1 a month.
    this.encryptionKey = new Key(this, 'Key', {
      description: `Encrypts the ${props.purpose} queue and its dead-letter queue`,
      enableKeyRotation: true,
      removalPolicy,
    });

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: this.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(config.dlqRetentionDays),
      removalPolicy,
    });

    // The id 'Default' makes this the construct's default child, so its logical id is the
    // construct's id plus a hash (e.g. InputQueue1A2B3C4D) rather than InputQueueQueue....
    this.queue = new Queue(this, 'Default', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: this.encryptionKey,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(config.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(config.retentionDays),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: config.maxReceiveCount },
      removalPolicy,
    });
  }
}

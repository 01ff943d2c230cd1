import * as path from 'node:path';
import { PROJECT_ROOT } from '../project-root';
import { FUNCTION_BUILD } from './function-bundling';
import { providerBundling } from './provider-bundling';
import { ArnFormat, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { type ITable, TableGrants } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { type IQueue, QueueGrants } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, METRICS_NAMESPACE, QUOTA_ENV } from '../../lambda/contract';
import type { StageConfig } from '../config/stage-types';
import { type QuotaScheduling, schedulingForQuota } from '../config/quota-config';

/** The repository root: the bundler's project root, where package-lock.json lives. */

/** The processor's entry point; it exports `handler`. */
export const PROCESSOR_ENTRY = path.join(PROJECT_ROOT, 'lambda', 'processor', 'handler.ts');

/** The IAM actions the processor gets on the ledger table: claim, complete, read. No delete, no admin. */
const LEDGER_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] as const;
/** The control table: read and update the breaker and budget items by key; never delete. */
const CONTROL_ACTIONS = ['dynamodb:GetItem', 'dynamodb:UpdateItem'] as const;

/**
 * KMS actions a producer needs to send to a queue encrypted with a customer managed key, as the
 * SQS documentation lists them: SQS generates data keys on the producer's behalf and decrypts
 * them again while it reuses one (for the data key reuse period).
 */
const SEND_KEY_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'];

/** Properties of a {@link Processor}. */
export interface ProcessorProps {
  /** The stage config: function sizing, event source, runtime settings. */
  readonly config: StageConfig;
  /** The queue the processor consumes. */
  readonly inputQueue: IQueue;
  /** The input queue's dead-letter queue: the processor sends rejected input there at once. */
  readonly inputDeadLetterQueue: IQueue;
  /** Where records that need a human go. */
  readonly reviewQueue: IQueue;
  /** The idempotency ledger. */
  readonly ledgerTable: ITable;
  /** Breaker and budget state shared by every invocation. */
  readonly controlTable: ITable;
  /** Applied to the log group. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The processor Lambda, fed by the input queue through an SQS event source with partial batch
 * responses, with its own log group and a role that holds only what the handler uses.
 *
 * Logical ids: the function is `<id>` + hash, its role `<id>ServiceRole` + hash, its log group
 * `<id>LogGroup` + hash; the event source mapping is a child of the function.
 */
export class Processor extends Construct {
  /** The processor function. */
  public readonly function: NodejsFunction;
  /** The function's log group, with the stage's retention. */
  public readonly logGroup: LogGroup;
  /** The SQS event source; its mapping id is what `pipectl pause|resume` disables and enables. */
  public readonly eventSource: SqsEventSource;

  public constructor(scope: Construct, id: string, props: ProcessorProps) {
    super(scope, id);
    const { config, inputQueue, inputDeadLetterQueue, reviewQueue, ledgerTable, controlTable } = props;
    const { processor } = config;
    // Provider quotas (issue 14): the event source's batch size and concurrency follow from the
    // primary model's RPM, so Lambda does not start environments that would only wait for tokens.
    const scheduling = schedulingForQuota({
      rpm: config.quotas.pacing !== 'off' ? config.quotas.models[config.model.primaryModelId]?.rpm : undefined,
      batchSize: processor.batchSize,
      recordConcurrency: processor.recordConcurrency,
      maxConcurrency: processor.maxConcurrency,
      timeoutSeconds: processor.timeoutSeconds,
      expectedCallLatencyMs: config.quotas.expectedCallLatencyMs,
    });

    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: processor.logRetentionDays,
      removalPolicy: props.removalPolicy,
    });

    // Our own role instead of the default one: the default attaches AWSLambdaBasicExecutionRole,
    // which may create and write to any log group in the account (AwsSolutions-IAM4). This role may
    // only write to the function's own log group.
    const role = new Role(this, 'ServiceRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the ${config.stage} pipeline processor`,
    });
    this.logGroup.grantWrite(role);

    // 'Default' makes the function the default child, so its logical id is `<id>` + hash.
    this.function = new NodejsFunction(this, 'Default', {
      entry: PROCESSOR_ENTRY,
      handler: 'handler',
      ...FUNCTION_BUILD,
      // Only the model provider the stage's config selects: the others' SDK clients are left out (issue 17).
      bundling: { ...FUNCTION_BUILD.bundling, define: { ...providerBundling(config.model).define } },
      memorySize: processor.memoryMb,
      timeout: Duration.seconds(processor.timeoutSeconds),
      role,
      logGroup: this.logGroup,
      environment: {
        [ENV.STAGE]: config.stage,
        [ENV.LEDGER_TABLE]: ledgerTable.tableName,
        [ENV.CONTROL_TABLE]: controlTable.tableName,
        [ENV.INPUT_QUEUE_URL]: inputQueue.queueUrl,
        [ENV.INPUT_DLQ_URL]: inputDeadLetterQueue.queueUrl,
        [ENV.REVIEW_QUEUE_URL]: reviewQueue.queueUrl,
        [ENV.RECORD_CONCURRENCY]: String(processor.recordConcurrency),
        [ENV.CLAIMED_ELSEWHERE_VISIBILITY_SECONDS]: String(processor.claimedElsewhereVisibilitySeconds),
        [ENV.TIME_MARGIN_MS]: String(processor.timeMarginMs),
        [ENV.LEDGER_TTL_DAYS]: String(config.ledger.ttlDays),
        [ENV.LOG_RAW_INPUT]: String(config.logRawInput),
        [ENV.ALLOW_FAULT_INJECTION]: String(config.allowFaultInjection),
        ...modelEnvironment(config),
        ...quotaEnvironment(config, scheduling),
        [ENV.POWERTOOLS_SERVICE_NAME]: config.serviceName,
        [ENV.POWERTOOLS_METRICS_NAMESPACE]: METRICS_NAMESPACE,
        [ENV.POWERTOOLS_LOG_LEVEL]: processor.logLevel,
        [ENV.POWERTOOLS_LOGGER_SAMPLE_RATE]: String(processor.recordLogSampleRate),
        // The bundle ships a source map; Node reads it at cold start only when asked to (stage setting).
        ...(processor.sourceMapStackTraces ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
      },
    });

    // The event source grants what polling needs: ReceiveMessage, DeleteMessage,
    // ChangeMessageVisibility (which the handler also uses to back failed records off),
    // GetQueueAttributes, GetQueueUrl, and kms:Decrypt on the queue's key.
    this.eventSource = new SqsEventSource(inputQueue, {
      batchSize: scheduling.batchSize,
      maxBatchingWindow: Duration.seconds(processor.maxBatchingWindowSeconds),
      reportBatchItemFailures: true,
      maxConcurrency: scheduling.maxConcurrency,
    });
    this.function.addEventSource(this.eventSource);

    // Only SendMessage: not the GetQueueAttributes/GetQueueUrl that `grantSendMessages` adds,
    // and only the two key actions sending needs, not its Encrypt, ReEncrypt* and GenerateDataKey*.
    for (const queue of [inputDeadLetterQueue, reviewQueue]) {
      QueueGrants.fromQueue(queue).actions(this.function, ['sqs:SendMessage'], { keyActions: SEND_KEY_ACTIONS });
    }

    // On the table only, not on `/index/*`: the handler reads and writes items by key.
    TableGrants.fromTable(ledgerTable).actions(this.function, ...LEDGER_ACTIONS);
    TableGrants.fromTable(controlTable).actions(this.function, ...CONTROL_ACTIONS);

    const { model } = config;
    if (model.provider === 'bedrock') {
      // Converse is authorised as InvokeModel, on exactly the configured models.
      this.function.addToRolePolicy(
        new PolicyStatement({
          sid: 'InvokeConfiguredModels',
          actions: ['bedrock:InvokeModel'],
          resources: modelIds(config).map((modelId) => bedrockModelArn(Stack.of(this), modelId)),
        }),
      );
    }
    if (model.provider === 'openai-compatible' && model.openAiCompatible) {
      // The complete ARN (the schema requires its suffix): the grant names the secret, no wildcard.
      // A secret encrypted with a customer managed key also needs kms:Decrypt on that key.
      this.function.addToRolePolicy(
        new PolicyStatement({
          sid: 'ReadModelApiKey',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [model.openAiCompatible.apiKeySecretArn],
        }),
      );
    }
  }
}

/** The model ids the processor may call: the primary and, when set, the secondary. */
function modelIds(config: StageConfig): string[] {
  return [config.model.primaryModelId, config.model.secondaryModelId].filter((id) => id !== '');
}

/**
 * The ARN IAM authorises a Bedrock call on: a model id names a foundation model in the stack's
 * region; an ARN (an inference profile, a provisioned model) is used as given.
 */
export function bedrockModelArn(stack: Stack, modelId: string): string {
  if (modelId.startsWith('arn:')) return modelId;
  return stack.formatArn({ service: 'bedrock', account: '', resource: 'foundation-model', resourceName: modelId, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
}

/** The quota and the pacing switch as the processor's environment (issue 14; names in `QUOTA_ENV`). */
function quotaEnvironment(config: StageConfig, scheduling: QuotaScheduling): Record<string, string> {
  return {
    [QUOTA_ENV.MODEL_QUOTAS]: JSON.stringify(config.quotas.models),
    [QUOTA_ENV.RATE_PACING]: config.quotas.pacing,
    // Local mode scales this like every other duration: the quota's minute runs at its time scale.
    [QUOTA_ENV.QUOTA_WINDOW_MS]: '60000',
    // One quota slot holds at most one batch.
    [QUOTA_ENV.QUOTA_MAX_BURST]: String(scheduling.batchSize),
  };
}

/**
 * The model layer's settings as the processor's environment (names in `ENV`). Durations that
 * local mode scales are in ms or s as their names say. No secret value is ever among them: the
 * OpenAI-compatible key is passed as its secret's ARN.
 */
function modelEnvironment(config: StageConfig): Record<string, string> {
  const { model, retry, breaker, budget, inputQueue } = config;
  return {
    [ENV.MODEL_PROVIDER]: model.provider,
    [ENV.PRIMARY_MODEL_ID]: model.primaryModelId,
    [ENV.SECONDARY_MODEL_ID]: model.secondaryModelId,
    ...(model.provider === 'openai-compatible' && model.openAiCompatible
      ? { [ENV.MODEL_BASE_URL]: model.openAiCompatible.baseUrl, [ENV.MODEL_API_KEY_SECRET_ARN]: model.openAiCompatible.apiKeySecretArn }
      : {}),
    [ENV.MODEL_MAX_OUTPUT_TOKENS]: String(model.maxOutputTokens),
    [ENV.MODEL_PRICES]: JSON.stringify(model.prices),
    [ENV.MIN_CONFIDENCE]: String(model.minConfidence),
    [ENV.TASK_POLICIES]: JSON.stringify(model.taskPolicies),
    [ENV.RETRY_MAX_ATTEMPTS]: String(retry.maxAttempts),
    [ENV.RETRY_BASE_DELAY_MS]: String(retry.baseDelayMs),
    [ENV.RETRY_MAX_DELAY_MS]: String(retry.maxDelayMs),
    [ENV.MODEL_CALL_TIMEOUT_MS]: String(retry.callTimeoutMs),
    [ENV.MODEL_CALLS_PER_RECEIVE]: String(retry.callsPerReceive),
    [ENV.MODEL_CALLS_PER_KEY]: String(retry.callsPerKey),
    [ENV.QUEUE_BACKOFF_BASE_SECONDS]: String(retry.queueBackoffBaseSeconds),
    [ENV.QUEUE_BACKOFF_MAX_SECONDS]: String(retry.queueBackoffMaxSeconds),
    [ENV.MAX_RECEIVE_COUNT]: String(inputQueue.maxReceiveCount),
    [ENV.BREAKER_FAILURE_THRESHOLD]: String(breaker.failureThreshold),
    [ENV.BREAKER_FAILURE_RATE_PERCENT]: String(breaker.failureRatePercent),
    [ENV.BREAKER_MIN_CALLS]: String(breaker.minCalls),
    [ENV.BREAKER_WINDOW_MS]: String(breaker.windowSeconds * 1000),
    [ENV.BREAKER_COOLDOWN_MS]: String(breaker.cooldownSeconds * 1000),
    [ENV.BREAKER_CACHE_MS]: String(breaker.cacheMs),
    [ENV.BREAKER_WHEN_OPEN]: breaker.whenOpen,
    [ENV.BUDGET_TOKENS_PER_HOUR]: String(budget.tokensPerHour),
    [ENV.BUDGET_USD_PER_HOUR]: String(budget.usdPerHour),
    [ENV.BUDGET_WHEN_EXHAUSTED]: budget.whenExhausted,
    [ENV.SIMULATOR_SEED]: String(model.simulatorSeed),
    [ENV.SIMULATOR_LATENCY_MS]: String(model.simulatorLatencyMs),
    // ── entity loops (issue 16) ──
    [ENV.ENTITY_DECISION_LIMIT]: String(config.entityLoops.decisionLimit),
    [ENV.ENTITY_WINDOW_SECONDS]: String(config.entityLoops.windowSeconds),
    [ENV.ENTITY_REUSE_THRESHOLD]: String(config.entityLoops.reuseThreshold),
    // ── change safety (issue 15) ──
    [ENV.SHADOW_MODEL_ID]: config.shadow.modelId,
    [ENV.SHADOW_PERCENT]: String(config.shadow.percent),
    [ENV.SHADOW_TASK_VERSION]: config.shadow.taskVersion,
    [ENV.SHADOW_MAX_PER_HOUR]: String(config.shadow.maxPerHour),
  };
}

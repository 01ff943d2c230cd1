import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, type KeyType, type ProjectionType, type ScalarAttributeType } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ENV, QUOTA_ENV, STACK_OUTPUT } from '../lambda/contract';
import { LOCAL_CREDENTIALS, OBSERVER_USER_AGENT, startEmulators, type Emulators } from './emulators';
import { EventSourcePoller, type InvocationReport } from './event-source-poller';
import { ExecutionEnvironment } from './lambda-runtime';
import { buildAlarmCatalog } from '../lib/observability/alarm-catalog';
import { loadStageConfig } from '../lib/config/stage-load';
import { LocalAlarmEvaluator } from './alarm-evaluator';
import { CanaryRollback } from './canary-rollback';
import { LogSink } from './log-sink';
import { ScheduledMonitors, type ScheduledMonitorsOptions } from './scheduled-monitors';
import { type FaultSpec, FaultSpecError, hasFaults, NO_FAULTS, parseFaultSpec, scaleFaultSpec } from './model-simulator/fault-spec';
import { type ModelSimulator, startModelSimulator } from './model-simulator/model-simulator';
import { holdCachedStack, synthesizeLocalStack, type LocalStackModel } from './stack-model';
import { AwsBoundary } from './aws-boundary/aws-boundary';
import { rateAt } from './fault-window';
import { hasInfraFaults, type InfraFaultCounts, scaleInfraFaultSpec, zeroInfraFaultCounts } from './aws-boundary/infra-fault-spec';
import { seededRandom, seedFromString } from '../lambda/shared/seeded-random';
import { functionAppId } from './call-attribution';
import type { PipelineResources } from '../pipectl/pipeline-resources';

/** How much faster than real time local mode runs its timeouts (0.1: a 30 s timeout is 3 s). */
export const DEFAULT_TIME_SCALE = 0.1;

/** Environment variables holding durations that the time scale applies to, and their unit. */
const SCALED_ENVIRONMENT: Readonly<Record<string, 'ms' | 's'>> = {
  [ENV.TIME_MARGIN_MS]: 'ms',
  [ENV.CLAIMED_ELSEWHERE_VISIBILITY_SECONDS]: 's',
  // The model layer's clock: retries, call timeouts, the breaker's window/cooldown/cache, the
  // queue-level backoff and the simulated latency all run at the same scale as the Lambda timeout.
  [ENV.RETRY_BASE_DELAY_MS]: 'ms',
  [ENV.RETRY_MAX_DELAY_MS]: 'ms',
  [ENV.MODEL_CALL_TIMEOUT_MS]: 'ms',
  [ENV.BREAKER_WINDOW_MS]: 'ms',
  [ENV.BREAKER_COOLDOWN_MS]: 'ms',
  [ENV.BREAKER_CACHE_MS]: 'ms',
  [ENV.SIMULATOR_LATENCY_MS]: 'ms',
  // The provider quota's minute (issue 14): rpm=600 at 0.1 is 600 calls per 6 s, like the simulator's.
  [QUOTA_ENV.QUOTA_WINDOW_MS]: 'ms',
  [ENV.QUEUE_BACKOFF_BASE_SECONDS]: 's',
  [ENV.QUEUE_BACKOFF_MAX_SECONDS]: 's',
};

export interface LocalPipelineOptions {
  /** @default 'dev' */
  readonly stage?: string;
  /** @default DEFAULT_TIME_SCALE */
  readonly timeScale?: number;
  /** Where the processor's log lines go. @default none (lines are parsed for metrics, then dropped) */
  readonly logFile?: string;
  /** Replace environment variables of the processor (e.g. a simulator seed); applied after scaling. */
  readonly environment?: Readonly<Record<string, string>>;
  /** Reuse an already synthesized stack (tests synthesize once per file). */
  readonly stack?: LocalStackModel;
  /** How each execution environment is isolated (see FunctionSpec.isolation). @default 'thread' */
  readonly isolation?: 'thread' | 'process';
  /** Extra Node options of `process` environments (the benchmark's CPU profile). */
  readonly execArgv?: readonly string[];
  /** Start polling the input queue at once. Tests that drive invocations by hand turn it off. @default true */
  readonly autoStart?: boolean;
  /** Called after every invocation. */
  readonly onInvocation?: (report: InvocationReport) => void;
  /**
   * Where the alarm evaluator writes the current alarm states (what `pipectl status --local` reads).
   * @default `alarms.json` next to `logFile`; nowhere without a log file
   */
  readonly alarmsFile?: string;
  /**
   * The stack's scheduled monitors (reconciler, drift monitor) on the local clock, with a drift
   * baseline pinned from a reference workload (local/scheduled-monitors.ts); `false`: none.
   * @default on, reference examples/tickets.jsonl
   */
  readonly monitors?: ScheduledMonitorsOptions | false;
  /**
   * Faults to inject (README, "Fault spec"), as a spec string or parsed: the model simulator's,
   * and the infrastructure's, which the AWS boundary and the poller inject; durations are real
   * time and run at `timeScale`. Refused when the stage's template does not allow fault
   * injection. @default none
   */
  readonly faults?: string | FaultSpec;
  /**
   * Attribute every AWS request to the function that made it, with its operation and resource
   * (`emulators.attribution`, local/call-attribution.ts): what the IAM coverage test compares with
   * the roles. Off by default: it reads every attributed request's body. @default false
   */
  readonly attributeCalls?: boolean;
}

/** Names and URLs of the local stack's resources, keyed like the stack outputs (no alarm names: local alarms are evaluated here). */
export type LocalResources = Omit<PipelineResources, 'alarmNamePrefix'>;

/** The whole pipeline on this machine: emulators, resources from the template, processor, event source. */
export interface LocalPipeline {
  readonly stack: LocalStackModel;
  readonly emulators: Emulators;
  readonly resources: LocalResources;
  /** Logical id → physical id (queue URL, table name, function name) of every resource local mode created. */
  readonly physicalIds: ReadonlyMap<string, string>;
  /** A client for the local SQS, marked as an observer so its calls are not counted as the pipeline's. */
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
  readonly logs: LogSink;
  /** The alarm catalog evaluated over what this run emits (local/alarm-evaluator.ts). */
  readonly alarms: LocalAlarmEvaluator;
  /** The reconciler and the drift monitor, unless started with `monitors: false`. */
  readonly monitors?: ScheduledMonitors;
  readonly poller: EventSourcePoller;
  readonly environments: readonly ExecutionEnvironment[];
  /** The input queue's ARN, as event records carry it. */
  readonly inputQueueArn: string;
  readonly timeScale: number;
  /** The processor's environment as local mode runs it (endpoints, scaled durations). */
  readonly processorEnvironment: Readonly<Record<string, string>>;
  /** The model endpoint the processor calls: the simulator, over the OpenAI-compatible API. */
  readonly simulator: ModelSimulator;
  /**
   * The proxy between the processor and the emulators that injects infrastructure faults
   * (local/aws-boundary/); only when the fault spec has any.
   */
  readonly boundary?: AwsBoundary;
  /** Infrastructure faults injected so far, by kind (all zero without a boundary). */
  infraFaults(): InfraFaultCounts;
  /**
   * When the infrastructure fault injection started (epoch ms): the clock of the infrastructure
   * items' `/FROM-TO` windows (`infraFaultWindow` is relative to it), started just before the
   * poller starts. `undefined` without infrastructure faults.
   */
  readonly infraFaultsStartedAt?: number;
  /** change safety (issue 15): the canary alarm's rollback action (local/canary-rollback.ts). */
  readonly canaryRollback: CanaryRollback;
  stop(): Promise<void>;
}

/** Starts everything; the poller is running when this resolves. */
export async function startLocalPipeline(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  const timeScale = options.timeScale ?? DEFAULT_TIME_SCALE;
  if (!(timeScale > 0 && timeScale <= 1)) throw new RangeError(`timeScale must be in (0, 1], got ${timeScale}`);
  const stack = options.stack ?? synthesizeLocalStack({ stage: options.stage });
  // Kept from pruning while it runs: environments start from its bundles at any time.
  const releaseStack = holdCachedStack(stack);
  const faultSpec = typeof options.faults === 'string' ? parseFaultSpec(options.faults) : (options.faults ?? NO_FAULTS);
  const emulators = await startEmulators({ attributeCalls: options.attributeCalls });
  let simulator: ModelSimulator | undefined;
  let boundary: AwsBoundary | undefined;
  try {
    const clientConfig = {
      region: emulators.region,
      credentials: LOCAL_CREDENTIALS,
      customUserAgent: OBSERVER_USER_AGENT,
      // fauxqs queue URLs name sqs.<region>.localhost, which need not resolve: always use the endpoint.
      useQueueUrlAsEndpoint: false,
    };
    const sqs = new SQSClient({ ...clientConfig, endpoint: emulators.sqsEndpoint });
    const { useQueueUrlAsEndpoint: _sqsOnly, ...dynamodbConfig } = clientConfig;
    const dynamodb = new DynamoDBClient({ ...dynamodbConfig, endpoint: emulators.dynamodbEndpoint });

    const physical = await provision(stack, sqs, dynamodb, timeScale);
    const resourceOf = (outputKey: string) => physical.get(stack.outputs[outputKey] as string) as string;
    const resources: LocalResources = {
      inputQueueUrl: resourceOf(STACK_OUTPUT.INPUT_QUEUE_URL),
      inputDlqUrl: resourceOf(STACK_OUTPUT.INPUT_DLQ_URL),
      reviewQueueUrl: resourceOf(STACK_OUTPUT.REVIEW_QUEUE_URL),
      reviewDlqUrl: resourceOf(STACK_OUTPUT.REVIEW_DLQ_URL),
      ledgerTableName: resourceOf(STACK_OUTPUT.LEDGER_TABLE_NAME),
      controlTableName: resourceOf(STACK_OUTPUT.CONTROL_TABLE_NAME),
      processorFunctionName: resourceOf(STACK_OUTPUT.PROCESSOR_FUNCTION_NAME),
      eventSourceMappingId: resourceOf(STACK_OUTPUT.PROCESSOR_EVENT_SOURCE_MAPPING_ID),
    };

    const overrides = options.environment ?? {};
    const templateEnvironment = buildEnvironment(stack, physical, emulators, timeScale, overrides);
    simulator = await startLocalModel(templateEnvironment, faultSpec, timeScale, stack.stackName);
    const seed = Number(templateEnvironment[ENV.SIMULATOR_SEED] ?? 42);
    const { eventSource } = stack;
    if (faultSpec.infra && hasInfraFaults(faultSpec.infra)) {
      boundary = await AwsBoundary.start({
        dynamodbEndpoint: emulators.dynamodbEndpoint,
        sqsEndpoint: emulators.sqsEndpoint,
        lanes: eventSource.maxConcurrency,
        faults: scaleInfraFaultSpec(faultSpec.infra, timeScale),
        seed,
      });
    }
    // The processor calls the simulator through the real OpenAI-compatible provider. No API key:
    // the endpoint is on loopback, the only case the processor accepts without a key's secret.
    const processorEnvironment: Record<string, string> = {
      ...templateEnvironment,
      [ENV.MODEL_PROVIDER]: 'openai-compatible',
      [ENV.MODEL_BASE_URL]: simulator.url,
      [ENV.MODEL_API_KEY_SECRET_ARN]: '',
      ...overrides,
    };
    const logs = new LogSink(options.logFile);
    const alarms = new LocalAlarmEvaluator({
      // The catalog of the config the stack was synthesized from, overrides included, as `cdk deploy` would create it.
      catalog: buildAlarmCatalog(loadStageConfig(options.stage ?? 'dev', stack.overrides), { stackName: stack.stackName }),
      metrics: logs.metrics,
      timeScale,
      sqsEndpoint: emulators.sqsEndpoint,
      queueUrls: {
        inputQueue: resources.inputQueueUrl,
        inputDlq: resources.inputDlqUrl,
        reviewQueue: resources.reviewQueueUrl,
        reviewDlq: resources.reviewDlqUrl,
      },
      stateFile: options.alarmsFile ?? (options.logFile ? join(dirname(options.logFile), 'alarms.json') : undefined),
      scheduledMonitors: options.monitors !== false,
    });
    const { processor } = stack;
    const environments = Array.from(
      { length: eventSource.maxConcurrency },
      (_, index) =>
        new ExecutionEnvironment(
          {
            functionName: resources.processorFunctionName,
            bundlePath: processor.bundlePath,
            handlerExport: processor.handlerExport,
            timeoutMs: Math.round(processor.timeoutSeconds * 1000 * timeScale),
            memoryMb: processor.memoryMb,
            // Under infrastructure faults each environment reaches both services through its own lane of the boundary.
            environment: boundary
              ? { ...processorEnvironment, AWS_ENDPOINT_URL_SQS: boundary.endpointOf(index), AWS_ENDPOINT_URL_DYNAMODB: boundary.endpointOf(index) }
              : processorEnvironment,
            region: emulators.region,
            isolation: options.isolation,
            execArgv: options.execArgv,
          },
          logs.write,
        ),
    );
    for (const [index, environment] of environments.entries()) boundary?.attach(index, environment);
    const queueUrl = physical.get(eventSource.queueLogicalId) as string;
    const redeliver = faultSpec.infra?.redeliver;
    const queueArn = await queueArnOf(sqs, queueUrl);
    const poller = new EventSourcePoller(
      // The event source's own client: its calls count as the pipeline's (they are billed on AWS too).
      // On AWS the mapping polls with the function's role: its requests carry the function's app id.
      new SQSClient({
        region: emulators.region,
        credentials: LOCAL_CREDENTIALS,
        endpoint: emulators.sqsEndpoint,
        useQueueUrlAsEndpoint: false,
        userAgentAppId: functionAppId({ functionId: stack.processor.logicalId, via: 'event-source' }),
      }),
      {
        queueUrl,
        queueArn,
        region: emulators.region,
        batchSize: eventSource.batchSize,
        maxBatchingWindowMs: eventSource.maxBatchingWindowSeconds * 1000 * timeScale,
        maxConcurrency: eventSource.maxConcurrency,
        reportBatchItemFailures: eventSource.reportBatchItemFailures,
      },
      environments,
      (report) => {
        alarms.recordInvocation(report);
        options.onInvocation?.(report);
      },
      redeliver && boundary
        ? {
            // The boundary's clock, and its (scaled) copy of the spec: the redeliver window counts like the other infrastructure items'.
            rate: () => (boundary ? rateAt(boundary.faults.redeliver, boundary.faultClockMs()) : 0),
            random: seededRandom(seedFromString('redeliver', seed)),
            onInjected: () => boundary?.record('redeliver'),
          }
        : undefined,
    );
    const monitors =
      options.monitors === false
        ? undefined
        : await ScheduledMonitors.start(
            {
              stack,
              physical,
              emulators,
              writeLog: logs.write,
              timeScale,
              processorEnvironment: options.environment,
              ledgerTableName: resources.ledgerTableName,
              controlTableName: resources.controlTableName,
              startReferencePipeline: (reference) => startLocalPipeline(reference),
            },
            options.monitors,
          );
    // The infrastructure faults' windows count from here, when everything is up (the scheduled
    // monitors' reference run can take seconds), not from when the boundary was started.
    const infraFaultsStartedAt = boundary?.startFaultClock();
    if (options.autoStart ?? true) poller.start();
    alarms.start();
    // change safety (issue 15): the canary alarm's rule → the bundled rollback Lambda.
    const canaryRollback = new CanaryRollback({
      alarms,
      dynamodb,
      controlTableName: resources.controlTableName,
      context: { stack, physical, emulators, timeScale, writeLog: logs.write },
    });
    canaryRollback.start();

    let stopped = false;
    return {
      stack,
      emulators,
      resources,
      physicalIds: physical,
      sqs,
      dynamodb,
      logs,
      alarms,
      monitors,
      poller,
      environments,
      inputQueueArn: queueArn,
      timeScale,
      processorEnvironment,
      simulator,
      boundary,
      infraFaults: () => boundary?.counts() ?? zeroInfraFaultCounts(),
      ...(infraFaultsStartedAt !== undefined ? { infraFaultsStartedAt } : {}),
      canaryRollback,
      async stop() {
        if (stopped) return;
        stopped = true;
        releaseStack();
        await poller.stop();
        await canaryRollback.stop();
        await monitors?.stop();
        await alarms.stop();
        await Promise.all(environments.map((environment) => environment.stop()));
        await boundary?.stop();
        sqs.destroy();
        dynamodb.destroy();
        await logs.close();
        await simulator?.stop();
        await emulators.stop();
      },
    };
  } catch (error) {
    await boundary?.stop();
    await simulator?.stop();
    await emulators.stop();
    throw error;
  }
}

/**
 * Starts the model simulator with the processor's seed and latency (as the template and the
 * overrides set them, already scaled) plus the requested faults, scaled to local time. Faults are
 * refused unless the stage allows fault injection (ALLOW_FAULT_INJECTION in its template).
 */
async function startLocalModel(environment: Readonly<Record<string, string>>, spec: FaultSpec, timeScale: number, stackName: string): Promise<ModelSimulator> {
  if (hasFaults(spec) && environment[ENV.ALLOW_FAULT_INJECTION] !== 'true') {
    throw new FaultSpecError(
      `${stackName} does not allow fault injection (allowFaultInjection is false in its stage config): run without --faults, or use a stage that allows it`,
    );
  }
  const scaled = scaleFaultSpec(spec, timeScale);
  return startModelSimulator({
    seed: Number(environment[ENV.SIMULATOR_SEED] ?? 42),
    faults: { ...scaled, baseLatencyMs: scaled.baseLatencyMs + Number(environment[ENV.SIMULATOR_LATENCY_MS] ?? 0) },
  });
}

/**
 * Creates the stack's queues (dead-letter queues first, so redrive policies can name them) and its
 * table in the emulators. Returns logical id → physical id (queue URL, table name, function name).
 */
async function provision(stack: LocalStackModel, sqs: SQSClient, dynamodb: DynamoDBClient, timeScale: number): Promise<Map<string, string>> {
  const physical = new Map<string, string>();
  const arns = new Map<string, string>();
  const ordered = [...stack.queues].sort((a, b) => Number(Boolean(a.redrive)) - Number(Boolean(b.redrive)));
  for (const queue of ordered) {
    const attributes: Record<string, string> = {
      VisibilityTimeout: String(Math.max(1, Math.round(queue.visibilityTimeoutSeconds * timeScale))),
      // Retention is not scaled: nothing in a local run lives that long.
      MessageRetentionPeriod: String(queue.messageRetentionSeconds),
    };
    if (queue.redrive) {
      const deadLetterArn = arns.get(queue.redrive.deadLetterLogicalId);
      if (!deadLetterArn) throw new Error(`queue ${queue.logicalId}: dead-letter queue ${queue.redrive.deadLetterLogicalId} was not created first`);
      attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: deadLetterArn, maxReceiveCount: queue.redrive.maxReceiveCount });
    }
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${stack.stackName}-${queue.logicalId}`, Attributes: attributes }));
    if (!QueueUrl) throw new Error(`CreateQueue returned no URL for ${queue.logicalId}`);
    physical.set(queue.logicalId, QueueUrl);
    arns.set(queue.logicalId, await queueArnOf(sqs, QueueUrl));
  }

  for (const table of stack.tables) {
    const tableName = `${stack.stackName}-${table.logicalId}`;
    await dynamodb.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: table.attributeDefinitions.map((definition) => ({
          AttributeName: definition.AttributeName,
          AttributeType: definition.AttributeType as ScalarAttributeType,
        })),
        KeySchema: [
          { AttributeName: table.partitionKey, KeyType: 'HASH' },
          ...(table.sortKey ? [{ AttributeName: table.sortKey, KeyType: 'RANGE' as const }] : []),
        ],
        ...(table.globalSecondaryIndexes.length > 0
          ? {
              GlobalSecondaryIndexes: table.globalSecondaryIndexes.map((index) => ({
                IndexName: index.IndexName,
                KeySchema: index.KeySchema.map((key) => ({ AttributeName: key.AttributeName, KeyType: key.KeyType as KeyType })),
                Projection: {
                  ProjectionType: (index.Projection.ProjectionType ?? 'ALL') as ProjectionType,
                  ...(index.Projection.NonKeyAttributes ? { NonKeyAttributes: [...index.Projection.NonKeyAttributes] } : {}),
                },
              })),
            }
          : {}),
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    // TTL is not set: dynalite has no UpdateTimeToLive, and nothing in a local run lives for days.
    physical.set(table.logicalId, tableName);
  }
  physical.set(stack.processor.logicalId, `${stack.stackName}-${stack.processor.logicalId}`);
  // Lambda names a mapping by a UUID; a fixed one per stack keeps local runs reproducible.
  physical.set(stack.eventSource.logicalId, uuidFromName(`${stack.stackName}/${stack.eventSource.logicalId}`));
  return physical;
}

async function queueArnOf(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const arn = Attributes?.QueueArn;
  if (!arn) throw new Error(`no ARN for ${queueUrl}`);
  return arn;
}

/** The function's environment from the template, Refs resolved to local names, durations scaled. */
function buildEnvironment(
  stack: LocalStackModel,
  physical: ReadonlyMap<string, string>,
  emulators: Emulators,
  timeScale: number,
  overrides: Readonly<Record<string, string>>,
): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(stack.processor.environment)) {
    if (typeof value === 'string') {
      const unit = SCALED_ENVIRONMENT[name];
      environment[name] = unit ? String(unit === 'ms' ? Math.round(Number(value) * timeScale) : Math.max(1, Math.round(Number(value) * timeScale))) : value;
    } else {
      const resolved = physical.get(value.ref);
      if (!resolved) throw new Error(`environment variable ${name} refers to ${value.ref}, which local mode does not create`);
      environment[name] = resolved;
    }
  }
  return {
    ...environment,
    // What the Lambda runtime sets, pointed at the emulators by the SDK's standard variables.
    AWS_REGION: emulators.region,
    AWS_DEFAULT_REGION: emulators.region,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_SQS: emulators.sqsEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: emulators.dynamodbEndpoint,
    AWS_LAMBDA_FUNCTION_NAME: physical.get(stack.processor.logicalId) as string,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(stack.processor.memoryMb),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // Names the function in every request's User-Agent (local/call-attribution.ts); counted as the pipeline's.
    AWS_SDK_UA_APP_ID: functionAppId({ functionId: stack.processor.logicalId }),
    TZ: 'UTC',
    PATH: process.env.PATH ?? '',
    ...overrides,
  };
}

/** A stable UUID-shaped id derived from a name. */
function uuidFromName(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The default log file of a local run. */
export function defaultLogFile(): string {
  return join(process.cwd(), '.local', 'processor.log');
}

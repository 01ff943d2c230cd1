import { type AttributeValue, CreateTableCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS, OBSERVER_USER_AGENT, startEmulators } from '../local/emulators';
import { EventSourcePoller, type InvocationReport } from '../local/event-source-poller';
import { ExecutionEnvironment } from '../local/lambda-runtime';
import { LogSink } from '../local/log-sink';
import { type FaultSpec, scaleFaultSpec } from '../local/model-simulator/fault-spec';
import { startModelSimulator } from '../local/model-simulator/model-simulator';
import type { LocalStackModel } from '../local/stack-model';
import type { BenchTarget } from './bench-target';

/**
 * The baseline handler behind the same kind of queue, on fresh emulators, with the same event
 * source settings, function timeout and memory as the processor (read from the same synthesized
 * template) and the same model simulator: only the handler differs.
 */
export async function startBaselinePipeline(options: {
  readonly stack: LocalStackModel;
  readonly bundlePath: string;
  readonly faults: FaultSpec;
  readonly timeScale: number;
  readonly seed: number;
  readonly onInvocation: (report: InvocationReport) => void;
  readonly logFile?: string;
  /** Extra Node.js flags for each execution environment's process, e.g. `--cpu-prof`. */
  readonly execArgv?: readonly string[];
}): Promise<BenchTarget & { readonly environment: Readonly<Record<string, string>>; outcome(unique: number): Promise<string> }> {
  const { stack, timeScale } = options;
  const emulators = await startEmulators();
  const scaled = scaleFaultSpec(options.faults, timeScale);
  const simulator = await startModelSimulator({ seed: options.seed, faults: scaled });
  const clientConfig = { region: emulators.region, credentials: LOCAL_CREDENTIALS, customUserAgent: OBSERVER_USER_AGENT };
  const sqs = new SQSClient({ ...clientConfig, endpoint: emulators.sqsEndpoint, useQueueUrlAsEndpoint: false });
  const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: emulators.dynamodbEndpoint });

  const inputModel = stack.queues.find((queue) => queue.logicalId === stack.eventSource.queueLogicalId);
  if (!inputModel?.redrive) throw new Error('the input queue of the template has no redrive policy');
  const { QueueUrl: dlqUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'baseline-dlq' }));
  const dlqArn = await arnOf(sqs, dlqUrl as string);
  const { QueueUrl: queueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: 'baseline-input',
      Attributes: {
        VisibilityTimeout: String(Math.max(1, Math.round(inputModel.visibilityTimeoutSeconds * timeScale))),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: inputModel.redrive.maxReceiveCount }),
      },
    }),
  );
  // Powertools' DynamoDB persistence layer: partition key `id`, on-demand.
  await dynamodb.send(
    new CreateTableCommand({
      TableName: 'baseline-idempotency',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );

  const environment: Record<string, string> = {
    AWS_REGION: emulators.region,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_SQS: emulators.sqsEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: emulators.dynamodbEndpoint,
    AWS_LAMBDA_FUNCTION_NAME: 'baseline',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    IDEMPOTENCY_TABLE_NAME: 'baseline-idempotency',
    MODEL_BASE_URL: simulator.url,
    POWERTOOLS_SERVICE_NAME: 'baseline',
    POWERTOOLS_METRICS_NAMESPACE: 'BaselinePipeline',
    TZ: 'UTC',
  };
  const logs = new LogSink(options.logFile);
  const { processor, eventSource } = stack;
  const environments = Array.from(
    { length: eventSource.maxConcurrency },
    () =>
      new ExecutionEnvironment(
        {
          functionName: 'baseline',
          bundlePath: options.bundlePath,
          handlerExport: 'handler',
          timeoutMs: Math.round(processor.timeoutSeconds * 1000 * timeScale),
          memoryMb: processor.memoryMb,
          environment,
          region: emulators.region,
          isolation: 'process',
          execArgv: options.execArgv,
        },
        logs.write,
      ),
  );
  const poller = new EventSourcePoller(
    new SQSClient({ region: emulators.region, credentials: LOCAL_CREDENTIALS, endpoint: emulators.sqsEndpoint, useQueueUrlAsEndpoint: false }),
    {
      queueUrl: queueUrl as string,
      queueArn: await arnOf(sqs, queueUrl as string),
      region: emulators.region,
      batchSize: eventSource.batchSize,
      maxBatchingWindowMs: eventSource.maxBatchingWindowSeconds * 1000 * timeScale,
      maxConcurrency: eventSource.maxConcurrency,
      reportBatchItemFailures: eventSource.reportBatchItemFailures,
    },
    environments,
    options.onInvocation,
  );
  poller.start();
  return {
    name: 'baseline',
    sqs,
    inputQueueUrl: queueUrl as string,
    counter: emulators.counter,
    simulator,
    poller,
    environment,
    /** What became of the unique inputs: completed records in the idempotency table, messages in the DLQ. */
    async outcome(unique: number) {
      let completed = 0;
      let startKey: Record<string, AttributeValue> | undefined;
      do {
        const page = await dynamodb.send(new ScanCommand({ TableName: 'baseline-idempotency', ExclusiveStartKey: startKey }));
        completed += (page.Items ?? []).filter((item) => item.status?.S === 'COMPLETED').length;
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: dlqUrl as string, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      return `${completed} of ${unique} unique inputs completed, ${Attributes.ApproximateNumberOfMessages ?? 0} message(s) in the DLQ`;
    },
    async stop() {
      await poller.stop();
      await Promise.all(environments.map((each) => each.stop()));
      sqs.destroy();
      dynamodb.destroy();
      await simulator.stop();
      await logs.close();
      await emulators.stop();
    },
  };
}

async function arnOf(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  return Attributes?.QueueArn as string;
}

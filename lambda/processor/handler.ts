import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { METRICS_NAMESPACE } from '../contract';
import { DynamoDbLedgerStore } from '../ledger/dynamodb-ledger-store';
import type { ModelProvider } from '../model/model-provider';
import { SimulatedProvider } from '../model/simulated-provider';
import { BatchProcessor } from './batch-processor';
import { SqsQueueGateway } from './queue-gateway';
import { readRuntimeConfig, type RuntimeConfig } from './runtime-config';

// Cold start: everything below is built once per execution environment and reused by every
// invocation. Endpoints come from the standard SDK variables (AWS_ENDPOINT_URL_SQS,
// AWS_ENDPOINT_URL_DYNAMODB), which is how local mode points this same bundle at its emulators.
const config = readRuntimeConfig();
const logger = new Logger({ serviceName: 'processor', persistentKeys: { stage: config.stage } });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'processor', defaultDimensions: { stage: config.stage } });

function createProvider(runtime: RuntimeConfig): ModelProvider {
  switch (runtime.modelProvider) {
    case 'simulated':
      return new SimulatedProvider({ seed: runtime.simulatorSeed, latencyMs: runtime.simulatorLatencyMs });
    default:
      throw new Error(`model provider ${runtime.modelProvider} is not wired into the processor yet`);
  }
}

const processor = new BatchProcessor({
  config,
  logger,
  metrics,
  ledger: new DynamoDbLedgerStore({ client: new DynamoDBClient({}), tableName: config.ledgerTable, ttlDays: config.ledgerTtlDays }),
  queues: new SqsQueueGateway({
    // The client's endpoint (the region's, or AWS_ENDPOINT_URL_SQS) is used for every queue, not
    // the host in the queue URL: on AWS they are the same; against an emulator whose queue URLs
    // name a host that does not resolve (sqs.<region>.localhost), only the endpoint works.
    client: new SQSClient({ useQueueUrlAsEndpoint: false }),
    inputQueueUrl: config.inputQueueUrl,
    deadLetterQueueUrl: config.inputDlqUrl,
    reviewQueueUrl: config.reviewQueueUrl,
  }),
  provider: createProvider(config),
});

/** The SQS event source's entry point: a partial batch response, never a thrown batch. */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => processor.process(event, context);

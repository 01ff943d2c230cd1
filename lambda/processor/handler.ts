import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ENV, METRIC_SERVICE, METRICS_NAMESPACE } from '../contract';
import { DynamoDbLedgerStore } from '../ledger/dynamodb-ledger-store';
import { BUDGET_FLUSH_DELAY_MS, HourlyBudget } from '../resilience/budget';
import { DynamoDbBreakerStore } from '../resilience/dynamodb-breaker-store';
import { EntityDecisions } from '../resilience/entity-decisions';
import { KeyCallCounter } from '../resilience/key-call-counter';
import { DynamoDbQuotaStore } from '../resilience/quota-store';
import { rateLimiters } from '../resilience/rate-limiter';
import { RetryPolicy } from '../resilience/retry-policy';
import { DynamoDbSwitchSource, RuntimeSwitches } from '../resilience/runtime-switches';
import { SharedBreaker } from '../resilience/shared-breaker';
import { BatchProcessor } from './batch-processor';
import { EntityGuard } from './entity-guard';
import { SqsQueueGateway } from './queue-gateway';
import { ShadowRun } from './shadow-run';
import { createProvider } from './provider-factory';
import { breakerSettingsOf, readRuntimeConfig } from './runtime-config';
import { withoutSdkRequestLogging, withRequestTimeouts } from './sdk-client-options';

// Cold start: everything below is built once per execution environment and reused by every
// invocation. Endpoints come from the standard SDK variables (AWS_ENDPOINT_URL_SQS,
// AWS_ENDPOINT_URL_DYNAMODB), which is how local mode points this same bundle at its emulators.
const config = readRuntimeConfig();
// The stage's serviceName arrives as POWERTOOLS_SERVICE_NAME (lib/constructs/processor.ts); the alarms match it.
const serviceName = process.env[ENV.POWERTOOLS_SERVICE_NAME] || METRIC_SERVICE.PROCESSOR;
const logger = new Logger({ serviceName, persistentKeys: { stage: config.stage } });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName, defaultDimensions: { stage: config.stage } });
const dynamodb = withoutSdkRequestLogging(new DynamoDBClient(withRequestTimeouts({})));

// Runtime switches are read at most once per this interval per environment; a quiet breaker too.
// The interval is not part of the stage config: 15 s is what the switches' 30 s promise needs.
const refreshMs = Number(process.env[ENV.SWITCH_REFRESH_MS]);

const breakerStore = new DynamoDbBreakerStore(dynamodb, config.controlTable);
const breakers = new Map<string, SharedBreaker>();
function breakerFor(modelId: string): SharedBreaker {
  let breaker = breakers.get(modelId);
  if (!breaker) {
    breaker = new SharedBreaker(modelId, breakerStore, breakerSettingsOf(config, refreshMs > 0 ? refreshMs : undefined), {
      onOpened: (model, openUntil) => logger.warn('breaker opened', { modelId: model, openUntil: new Date(openUntil).toISOString() }),
      onProbeSettled: (model, closed) => logger.info(closed ? 'breaker closed after a probe' : 'breaker reopened after a probe', { modelId: model }),
    });
    breakers.set(modelId, breaker);
  }
  return breaker;
}

// Runtime switches: read at most once per refresh interval per environment, before a batch, never
// per record (see refreshMs above).
const switches = new RuntimeSwitches(new DynamoDbSwitchSource(dynamodb, config.controlTable), {
  ...(refreshMs > 0 ? { refreshMs } : {}),
  onReadFailed: (error) => logger.warn('runtime switches could not be read: the previous ones stay in force', { error: error.message }),
});
// The first read starts during init (not billed against the invocation's timeout); the first
// invocation awaits it if it is still in flight.
void switches.refresh();

const ledger = new DynamoDbLedgerStore({ client: dynamodb, tableName: config.ledgerTable, ttlDays: config.ledgerTtlDays });
const provider = createProvider(config);
const budget = new HourlyBudget(
  dynamodb,
  config.controlTable,
  { tokensPerHour: config.budgetTokensPerHour, usdPerHour: config.budgetUsdPerHour },
  undefined,
  // One ADD per environment per 10 s (or per 1% of a limit), not per batch: docs/performance.md.
  { maxDelayMs: BUDGET_FLUSH_DELAY_MS },
);

const processor = new BatchProcessor({
  switches,
  config,
  logger,
  metrics,
  ledger,
  queues: new SqsQueueGateway({
    // The client's endpoint (the region's, or AWS_ENDPOINT_URL_SQS) is used for every queue, not
    // the host in the queue URL: on AWS they are the same; against an emulator whose queue URLs
    // name a host that does not resolve (sqs.<region>.localhost), only the endpoint works.
    client: withoutSdkRequestLogging(new SQSClient(withRequestTimeouts({ useQueueUrlAsEndpoint: false }))),
    inputQueueUrl: config.inputQueueUrl,
    deadLetterQueueUrl: config.inputDlqUrl,
    reviewQueueUrl: config.reviewQueueUrl,
  }),
  provider,
  breakerFor,
  budget,
  retryPolicy: new RetryPolicy({
    maxAttempts: config.retryMaxAttempts,
    baseDelayMs: config.retryBaseDelayMs,
    maxDelayMs: config.retryMaxDelayMs,
    callTimeoutMs: config.modelCallTimeoutMs,
  }),
  keyCalls: new KeyCallCounter(dynamodb, config.controlTable),
  // Provider quotas (issue 14): the configured quota shared in the control table, else AIMD from 429s.
  rateLimiterFor: rateLimiters(
    { pacing: config.ratePacing, quotas: config.modelQuotas, windowMs: config.quotaWindowMs, maxBurst: config.quotaMaxBurst },
    new DynamoDbQuotaStore(dynamodb, config.controlTable),
  ),
  entityGuard: new EntityGuard({ decisions: new EntityDecisions(dynamodb, config.controlTable), config }),
  // Change safety (issue 15): nothing happens, and nothing is requested, unless a shadow candidate is configured.
  shadow: new ShadowRun({ config, provider, logger, ledger, budget, switches }),
});

/** The SQS event source's entry point: a partial batch response, never a thrown batch. */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  // A fresh debug-sampling decision per invocation (recordLogSampleRate): the plain successes' lines.
  logger.refreshSampleRateCalculation();
  await switches.refresh();
  return processor.process(event, context);
};

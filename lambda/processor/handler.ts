import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ENV, METRIC_SERVICE, METRICS_NAMESPACE, SWITCH_REFRESH_MS } from '../contract';
import { DynamoDbLedgerStore } from '../ledger/dynamodb-ledger-store';
import { lazyProvider } from '../model/lazy-provider';
import type { ModelProvider } from '../model/model-provider';
import { OpenAiCompatibleProvider } from '../model/openai-compatible-provider';
import { SimulatedProvider } from '../model/simulated-provider';
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
import { readRuntimeConfig, type RuntimeConfig } from './runtime-config';
import { withRequestTimeouts } from './sdk-client-options';

// Cold start: everything below is built once per execution environment and reused by every
// invocation. Endpoints come from the standard SDK variables (AWS_ENDPOINT_URL_SQS,
// AWS_ENDPOINT_URL_DYNAMODB), which is how local mode points this same bundle at its emulators.
const config = readRuntimeConfig();
// The stage's serviceName arrives as POWERTOOLS_SERVICE_NAME (lib/constructs/processor.ts); the alarms match it.
const serviceName = process.env[ENV.POWERTOOLS_SERVICE_NAME] || METRIC_SERVICE.PROCESSOR;
const logger = new Logger({ serviceName, persistentKeys: { stage: config.stage } });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName, defaultDimensions: { stage: config.stage } });
const dynamodb = new DynamoDBClient(withRequestTimeouts({}));

function createProvider(runtime: RuntimeConfig): ModelProvider {
  switch (runtime.modelProvider) {
    case 'simulated':
      return new SimulatedProvider({ seed: runtime.simulatorSeed, latencyMs: runtime.simulatorLatencyMs });
    case 'bedrock':
      // Loaded on the first call: the Bedrock runtime client is evaluated only on stages that use it.
      return lazyProvider('bedrock', async () => {
        const [{ BedrockRuntimeClient }, { BedrockProvider }] = await Promise.all([
          import('@aws-sdk/client-bedrock-runtime'),
          import('../model/bedrock-provider'),
        ]);
        // maxAttempts 1: no SDK retries under ours (the retry policy is the one retry layer).
        return new BedrockProvider({ client: new BedrockRuntimeClient({ maxAttempts: 1 }), maxOutputTokens: runtime.maxOutputTokens });
      });
    case 'openai-compatible': {
      const secretArn = runtime.modelApiKeySecretArn;
      const provider = (apiKey: () => Promise<string | undefined>) =>
        new OpenAiCompatibleProvider({ baseUrl: runtime.modelBaseUrl as string, apiKey, maxOutputTokens: runtime.maxOutputTokens });
      // The config refuses a missing secret unless the endpoint is on loopback (local mode's simulator).
      if (!secretArn) return provider(async () => undefined);
      // Secrets Manager only with a secret; loaded and the key fetched at init, as before.
      return lazyProvider(
        'openai-compatible',
        async () => {
          const [{ SecretsManagerClient }, { SecretApiKey }] = await Promise.all([
            import('@aws-sdk/client-secrets-manager'),
            import('../model/secret-api-key'),
          ]);
          const key = new SecretApiKey(new SecretsManagerClient({ maxAttempts: 2 }), secretArn);
          key.prefetch();
          return provider(() => key.get());
        },
        { eager: true },
      );
    }
  }
}

// Runtime switches are read at most once per this interval per environment; a quiet breaker too.
// The interval is not part of the stage config: 15 s is what the switches' 30 s promise needs.
const refreshMs = Number(process.env[ENV.SWITCH_REFRESH_MS]);

const breakerStore = new DynamoDbBreakerStore(dynamodb, config.controlTable);
const breakers = new Map<string, SharedBreaker>();
function breakerFor(modelId: string): SharedBreaker {
  let breaker = breakers.get(modelId);
  if (!breaker) {
    breaker = new SharedBreaker(
      modelId,
      breakerStore,
      {
        failureThreshold: config.breakerFailureThreshold,
        failureRatePercent: config.breakerFailureRatePercent,
        minCalls: config.breakerMinCalls,
        windowMs: config.breakerWindowMs,
        cooldownMs: config.breakerCooldownMs,
        cacheMs: config.breakerCacheMs,
        // A quiet (closed, failure-free) breaker is read as often as the runtime switches: the
        // happy path's reads per message fall from ~0.07 to ~0.005 (docs/performance.md).
        quietCacheMs: Math.max(config.breakerCacheMs, refreshMs > 0 ? refreshMs : SWITCH_REFRESH_MS),
        // An open breaker in its cooldown: 2.5 × as long (5 s by default; bench/scale-model.ts).
        openCacheMs: 2.5 * config.breakerCacheMs,
        // The probe is one call: its lease outlives one call's timeout, so a slow probe is not
        // joined by a second one, and a dead instance's probe is replaced soon after.
        probeLeaseMs: config.modelCallTimeoutMs + config.timeMarginMs,
      },
      {
        onOpened: (model, openUntil) => logger.warn('breaker opened', { modelId: model, openUntil: new Date(openUntil).toISOString() }),
        onProbeSettled: (model, closed) => logger.info(closed ? 'breaker closed after a probe' : 'breaker reopened after a probe', { modelId: model }),
      },
    );
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

const processor = new BatchProcessor({
  switches,
  config,
  logger,
  metrics,
  ledger: new DynamoDbLedgerStore({ client: dynamodb, tableName: config.ledgerTable, ttlDays: config.ledgerTtlDays }),
  queues: new SqsQueueGateway({
    // The client's endpoint (the region's, or AWS_ENDPOINT_URL_SQS) is used for every queue, not
    // the host in the queue URL: on AWS they are the same; against an emulator whose queue URLs
    // name a host that does not resolve (sqs.<region>.localhost), only the endpoint works.
    client: new SQSClient(withRequestTimeouts({ useQueueUrlAsEndpoint: false })),
    inputQueueUrl: config.inputQueueUrl,
    deadLetterQueueUrl: config.inputDlqUrl,
    reviewQueueUrl: config.reviewQueueUrl,
  }),
  provider: createProvider(config),
  breakerFor,
  budget: new HourlyBudget(
    dynamodb,
    config.controlTable,
    { tokensPerHour: config.budgetTokensPerHour, usdPerHour: config.budgetUsdPerHour },
    undefined,
    // One ADD per environment per 10 s (or per 1% of a limit), not per batch: docs/performance.md.
    { maxDelayMs: BUDGET_FLUSH_DELAY_MS },
  ),
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
});

/** The SQS event source's entry point: a partial batch response, never a thrown batch. */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  await switches.refresh();
  return processor.process(event, context);
};

/**
 * The baseline for `npm run bench`: the handler a careful team would write with Powertools alone —
 * BatchProcessor + processPartialResponse for partial batch responses, makeIdempotent with the
 * DynamoDB persistence layer keyed on the parsed body, Logger and Metrics — calling the same
 * OpenAI-compatible model endpoint with the same prompt and output schema. No classified
 * retries, breaker, budget, fallback chain, poison-message handling or review queue: that is what
 * the benchmark prices.
 *
 * Never deployed; bundled by bench/ with the same esbuild settings as the processor.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { ticketTriage, TicketTriage } from '../../lambda/tasks/ticket-triage';

const logger = new Logger({ serviceName: 'baseline' });
const metrics = new Metrics({ namespace: 'BaselinePipeline', serviceName: 'baseline' });
const processor = new BatchProcessor(EventType.SQS);
const persistenceStore = new DynamoDBPersistenceLayer({ tableName: process.env.IDEMPOTENCY_TABLE_NAME as string });
// The parsed body, so whitespace does not matter; Powertools sorts keys before hashing.
const config = new IdempotencyConfig({ eventKeyJmesPath: 'powertools_json(body)' });
const modelUrl = `${process.env.MODEL_BASE_URL}/chat/completions`;
const modelId = process.env.PRIMARY_MODEL_ID ?? 'sim-primary';

let context: Context | undefined;

async function classify(record: SQSRecord): Promise<TicketTriage> {
  const message = JSON.parse(record.body) as { task: string; input: unknown };
  const input = ticketTriage.inputSchema.parse(message.input);
  const prompt = ticketTriage.buildPrompt(input);
  const remaining = context?.getRemainingTimeInMillis() ?? 3000;
  const response = await fetch(modelUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer local' },
    body: JSON.stringify({
      model: modelId,
      messages: [
        { role: 'system', content: prompt.system },
        { role: 'user', content: prompt.user },
      ],
    }),
    signal: AbortSignal.timeout(Math.max(100, remaining - 300)),
  });
  if (!response.ok) throw new Error(`model returned HTTP ${response.status}`);
  const completion = (await response.json()) as { choices: Array<{ message: { content: string } }> };
  const result = TicketTriage.parse(JSON.parse(completion.choices[0]?.message.content ?? ''));
  metrics.addMetric('ModelCalls', MetricUnit.Count, 1);
  return result;
}

const classifyOnce = makeIdempotent(classify, { persistenceStore, config });

export const handler = async (event: SQSEvent, lambdaContext: Context) => {
  context = lambdaContext;
  config.registerLambdaContext(lambdaContext);
  const response = await processPartialResponse(event, classifyOnce, processor, { context: lambdaContext });
  logger.info('batch', { records: event.Records.length, failures: response.batchItemFailures.length });
  metrics.publishStoredMetrics();
  return response;
};

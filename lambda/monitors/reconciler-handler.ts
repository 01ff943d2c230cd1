import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { METRIC, METRIC_DIMENSION, METRIC_SERVICE } from '../contract';
import { type DeadLetterWitness, reconcile } from './completeness';
import { deadLetterWitness } from './dead-letter-witness';
import { createPublisher, monitorHeartbeat } from './metrics-publisher';
import { readReconcilerConfig } from './monitor-config';
import { withRequestTimeouts } from '../processor/sdk-client-options';

/** Work on a new job stops this long before the invocation's end, so the metric is always published. */
const PUBLISH_MARGIN_MS = 5_000;

// Cold start: built once per execution environment. Endpoints come from the SDK's standard
// variables (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_CLOUDWATCH), which local mode and tests set.
const config = readReconcilerConfig();
const logger = new Logger({ serviceName: METRIC_SERVICE.RECONCILER, persistentKeys: { stage: config.stage } });
const client = new DynamoDBClient(withRequestTimeouts({}));
const publisher = createPublisher(config.metricsPublisher);
const witness: DeadLetterWitness | undefined =
  config.deadLetterQueue && deadLetterWitness(new SQSClient(withRequestTimeouts({ useQueueUrlAsEndpoint: false })), config.deadLetterQueue);

/** What one run found; also the invocation's result, for local mode and tests. */
export interface ReconcilerSummary {
  readonly jobsChecked: number;
  readonly jobsIncomplete: number;
  readonly jobsDeferred: number;
  readonly incompleteJobItems: number;
  /** Ledger items settled as DEAD_LETTERED ("out of receives", in the DLQ, or abandoned) by this run. */
  readonly settledItems: number;
  /** Of them, items of no overdue job, found by the sweep of the DLQ's side. */
  readonly settledFromDeadLetterQueue: number;
  readonly requests: number;
  readonly readUnits: number;
}

/**
 * The scheduled reconciler (EventBridge): assesses every overdue job from the ledger, records the
 * result on the job's item, and publishes `IncompleteJobItems` (on every run, 0 included) and its
 * heartbeat: the `reconciler-heartbeat` alarm treats a missing heartbeat as breaching, which is
 * what tells "nothing missing" from "the reconciler stopped running".
 */
export const handler = async (_event: unknown, context: Pick<Context, 'getRemainingTimeInMillis'>): Promise<ReconcilerSummary> => {
  const now = Date.now();
  const result = await reconcile(
    {
      client,
      ledgerTable: config.ledgerTable,
      controlTable: config.controlTable,
      maxReceiveCount: config.maxReceiveCount,
      maxKeysRecorded: config.maxKeysRecorded,
      deadLetterWitness: witness,
    },
    now,
    now + context.getRemainingTimeInMillis() - PUBLISH_MARGIN_MS,
  );
  await publisher.publish([
    {
      name: METRIC.INCOMPLETE_JOB_ITEMS,
      value: result.incompleteItems,
      unit: 'Count',
      dimensions: { [METRIC_DIMENSION.SERVICE]: METRIC_SERVICE.RECONCILER, [METRIC_DIMENSION.STAGE]: config.stage },
      timestamp: now,
    },
    monitorHeartbeat(METRIC_SERVICE.RECONCILER, config.stage, now),
  ]);

  const incomplete = result.jobs.filter((job) => job.status === 'incomplete');
  for (const job of incomplete) {
    logger.warn('incomplete job', {
      jobId: job.jobId,
      expected: job.expected,
      completed: job.completed,
      deadLettered: job.deadLettered,
      inReview: job.inReview,
      missing: job.missing,
      stuck: job.stuck,
      pending: job.pending,
      notInLedger: job.notInLedger,
      deadline: new Date(job.deadline).toISOString(),
      stuckKeys: job.stuckKeys,
      pendingKeys: job.pendingKeys,
    });
  }
  const summary: ReconcilerSummary = {
    jobsChecked: result.jobs.length,
    jobsIncomplete: incomplete.length,
    jobsDeferred: result.deferred.length,
    incompleteJobItems: result.incompleteItems,
    settledItems: result.settledItems,
    settledFromDeadLetterQueue: result.settledFromDeadLetterQueue,
    requests: result.cost.requests,
    readUnits: result.cost.readUnits,
  };
  if (result.deadLetterWitnessError) logger.warn('could not read the DLQ; redriven items wait for the next run', { error: result.deadLetterWitnessError });
  if (result.deferred.length > 0) logger.warn('jobs left for the next run (time ran out)', { jobIds: result.deferred.map((job) => job.jobId) });
  logger.info('reconciled', { ...summary });
  return summary;
};

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient, UpdateEventSourceMappingCommand } from '@aws-sdk/client-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { METRIC_SERVICE } from '../contract';
import { driftMetrics, runDrift, type DriftRun } from './drift-monitor';
import { createPublisher, monitorHeartbeat } from './metrics-publisher';
import { readDriftMonitorConfig } from './monitor-config';

// Cold start: built once per execution environment. Endpoints come from the SDK's standard
// variables (AWS_ENDPOINT_URL_DYNAMODB, _CLOUDWATCH, _LAMBDA), which local mode and tests set.
const config = readDriftMonitorConfig();
const logger = new Logger({ serviceName: METRIC_SERVICE.DRIFT_MONITOR, persistentKeys: { stage: config.stage } });
const client = new DynamoDBClient({});
const publisher = createPublisher(config.metricsPublisher);
const lambda = config.autoPause ? new LambdaClient({}) : undefined;

/** What one run found; also the invocation's result, for local mode and tests. */
export interface DriftSummary {
  readonly maxScore?: number;
  readonly sampledItems: number;
  readonly shardsRead: number;
  readonly truncated: boolean;
  readonly requests: number;
  readonly readUnits: number;
  readonly tasks: ReadonlyArray<{ readonly task: string; readonly status: string; readonly maxScore?: number }>;
  readonly baselinesPinned: readonly string[];
  /** The auto-pause disabled the processor's event source mapping in this run. */
  readonly paused: boolean;
}

/**
 * The scheduled drift monitor (EventBridge): compares the last window's completions with each
 * task's baseline and publishes `DriftScore` per feature and the maximum. It pauses nothing unless
 * the stage opted into the auto-pause; then a maximum at or above the threshold disables the
 * processor's event source mapping (what `pipectl pause` does: messages wait, nothing is lost).
 */
export const handler = async (): Promise<DriftSummary> => {
  const now = Date.now();
  const run = await runDrift(
    {
      client,
      ledgerTable: config.ledgerTable,
      controlTable: config.controlTable,
      stage: config.stage,
      windowMs: config.windowMs,
      options: config,
      sampleShards: config.sampleShards,
      maxItems: config.maxItems,
    },
    now,
    { manageBaselines: true },
  );
  // The heartbeat goes with the scores: a run that got this far did its work, scores or not (a quiet window publishes none).
  await publisher.publish([...driftMetrics(run, config.stage), monitorHeartbeat(METRIC_SERVICE.DRIFT_MONITOR, config.stage, now)]);
  logRun(run);
  const paused = await autoPause(run);
  return {
    ...(run.maxScore !== undefined ? { maxScore: run.maxScore } : {}),
    sampledItems: run.sample.items,
    shardsRead: run.sample.shardsRead,
    truncated: run.sample.truncated,
    requests: run.requests,
    readUnits: run.readUnits,
    tasks: run.tasks.map(({ task, status, maxScore }) => ({ task, status, ...(maxScore !== undefined ? { maxScore } : {}) })),
    baselinesPinned: run.baselinesPinned,
    paused,
  };
};

/** One line per task: every feature's PSI, test, score, and the bins that moved most. */
function logRun(run: DriftRun): void {
  for (const report of run.tasks) {
    logger.info('drift', {
      task: report.task,
      status: report.status,
      window: { from: new Date(run.from).toISOString(), to: new Date(run.to).toISOString() },
      baseline: report.baseline
        ? {
            source: report.baseline.source,
            from: new Date(report.baseline.from).toISOString(),
            to: new Date(report.baseline.to).toISOString(),
            items: report.baseline.items,
          }
        : undefined,
      baselineDueAt: report.baselineDueAt ? new Date(report.baselineDueAt).toISOString() : undefined,
      windowItems: report.windowItems,
      withoutFeatures: report.withoutFeatures,
      maxScore: report.maxScore,
      features: report.features.map((feature) => ({
        feature: feature.feature,
        psi: Number.isFinite(feature.psi) ? Number(feature.psi.toFixed(4)) : undefined,
        score: feature.score,
        test: feature.test ? { name: feature.test.test, pValue: feature.test.pValue } : undefined,
        unscored: feature.unscored,
        moved: feature.movedBins.map((bin) => `${bin.bin}: ${(bin.expected * 100).toFixed(1)}% → ${(bin.actual * 100).toFixed(1)}%`),
      })),
    });
  }
  logger.info('drift run', {
    maxScore: run.maxScore,
    sampledItems: run.sample.items,
    shardsRead: run.sample.shardsRead,
    truncated: run.sample.truncated,
    requests: run.requests,
    readUnits: run.readUnits,
    baselinesPinned: run.baselinesPinned,
  });
}

async function autoPause(run: DriftRun): Promise<boolean> {
  const settings = config.autoPause;
  if (!settings || !lambda || run.maxScore === undefined || run.maxScore < settings.threshold) return false;
  try {
    await lambda.send(new UpdateEventSourceMappingCommand({ UUID: settings.eventSourceMappingId, Enabled: false }));
  } catch (error) {
    // The score is published and the alarm pages either way; a failed pause must not hide that.
    logger.error('drift auto-pause failed: the event source mapping is still enabled', { error: (error as Error).message, maxScore: run.maxScore });
    return false;
  }
  logger.error('drift auto-pause: disabled the processor event source mapping; `pipectl resume` re-enables it', {
    maxScore: run.maxScore,
    threshold: settings.threshold,
    eventSourceMappingId: settings.eventSourceMappingId,
  });
  return true;
}

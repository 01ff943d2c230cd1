import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DRIFT_BASELINE_SOURCE, ENV } from '../lambda/contract';
import { buildBaseline, type DriftBaseline, writeBaseline } from '../lambda/monitors/baseline-store';
import { MonitorInputError } from '../lambda/monitors/errors';
import { TASK_NAMES } from '../lambda/tasks/registry';
import { type Emulators, LOCAL_CREDENTIALS, OBSERVER_USER_AGENT } from './emulators';
import { onceAcrossProcesses } from './file-lock';
import { sendBodies, waitForDrain } from './queue-drain';
import type { LocalStackModel } from './stack-model';

/*
 * Local mode's drift reference (see scheduled-monitors.ts): each task's baseline, pinned from a
 * reference workload run through a separate local pipeline of the same stack. A leaf module: the
 * pipeline it runs is started by a function its caller hands in, so it imports no pipeline code.
 */

/** What a reference run needs of a local pipeline. */
export interface ReferencePipeline {
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
  readonly resources: { readonly inputQueueUrl: string; readonly ledgerTableName: string };
  readonly poller: { readonly inFlight: number };
  stop(): Promise<void>;
}

/** Starts the reference pipeline (local-pipeline.ts's `startLocalPipeline`, with these options). */
export type StartReferencePipeline = (options: {
  readonly stack: LocalStackModel;
  readonly timeScale: number;
  readonly environment?: Readonly<Record<string, string>>;
  readonly monitors: false;
}) => Promise<ReferencePipeline>;

/** Everything a reference run reads. */
export interface DriftReferenceContext {
  readonly stack: LocalStackModel;
  readonly emulators: Emulators;
  readonly writeLog: (line: string) => void;
  readonly processorEnvironment?: Readonly<Record<string, string>>;
  readonly controlTableName: string;
  readonly startReferencePipeline: StartReferencePipeline;
  /** The workload (JSONL) whose processing pins the baselines. */
  readonly referenceFile: string;
  /** Where computed baselines are cached. */
  readonly cacheDir: string;
}

/**
 * Each task's baseline from the reference workload: cached, or computed by running the workload
 * through a separate local pipeline and counting its ledger. Written into this pipeline's control
 * table as source `reference`.
 */
export async function pinReferenceBaselines(context: DriftReferenceContext, runVersion: string): Promise<DriftBaseline[]> {
  const { referenceFile, cacheDir } = context;
  if (!existsSync(referenceFile)) {
    context.writeLog(JSON.stringify({ level: 'WARN', service: 'local', message: `drift reference ${referenceFile} not found: no baseline pinned` }));
    return [];
  }
  const bodies = readFileSync(referenceFile, 'utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0);
  const hash = createHash('sha256');
  hash.update(runVersion);
  hash.update(readFileSync(context.stack.processor.bundlePath));
  hash.update(JSON.stringify(answerSettings(context.processorEnvironment ?? {})));
  hash.update(JSON.stringify(answerSettings(context.stack.processor.environment)));
  for (const body of bodies) hash.update(`${body}\n`);
  const cacheFile = join(cacheDir, `${hash.digest('hex').slice(0, 32)}.json`);
  const baselines = await computedOnce(cacheFile, () => computeReferenceBaselines(context, referenceFile, bodies));

  const client = new DynamoDBClient({
    region: context.emulators.region,
    endpoint: context.emulators.dynamodbEndpoint,
    credentials: LOCAL_CREDENTIALS,
    customUserAgent: OBSERVER_USER_AGENT,
  });
  try {
    for (const baseline of baselines) await writeBaseline(client, context.controlTableName, { ...baseline, pinnedAt: Date.now() });
  } finally {
    client.destroy();
  }
  return baselines;
}

/**
 * Processor settings that change what it logs or how soon it rereads the runtime switches, never
 * what it answers: left out of the cache key, so a test that only logs more, or polls switches
 * sooner, reuses the reference another run computed (each reference run is ~10 s of CPU).
 */
const NOT_ANSWER_SETTINGS: ReadonlySet<string> = new Set([ENV.POWERTOOLS_LOG_LEVEL, ENV.POWERTOOLS_LOGGER_SAMPLE_RATE, ENV.SWITCH_REFRESH_MS]);

export function answerSettings(environment: Readonly<Record<string, unknown>>): Array<[string, unknown]> {
  return Object.entries(environment)
    .filter(([name]) => !NOT_ANSWER_SETTINGS.has(name))
    .sort(([a], [b]) => a.localeCompare(b));
}

/**
 * The cached baselines, or computed by one process at a time: pipelines started at once with the
 * same reference (test files in parallel) wait for the first one's file instead of each running
 * the workload. The lock is a file created exclusively next to the cache file.
 */
export async function computedOnce(cacheFile: string, compute: () => Promise<DriftBaseline[]>): Promise<DriftBaseline[]> {
  mkdirSync(dirname(cacheFile), { recursive: true });
  return onceAcrossProcesses(
    `${cacheFile}.lock`,
    () => (existsSync(cacheFile) ? (JSON.parse(readFileSync(cacheFile, 'utf8')) as DriftBaseline[]) : undefined),
    async () => {
      const baselines = await compute();
      const temporary = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(temporary, JSON.stringify(baselines));
      renameSync(temporary, cacheFile);
      return baselines;
    },
  );
}

async function computeReferenceBaselines(context: DriftReferenceContext, referenceFile: string, bodies: readonly string[]): Promise<DriftBaseline[]> {
  const reference = await context.startReferencePipeline({
    stack: context.stack,
    // Real time: on a busy machine a scaled-down timeout can cut an invocation short and send some
    // answers down the fallback chain, which would bake a degraded serving-tier mix into the
    // baseline. The simulated model has no latency, so this costs only the batching window.
    timeScale: 1,
    environment: context.processorEnvironment,
    monitors: false,
  });
  try {
    const from = Date.now();
    await sendBodies(reference.sqs, reference.resources.inputQueueUrl, bodies);
    // A bound, not an expectation (it drains in ~10 s on a quiet machine): at 60 s, a test file's
    // run beside the full suite (load ~15 on two cores) failed here with nothing wrong but the load.
    if (!(await waitForDrain(reference, Math.max(180_000, bodies.length * 150)))) throw new Error(`the drift reference run did not drain: ${referenceFile}`);
    const to = Date.now() + 1;
    const baselines: DriftBaseline[] = [];
    for (const task of TASK_NAMES) {
      try {
        const {
          requests: _requests,
          readUnits: _readUnits,
          ...baseline
        } = await buildBaseline(reference.dynamodb, reference.resources.ledgerTableName, task, from, to, {
          sampleShards: 16,
          maxItems: 1_000_000,
          source: DRIFT_BASELINE_SOURCE.REFERENCE,
          pinnedAt: to,
          pinnedBy: `local mode, reference ${referenceFile}`,
        });
        baselines.push(baseline);
      } catch (error) {
        // A task the reference workload does not exercise has no baseline.
        if (!(error instanceof MonitorInputError)) throw error;
      }
    }
    return baselines;
  } finally {
    await reference.stop();
  }
}

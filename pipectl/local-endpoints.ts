import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { TargetNotFoundError } from './errors';
import type { PipelineResources } from './pipeline-resources';

/** Where `pipectl local --serve` writes its endpoints, relative to the working directory. */
export const SERVE_FILE = join('.local', 'serve.json');

/**
 * Environment variable that makes every pipectl command target a local pipeline without
 * `--local`: `1`/`true` for `.local/serve.json`, or the path of another serve file.
 */
export const LOCAL_TARGET_ENV = 'PIPECTL_LOCAL';

/**
 * What `pipectl local --serve` publishes (one JSON line on stdout, and `.local/serve.json`): every
 * endpoint and name a client needs, keyed like the deployed stack's outputs. `lambdaEndpoint` is
 * the local control API (`local/control-api.ts`), which serves the event source mapping calls of
 * `pause`/`resume`/`status`.
 */
export const LocalEndpoints = z.object({
  region: z.string().min(1),
  stage: z.string().min(1).default('dev'),
  sqsEndpoint: z.url(),
  dynamodbEndpoint: z.url(),
  lambdaEndpoint: z.url().optional(),
  queues: z.object({ input: z.string(), inputDlq: z.string(), review: z.string(), reviewDlq: z.string() }),
  tables: z.object({ ledger: z.string(), control: z.string() }),
  functionName: z.string(),
  eventSourceMappingId: z.string(),
  logFile: z.string().optional(),
  pid: z.number().int().optional(),
});
export type LocalEndpoints = z.infer<typeof LocalEndpoints>;

/** Writes the serve file (creating `.local/`), as `pipectl local --serve` does. */
export function writeServeFile(endpoints: z.input<typeof LocalEndpoints>, file = SERVE_FILE): void {
  mkdirSync(dirname(resolve(file)), { recursive: true });
  writeFileSync(file, `${JSON.stringify(endpoints, null, 2)}\n`);
}

/**
 * Reads and checks a serve file. A file whose process is gone is refused: its ports are dead, and
 * every call would fail with a connection error that says nothing useful.
 */
export function readServeFile(file = SERVE_FILE): LocalEndpoints {
  const start = 'start one with `npm run pipectl -- local --serve` (in another terminal), then re-run this command';
  if (!existsSync(file)) throw new TargetNotFoundError(`no local pipeline: ${file} does not exist; ${start}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new TargetNotFoundError(`${file} is not JSON (${(error as Error).message}); ${start}`);
  }
  const endpoints = LocalEndpoints.safeParse(parsed);
  if (!endpoints.success) {
    throw new TargetNotFoundError(`${file} is not a serve file of this pipectl (${endpoints.error.issues[0]?.message}); ${start}`);
  }
  if (endpoints.data.pid !== undefined && !isAlive(endpoints.data.pid)) {
    throw new TargetNotFoundError(`the local pipeline in ${file} (pid ${endpoints.data.pid}) is no longer running; ${start}`);
  }
  return endpoints.data;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else; still alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The parts of a running local pipeline (local/local-pipeline.ts) its serve file describes. */
export interface ServablePipeline {
  readonly emulators: { readonly region: string; readonly sqsEndpoint: string; readonly dynamodbEndpoint: string };
  readonly resources: PipelineResources;
}

/**
 * A running pipeline's endpoints in the serve file's shape (stage `dev` unless `extra` says);
 * `extra` adds what only the caller knows: the control API's endpoint, the log file, the pid.
 */
export function servedEndpoints(pipeline: ServablePipeline, extra: Partial<z.input<typeof LocalEndpoints>> = {}): z.input<typeof LocalEndpoints> {
  const { emulators, resources } = pipeline;
  return {
    region: emulators.region,
    stage: 'dev',
    sqsEndpoint: emulators.sqsEndpoint,
    dynamodbEndpoint: emulators.dynamodbEndpoint,
    queues: { input: resources.inputQueueUrl, inputDlq: resources.inputDlqUrl, review: resources.reviewQueueUrl, reviewDlq: resources.reviewDlqUrl },
    tables: { ledger: resources.ledgerTableName, control: resources.controlTableName },
    functionName: resources.processorFunctionName,
    eventSourceMappingId: resources.eventSourceMappingId,
    ...extra,
  };
}

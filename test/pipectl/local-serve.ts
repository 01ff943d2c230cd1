import { join } from 'node:path';
import { type ControlApi, startPipelineControlApi } from '../../local/control-api';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { synthesizeLocalStack } from '../../local/stack-model';
import { servedEndpoints, writeServeFile } from '../../pipectl/local-endpoints';
import { localTarget, type PipelineTarget } from '../../pipectl/target';

/** A local pipeline as `pipectl local --serve` runs it: its control API, a serve file in `scratch`, a target on it. */
export interface ServedPipeline {
  readonly pipeline: LocalPipeline;
  readonly controlApi: ControlApi;
  readonly target: PipelineTarget;
  /** `--local <serve file>`, for pipectl's command line. */
  readonly local: readonly string[];
  stop(): Promise<void>;
}

/**
 * Starts the real local pipeline (bundled processor, fauxqs, dynalite, the simulator) at a quarter
 * of real time, with its processor log and alarm states in `scratch`, and writes its serve file
 * there, with the control API's endpoint (what `pipectl replay --local` reads the processor's configuration from).
 */
export async function serveLocally(scratch: string): Promise<ServedPipeline> {
  const serveFile = join(scratch, 'serve.json');
  const logFile = join(scratch, 'processor.log');
  const pipeline = await startLocalPipeline({ stack: synthesizeLocalStack(), logFile, timeScale: 0.25 });
  const controlApi = await startPipelineControlApi(pipeline);
  writeServeFile(servedEndpoints(pipeline, { lambdaEndpoint: controlApi.endpoint, logFile, pid: process.pid }), serveFile);
  const target = localTarget(serveFile);
  return {
    pipeline,
    controlApi,
    target,
    local: ['--local', serveFile],
    async stop() {
      target.destroy();
      await controlApi.stop();
      await pipeline.stop();
    },
  };
}

/**
 * One handler, the processor or the baseline, run with `--cpu-prof` on a zero-latency model over the
 * given messages: its profile by area and frame, and the invocations' own CPU per message. What
 * `npm run bench` and bench/profile-side-by-side.ts both profile, so they profile the same way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalPipeline } from '../local/local-pipeline';
import { parseFaultSpec } from '../local/model-simulator/fault-spec';
import { drainQueue, sendBodies } from '../local/run-local';
import type { LocalStackModel } from '../local/stack-model';
import { startBaselinePipeline } from './baseline-pipeline';
import { type BenchTarget, pipelineTarget } from './bench-target';
import { type CpuProfileSummary, topFrames } from './cpu-profile';

/** The bench's time scale: every function timeout and batching window ×0.1. */
export const BENCH_TIME_SCALE = 0.1;

export interface ProfiledRun {
  readonly summary: CpuProfileSummary;
  /** CPU of the invocations themselves (the execution environments' reports), per message. */
  readonly cpuMsPerMessage: number;
}

export async function profileVariant(
  variant: 'pipeline' | 'baseline',
  options: {
    readonly stack: LocalStackModel;
    readonly baselineBundle: string;
    readonly bodies: readonly string[];
    readonly seed: number;
    readonly topFrames?: number;
  },
): Promise<ProfiledRun> {
  const { stack, baselineBundle, bodies, seed } = options;
  const profileDir = mkdtempSync(join(tmpdir(), `bench-profile-${variant}-`));
  const execArgv = ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  let cpuMicros = 0;
  const onInvocation = (report: { usage?: { cpuMicros: number } }) => {
    cpuMicros += report.usage?.cpuMicros ?? 0;
  };
  const target: BenchTarget =
    variant === 'pipeline'
      ? pipelineTarget(
          await startLocalPipeline({
            stack,
            timeScale: BENCH_TIME_SCALE,
            faults: 'zero-latency',
            isolation: 'process',
            execArgv,
            monitors: false,
            onInvocation,
          }),
        )
      : await startBaselinePipeline({
          stack,
          bundlePath: baselineBundle,
          faults: parseFaultSpec('zero-latency'),
          timeScale: BENCH_TIME_SCALE,
          seed,
          onInvocation,
          execArgv,
        });
  try {
    await sendBodies(target.sqs, target.inputQueueUrl, bodies);
    if (!(await drainQueue(target.sqs, target.inputQueueUrl, target.poller, 600_000))) throw new Error(`${variant}: the queue did not drain`);
  } finally {
    await target.stop();
  }
  const summary = topFrames(profileDir, variant === 'pipeline' ? stack.processor.bundlePath : baselineBundle, options.topFrames);
  rmSync(profileDir, { recursive: true, force: true });
  return { summary, cpuMsPerMessage: cpuMicros / 1000 / bodies.length };
}

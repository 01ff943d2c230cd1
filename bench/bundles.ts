import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, buildSync } from 'esbuild';

/** The processor's esbuild settings as the bench builds bundles outside a synth (minified, CommonJS, Node 24). */
export const MINIFIED_BUNDLE = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  minify: true,
  sourcemap: true,
  // As lib/constructs/function-bundling.ts: the baseline is built exactly as the processor is.
  mainFields: ['module', 'main'],
  logLevel: 'error',
} as const satisfies BuildOptions;

/** Bundles the baseline handler with the processor's esbuild settings (lib/constructs/processor.ts). */
export function bundleBaseline(): string {
  const outdir = mkdtempSync(join(tmpdir(), 'bench-baseline-'));
  const outfile = join(outdir, 'index.js');
  buildSync({ ...MINIFIED_BUNDLE, entryPoints: [join(__dirname, 'baseline', 'powertools-handler.ts')], outfile });
  return outfile;
}

export interface BundleFigures {
  readonly bytes: number;
  readonly gzipBytes: number;
}

export function bundleFigures(bundlePath: string): BundleFigures {
  const content = readFileSync(bundlePath);
  return { bytes: statSync(bundlePath).size, gzipBytes: gzipSync(content, { level: 9 }).length };
}

/**
 * Cold init of a bundle: a fresh Node process per sample requires the bundle (module load and the
 * handler's own init code) with the function's environment; the time is measured inside the
 * process around `require`, so Node's own start-up is excluded. Median of `samples`.
 */
const COLD_INIT_MARK = '@@cold-init-ms ';

export function coldInitMs(bundlePath: string, environment: Readonly<Record<string, string>>, samples = 7): { medianMs: number; samplesMs: number[] } {
  // The time goes on a marked line of its own: the bundle's init may log to stdout too (a logger
  // that samples DEBUG says so at init), which once turned a sample into NaN.
  const script =
    "const { performance } = require('node:perf_hooks'); const t = performance.now(); " +
    `require(${JSON.stringify(bundlePath)}); process.stdout.write('\\n${COLD_INIT_MARK}' + String(performance.now() - t) + '\\n');`;
  const samplesMs: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const result = spawnSync(process.execPath, ['-e', script], { env: { ...environment, PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`cold init of ${bundlePath} failed: ${result.stderr}`);
    const line = result.stdout.split('\n').find((text) => text.startsWith(COLD_INIT_MARK));
    const ms = Number(line?.slice(COLD_INIT_MARK.length));
    if (!Number.isFinite(ms)) throw new Error(`cold init of ${bundlePath}: no time in its output: ${result.stdout.slice(0, 500)}`);
    samplesMs.push(ms);
  }
  return { medianMs: median(samplesMs), samplesMs };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * Issue 17 side by side: the dev stage's Lambda bundles as synthesized from this tree and from
 * another one (an older commit), bytes and gzip bytes per function, the bench's baseline handler
 * too, and the processor's cold init (bench/bundles.ts: a fresh Node per sample, `require` timed
 * inside it, the two bundles alternated so machine load falls on both alike).
 *
 *   git archive <commit> | tar -x -C /tmp/before && ln -s "$PWD/node_modules" /tmp/before/
 *   npx tsx bench/lambda-bundles.ts /tmp/before [samples]     (default 9 samples; 0: bytes only)
 *
 * Each tree is synthesized afresh into a temporary directory with its own sources (its own
 * local/stack-model.ts), so the figures are what `cdk deploy` would zip from either.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import type { LocalStackModel } from '../local/stack-model';
import { bundleFigures, coldInitMs, MINIFIED_BUNDLE, median } from './bundles';

const other = process.argv[2];
if (!other) throw new Error('usage: npx tsx bench/lambda-bundles.ts <other source tree> [samples]');
const samples = Number(process.argv[3] ?? 9);
const trees = { before: resolve(other), after: resolve(__dirname, '..') };

async function synthesize(root: string): Promise<LocalStackModel> {
  const { synthesizeLocalStack } = (await import(join(root, 'local', 'stack-model.ts'))) as typeof import('../local/stack-model');
  return synthesizeLocalStack({ stage: 'dev', outdir: mkdtempSync(join(tmpdir(), 'bench-lambda-bundles-')) });
}

/** The baseline handler of a tree with the processor's esbuild settings (as bench/bundles.ts `bundleBaseline`). */
function baselineBundle(root: string): string {
  const outfile = join(mkdtempSync(join(tmpdir(), 'bench-baseline-')), 'index.js');
  buildSync({ ...MINIFIED_BUNDLE, entryPoints: [join(root, 'bench', 'baseline', 'powertools-handler.ts')], outfile });
  return outfile;
}

async function main(): Promise<void> {
  const stacks = { before: await synthesize(trees.before), after: await synthesize(trees.after) };
  const functions = (stack: LocalStackModel) =>
    new Map([stack.processor, ...stack.scheduledFunctions, ...stack.alarmActionFunctions].map((fn) => [fn.logicalId, fn.bundlePath]));
  const before = functions(stacks.before);
  const after = functions(stacks.after);
  before.set('baseline (bench/baseline)', baselineBundle(trees.before));
  after.set('baseline (bench/baseline)', baselineBundle(trees.after));
  process.stdout.write(`${'bytes (gzip)'.padEnd(34)} ${'before'.padStart(20)} ${'after'.padStart(20)}   change\n`);
  for (const [name, path] of after) {
    const was = before.get(name);
    const now = bundleFigures(path);
    const then = was ? bundleFigures(was) : undefined;
    const change = then ? `${(((now.bytes - then.bytes) / then.bytes) * 100).toFixed(1)}%` : '';
    const cell = (figures?: { bytes: number; gzipBytes: number }) => (figures ? `${figures.bytes} (${figures.gzipBytes})` : '—');
    process.stdout.write(`${name.padEnd(34)} ${cell(then).padStart(20)} ${cell(now).padStart(20)}   ${change}\n`);
  }
  if (samples <= 0) return;
  // The function's environment with placeholder URLs for its Refs: init builds its clients and sends nothing it awaits.
  const environment: Record<string, string> = { AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  for (const [name, value] of Object.entries(stacks.after.processor.environment))
    environment[name] = typeof value === 'string' ? value : `https://placeholder.invalid/${value.ref}`;
  const runs = { before: [] as number[], after: [] as number[] };
  for (let i = 0; i < samples; i += 1) {
    runs.before.push(...coldInitMs(stacks.before.processor.bundlePath, environment, 1).samplesMs);
    runs.after.push(...coldInitMs(stacks.after.processor.bundlePath, environment, 1).samplesMs);
  }
  for (const [label, times] of Object.entries(runs))
    process.stdout.write(`processor cold init, ${label.padEnd(6)} median ${median(times).toFixed(1)} ms (${times.map((t) => t.toFixed(0)).join(' ')})\n`);
}

void main();

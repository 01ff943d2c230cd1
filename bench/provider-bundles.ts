/**
 * Issue 17 side by side: the dev processor bundle with every provider's SDK client (as before the
 * per-stage build) and as the stage synthesizes it now, both built from the same sources in one
 * run: bytes, gzip bytes and cold init (bench/bundles.ts: a fresh Node per sample, `require`
 * timed inside it). The "all providers" bundle is the synthesized one's esbuild settings without
 * the provider defines. `npx tsx bench/provider-bundles.ts [samples]` (default 9).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { PROCESSOR_ENTRY } from '../lib/constructs/processor';
import { synthesizeLocalStack } from '../local/stack-model';
import { bundleFigures, coldInitMs, MINIFIED_BUNDLE, median } from './bundles';

const samples = Number(process.argv[2] ?? 9);
const stack = synthesizeLocalStack({ stage: 'dev' });
const allProviders = join(mkdtempSync(join(tmpdir(), 'bench-all-providers-')), 'index.js');
buildSync({ ...MINIFIED_BUNDLE, entryPoints: [PROCESSOR_ENTRY], outfile: allProviders });
// The function's environment with placeholder URLs for its Refs: init builds its clients and sends nothing it awaits.
const environment: Record<string, string> = { AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
for (const [name, value] of Object.entries(stack.processor.environment))
  environment[name] = typeof value === 'string' ? value : `https://placeholder.invalid/${value.ref}`;
// Alternate the two so machine load falls on both alike.
const runs = { before: [] as number[], after: [] as number[] };
for (let i = 0; i < samples; i += 1) {
  runs.before.push(...coldInitMs(allProviders, environment, 1).samplesMs);
  runs.after.push(...coldInitMs(stack.processor.bundlePath, environment, 1).samplesMs);
}
for (const [label, path, times] of [
  ['all providers', allProviders, runs.before],
  ['dev as synthesized', stack.processor.bundlePath, runs.after],
] as const) {
  const { bytes, gzipBytes } = bundleFigures(path);
  process.stdout.write(
    `${label.padEnd(20)} ${bytes} B, gzip ${gzipBytes} B, cold init median ${median(times).toFixed(1)} ms (${times.map((t) => t.toFixed(0)).join(' ')})\n`,
  );
}

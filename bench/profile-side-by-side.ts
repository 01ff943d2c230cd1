/**
 * Where the processor's CPU goes, against the baseline's, in one run: both handlers process the same
 * happy-path workload on fresh emulators with `--cpu-prof`, alternating, and the profiles are summed
 * by area (our lambda/ code, the AWS SDK, Powertools, zod, Node.js internals) per message.
 * The difference per area is what issue 17's CPU target has to close.
 *
 *   npx tsx bench/profile-side-by-side.ts [messages per run, default 1000] [rounds, default 2]
 */
import { generateTickets } from '../local/workload-generator/ticket-generator';
import { synthesizeLocalStack } from '../local/stack-model';
import { bundleBaseline } from './bundles';
import { type ProfiledRun, profileVariant } from './profile-variant';

const messages = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 2);

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const stack = synthesizeLocalStack();
  const bundles = { pipeline: stack.processor.bundlePath, baseline: bundleBaseline() };
  const byVariant = {
    pipeline: [] as ProfiledRun[],
    baseline: [] as ProfiledRun[],
  };
  for (let round = 0; round < rounds; round += 1) {
    const bodies = generateTickets(messages, 100 + round).map((ticket) => JSON.stringify({ task: 'ticket-triage', input: ticket.input }));
    for (const variant of round % 2 === 0 ? (['pipeline', 'baseline'] as const) : (['baseline', 'pipeline'] as const)) {
      const result = await profileVariant(variant, { stack, baselineBundle: bundles.baseline, bodies, seed: 1, topFrames: 400 });
      process.stderr.write(
        `round ${round + 1} ${variant}: ${result.cpuMsPerMessage.toFixed(3)} CPU ms/msg (invocation CPU), ${(result.summary.totalMs / messages).toFixed(3)} ms/msg sampled\n`,
      );
      byVariant[variant].push(result);
    }
  }
  const areas = new Set<string>();
  for (const results of Object.values(byVariant)) for (const { summary } of results) for (const area of Object.keys(summary.byArea)) areas.add(area);
  const perMessage = (variant: 'pipeline' | 'baseline', area: string) =>
    byVariant[variant].reduce((sum, { summary }) => sum + (summary.byArea[area] ?? 0), 0) / (messages * rounds);
  const rows = [...areas].map((area) => ({ area, pipeline: perMessage('pipeline', area), baseline: perMessage('baseline', area) }));
  rows.sort((a, b) => b.pipeline - b.baseline - (a.pipeline - a.baseline));
  process.stdout.write(`${'sampled CPU ms per message, by area'.padEnd(36)} ${'pipeline'.padStart(9)} ${'baseline'.padStart(9)} ${'diff'.padStart(8)}\n`);
  for (const row of rows)
    process.stdout.write(
      `${row.area.padEnd(36)} ${row.pipeline.toFixed(3).padStart(9)} ${row.baseline.toFixed(3).padStart(9)} ${(row.pipeline - row.baseline).toFixed(3).padStart(8)}\n`,
    );
  // Per frame, the pipeline's self time against the baseline's: where each area's difference lies.
  const framesOf = (variant: 'pipeline' | 'baseline') => {
    const frames = new Map<string, number>();
    for (const { summary } of byVariant[variant])
      for (const frame of summary.frames) {
        const key = `${frame.name}  ${frame.source.replace(/^file:.*\/index\.js$/, '(the bundle, unmapped)')}`;
        frames.set(key, (frames.get(key) ?? 0) + frame.selfMs / (messages * rounds));
      }
    return frames;
  };
  const pipelineFrames = framesOf('pipeline');
  const baselineFrames = framesOf('baseline');
  const keys = new Set([...pipelineFrames.keys(), ...baselineFrames.keys()]);
  const diffs = [...keys].map((key) => ({ key, pipeline: pipelineFrames.get(key) ?? 0, baseline: baselineFrames.get(key) ?? 0 }));
  diffs.sort((a, b) => b.pipeline - b.baseline - (a.pipeline - a.baseline));
  process.stdout.write(`\nframes the pipeline spends most over the baseline, self ms per message (pipeline / baseline / diff)\n`);
  for (const row of diffs.slice(0, 30))
    process.stdout.write(
      `  ${row.pipeline.toFixed(3).padStart(7)} ${row.baseline.toFixed(3).padStart(7)} ${(row.pipeline - row.baseline).toFixed(3).padStart(7)}  ${row.key}\n`,
    );
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});

/**
 * The measured runs of issue 14 (docs/quotas.md, "Measured runs"), one at a time: the same
 * workload against `--faults rpm=N` with pacing, without pacing, and with an outage inside the
 * quota run. Writes each run's report (the per-minute call series is in
 * `details.model.quota.series`) and one SVG chart comparing them with the quota.
 *
 *   npx tsx scripts/quota-runs.ts [--messages 3000] [--rpm 600] [--time-scale 0.1] [--out .local/quota-runs]
 *                                 [--chart docs/quota-pacing.svg] [--only paced,unpaced,outage]
 *
 * Same as `pipectl local --messages N --faults rpm=N[,outage=20-60] --pacing quota|off --report F`,
 * except that the scheduled monitors (reconciler, drift baseline) are off: their reference run
 * measures nothing here and, on a starved machine, is what fails first.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderQuotaChart, summarizeQuotaRun } from '../local/model-simulator/quota-chart';
import type { LocalRunReport } from '../local/report';
import { runLocal } from '../local/run-local';
import { type LocalStackModel, synthesizeLocalStack } from '../local/stack-model';
import { buildBodies } from '../local/workload';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '3000' },
    rpm: { type: 'string', default: '600' },
    'time-scale': { type: 'string', default: '0.1' },
    out: { type: 'string', default: join('.local', 'quota-runs') },
    chart: { type: 'string', default: join('docs', 'quota-pacing.svg') },
    only: { type: 'string', default: 'paced,unpaced,outage' },
  },
});
const messages = Number(values.messages);
const rpm = Number(values.rpm);
const timeScale = Number(values['time-scale']);

interface Scenario {
  readonly name: string;
  readonly faults: string;
  readonly stack: LocalStackModel;
  readonly label: string;
}
// The quota goes into the stage config, as a deployment would have it: the template then carries
// MODEL_QUOTAS and the event source's concurrency and batch size derived from it (docs/quotas.md).
const pacedStack = synthesizeLocalStack({ overrides: { quotas: { pacing: 'on', models: { 'sim-primary': { rpm }, 'sim-secondary': { rpm } } } } });
const unpacedStack = synthesizeLocalStack({ overrides: { quotas: { pacing: 'off' } } });
const scenarios: Scenario[] = [
  { name: 'paced', faults: `rpm=${rpm}`, stack: pacedStack, label: 'paced to the quota' },
  { name: 'unpaced', faults: `rpm=${rpm}`, stack: unpacedStack, label: 'no pacing' },
  { name: 'outage', faults: `rpm=${rpm},outage=20-60`, stack: pacedStack, label: 'paced, outage 20-60 s' },
].filter((scenario) => values.only.split(',').includes(scenario.name));

/** Runs the scenarios one after the other (never at once: they would share two cores). */
async function main(): Promise<void> {
  mkdirSync(values.out, { recursive: true });
  const bodies = buildBodies({ messages, seed: 14 } as Parameters<typeof buildBodies>[0]);
  const charted: Array<{ label: string; stats: NonNullable<LocalRunReport['details']['model']['quota']> }> = [];
  for (const scenario of scenarios) {
    process.stderr.write(`quota-runs: ${scenario.name} (${scenario.faults}, ${messages} messages, time scale ${timeScale})…\n`);
    const report = await runLocal(bodies, {
      timeScale,
      faults: scenario.faults,
      stack: scenario.stack,
      monitors: false,
      // Long enough for the quota to drain the workload three times over.
      drainTimeoutMs: 60_000 + Math.ceil((3 * messages * 60_000 * timeScale) / rpm),
      logFile: join(values.out, `${scenario.name}.log`),
    });
    writeFileSync(join(values.out, `${scenario.name}.json`), `${JSON.stringify(report, null, 2)}\n`);
    const stats = report.details.model.quota;
    if (stats) charted.push({ label: scenario.label, stats });
    const run = stats ? summarizeQuotaRun(stats) : undefined;
    const model = report.details.model;
    process.stdout.write(
      `${JSON.stringify({
        scenario: scenario.name,
        faults: scenario.faults,
        sent: report.sent,
        unique: report.unique,
        completed: report.completed,
        byTier: report.byTier,
        deadLettered: report.deadLettered,
        rejected: report.rejected,
        inReview: report.inReview,
        invariantHolds: report.invariantHolds,
        primaryShare: report.completed > 0 ? report.byTier.primary / report.completed : null,
        modelRequests: model.requests,
        byOutcome: model.byOutcome,
        byModel: model.byModel,
        quota: run && {
          rpm: run.rpm,
          busyMinutes: run.busyWindows,
          perMinute: run.acceptedPerWindow,
          mean: run.meanPerWindow,
          maxDeviation: run.maxDeviation,
          refusedShare: run.refusedShare,
        },
        eventSource: { batchSize: scenario.stack.eventSource.batchSize, maxConcurrency: scenario.stack.eventSource.maxConcurrency },
        durationMs: report.durationMs,
      })}\n`,
    );
  }
  if (charted.length > 0) {
    writeFileSync(values.chart, renderQuotaChart(charted, `model calls per minute vs a ${rpm} RPM quota (${messages} messages, time scale ${timeScale})`));
    process.stderr.write(`quota-runs: chart written to ${values.chart}\n`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`quota-runs: ${String(error)}\n`);
    process.exit(1);
  },
);

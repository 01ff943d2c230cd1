import { userInfo } from 'node:os';
import { type Command, Option } from 'commander';
import { DRIFT_BASELINE_SOURCE } from '../../lambda/contract';
import type { DriftRun } from '../../lambda/monitors/drift-monitor';
import type { StageConfig } from '../../lib/config/stage-types';
import { confirm, type CliIo } from '../../pipectl/cli-io';
import { OperationFailedError, UsageError } from '../../pipectl/errors';
import { formatDuration, isoSeconds, parseDuration, table } from '../../pipectl/format';
import type { PipelineTarget } from '../../pipectl/target';
import { addExamples, addTargetOptions, announce, targetHint, type TargetFlags, withTarget } from './target-options';

interface DriftFlags extends TargetFlags {
  readonly window?: string;
  readonly at?: string;
  readonly shards?: string;
  readonly json?: boolean;
}

interface BaselineFlags extends TargetFlags {
  readonly from: string;
  readonly to: string;
  readonly task?: string;
  readonly yes?: boolean;
  readonly json?: boolean;
}

/**
 * The target stage's config, from this repository (what `cdk deploy` deployed): drift settings
 * and alarm thresholds. A local target uses the stage its template was synthesized from; a stage
 * this repository does not define falls back to the defaults.
 */
async function stageConfigOf(target: PipelineTarget): Promise<StageConfig> {
  const { loadStageConfig } = await import('../../lib/config/stage-load');
  try {
    return loadStageConfig(target.stage);
  } catch {
    return loadStageConfig('dev');
  }
}

/** An instant from the command line: ISO 8601, or a duration ago (`3h` = three hours ago). */
function parseInstant(text: string, option: string, now: number): number {
  if (/^\d+(\.\d+)?(ms|s|m|h|d)/.test(text.trim())) return now - parseDuration(text, option);
  const parsed = Date.parse(text);
  if (Number.isNaN(parsed)) throw new UsageError(`${option} "${text}" is neither an ISO time (2026-11-23T14:00Z) nor a duration ago (3h)`);
  return parsed;
}

/** `pipectl drift` and `pipectl drift baseline --from --to`. */
export function registerDriftCommand(program: Command, io: CliIo): void {
  const drift = program
    .command('drift')
    .description("Per-feature drift of the last window against each task's baseline: PSI, significance, the bins that moved most (read-only)")
    .option('--window <duration>', 'how far back the compared window reaches (default: the stage config, 60m)')
    .option('--at <time>', 'end of the window: ISO time, or a duration ago (default: now)')
    .addOption(new Option('--shards <n>', 'index shards to read, of 16 (a uniform sample)'))
    .option('--json', 'print the whole run as JSON');
  addTargetOptions(drift);
  addExamples(drift, 'pipectl drift --stage prod', 'pipectl drift --local --window 10m', 'pipectl drift --stage prod --at 2026-11-23T04:00Z --json');
  drift.action(async (flags: DriftFlags) => {
    await withTarget(flags, async (target) => {
      announce(io, target);
      const { runDrift } = await import('../../lambda/monitors/drift-monitor');
      const config = await stageConfigOf(target);
      const settings = config.drift;
      const now = Date.now();
      const at = flags.at ? parseInstant(flags.at, '--at', now) : now;
      const windowMs = flags.window ? parseDuration(flags.window, '--window') : settings.windowMinutes * 60_000;
      const shards = flags.shards === undefined ? settings.sampleShards : Number(flags.shards);
      if (!(Number.isInteger(shards) && shards >= 1 && shards <= 16)) throw new UsageError(`--shards must be an integer from 1 to 16, got ${flags.shards}`);
      const run = await runDrift(
        {
          client: target.dynamodb,
          ledgerTable: target.resources.ledgerTableName,
          controlTable: target.resources.controlTableName,
          stage: target.stage,
          windowMs,
          options: settings,
          sampleShards: shards,
          maxItems: settings.maxItemsPerRun,
        },
        at,
      );
      io.out(flags.json ? `${JSON.stringify(run, null, 2)}\n` : renderRun(run, target, config.observability.alarms));
    });
  });

  const baseline = drift
    .command('baseline')
    .description("Pin a task's drift baseline to a window of the ledger (replaces the current one; asks first)")
    .requiredOption('--from <time>', 'start of the window: ISO time, or a duration ago (e.g. 2026-11-20T00:00Z, 7d)')
    .requiredOption('--to <time>', 'end of the window, exclusive: ISO time, or a duration ago')
    // Checked in the action, not with .choices(): the task registry loads zod, which --help does not need.
    .addOption(new Option('--task <name>', 'the task, as registered in lambda/tasks/registry.ts (default: the first one, ticket-triage)'))
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--json', 'print the pinned baseline as JSON');
  addTargetOptions(baseline);
  addExamples(
    baseline,
    'pipectl drift baseline --stage prod --from 2026-11-20T00:00Z --to 2026-11-21T00:00Z',
    'pipectl drift baseline --local --from 10m --to 0s --yes',
  );
  baseline.action(async (_options: BaselineFlags, command: Command) => {
    // `drift` takes the same target options; commander hands those written after `baseline` to
    // whichever command defines them first, so read them merged.
    const flags = command.optsWithGlobals<BaselineFlags>();
    const { TASK_NAMES } = await import('../../lambda/tasks/registry');
    const task = flags.task ?? TASK_NAMES[0];
    if (!TASK_NAMES.includes(task)) throw new UsageError(`--task "${task}" is not a registered task; the tasks are: ${TASK_NAMES.join(', ')}`);
    const { buildBaseline, writeBaseline } = await import('../../lambda/monitors/baseline-store');
    const { MonitorInputError } = await import('../../lambda/monitors/errors');
    await withTarget(flags, async (target) => {
      announce(io, target);
      const settings = (await stageConfigOf(target)).drift;
      const now = Date.now();
      const from = parseInstant(flags.from, '--from', now);
      const to = parseInstant(flags.to, '--to', now);
      if (!(from < to)) throw new UsageError(`--from (${isoSeconds(from)}) must be before --to (${isoSeconds(to)})`);
      let built;
      try {
        built = await buildBaseline(target.dynamodb, target.resources.ledgerTableName, task, from, to, {
          sampleShards: settings.sampleShards,
          maxItems: settings.maxItemsPerRun,
          source: DRIFT_BASELINE_SOURCE.PINNED,
          pinnedAt: now,
          pinnedBy: userInfo().username,
        });
      } catch (error) {
        if (error instanceof MonitorInputError)
          throw new OperationFailedError(
            `${error.message}: pick a window with completed items (\`pipectl drift ${targetHint(target)}\` shows the current one)`,
          );
        throw error;
      }
      await confirm(io, {
        action: `pin the ${task} drift baseline to ${isoSeconds(from)} – ${isoSeconds(to)} (${built.items} items); drift is measured against it from the next run`,
        target: target.description,
        stage: target.stage,
        production: target.production,
        yes: Boolean(flags.yes),
      });
      const { requests: _requests, readUnits: _readUnits, ...pinned } = built;
      await writeBaseline(target.dynamodb, target.resources.controlTableName, pinned);
      io.err(`pinned: ${task} baseline ${isoSeconds(from)} – ${isoSeconds(to)}, ${pinned.items} items\n`);
      io.out(flags.json ? `${JSON.stringify(pinned, null, 2)}\n` : `${renderHistograms(pinned.histograms)}\n`);
    });
  });
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** The per-feature table, the baseline window and the bins that moved most. */
function renderRun(run: DriftRun, target: PipelineTarget, thresholds: { readonly driftTicket: number; readonly driftPage: number }): string {
  const level = (score: number) => (score >= thresholds.driftPage ? ' PAGE' : score >= thresholds.driftTicket ? ' TICKET' : '');
  const lines: string[] = [];
  const sample = run.sample;
  lines.push(
    `window    ${isoSeconds(run.from)} – ${isoSeconds(run.to)} (${formatDuration(run.to - run.from)}); ` +
      `sample ${sample.items} item(s) from ${sample.shardsRead}/16 shard(s)${sample.truncated ? ', cut at the item bound' : ''}; ` +
      `${run.requests} queries, ${run.readUnits} read units`,
  );
  if (run.tasks.length === 0) {
    lines.push('', `no completed item in the window: nothing to compare (try a longer --window, e.g. pipectl drift ${targetHint(target)} --window 6h)`);
    return `${lines.join('\n')}\n`;
  }
  for (const report of run.tasks) {
    lines.push(
      '',
      `task      ${report.task}: ${report.windowItems} item(s)${report.withoutFeatures > 0 ? `, ${report.withoutFeatures} without features` : ''}`,
    );
    if (!report.baseline) {
      lines.push(
        report.status === 'baseline-pending' && report.baselineDueAt
          ? `baseline  none yet: the drift monitor pins the first full day at ${isoSeconds(report.baselineDueAt)}`
          : `baseline  none: pin one with \`pipectl drift baseline ${targetHint(target)} --from <start> --to <end> --task ${report.task}\``,
      );
      continue;
    }
    const { baseline } = report;
    lines.push(
      `baseline  ${baseline.source}, ${isoSeconds(baseline.from)} – ${isoSeconds(baseline.to)}, ${baseline.items} item(s), pinned ${isoSeconds(baseline.pinnedAt)}${baseline.pinnedBy ? ` by ${baseline.pinnedBy}` : ''}`,
    );
    lines.push(
      table(
        ['feature', 'PSI', 'test', 'p', 'items', 'score', 'moved most'],
        report.features.map((feature) => [
          feature.feature,
          Number.isFinite(feature.psi) ? feature.psi.toFixed(3) : '-',
          feature.test ? (feature.test.test === 'chi-squared' ? 'chi²' : 'KS') : '-',
          feature.test ? feature.test.pValue.toPrecision(2) : '-',
          feature.windowItems,
          feature.score === undefined ? `- (${feature.unscored})` : `${feature.score.toFixed(3)}${level(feature.score)}`,
          feature.movedBins
            .slice(0, 2)
            .map((bin) => `${bin.bin} ${percent(bin.expected)}→${percent(bin.actual)}`)
            .join(', '),
        ]),
      ),
    );
  }
  lines.push(
    '',
    `max score ${run.maxScore === undefined ? '- (nothing scored)' : `${run.maxScore.toFixed(3)}${level(run.maxScore)}`}  (ticket at ${thresholds.driftTicket}, page at ${thresholds.driftPage})`,
  );
  return `${lines.join('\n')}\n`;
}

function renderHistograms(histograms: Readonly<Record<string, Readonly<Record<string, number>>>>): string {
  return table(
    ['feature', 'bins'],
    Object.entries(histograms).map(([feature, bins]) => {
      const total = Object.values(bins).reduce((sum, count) => sum + count, 0);
      return [
        feature,
        Object.entries(bins)
          .sort(([, a], [, b]) => b - a)
          .map(([bin, count]) => `${bin} ${percent(count / total)}`)
          .join(', '),
      ];
    }),
  );
}

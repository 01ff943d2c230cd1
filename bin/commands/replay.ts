import { type Command, InvalidArgumentError } from 'commander';
import { confirm, type CliIo } from '../../pipectl/cli-io';
import { UsageError } from '../../pipectl/errors';
import { table, truncate } from '../../pipectl/format';
import type { ReplayReport, ReplayRow, ReplaySelection } from '../../pipectl/replay';
import { addExamples, addTargetOptions, announce, type TargetFlags, withTarget } from './target-options';

interface ReplayFlags extends TargetFlags {
  readonly key?: string[];
  readonly job?: string;
  readonly fromDlq?: boolean;
  readonly reason?: string;
  readonly file?: string;
  readonly model?: string;
  readonly taskVersion?: string;
  readonly maxCost?: number;
  readonly limit: number;
  readonly store?: boolean;
  readonly yes?: boolean;
  readonly json?: boolean;
  readonly progress: boolean;
}

const positive = (value: string) => {
  const parsed = Number(value);
  if (!(parsed >= 0) || !Number.isFinite(parsed)) throw new InvalidArgumentError('a non-negative number is expected');
  return parsed;
};

/** Registers `pipectl replay`. */
export function registerReplayCommand(program: Command, io: CliIo): void {
  const command = program
    .command('replay')
    .description(
      "Run inputs again through the processor's own chain (validation, repair, fallback) on the current or a named model, " +
        'and diff each against the stored result. Writes nothing and sends nothing unless --store',
    )
    .option('--key <key...>', 'input hashes (their input from the DLQ or a review item)')
    .option('--job <jobId>', "a job's inputs (those in the DLQ or in review)")
    .option('--from-dlq', "the input DLQ's messages (they stay in the DLQ)")
    .option('--reason <class>', 'with --from-dlq: only this failure class (e.g. MAX_RECEIVES_EXCEEDED) or last error class')
    .option('--file <x.jsonl>', 'message bodies, one a line (what a producer sends)')
    .option('--model <id>', 'replay on this model instead of the primary (every key; the canary split is ignored)')
    .option('--task-version <task@version>', "replay that task's inputs with this version of its prompt (a candidate version, e.g. ticket-triage@2)")
    .option('--max-cost <usd>', "stop before the replay's model spend exceeds this (default: what is left of the stage's hourly budget)", positive)
    .option('--limit <n>', 'at most this many inputs', (value) => Math.max(1, Math.floor(positive(value))), 100)
    .option('--store', 'write each result through the normal idempotent path (a key settled before stays as it is)')
    .option('-y, --yes', 'with --store: do not ask for confirmation')
    .option('--no-progress', 'no progress bar, even on a terminal')
    .option('--json', 'print the rows and the summary as JSON');
  addTargetOptions(command);
  addExamples(
    command,
    'pipectl replay --from-dlq --reason MAX_RECEIVES_EXCEEDED --local',
    'pipectl replay --file failing.jsonl --model anthropic.claude-3-5-haiku-20241022-v1:0 --max-cost 0.50 --stage dev',
    'pipectl replay --key 3f2a… --stage prod',
  );
  command.action(async (flags: ReplayFlags) => {
    // Loaded when the command runs: the processor's chain and the SDK clients are not needed for --help.
    const { budgetLeftUsd, collectInputs, processorConfig, replayInputs } = await import('../../pipectl/replay');
    const { Presets, SingleBar } = await import('cli-progress');
    const selection = selectionOf(flags);
    await withTarget(flags, async (target) => {
      announce(io, target);
      const config = await processorConfig(target);
      const left = await budgetLeftUsd(target, config, Date.now());
      const bound = [flags.maxCost, left].filter((value): value is number => value !== undefined);
      const maxCostUsd = bound.length > 0 ? Math.min(...bound) : undefined;
      const inputs = await collectInputs(target, selection, flags.limit);
      if (inputs.length === 0) {
        io.err('no inputs to replay\n');
        io.out(flags.json ? `${JSON.stringify({ rows: [], summary: null })}\n` : '');
        return;
      }
      if (flags.store) {
        await confirm(io, {
          action: `replay ${inputs.length} input(s) and store their results in the ledger (keys settled before stay as they are)`,
          target: target.description,
          stage: target.stage,
          production: target.production,
          yes: Boolean(flags.yes),
        });
      }
      io.err(
        `replaying ${inputs.length} input(s) on ${flags.model ?? config.primaryModelId}` +
          `${maxCostUsd === undefined ? ' (no cost bound: the stage sets no USD budget and no --max-cost was given)' : `, at most $${maxCostUsd.toFixed(4)}`}` +
          `${flags.store ? '; results are stored' : '; nothing is written'}\n`,
      );
      const bar =
        flags.progress && !flags.json && io.progressStream
          ? new SingleBar(
              { format: ' replaying |{bar}| {value}/{total} inputs | {duration}s', stream: io.progressStream, hideCursor: true },
              Presets.shades_classic,
            )
          : undefined;
      bar?.start(inputs.length, 0);
      let report: ReplayReport;
      try {
        report = await replayInputs(target, config, inputs, {
          modelId: flags.model,
          taskVersion: flags.taskVersion,
          maxCostUsd,
          store: Boolean(flags.store),
          onProgress: (done) => bar?.update(done),
        });
      } finally {
        bar?.stop();
      }
      io.out(flags.json ? `${JSON.stringify(report, null, 2)}\n` : describe(report));
    });
  });
}

function selectionOf(flags: ReplayFlags): ReplaySelection {
  const given = [flags.key ? 'key' : '', flags.job ? 'job' : '', flags.fromDlq ? 'dlq' : '', flags.file ? 'file' : ''].filter(Boolean);
  if (given.length !== 1) throw new UsageError('give exactly one source of inputs: --key, --job, --from-dlq or --file');
  if (flags.reason !== undefined && !flags.fromDlq) throw new UsageError('--reason selects dead letters: use it with --from-dlq');
  if (flags.key) return { kind: 'keys', keys: flags.key };
  if (flags.job) return { kind: 'job', jobId: flags.job };
  if (flags.fromDlq) return { kind: 'dlq', ...(flags.reason ? { reason: flags.reason } : {}) };
  return { kind: 'file', path: flags.file as string };
}

const show = (value: unknown) => (value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value));

/** One block per input: where it came from, stored vs replayed, what changed; then the summary. */
function describe(report: ReplayReport): string {
  const lines: string[] = [];
  for (const row of report.rows) lines.push(...describeRow(row), '');
  const s = report.summary;
  lines.push(
    table(
      ['inputs', 'replayed', 'compared', 'agree', 'agreement', 'confidence shift', 'validation failures', 'cost (USD)', 'rejected', 'skipped', 'errors'],
      [
        [
          s.inputs,
          s.replayed,
          s.compared,
          s.agree,
          s.agreementPercent === null ? '—' : `${s.agreementPercent}%`,
          s.meanConfidenceShift === null ? '—' : `${s.meanConfidenceShift >= 0 ? '+' : ''}${s.meanConfidenceShift}`,
          s.validationFailures,
          s.costUsd.toFixed(6),
          s.rejected,
          s.skipped,
          s.errors,
        ],
      ],
    ),
    `model ${s.modelId}; served by ${
      Object.entries(s.byTier)
        .map(([tier, count]) => `${tier} ${count}`)
        .join(', ') || 'nothing'
    }${s.costBoundUsd === null ? '' : `; bound $${s.costBoundUsd.toFixed(4)}`}${s.stored > 0 ? `; ${s.stored} stored` : ''}`,
    '',
  );
  return lines.join('\n');
}

function describeRow(row: ReplayRow): string[] {
  const head = `${row.source}  ${row.key ? row.key.slice(0, 16) : ''}  ${row.task ?? ''}`;
  if (row.status !== 'replayed') return [`${head}  ${row.status.toUpperCase()}: ${row.detail ?? ''}`];
  const stored =
    row.stored?.result === undefined ? `stored: ${row.stored?.status ?? 'no ledger item'}` : `stored: ${row.stored.tier ?? '?'} (${row.stored.modelId ?? '?'})`;
  const replayed = `replayed: ${row.replayed?.tier} (${row.replayed?.modelId}, ${row.replayed?.modelCalls} call(s))`;
  const verdict = row.agrees === undefined ? 'nothing stored to compare' : row.agrees ? 'agrees' : 'DIFFERS';
  const lines = [`${head}  ${verdict}`, `  ${stored}  →  ${replayed}`];
  if (row.stored?.result === undefined && row.replayed?.result !== undefined) lines.push(`  + ${truncate(JSON.stringify(row.replayed.result), 160)}`);
  for (const change of row.changes) lines.push(`  ~ ${change.field}: ${truncate(show(change.stored), 70)} → ${truncate(show(change.replayed), 70)}`);
  if (row.validationFailures > 0) lines.push(`  ! ${row.validationFailures} answer(s) invalid after repair`);
  if (row.detail) lines.push(`  notes: ${truncate(row.detail, 200)}`);
  if (row.storedNow) lines.push(`  store: ${row.storedNow}`);
  return lines;
}

import { existsSync, readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { confirm, type CliIo } from '../../pipectl/cli-io';
import { InvalidInputError, UsageError } from '../../pipectl/errors';
import { formatDuration, parseDuration } from '../../pipectl/format';
import { addExamples, addTargetOptions, announce, type TargetFlags, withTarget } from './target-options';

interface SendFlags extends TargetFlags {
  readonly jobId?: string;
  readonly skipInvalid?: boolean;
  readonly dryRun?: boolean;
  readonly yes?: boolean;
  readonly json?: boolean;
  readonly concurrency: number;
  readonly deadline: string;
  readonly progress: boolean;
}

/** Invalid lines listed before the rest are summarised. */
const PROBLEMS_SHOWN = 20;

const concurrency = (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 16) throw new InvalidArgumentError('an integer from 1 to 16 is expected');
  return parsed;
};

export function registerSendCommand(program: Command, io: CliIo): void {
  const command = program
    .command('send')
    .description('Validate a JSONL file of messages, register a job and send them to the input queue (prints the job id)')
    .argument('<file>', 'one message body per line ({"task":…,"input":…}); - reads standard input')
    .option('--job-id <id>', 'the job id (default: derived from the content, so a re-run resumes the same job)')
    .option('--skip-invalid', 'send the valid lines even when some are invalid (default: send nothing)')
    .option('--dry-run', 'validate and say what would be sent; send nothing, register nothing')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--json', 'print the result as JSON')
    .addOption(new Option('--concurrency <n>', 'SendMessageBatch requests in flight').argParser(concurrency).default(4))
    .addOption(new Option('--deadline <duration>', 'when the job should be complete, after its first send').default('1h'))
    .option('--no-progress', 'no progress bar, even on a terminal');
  addTargetOptions(command);
  addExamples(
    command,
    'pipectl send tickets.jsonl --stage dev',
    'pipectl send tickets.jsonl --local --yes            # against `pipectl local --serve`',
    'head -100 tickets.jsonl | pipectl send - --stage dev --job-id backfill-0423 --skip-invalid --yes',
    'pipectl send tickets.jsonl --stage dev --dry-run     # validate only',
  );
  command.action(async (file: string, flags: SendFlags) => {
    const { checkJobId, defaultJobId, sendLines, validateLines } = await import('../../pipectl/send');
    const { DONE_STATUSES, getLedgerItems } = await import('../../pipectl/ledger-reader');
    const { registerJob } = await import('../../pipectl/job-registry');
    const { Presets, SingleBar } = await import('cli-progress');
    const deadlineMs = parseDuration(flags.deadline, '--deadline');
    if (flags.jobId !== undefined) checkJobId(flags.jobId);
    if (file !== '-' && !existsSync(file)) throw new UsageError(`${file}: no such file (give a JSONL file, or - for standard input)`);
    const text = file === '-' ? await io.readStdin() : readFileSync(file, 'utf8');
    const jobId = flags.jobId ?? defaultJobId(text);
    const input = validateLines(text, jobId);
    const where = file === '-' ? 'standard input' : file;

    for (const problem of input.problems.slice(0, PROBLEMS_SHOWN)) io.err(`${where}:${problem.line}: ${problem.reason}: ${problem.detail}\n`);
    if (input.problems.length > PROBLEMS_SHOWN) io.err(`… and ${input.problems.length - PROBLEMS_SHOWN} more invalid line(s)\n`);
    if (input.problems.length > 0 && !flags.skipInvalid) {
      throw new InvalidInputError(
        `${input.problems.length} of ${input.valid.length + input.problems.length} line(s) are invalid: nothing was sent. ` +
          `Fix them, or re-run with --skip-invalid to send the ${input.valid.length} valid one(s).`,
        input.problems,
      );
    }
    if (input.valid.length === 0) throw new UsageError(`${where} has no valid message to send`);
    const unique = new Set(input.valid.map((line) => line.key)).size;
    io.err(
      `${where}: ${input.valid.length} valid message(s) (${unique} unique input(s))` +
        `${input.problems.length > 0 ? `, ${input.problems.length} invalid skipped` : ''}` +
        `${input.blank > 0 ? `, ${input.blank} blank line(s) ignored` : ''}` +
        `${input.jobIdReplaced > 0 ? `, ${input.jobIdReplaced} jobId(s) replaced by ${jobId}` : ''}\n`,
    );

    await withTarget(flags, async (target) => {
      announce(io, target);
      const { resources, dynamodb, sqs } = target;
      // Resumable: keys the ledger already settled are not sent again (the ledger would skip them anyway).
      const items = await getLedgerItems(
        dynamodb,
        resources.ledgerTableName,
        input.valid.map((line) => line.key),
        ['pk', 'status', 'jobId'],
      );
      const settled = [...items.values()].filter((item) => DONE_STATUSES.has(String(item.status)));
      const done = new Set(settled.map((item) => item.pk));
      // An input settled under another job (or none) belongs to that job in the ledger: this job's
      // reconciliation could never count it, so it is not one of this job's inputs.
      const foreign = new Set(settled.filter((item) => item.jobId !== jobId).map((item) => item.pk));
      const toSend = input.valid.filter((line) => !done.has(line.key));
      const alreadyDone = input.valid.length - toSend.length;
      const jobUnique = unique - foreign.size;
      const summary = {
        jobId,
        valid: input.valid.length,
        unique,
        invalid: input.problems.length,
        alreadyDone,
        toSend: toSend.length,
        settledElsewhere: foreign.size,
      };
      if (alreadyDone > 0) io.err(`${alreadyDone} message(s) were already done (their inputs are in the ledger): not sent again\n`);
      if (foreign.size > 0) {
        io.err(`${foreign.size} of those input(s) were settled under another job (or none): the job counts ${jobUnique} input(s), not ${unique}\n`);
      }

      if (flags.dryRun) {
        io.err(`dry run: would register job ${jobId} and send ${toSend.length} message(s) to ${resources.inputQueueUrl}; nothing sent\n`);
        io.out(flags.json ? `${JSON.stringify({ ...summary, sent: 0, dryRun: true })}\n` : `${jobId}\n`);
        return;
      }
      await confirm(io, {
        action: `register job ${jobId} and send ${toSend.length} message(s) to the input queue`,
        target: target.description,
        stage: target.stage,
        production: target.production,
        yes: Boolean(flags.yes),
        preview: '--dry-run',
      });

      const now = Date.now();
      const { job, resumed } = await registerJob(dynamodb, resources.controlTableName, {
        jobId,
        expected: input.valid.length,
        unique: jobUnique,
        now,
        deadlineMs,
      });
      io.err(`${resumed ? 'resuming' : 'registered'} job ${jobId}: ${job.expected} message(s), first sent ${new Date(job.sentAt).toISOString()}\n`);

      const started = Date.now();
      const bar =
        flags.progress && io.progressStream && toSend.length > 0
          ? new SingleBar(
              { format: ' sending |{bar}| {value}/{total} messages | {duration}s', stream: io.progressStream, hideCursor: true },
              Presets.shades_classic,
            )
          : undefined;
      bar?.start(toSend.length, 0);
      let sent: number;
      try {
        sent = await sendLines(sqs, resources.inputQueueUrl, toSend, { concurrency: flags.concurrency, onSent: (count) => bar?.update(count) });
      } finally {
        bar?.stop();
      }
      io.err(`sent ${sent} message(s) in ${formatDuration(Date.now() - started)}; follow it with \`pipectl jobs ${jobId}\` (same target flags)\n`);
      io.out(flags.json ? `${JSON.stringify({ ...summary, sent, resumed, sentAt: job.sentAt, deadline: job.deadline })}\n` : `${jobId}\n`);
    });
  });
}

import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CliIo } from '../../pipectl/cli-io';
import { OperationFailedError } from '../../pipectl/errors';
import { formatDuration, isoSeconds, table } from '../../pipectl/format';
import { addExamples, addTargetOptions, targetHint, type TargetFlags, withTarget } from './target-options';

interface JobsFlags extends TargetFlags {
  readonly json?: boolean;
  readonly limit: number;
}

const positiveInteger = (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('a positive integer is expected');
  return parsed;
};

export function registerJobsCommand(program: Command, io: CliIo): void {
  const command = program
    .command('jobs')
    .description('Registered jobs: sent vs completed / dead-lettered / in review / missing, as the reconciler counts them (read-only)')
    .argument('[id]', 'one job (default: the most recent ones)')
    .addOption(new Option('--limit <n>', 'how many recent jobs').argParser(positiveInteger).default(20))
    .option('--json', 'print as JSON');
  addTargetOptions(command);
  addExamples(command, 'pipectl jobs --stage prod', 'pipectl jobs job-5f1d2c3b4a596877 --local --json');
  command.action(async (id: string | undefined, flags: JobsFlags) => {
    const { findJob, jobProgress, recentJobs } = await import('../../pipectl/job-progress');
    await withTarget(flags, async (target) => {
      let jobs;
      if (id !== undefined) {
        const job = await findJob(target, id);
        if (!job) throw new OperationFailedError(`no job ${id} is registered: list them with \`pipectl jobs ${targetHint(target)}\``);
        jobs = [job];
      } else jobs = await recentJobs(target, flags.limit);
      const progress = await jobProgress(target, jobs);
      if (flags.json) {
        io.out(`${JSON.stringify(id !== undefined ? progress[0] : progress, null, 2)}\n`);
        return;
      }
      if (progress.length === 0) {
        io.out(`no job registered in ${target.description} (pipectl send registers one)\n`);
        return;
      }
      const now = Date.now();
      io.out(
        `${table(
          ['job', 'sent', 'unique', 'completed', 'dead-lettered', 'in review', 'missing', 'state', 'sent at'],
          progress.map((job) => [
            job.jobId,
            job.sent,
            job.expected,
            job.completed,
            job.deadLettered,
            job.inReview,
            job.missing,
            job.status === 'incomplete' ? `INCOMPLETE (${formatDuration(now - job.deadline)} overdue)` : job.status,
            isoSeconds(job.sentAt),
          ]),
        )}\n`,
      );
      for (const job of progress.filter((entry) => entry.missing > 0 && (entry.stuck > 0 || entry.notInLedger > 0))) {
        io.out(
          `  ${job.jobId}: ${job.pending} retrying, ${job.stuck} stuck (expired lease), ${job.notInLedger} never reached the ledger (still queued, or lost)\n`,
        );
      }
      if (progress.some((job) => job.status === 'incomplete')) {
        io.out(`\nincomplete jobs: look at \`pipectl status ${targetHint(target)}\` and \`pipectl dlq list ${targetHint(target)}\`\n`);
      }
    });
  });
}

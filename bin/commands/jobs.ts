import type { Command } from 'commander';
import type { CliIo } from '../../pipectl/cli-io';
import { OperationFailedError } from '../../pipectl/errors';
import { formatDuration, isoSeconds, table } from '../../pipectl/format';
import { jobProgress } from '../../pipectl/job-progress';
import { getJob, listJobs } from '../../pipectl/job-registry';
import { addExamples, addTargetOptions, targetHint, type TargetFlags, withTarget } from './target-options';

interface JobsFlags extends TargetFlags {
  readonly json?: boolean;
  readonly limit: string;
}

export function registerJobsCommand(program: Command, io: CliIo): void {
  const command = program
    .command('jobs')
    .description('Registered jobs: sent vs completed / dead-lettered / in review (read-only)')
    .argument('[id]', 'one job (default: the most recent ones)')
    .option('--limit <n>', 'how many recent jobs', '20')
    .option('--json', 'print as JSON');
  addTargetOptions(command);
  addExamples(command, 'pipectl jobs --stage prod', 'pipectl jobs job-5f1d2c3b4a596877 --local --json');
  command.action(async (id: string | undefined, flags: JobsFlags) => {
    await withTarget(flags, async (target) => {
      const { dynamodb, resources } = target;
      let jobs;
      if (id !== undefined) {
        const job = await getJob(dynamodb, resources.controlTableName, id);
        if (!job) throw new OperationFailedError(`no job ${id} is registered: list them with \`pipectl jobs ${targetHint(target)}\``);
        jobs = [job];
      } else {
        jobs = (await listJobs(dynamodb, resources.controlTableName)).slice(0, Math.max(1, Number(flags.limit) || 20));
      }
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
          ['job', 'sent', 'unique', 'completed', 'dead-lettered', 'in review', 'pending', 'state', 'sent at'],
          progress.map((job) => [
            job.jobId,
            job.sent,
            job.unique,
            job.completed,
            job.deadLettered,
            job.inReview,
            job.pending,
            job.complete ? 'complete' : job.overdue ? `OVERDUE ${formatDuration(now - (job.deadline ?? now))}` : 'running',
            isoSeconds(job.sentAt),
          ]),
        )}\n`,
      );
      if (progress.some((job) => job.overdue)) {
        io.out(`\noverdue jobs have inputs with no outcome: look at \`pipectl status ${targetHint(target)}\` and \`pipectl dlq list ${targetHint(target)}\`\n`);
      }
    });
  });
}

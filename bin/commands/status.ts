import type { Command } from 'commander';
import type { CliIo } from '../../pipectl/cli-io';
import { addExamples, addTargetOptions, targetHint, type TargetFlags, withTarget } from './target-options';

interface StatusFlags extends TargetFlags {
  readonly json?: boolean;
}

export function registerStatusCommand(program: Command, io: CliIo): void {
  const command = program
    .command('status')
    .description("One screen: processor paused or running, queue depths and ages, alarms in ALARM, breakers, this hour's budget (read-only)")
    .option('--json', 'print the status as JSON');
  addTargetOptions(command);
  addExamples(command, 'pipectl status --stage prod', 'pipectl status --local --json | jq .queues');
  command.action(async (flags: StatusFlags) => {
    const { gatherStatus, renderStatus } = await import('../../pipectl/status');
    await withTarget(flags, async (target) => {
      const report = await gatherStatus(target);
      io.out(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderStatus(report, targetHint(target)));
    });
  });
}

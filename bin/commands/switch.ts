import type { Command } from 'commander';
import { confirm, type CliIo } from '../../pipectl/cli-io';
import { UsageError } from '../../pipectl/errors';
import { isoSeconds, table } from '../../pipectl/format';
import { SWITCH_REFRESH_MS } from '../../lambda/contract';
import { addExamples, addTargetOptions, announce, targetHint, type TargetFlags, withTarget } from './target-options';

interface ListFlags extends TargetFlags {
  readonly json?: boolean;
}
interface ChangeFlags extends TargetFlags {
  readonly reason?: string;
  readonly yes?: boolean;
  readonly json?: boolean;
}

const PROPAGATION = `every execution environment sees it within ${SWITCH_REFRESH_MS / 1000} s (one read per environment per ${SWITCH_REFRESH_MS / 1000} s)`;

/** Registers `switch list|set|unset`: runtime switches, in force within 30 s without a deploy. */
export function registerSwitchCommand(program: Command, io: CliIo): void {
  const group = program
    .command('switch')
    .description('Runtime switches: turn a model tier off, force the rules tier, stop a task, the canary and shadow percentages — no deploy');
  addExamples(group, 'pipectl switch list --stage prod', 'pipectl switch set stop-task.ticket-triage true --reason "bad prompt" --stage prod');

  const list = group
    .command('list')
    .description('The switches in force, and the recent changes (who, when, why, the previous value)')
    .option('--json', 'print as JSON');
  addTargetOptions(list);
  addExamples(list, 'pipectl switch list --stage prod', 'pipectl switch list --local');
  list.action(async (flags: ListFlags) => {
    await withTarget(flags, async (target) => {
      announce(io, target);
      const { readSwitches, switchHistory } = await import('../../pipectl/switches');
      const stored = await readSwitches(target.dynamodb, target.resources.controlTableName);
      const history = await switchHistory(target.dynamodb, target.resources.controlTableName);
      if (flags.json) {
        io.out(`${JSON.stringify({ ...stored, history })}\n`);
        return;
      }
      const names = Object.keys(stored.values).sort();
      io.out(
        names.length === 0
          ? 'no switch is set\n'
          : `${table(
              ['switch', 'value'],
              names.map((name) => [name, stored.values[name] as string]),
            )}\n`,
      );
      if (history.length > 0) {
        io.out(
          `\nrecent changes:\n${table(
            ['at', 'switch', 'value', 'previous', 'by', 'reason'],
            history.map((change) => [isoSeconds(change.at), change.name, change.value ?? '(unset)', change.previous ?? '-', change.by, change.reason]),
          )}\n`,
        );
      }
    });
  });

  for (const name of ['set', 'unset'] as const) {
    const command = group
      .command(name === 'set' ? 'set <switch> <value>' : 'unset <switch>')
      .description(name === 'set' ? `Set a switch (${PROPAGATION})` : `Remove a switch (${PROPAGATION})`)
      .option('--reason <text>', 'why (required: recorded with the change)')
      .option('-y, --yes', 'do not ask for confirmation')
      .option('--json', 'print the change as recorded');
    addTargetOptions(command);
    addExamples(
      command,
      ...(name === 'set'
        ? [
            'pipectl switch set tier-off.primary true --reason "provider returns garbage" --stage prod',
            'pipectl switch set stop-task.ticket-triage true --reason "bad prompt shipped" --local --yes',
            'pipectl switch set canary.version ticket-triage@2 --reason "priorities defined in the prompt" --stage prod',
            'pipectl switch set canary.percent 10 --reason "ticket-triage@2, 10% canary" --stage prod',
          ]
        : ['pipectl switch unset stop-task.ticket-triage --reason "prompt fixed" --stage prod']),
    );
    command.action(async (switchName: string, ...rest: unknown[]) => {
      const { assertSwitchName, parseSwitch, SwitchError } = await import('../../lambda/resilience/runtime-switches');
      const { changeSwitchAsOperator, readSwitches } = await import('../../pipectl/switches');
      const { operatorIdentity } = await import('../../pipectl/operator-identity');
      const value = name === 'set' ? (rest[0] as string) : undefined;
      const flags = (name === 'set' ? rest[1] : rest[0]) as ChangeFlags;
      if (!flags.reason || flags.reason.trim() === '') throw new UsageError('--reason is required: every switch change is recorded with who, when and why');
      try {
        if (value !== undefined) parseSwitch(switchName, value);
        else assertSwitchName(switchName);
      } catch (error) {
        if (error instanceof SwitchError) throw new UsageError(error.message);
        throw error;
      }
      await withTarget(flags, async (target) => {
        announce(io, target);
        const { dynamodb, resources } = target;
        const before = (await readSwitches(dynamodb, resources.controlTableName)).values[switchName];
        await confirm(io, {
          action: value !== undefined ? `set ${switchName} = ${value} (now ${before ?? 'unset'})` : `remove ${switchName} (now ${before ?? 'unset'})`,
          target: target.description,
          stage: target.stage,
          production: target.production,
          yes: Boolean(flags.yes),
        });
        const by = await operatorIdentity(target);
        const { change, recorded } = await changeSwitchAsOperator(dynamodb, resources.controlTableName, {
          name: switchName,
          value,
          by,
          reason: flags.reason as string,
        });
        io.err(
          `${switchName} is now ${change.value ?? 'unset'} (was ${change.previous ?? 'unset'}); ${PROPAGATION}. Check: pipectl switch list ${targetHint(target)}\n` +
            (recorded ? '' : 'warning: the recovery clock could not record this action\n'),
        );
        io.out(flags.json ? `${JSON.stringify(change)}\n` : `${switchName}=${change.value ?? '(unset)'}\n`);
      });
    });
  }
}

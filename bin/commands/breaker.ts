import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { confirm, type CliIo } from '../../pipectl/cli-io';
import type { BreakerAction, BreakerView } from '../../pipectl/control-state';
import { UsageError } from '../../pipectl/errors';
import { isoSeconds, table } from '../../pipectl/format';
import { addExamples, addTargetOptions, announce, targetHint, type TargetFlags, withTarget } from './target-options';

interface StatusFlags extends TargetFlags {
  readonly model?: string;
  readonly json?: boolean;
}
interface ChangeFlags extends TargetFlags {
  readonly model?: string;
  readonly by?: string;
  readonly reason?: string;
  readonly pin?: boolean;
  readonly yes?: boolean;
  readonly json?: boolean;
}

function operator(): string {
  try {
    return process.env.PIPECTL_OPERATOR ?? userInfo().username;
  } catch {
    return 'unknown';
  }
}

function render(breakers: readonly BreakerView[]): string {
  return table(
    ['model', 'effective', 'state', 'window failed/calls', 'open until', 'opened', 'last error', 'override'],
    breakers.map((breaker) => [
      breaker.modelId,
      breaker.effective,
      breaker.state,
      `${breaker.failures}/${breaker.calls}`,
      breaker.openUntil ? isoSeconds(breaker.openUntil) : '-',
      `${breaker.openCount}×`,
      breaker.lastErrorClass ?? '-',
      breaker.forced ? `${breaker.forced} by ${breaker.forcedBy ?? '?'}: ${breaker.forcedReason ?? ''}` : '-',
    ]),
  );
}

/** `breaker status|open|close|release`: read or force the shared breaker of a model (break-glass). */
export function registerBreakerCommand(program: Command, io: CliIo): void {
  const breaker = program.command('breaker').description('The shared circuit breaker of each model: read it, or force it (break-glass)');
  addExamples(
    breaker,
    'pipectl breaker status --stage prod',
    'pipectl breaker open --model <id> --reason "provider incident" --stage prod',
    'pipectl breaker close --model <id> --stage prod',
  );

  const status = breaker
    .command('status')
    .description('Every model breaker: state, window counts, override (read-only)')
    .option('--model <id>', 'one model')
    .option('--json', 'print as JSON');
  addTargetOptions(status);
  addExamples(status, 'pipectl breaker status --stage prod', 'pipectl breaker status --local --json');
  status.action(async (flags: StatusFlags) => {
    const { getBreaker, listBreakers } = await import('../../pipectl/control-state');
    await withTarget(flags, async (target) => {
      const { dynamodb, resources } = target;
      const breakers = flags.model
        ? [
            (await getBreaker(dynamodb, resources.controlTableName, flags.model)) ?? {
              modelId: flags.model,
              state: 'closed',
              effective: 'closed (never tripped)',
              failures: 0,
              calls: 0,
              openCount: 0,
            },
          ]
        : await listBreakers(dynamodb, resources.controlTableName);
      if (flags.json) io.out(`${JSON.stringify(breakers, null, 2)}\n`);
      else if (breakers.length === 0) io.out(`no breaker recorded in ${target.description}: every model is closed (none has failed yet)\n`);
      else io.out(`${render(breakers)}\n`);
    });
  });

  const actions: ReadonlyArray<readonly [string, string, string]> = [
    ['open', 'Force the breaker open: no call reaches the model; records take the next tier (or wait, per the stage) until `breaker close`', 'open'],
    ['close', 'Close the breaker: remove any override and start from an empty window (it trips again if failures go on); --pin forces it closed', 'close'],
    ['release', 'Remove a manual override; the breaker goes on from its own state', 'release'],
  ];
  for (const [name, description] of actions) {
    const command = breaker
      .command(name)
      .description(description)
      .option('--model <id>', 'the model id (as `breaker status` lists it)')
      .option('--reason <text>', 'why (recorded on the item; required for open and --pin)')
      .option('--by <name>', 'who (default: $PIPECTL_OPERATOR or your user name)')
      .option('-y, --yes', 'do not ask for confirmation')
      .option('--json', 'print the breaker as written');
    if (name === 'close') command.option('--pin', 'force it closed: calls go through whatever fails, until `breaker release`');
    addTargetOptions(command);
    addExamples(
      command,
      name === 'open'
        ? 'pipectl breaker open --model anthropic.claude-3-haiku --reason "provider 5xx storm" --stage prod'
        : name === 'close'
          ? 'pipectl breaker close --model anthropic.claude-3-haiku --stage prod'
          : 'pipectl breaker release --model anthropic.claude-3-haiku --local --yes',
    );
    command.action(async (flags: ChangeFlags) => {
      const { applyBreakerAction, listBreakers } = await import('../../pipectl/control-state');
      const { recordBreakerChange } = await import('../../pipectl/recovery-clock');
      await withTarget(flags, async (target) => {
        announce(io, target);
        const { dynamodb, resources } = target;
        if (!flags.model) {
          const known = (await listBreakers(dynamodb, resources.controlTableName)).map((view) => view.modelId);
          throw new UsageError(`which model? Give --model <id>${known.length > 0 ? `; breakers recorded: ${known.join(', ')}` : ''}`);
        }
        let action: BreakerAction;
        if (name === 'open' || flags.pin) {
          if (!flags.reason)
            throw new UsageError(`--reason is required to force a breaker ${name === 'open' ? 'open' : 'closed'}: it is recorded for whoever looks next`);
          action = name === 'open' ? { kind: 'open', reason: flags.reason } : { kind: 'pin-closed', reason: flags.reason };
        } else action = name === 'close' ? { kind: 'close' } : { kind: 'release' };
        const what: Record<BreakerAction['kind'], string> = {
          open: `force the breaker of ${flags.model} OPEN (no call reaches it until \`breaker close\`)`,
          close: `close the breaker of ${flags.model} (override removed, window emptied)`,
          'pin-closed': `force the breaker of ${flags.model} CLOSED (calls go through whatever fails, until \`breaker release\`)`,
          release: `remove the manual override of the breaker of ${flags.model}`,
        };
        await confirm(io, {
          action: what[action.kind],
          target: target.description,
          stage: target.stage,
          production: target.production,
          yes: Boolean(flags.yes),
        });
        const written = await applyBreakerAction(dynamodb, resources.controlTableName, flags.model, action, flags.by ?? operator());
        await recordBreakerChange(target, flags.model, action, written.effective, flags.by); // the recovery clock
        io.err(
          `the breaker of ${flags.model} is now ${written.effective}; instances see it within 15 s (a closed breaker is re-read as often as the runtime switches). Check: pipectl breaker status ${targetHint(target)}\n`,
        );
        io.out(flags.json ? `${JSON.stringify(written)}\n` : `${written.effective}\n`);
      });
    });
  }
}

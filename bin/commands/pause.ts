import { type Command, Option } from 'commander';
import { confirm, type CliIo } from '../../pipectl/cli-io';
import { parseDuration } from '../../pipectl/format';
import { addExamples, addTargetOptions, announce, targetHint, type TargetFlags, withTarget } from './target-options';

interface PauseFlags extends TargetFlags {
  readonly yes?: boolean;
  readonly wait: string;
  readonly json?: boolean;
}

/** Registers `pause` and `resume`: disable / enable the processor's event source mapping. */
export function registerPauseCommands(program: Command, io: CliIo): void {
  for (const enabled of [false, true]) {
    const name = enabled ? 'resume' : 'pause';
    const command = program
      .command(name)
      .description(
        enabled
          ? "Enable the processor's event source mapping again: the queued messages are processed"
          : "Disable the processor's event source mapping: stop the bleeding; messages wait in the queue, nothing is lost",
      )
      .option('-y, --yes', 'do not ask for confirmation')
      .addOption(new Option('--wait <duration>', `wait this long for the mapping to be ${enabled ? 'Enabled' : 'Disabled'} (0s: do not wait)`).default('90s'))
      .option('--json', 'print the mapping state as JSON');
    addTargetOptions(command);
    addExamples(command, `pipectl ${name} --stage prod`, `pipectl ${name} --local --yes`);
    command.action(async (flags: PauseFlags) => {
      const waitMs = parseDuration(flags.wait, '--wait');
      const { getMapping, setMappingEnabled } = await import('../../pipectl/event-source');
      const { queueDepth } = await import('../../pipectl/queue-inspector');
      const { recordMappingChange } = await import('../../pipectl/recovery-clock');
      await withTarget(flags, async (target) => {
        announce(io, target);
        const current = await getMapping(target);
        if (current.paused !== enabled) {
          io.err(`the processor is already ${current.state}: nothing to do\n`);
          io.out(flags.json ? `${JSON.stringify({ changed: false, mapping: current })}\n` : `${current.state}\n`);
          return;
        }
        const backlog = await queueDepth(target.sqs, target.resources.inputQueueUrl);
        await confirm(io, {
          action: enabled
            ? `resume the processor (${backlog.visible} message(s) are waiting in the input queue)`
            : 'pause the processor: it stops receiving from the input queue until `pipectl resume`',
          target: target.description,
          stage: target.stage,
          production: target.production,
          yes: Boolean(flags.yes),
        });
        const { after, settled } = await setMappingEnabled(target, enabled, { waitMs, pollMs: target.kind === 'local' ? 100 : 2000 });
        await recordMappingChange(target, enabled, after.state); // the recovery clock
        if (enabled) {
          io.err(`resumed: the event source mapping is ${after.state}; ${backlog.visible} queued message(s) will be processed\n`);
        } else {
          io.err(
            `paused: the event source mapping is ${after.state}${settled ? '' : ' (batches in flight are finishing)'}. ` +
              `Messages wait in the input queue (${backlog.visible} now). Resume with: pipectl resume ${targetHint(target)}\n`,
          );
        }
        io.out(flags.json ? `${JSON.stringify({ changed: true, mapping: after })}\n` : `${after.state}\n`);
      });
    });
  }
}

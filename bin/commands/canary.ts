import type { Command } from 'commander';
import { confirm, type CliIo } from '../../pipectl/cli-io';
import { UsageError } from '../../pipectl/errors';
import { isoSeconds, parseDuration } from '../../pipectl/format';
import { addExamples, addTargetOptions, announce, targetHint, type TargetFlags, withTarget } from './target-options';

interface CanaryFlags extends TargetFlags {
  readonly reason?: string;
  readonly yes?: boolean;
  readonly json?: boolean;
}

/**
 * Registers `canary status|watch|promote|abort`. A canary is a candidate — `canary.model` (a model
 * id), `canary.version` (a candidate version of a task's prompt, `<task>@<version>`), or both — and
 * `canary.percent` (the share of keys it serves, split by a hash of the key); starting one is
 * `pipectl switch set canary.version ticket-triage@2` then `pipectl switch set canary.percent 10`.
 */

/** The candidate in words: "model m", "ticket-triage@2", "ticket-triage@2 on model m". */
function candidateOf(canary: { readonly modelId?: string; readonly taskVersion?: string }): string | undefined {
  if (canary.taskVersion && canary.modelId) return `${canary.taskVersion} on model ${canary.modelId}`;
  if (canary.taskVersion) return canary.taskVersion;
  return canary.modelId ? `model ${canary.modelId}` : undefined;
}

export function registerCanaryCommand(program: Command, io: CliIo): void {
  const group = program.command('canary').description('The canary: a candidate model or task version serving a share of keys (see `pipectl switch`)');
  addExamples(group, 'pipectl canary status --stage prod', 'pipectl canary abort --reason "more fallbacks than baseline" --stage prod');

  const status = group.command('status').description('The candidate, its share of keys and the last change').option('--json', 'print as JSON');
  addTargetOptions(status);
  addExamples(status, 'pipectl canary status --stage prod');
  status.action(async (flags: CanaryFlags) => {
    const { canaryOf, readSwitches } = await import('../../pipectl/switches');
    await withTarget(flags, async (target) => {
      announce(io, target);
      const canary = canaryOf(await readSwitches(target.dynamodb, target.resources.controlTableName));
      if (flags.json) {
        io.out(`${JSON.stringify(canary)}\n`);
        return;
      }
      const last = canary.lastChange;
      const candidate = candidateOf(canary);
      io.out(
        candidate && canary.percent > 0
          ? `canary: ${candidate} serves ${canary.percent}% of keys\n`
          : `no canary running${candidate ? ` (candidate ${candidate} at 0%)` : ''}\n`,
      );
      if (canary.taskVersion) {
        const { resolveTaskVersion } = await import('../../lambda/tasks/registry');
        const resolved = resolveTaskVersion(canary.taskVersion);
        if (typeof resolved !== 'string' && !resolved.current)
          io.out(`${canary.taskVersion}: ${resolved.task.candidateVersions?.[resolved.version]?.summary ?? ''}\n`);
      }
      if (last)
        io.out(`last change: ${last.name} ${last.previous ?? 'unset'} → ${last.value ?? 'unset'} by ${last.by} at ${isoSeconds(last.at)}: ${last.reason}\n`);
    });
  });

  const watch = group
    .command('watch')
    .description(
      "AWS: the canary alarm's rollback action. Polls the canary-regression alarm and sets the canary to 0% when it is in ALARM (local mode does this by itself)",
    )
    .option('--interval <duration>', 'how often to look at the alarm', '30s')
    .option('--for <duration>', 'stop watching after this long', '24h');
  addTargetOptions(watch);
  addExamples(watch, 'pipectl canary watch --stage prod --interval 30s --for 8h');
  watch.action(async (flags: TargetFlags & { readonly interval: string; readonly for: string }) => {
    const intervalMs = parseDuration(flags.interval, '--interval');
    const forMs = parseDuration(flags.for, '--for');
    const { CANARY_ALARM_ID } = await import('../../lib/observability/canary-alarms');
    const { DescribeAlarmsCommand } = await import('@aws-sdk/client-cloudwatch');
    const { SWITCH } = await import('../../lambda/resilience/runtime-switches');
    const { operatorIdentity } = await import('../../pipectl/operator-identity');
    const { RECOVERY_ACTION } = await import('../../pipectl/recovery-clock');
    const { canaryOf, changeSwitchAsOperator, readSwitches } = await import('../../pipectl/switches');
    await withTarget(flags, async (target) => {
      announce(io, target);
      if (target.kind === 'local' || !target.cloudwatch || !target.resources.alarmNamePrefix) {
        io.err('local mode rolls the canary back by itself (local/canary-rollback.ts): nothing to watch\n');
        return;
      }
      const alarmName = `${target.resources.alarmNamePrefix}${CANARY_ALARM_ID}`;
      const until = Date.now() + forMs;
      const by = `canary-watch (${await operatorIdentity(target)})`;
      io.err(`watching ${alarmName} every ${flags.interval} until ${isoSeconds(until)}\n`);
      while (Date.now() < until) {
        const { MetricAlarms = [] } = await target.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [alarmName] }));
        const state = MetricAlarms[0]?.StateValue;
        const canary = canaryOf(await readSwitches(target.dynamodb, target.resources.controlTableName));
        if (state === 'ALARM' && canary.percent > 0) {
          const { change } = await changeSwitchAsOperator(
            target.dynamodb,
            target.resources.controlTableName,
            { name: SWITCH.CANARY_PERCENT, value: '0', by, reason: `${CANARY_ALARM_ID} is in ALARM: canary rolled back` },
            RECOVERY_ACTION.CANARY_ROLLBACK,
          );
          io.err(`${isoSeconds(change.at)} ${alarmName} in ALARM: canary of ${candidateOf(canary) ?? '?'} rolled back from ${change.previous}% to 0%\n`);
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    });
  });

  for (const name of ['promote', 'abort'] as const) {
    const command = group
      .command(name)
      .description(
        name === 'abort'
          ? 'Roll the canary back: 0% of keys on the candidate (what the canary alarm does by itself)'
          : 'Send 100% of keys to the candidate; then make it the primary in the stage config and deploy',
      )
      .option('--reason <text>', 'why (required: recorded with the change)')
      .option('-y, --yes', 'do not ask for confirmation')
      .option('--json', 'print the change as recorded');
    addTargetOptions(command);
    addExamples(command, `pipectl canary ${name} --reason "${name === 'abort' ? 'canary answers worse' : 'canary as good for 24 h'}" --stage prod`);
    command.action(async (flags: CanaryFlags) => {
      if (!flags.reason || flags.reason.trim() === '') throw new UsageError(`--reason is required: the ${name} is recorded with who, when and why`);
      const { SWITCH } = await import('../../lambda/resilience/runtime-switches');
      const { operatorIdentity } = await import('../../pipectl/operator-identity');
      const { RECOVERY_ACTION } = await import('../../pipectl/recovery-clock');
      const { canaryOf, changeSwitchAsOperator, readSwitches } = await import('../../pipectl/switches');
      await withTarget(flags, async (target) => {
        announce(io, target);
        const { dynamodb, resources } = target;
        const canary = canaryOf(await readSwitches(dynamodb, resources.controlTableName));
        const candidate = candidateOf(canary);
        if (!candidate)
          throw new UsageError(
            `no canary candidate is set: start one with pipectl switch set canary.version <task>@<version> (or canary.model <id>) --reason ... ${targetHint(target)}`,
          );
        const percent = name === 'abort' ? '0' : '100';
        await confirm(io, {
          action: `${name} the canary of ${candidate}: ${canary.percent}% → ${percent}% of keys`,
          target: target.description,
          stage: target.stage,
          production: target.production,
          yes: Boolean(flags.yes),
        });
        const by = await operatorIdentity(target);
        const { change } = await changeSwitchAsOperator(
          dynamodb,
          resources.controlTableName,
          { name: SWITCH.CANARY_PERCENT, value: percent, by, reason: flags.reason as string },
          name === 'abort' ? RECOVERY_ACTION.CANARY_ABORT : RECOVERY_ACTION.CANARY_PROMOTE,
        );
        io.err(
          name === 'abort'
            ? `canary aborted: every key is served by the baseline within 15 s; records already served by ${candidate} keep their result (ledger attribute variant = canary)\n`
            : `every key is served by ${candidate} within 15 s. Make it permanent: ${
                canary.taskVersion ? "make the candidate's prompt the task's buildPrompt and bump its version" : 'set primaryModelId in the stage config'
              }, deploy, then pipectl switch unset ${canary.taskVersion ? 'canary.version' : 'canary.model'} ${targetHint(target)}\n`,
        );
        io.out(flags.json ? `${JSON.stringify(change)}\n` : `canary.percent=${change.value}\n`);
      });
    });
  }
}

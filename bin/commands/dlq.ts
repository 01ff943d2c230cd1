import { type Command, InvalidArgumentError, Option } from 'commander';
import { confirm, type CliIo } from '../../pipectl/cli-io';
import type { RedriveResult } from '../../pipectl/dlq';
import { OperationFailedError } from '../../pipectl/errors';
import { formatDuration, isoSeconds, table, truncate } from '../../pipectl/format';
import { addExamples, addTargetOptions, announce, targetHint, type TargetFlags, withTarget } from './target-options';

interface ListFlags extends TargetFlags {
  readonly limit: number;
  readonly json?: boolean;
}
interface RedriveFlags extends TargetFlags {
  readonly reason?: string;
  readonly dryRun?: boolean;
  readonly yes?: boolean;
  readonly rate: number;
  readonly limit: number;
  readonly json?: boolean;
}

const positiveInteger = (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('a positive integer is expected');
  return parsed;
};
const positiveNumber = (value: string) => {
  const parsed = Number(value);
  if (!(parsed > 0 && parsed <= 500)) throw new InvalidArgumentError('a number in (0, 500] is expected');
  return parsed;
};

export function registerDlqCommand(program: Command, io: CliIo): void {
  const dlq = program.command('dlq').description('The input dead-letter queue: list grouped by failure reason, show one, redrive');
  addExamples(
    dlq,
    'pipectl dlq list --stage prod',
    'pipectl dlq show 3f2a… --stage prod',
    'pipectl dlq redrive --reason MAX_RECEIVES_EXCEEDED --dry-run --stage prod',
  );

  const list = dlq
    .command('list')
    .description('Dead letters grouped by failure reason, with samples (read-only: messages stay in the DLQ)')
    .addOption(new Option('--limit <n>', 'read at most this many messages').argParser(positiveInteger).default(1000))
    .option('--json', 'print the groups as JSON');
  addTargetOptions(list);
  addExamples(list, 'pipectl dlq list --stage prod', 'pipectl dlq list --local --json');
  list.action(async (flags: ListFlags) => {
    const { groupByClass, readDeadLetters } = await import('../../pipectl/dlq');
    await withTarget(flags, async (target) => {
      const { letters, truncated, heldElsewhere } = await readDeadLetters(target, flags.limit);
      const groups = groupByClass(letters);
      if (heldElsewhere > 0)
        io.err(
          `note: ${heldElsewhere} more message(s) in the DLQ are held by another reader (the reconciler's sweep, another pipectl): run again to list them\n`,
        );
      if (flags.json) {
        const strip = groups.map((group) => ({ ...group, samples: group.samples.map(({ body: _body, ...sample }) => sample) }));
        io.out(`${JSON.stringify({ total: letters.length, truncated, heldElsewhere, groups: strip }, null, 2)}\n`);
        return;
      }
      if (letters.length === 0) {
        io.out(`the DLQ of ${target.description} is empty\n`);
        return;
      }
      const now = Date.now();
      io.out(`${letters.length}${truncated ? '+' : ''} dead letter(s) in ${target.description}\n\n`);
      io.out(
        `${table(
          ['reason', 'count', 'kind', 'last errors', 'oldest', 'tasks'],
          groups.map((group) => [
            group.failureClass,
            group.count,
            group.badInput ? 'bad input' : 'failed',
            Object.entries(group.lastErrors)
              .map(([name, count]) => `${name} ${count}`)
              .join(', ') || '-',
            group.oldest ? `${formatDuration(now - group.oldest)} ago` : '?',
            group.tasks.join(', '),
          ]),
        )}\n\n`,
      );
      for (const group of groups) {
        io.out(`${group.failureClass}:\n`);
        for (const sample of group.samples) {
          io.out(`  ${sample.messageId}  key ${sample.key.slice(0, 16)}…  ${truncate(sample.detail ?? '(no detail)', 90)}\n`);
        }
      }
      io.out(
        `\nnext: pipectl dlq show <message id or key> ${targetHint(target)}; ` +
          `pipectl dlq redrive --reason <reason> --dry-run ${targetHint(target)}` +
          `${groups.some((group) => group.badInput) ? '\n(bad input is rejected again if redriven unchanged: fix the producer, not the pipeline)' : ''}\n`,
      );
    });
  });

  const show = dlq
    .command('show')
    .description('One dead letter: body, attributes, failure and its ledger item (read-only)')
    .argument('<id>', 'the message id, or the ledger key (input hash)')
    .addOption(new Option('--limit <n>', 'search at most this many messages').argParser(positiveInteger).default(10_000))
    .option('--json', 'print it as JSON');
  addTargetOptions(show);
  addExamples(show, 'pipectl dlq show 0b1c2d3e-… --stage prod', 'pipectl dlq show 9f86d081884c7d65… --local --json');
  show.action(async (id: string, flags: ListFlags) => {
    const { findDeadLetter, readDeadLetters } = await import('../../pipectl/dlq');
    await withTarget(flags, async (target) => {
      const { letters } = await readDeadLetters(target, flags.limit);
      const letter = findDeadLetter(letters, id);
      if (!letter) {
        throw new OperationFailedError(
          `no dead letter with message id or key ${id} among the ${letters.length} in the DLQ: list them with \`pipectl dlq list ${targetHint(target)}\``,
        );
      }
      if (flags.json) {
        io.out(`${JSON.stringify(letter, null, 2)}\n`);
        return;
      }
      let body = letter.body;
      try {
        body = JSON.stringify(JSON.parse(letter.body), null, 2);
      } catch {
        // Not JSON (that may be why it is here): shown as it is.
      }
      io.out(
        [
          `message     ${letter.messageId}`,
          `key         ${letter.key}`,
          `reason      ${letter.failureClass}${letter.badInput ? ' (bad input)' : ''}${letter.lastErrorClass ? `; last error ${letter.lastErrorClass}` : ''}`,
          `detail      ${letter.detail ?? '(none)'}`,
          `task        ${letter.task ?? '(unparsed)'}${letter.jobId ? `   job ${letter.jobId}` : ''}`,
          `sent        ${letter.sentAt ? isoSeconds(letter.sentAt) : '?'}; received ${letter.inputReceiveCount ?? '?'} time(s) before the DLQ`,
          `ledger      ${letter.ledger ? JSON.stringify(letter.ledger) : '(no item)'}`,
          'body:',
          body,
          '',
        ].join('\n'),
      );
    });
  });

  const redriveCommand = dlq
    .command('redrive')
    .description('Move dead letters back to the input queue: all (StartMessageMoveTask where available) or one failure class')
    .option('--reason <class>', 'only messages of this failure reason, or of this last error class (as `dlq list` shows them)')
    .option('--dry-run', 'say what would move, move nothing')
    .option('-y, --yes', 'do not ask for confirmation')
    .addOption(new Option('--rate <n>', 'messages per second at most').argParser(positiveNumber).default(10))
    .addOption(new Option('--limit <n>', 'move at most this many (receive → send → delete path)').argParser(positiveInteger).default(1000))
    .option('--json', 'print the result as JSON');
  addTargetOptions(redriveCommand);
  addExamples(
    redriveCommand,
    'pipectl dlq redrive --dry-run --stage prod',
    'pipectl dlq redrive --reason Timeout --rate 5 --stage prod',
    'pipectl dlq redrive --local --yes',
  );
  redriveCommand.action(async (flags: RedriveFlags) => {
    const { redrive } = await import('../../pipectl/dlq');
    const { recordRedrive } = await import('../../pipectl/recovery-clock');
    const { queueDepth } = await import('../../pipectl/queue-inspector');
    await withTarget(flags, async (target) => {
      announce(io, target);
      const options = { failureClass: flags.reason, ratePerSecond: flags.rate, limit: flags.limit };
      if (!flags.dryRun) {
        const depth = await queueDepth(target.sqs, target.resources.inputDlqUrl);
        await confirm(io, {
          action: `move ${flags.reason ? `the ${flags.reason} messages among the ` : ''}${depth.visible} dead letter(s) back to the input queue at ≤ ${flags.rate}/s`,
          target: target.description,
          stage: target.stage,
          production: target.production,
          yes: Boolean(flags.yes),
          preview: '--dry-run',
        });
      }
      const result = await redrive(target, { ...options, dryRun: Boolean(flags.dryRun) });
      if (!flags.dryRun) await recordRedrive(target, result.moved, flags.reason); // the recovery clock
      if (flags.json) io.out(`${JSON.stringify(result, null, 2)}\n`);
      else io.out(describeRedrive(result, flags.reason));
      if (result.fallbackReason) io.err(`note: ${result.fallbackReason}; moved by receive → send → delete instead\n`);
    });
  });
}

function describeRedrive(result: RedriveResult, reason: string | undefined): string {
  const classes = Object.entries(result.byClass)
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
  const lines: string[] = [];
  if (result.method === 'dry-run') {
    lines.push(`dry run: would move ${result.moved} message(s)${reason ? ` of ${reason}` : ''}${classes ? ` (${classes})` : ''}; nothing moved`);
  } else if (result.method === 'message-move-task') {
    lines.push(
      `started an SQS message move task (${result.taskHandle ?? 'no handle'}) for the ${result.moved} message(s) in the DLQ${classes ? ` (${classes})` : ''}`,
    );
  } else {
    lines.push(`moved ${result.moved} message(s) to the input queue${classes ? ` (${classes})` : ''}`);
  }
  if (result.moved > 0) {
    lines.push(`  ${result.duplicates} of them are duplicates: their input is already completed or in review, the ledger skips them (no model call)`);
    if (result.badInput > 0) lines.push(`  ${result.badInput} are bad input and will be rejected again`);
  }
  if (result.skipped > 0) lines.push(`  ${result.skipped} message(s) of other reasons stay in the DLQ`);
  if (result.returned) lines.push(`  ${result.returned} came back to the DLQ while it ran (failed again at once) and were left there`);
  if (result.limited) lines.push('  stopped at --limit: more remain; run it again');
  return `${lines.join('\n')}\n`;
}

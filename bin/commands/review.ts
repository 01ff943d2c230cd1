import { userInfo } from 'node:os';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { confirm, type CliIo } from '../../pipectl/cli-io';
import { formatDuration, table, truncate } from '../../pipectl/format';
import { OperationFailedError } from '../../pipectl/errors';
import { registerReviewEntityCommand } from './review-entity';
import { addExamples, addTargetOptions, announce, targetHint, type TargetFlags, withTarget } from './target-options';

interface ListFlags extends TargetFlags {
  readonly limit: number;
  readonly json?: boolean;
}
interface ResolveFlags extends TargetFlags {
  readonly result: string;
  readonly by?: string;
  readonly yes?: boolean;
  readonly json?: boolean;
}

const positiveInteger = (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('a positive integer is expected');
  return parsed;
};

function operator(): string {
  try {
    return process.env.PIPECTL_OPERATOR ?? userInfo().username;
  } catch {
    return 'unknown';
  }
}

export function registerReviewCommand(program: Command, io: CliIo): void {
  const review = program.command('review').description('Records escalated to a human: list them, resolve one');
  addExamples(review, 'pipectl review list --stage prod', `pipectl review resolve <key> --result '{"category":"billing",…}' --stage prod`);
  registerReviewEntityCommand(review, io);

  const list = review
    .command('list')
    .description('Records in review (ledger items IN_REVIEW), oldest first; reads no queue, consumes nothing')
    .addOption(new Option('--limit <n>', 'read at most this many').argParser(positiveInteger).default(1000))
    .option('--json', 'print them as JSON');
  addTargetOptions(list);
  addExamples(list, 'pipectl review list --stage prod', 'pipectl review list --local --json | jq ".items[0].reasons"');
  list.action(async (flags: ListFlags) => {
    const { listReviews } = await import('../../pipectl/review');
    await withTarget(flags, async (target) => {
      const { items, truncated } = await listReviews(target, flags.limit);
      if (flags.json) {
        io.out(`${JSON.stringify({ total: items.length, truncated, items }, null, 2)}\n`);
        return;
      }
      if (items.length === 0) {
        io.out(`nothing waits for review in ${target.description}\n`);
        return;
      }
      const now = Date.now();
      io.out(`${items.length}${truncated ? '+' : ''} record(s) wait for a human in ${target.description}\n\n`);
      io.out(
        `${table(
          ['key', 'task', 'in review for', 'why'],
          items.map((item) => [
            item.key,
            item.task ?? '?',
            item.since ? formatDuration(now - item.since) : '?',
            truncate(item.reasons.join('; ') || '(no reason recorded)', 70),
          ]),
        )}\n`,
      );
      io.out(`\nresolve one: pipectl review resolve <key> --result '<JSON of the task's output>' ${targetHint(target)}\n`);
    });
  });

  const resolve = review
    .command('resolve')
    .description("Resolve a record in review: the result is validated against the task's output schema and written to the ledger as tier human")
    .argument('<key>', 'the ledger key (input hash) from `review list`')
    .requiredOption('--result <json>', "the answer, as the task's output JSON")
    .option('--by <name>', 'who resolved it (default: $PIPECTL_OPERATOR or your user name)')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--json', 'print the outcome as JSON');
  addTargetOptions(resolve);
  addExamples(
    resolve,
    `pipectl review resolve 9f86d0… --result '{"category":"billing","priority":"high","confidence":1,"summary":"Charged twice"}' --stage prod`,
  );
  resolve.action(async (key: string, flags: ResolveFlags) => {
    const { getLedgerItem } = await import('../../pipectl/ledger-reader');
    const { resolveReview, validateResolution } = await import('../../pipectl/review');
    await withTarget(flags, async (target) => {
      announce(io, target);
      const item = await getLedgerItem(target.dynamodb, target.resources.ledgerTableName, key);
      if (!item) throw new OperationFailedError(`no ledger item ${key}: list the keys in review with \`pipectl review list ${targetHint(target)}\``);
      // Validated before anything is asked or written: a bad result changes nothing.
      const result = validateResolution(item, flags.result);
      await confirm(io, {
        action: `complete ${key} with your result (tier human) and remove it from the review queue`,
        target: target.description,
        stage: target.stage,
        production: target.production,
        yes: Boolean(flags.yes),
      });
      const outcome = await resolveReview(target, key, result, flags.by ?? operator());
      io.err(
        `${outcome.outcome === 'resolved' ? 'resolved' : 'already resolved by a human earlier'}: ${key} is COMPLETED (tier human); ` +
          `${outcome.messagesDeleted} review message(s) removed${outcome.releasedEntity ? `; entity ${outcome.releasedEntity} released (its hold lifted)` : ''}\n`,
      );
      io.out(flags.json ? `${JSON.stringify({ key, ...outcome })}\n` : `${outcome.outcome}\n`);
    });
  });
}

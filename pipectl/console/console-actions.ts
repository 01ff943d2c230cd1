import { userInfo } from 'node:os';
import { type CliIo, confirm } from '../cli-io';
import { applyBreakerAction, type BreakerAction } from '../control-state';
import { redrive, type RedriveResult } from '../dlq';
import { OperationFailedError, UsageError } from '../errors';
import { getMapping, setMappingEnabled } from '../event-source';
import { getLedgerItem } from '../ledger-reader';
import { queueDepth } from '../queue-inspector';
import { recordBreakerChange, recordMappingChange, recordRedrive } from '../recovery-clock';
import { resolveReview, validateResolution } from '../review';
import type { PipelineTarget } from '../target';
import { formFieldsOf, resultJsonFromForm } from './review-form';

/** The actions the console offers; each is a CLI command's, through the same pipectl functions. */
export const CONSOLE_ACTIONS = ['resolve', 'redrive', 'pause', 'resume', 'breaker'] as const;
export type ConsoleAction = (typeof CONSOLE_ACTIONS)[number];

/** What an action came to. */
export type ActionOutcome =
  /** Nothing done yet: the person must answer this, as the CLI would have asked it on a terminal. */
  | { readonly kind: 'confirm'; readonly question: string; readonly production: boolean; readonly stage: string }
  /** Done (or nothing to do), with what happened. */
  | { readonly kind: 'done'; readonly message: string; readonly detail?: unknown };

/** Raised by the console's `ask`: the first submission of an action only learns the question. */
class ConfirmationRequired extends Error {
  constructor(readonly question: string) {
    super(question);
    this.name = 'ConfirmationRequired';
  }
}

/**
 * The terminal of the CLI's `confirm()`, played by a form: the first submission throws the
 * question back (nothing is done before `confirm` returns, as in every command), the second
 * carries the person's answer. So the console asks exactly what the CLI asks, including typing
 * the stage name for a production stage, and a wrong answer refuses in the same words.
 */
function formIo(answer: string | null): CliIo {
  return {
    out: () => undefined,
    err: () => undefined,
    interactive: true,
    async ask(question) {
      if (answer === null) throw new ConfirmationRequired(question);
      return answer;
    },
    readStdin: async () => '',
  };
}

/** Who acts, as the CLI records it: $PIPECTL_OPERATOR or the user name. */
export function operatorName(env: NodeJS.ProcessEnv = process.env): string {
  try {
    return env.PIPECTL_OPERATOR ?? userInfo().username;
  } catch {
    return 'unknown';
  }
}

/**
 * Runs one action from a submitted form. Each follows its CLI command step by step: the same
 * reads and validation first, then `confirm()` (from pipectl/cli-io.ts), then the same pipectl
 * function. A dry-run redrive changes nothing, and is not confirmed (as `dlq redrive --dry-run`).
 *
 * @param form the submitted fields; `confirm` carries the answer on the second submission.
 */
export async function runAction(target: PipelineTarget, form: URLSearchParams, operator = operatorName()): Promise<ActionOutcome> {
  const action = form.get('action') ?? '';
  if (!(CONSOLE_ACTIONS as readonly string[]).includes(action))
    throw new UsageError(`no console action "${action}"; the actions are ${CONSOLE_ACTIONS.join(', ')}`);
  const io = formIo(form.get('confirm'));
  const ask = (text: string, preview?: string) =>
    confirm(io, { action: text, target: target.description, stage: target.stage, production: target.production, yes: false, preview });
  try {
    switch (action as ConsoleAction) {
      case 'resolve':
        return await resolveAction(target, form, ask, operator);
      case 'redrive':
        return await redriveAction(target, form, ask, operator);
      case 'pause':
      case 'resume':
        return await mappingAction(target, action === 'resume', ask, operator);
      case 'breaker':
        return await breakerAction(target, form, ask, operator);
    }
  } catch (error) {
    if (error instanceof ConfirmationRequired) return { kind: 'confirm', question: error.question, production: target.production, stage: target.stage };
    throw error;
  }
}

type Ask = (action: string, preview?: string) => Promise<void>;

/** `pipectl review resolve <key> --result …` */
async function resolveAction(target: PipelineTarget, form: URLSearchParams, ask: Ask, operator: string): Promise<ActionOutcome> {
  const key = form.get('key') ?? '';
  const item = await getLedgerItem(target.dynamodb, target.resources.ledgerTableName, key);
  if (!item) throw new OperationFailedError(`no ledger item ${key}: it may have been resolved and expired; reload the backlog`);
  const fields = formFieldsOf(String(item.task ?? ''));
  const resultJson = fields ? resultJsonFromForm(fields, form) : (form.get('resultJson') ?? '');
  // Validated before anything is asked or written: a bad result changes nothing.
  const result = validateResolution(item, resultJson);
  await ask(`complete ${key} with your result (tier human) and remove it from the review queue`);
  const outcome = await resolveReview(target, key, result, operator);
  return {
    kind: 'done',
    message:
      `${outcome.outcome === 'resolved' ? 'resolved' : 'already resolved by a human earlier'}: ${key} is COMPLETED (tier human); ` +
      `${outcome.messagesDeleted} review message(s) removed`,
    detail: { key, ...outcome, result },
  };
}

/** `pipectl dlq redrive [--reason R] [--dry-run]` */
async function redriveAction(target: PipelineTarget, form: URLSearchParams, ask: Ask, operator: string): Promise<ActionOutcome> {
  const reason = form.get('reason') || undefined;
  const dryRun = form.get('dryRun') === '1';
  const rate = 10;
  if (!dryRun) {
    const depth = await queueDepth(target.sqs, target.resources.inputDlqUrl);
    await ask(`move ${reason ? `the ${reason} messages among the ` : ''}${depth.visible} dead letter(s) back to the input queue at ≤ ${rate}/s`, 'a dry run');
  }
  const result = await redrive(target, { failureClass: reason, ratePerSecond: rate, limit: 1000, dryRun });
  if (!dryRun) await recordRedrive(target, result.moved, reason, operator); // the recovery clock, as `pipectl dlq redrive`
  return { kind: 'done', message: describeRedrive(result, reason), detail: result };
}

function describeRedrive(result: RedriveResult, reason: string | undefined): string {
  const classes = Object.entries(result.byClass)
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
  const what = `${result.moved} message(s)${reason ? ` of ${reason}` : ''}${classes ? ` (${classes})` : ''}`;
  const head =
    result.method === 'dry-run'
      ? `dry run: would move ${what}; nothing moved`
      : result.method === 'message-move-task'
        ? `started an SQS message move task for ${what}`
        : `moved ${what} to the input queue`;
  const notes = [
    result.moved > 0 && result.duplicates > 0 ? `${result.duplicates} are duplicates of inputs already completed or in review (the ledger skips them)` : '',
    result.badInput > 0 ? `${result.badInput} are bad input and would be rejected again` : '',
    result.skipped > 0 ? `${result.skipped} of other reasons stay in the DLQ` : '',
  ].filter(Boolean);
  return notes.length > 0 ? `${head}; ${notes.join('; ')}` : head;
}

/** `pipectl pause` / `pipectl resume` */
async function mappingAction(target: PipelineTarget, enabled: boolean, ask: Ask, operator: string): Promise<ActionOutcome> {
  const current = await getMapping(target);
  if (current.paused !== enabled) return { kind: 'done', message: `the processor is already ${current.state}: nothing to do`, detail: current };
  const backlog = await queueDepth(target.sqs, target.resources.inputQueueUrl);
  await ask(
    enabled
      ? `resume the processor (${backlog.visible} message(s) are waiting in the input queue)`
      : 'pause the processor: it stops receiving from the input queue until it is resumed',
  );
  // A page should answer within seconds; the status view shows the state settling.
  const { after, settled } = await setMappingEnabled(target, enabled, { waitMs: 10_000, pollMs: target.kind === 'local' ? 100 : 2000 });
  await recordMappingChange(target, enabled, after.state, operator); // the recovery clock, as `pipectl pause` / `resume`
  return {
    kind: 'done',
    message: enabled
      ? `resumed: the event source mapping is ${after.state}; ${backlog.visible} queued message(s) will be processed`
      : `paused: the event source mapping is ${after.state}${settled ? '' : ' (batches in flight are finishing)'}; messages wait in the input queue (${backlog.visible} now)`,
    detail: after,
  };
}

/** `pipectl breaker open|close|release --model M [--reason R] [--pin]` */
async function breakerAction(target: PipelineTarget, form: URLSearchParams, ask: Ask, operator: string): Promise<ActionOutcome> {
  const model = form.get('model') ?? '';
  const operation = form.get('operation') ?? '';
  const reason = form.get('reason')?.trim() || undefined;
  if (!model) throw new UsageError('which model? The breaker action names one');
  let action: BreakerAction;
  if (operation === 'open' || operation === 'pin-closed') {
    if (!reason)
      throw new UsageError(`a reason is required to force a breaker ${operation === 'open' ? 'open' : 'closed'}: it is recorded for whoever looks next`);
    action = operation === 'open' ? { kind: 'open', reason } : { kind: 'pin-closed', reason };
  } else if (operation === 'close' || operation === 'release') action = { kind: operation };
  else throw new UsageError(`no breaker operation "${operation}": open, close, pin-closed or release`);
  const what: Record<BreakerAction['kind'], string> = {
    open: `force the breaker of ${model} OPEN (no call reaches it until it is closed)`,
    close: `close the breaker of ${model} (override removed, window emptied)`,
    'pin-closed': `force the breaker of ${model} CLOSED (calls go through whatever fails, until it is released)`,
    release: `remove the manual override of the breaker of ${model}`,
  };
  await ask(what[action.kind]);
  const written = await applyBreakerAction(target.dynamodb, target.resources.controlTableName, model, action, operator);
  await recordBreakerChange(target, model, action, written.effective, operator); // the recovery clock, as `pipectl breaker`
  return {
    kind: 'done',
    message: `the breaker of ${model} is now ${written.effective}; instances see it within 15 s (a closed breaker is re-read as often as the runtime switches)`,
    detail: written,
  };
}

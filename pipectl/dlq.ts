import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { LEDGER_STATUS, MESSAGE_ATTRIBUTE } from '../lambda/contract';
import { REJECTION_REASON } from '../lambda/errors/pipeline-errors';
import { getLedgerItems, type LedgerItem } from './ledger-reader';
import { attribute, changeVisibility, jobIdOfBody, keyOfMessage, peekMessages, queueArn, sentAt } from './queue-inspector';
import type { PipelineTarget } from './target';

/** The class of a message that reached the DLQ through the queue's redrive policy with no failure recorded anywhere. */
export const MAX_RECEIVES_EXCEEDED = 'MAX_RECEIVES_EXCEEDED';

/** Rejection reasons: bad input, which the processor rejects again if it is redriven unchanged. */
const BAD_INPUT_CLASSES: ReadonlySet<string> = new Set(Object.values(REJECTION_REASON));

/** One dead letter with its failure context from the message and the ledger. */
export interface DeadLetter {
  readonly messageId: string;
  readonly key: string;
  /**
   * Why it is here, as RUNBOOK.md and the local report name it: the processor's `FailureReason`
   * attribute (a rejection reason), else MAX_RECEIVES_EXCEEDED (the queue's redrive policy moved it).
   */
  readonly failureClass: string;
  /** The error class of its last failed attempt, from the ledger (Timeout, Throttled, …), when recorded. */
  readonly lastErrorClass?: string;
  readonly detail?: string;
  /** Receives in the DLQ (this read included): how often someone looked at it. */
  readonly receiveCount: number;
  /** Receives in the input queue before it was dead-lettered, when the processor recorded it. */
  readonly inputReceiveCount?: number;
  readonly sentAt?: number;
  readonly jobId?: string;
  readonly task?: string;
  readonly body: string;
  readonly ledger?: LedgerItem;
  /** Bad input: redriving it unchanged rejects it again. */
  readonly badInput: boolean;
}

export function failureClassOf(message: Message): string {
  return attribute(message, MESSAGE_ATTRIBUTE.FAILURE_REASON) ?? MAX_RECEIVES_EXCEEDED;
}

/** Whether `--reason CLASS` selects this dead letter: its failure class, or its last error class. */
export function matchesReason(letter: DeadLetter, reason: string | undefined): boolean {
  return reason === undefined || letter.failureClass === reason || letter.lastErrorClass === reason;
}

function toDeadLetter(message: Message, ledger: LedgerItem | undefined): DeadLetter {
  const failureClass = failureClassOf(message);
  const lastErrorClass = typeof ledger?.lastErrorClass === 'string' ? ledger.lastErrorClass : undefined;
  const body = message.Body ?? '';
  let task: string | undefined;
  try {
    const document = JSON.parse(body) as { task?: unknown };
    task = typeof document?.task === 'string' ? document.task : undefined;
  } catch {
    task = undefined;
  }
  const inputReceives = Number(attribute(message, MESSAGE_ATTRIBUTE.RECEIVE_COUNT) ?? ledger?.receiveCount);
  return {
    messageId: message.MessageId as string,
    key: keyOfMessage(message),
    failureClass,
    ...(lastErrorClass ? { lastErrorClass } : {}),
    detail:
      attribute(message, MESSAGE_ATTRIBUTE.FAILURE_DETAIL) ??
      (typeof ledger?.lastError === 'string' ? ledger.lastError : typeof ledger?.detail === 'string' ? ledger.detail : undefined),
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
    ...(Number.isFinite(inputReceives) ? { inputReceiveCount: inputReceives } : {}),
    sentAt: sentAt(message),
    jobId: jobIdOfBody(body),
    task,
    body,
    ledger,
    badInput: BAD_INPUT_CLASSES.has(failureClass),
  };
}

/** Dead letters read from the DLQ (and made visible again before this returns). */
export interface DeadLetterRead {
  readonly letters: readonly DeadLetter[];
  /** The read stopped at the limit: more messages wait. */
  readonly truncated: boolean;
  /**
   * Messages another consumer held in flight through every attempt (the reconciler's DLQ sweep
   * reads the DLQ each run and makes it visible again at once): in the DLQ, but not in `letters`.
   */
  readonly heldElsewhere: number;
}

/** Reads of the DLQ while another consumer holds some of it, and the pause between them. */
const HELD_RETRIES = 8;
const HELD_RETRY_MS = 500;

/**
 * Reads the DLQ's messages with their ledger items, then makes them visible again. A receive does
 * not return a message someone else holds in flight, and the reconciler's sweep holds the whole
 * DLQ for the moment it reads it: when the queue has more messages in flight than this read holds,
 * the read is given back and tried again (up to 4 s), and what is still held elsewhere is counted,
 * so a listing never silently shows fewer dead letters than the queue has.
 */
export async function readDeadLetters(target: PipelineTarget, limit = 1000): Promise<DeadLetterRead> {
  for (let attempt = 0; ; attempt += 1) {
    const peeked = await peekMessages(target.sqs, target.resources.inputDlqUrl, { limit });
    let released = false;
    try {
      const { Attributes = {} } = await target.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: target.resources.inputDlqUrl, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }),
      );
      const heldElsewhere = peeked.truncated ? 0 : Math.max(0, Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) - peeked.messages.length);
      if (heldElsewhere > 0 && attempt < HELD_RETRIES) {
        released = true;
        await peeked.release();
        await new Promise((resolve) => setTimeout(resolve, HELD_RETRY_MS));
        continue;
      }
      const keys = peeked.messages.map(keyOfMessage);
      const ledger = await getLedgerItems(target.dynamodb, target.resources.ledgerTableName, keys);
      const letters = peeked.messages.map((message, index) => toDeadLetter(message, ledger.get(keys[index] as string)));
      return { letters, truncated: peeked.truncated, heldElsewhere };
    } finally {
      if (!released) await peeked.release();
    }
  }
}

/** Dead letters of one failure class. */
export interface DeadLetterGroup {
  readonly failureClass: string;
  readonly count: number;
  readonly badInput: boolean;
  readonly oldest?: number;
  readonly newest?: number;
  readonly tasks: readonly string[];
  /** Counts by the ledger's last error class (what made the attempts fail), when recorded. */
  readonly lastErrors: Readonly<Record<string, number>>;
  /** Up to three, for the reader to `dlq show`. */
  readonly samples: readonly DeadLetter[];
}

/** Groups dead letters by failure class, largest group first. */
export function groupByClass(letters: readonly DeadLetter[]): DeadLetterGroup[] {
  const groups = new Map<string, DeadLetter[]>();
  for (const letter of letters) groups.set(letter.failureClass, [...(groups.get(letter.failureClass) ?? []), letter]);
  return [...groups.entries()]
    .map(([failureClass, members]) => {
      const times = members.map((member) => member.sentAt).filter((time): time is number => time !== undefined);
      return {
        failureClass,
        count: members.length,
        badInput: BAD_INPUT_CLASSES.has(failureClass),
        oldest: times.length > 0 ? Math.min(...times) : undefined,
        newest: times.length > 0 ? Math.max(...times) : undefined,
        tasks: [...new Set(members.map((member) => member.task ?? '(unparsed)'))].sort(),
        lastErrors: members.reduce<Record<string, number>>((counts, member) => {
          if (member.lastErrorClass) counts[member.lastErrorClass] = (counts[member.lastErrorClass] ?? 0) + 1;
          return counts;
        }, {}),
        samples: members.slice(0, 3),
      };
    })
    .sort((a, b) => b.count - a.count || a.failureClass.localeCompare(b.failureClass));
}

/** Finds one dead letter by message id or ledger key (input hash). */
export function findDeadLetter(letters: readonly DeadLetter[], id: string): DeadLetter | undefined {
  return letters.find((letter) => letter.messageId === id) ?? letters.find((letter) => letter.key === id);
}

export interface RedriveOptions {
  /** Only messages of this failure class or last error class (receive → send → delete); absent: all of them. */
  readonly failureClass?: string;
  /** Messages moved per second at most. */
  readonly ratePerSecond: number;
  /** Messages moved at most by the receive → send → delete path. */
  readonly limit: number;
  readonly dryRun: boolean;
  /** Progress, one call per batch moved. */
  readonly onMoved?: (moved: number) => void;
}

export interface RedriveResult {
  readonly method: 'message-move-task' | 'receive-send-delete' | 'dry-run';
  /** Why the message move task was not used, when it was not. */
  readonly fallbackReason?: string;
  /** Messages moved (or, for a move task, in the DLQ when it started; for a dry run, that would move). */
  readonly moved: number;
  /** Of those, inputs the ledger has already settled (completed or in review): the processor skips them. */
  readonly duplicates: number;
  /** Of those, bad input that will be rejected again. */
  readonly badInput: number;
  readonly byClass: Readonly<Record<string, number>>;
  /** Messages left in the DLQ because they are of another class (or SQS refused to send them). */
  readonly skipped: number;
  /** Messages moved by this run that were dead-lettered again while it ran (left in the DLQ). */
  readonly returned?: number;
  readonly taskHandle?: string;
  /** The receive → send → delete path stopped at the limit. */
  readonly limited: boolean;
}

const SETTLED: ReadonlySet<string> = new Set([LEDGER_STATUS.COMPLETED, LEDGER_STATUS.IN_REVIEW]);

/**
 * Moves dead letters back to the input queue.
 *
 * - All of them: SQS's own StartMessageMoveTask, at `ratePerSecond`, where the endpoint offers it
 *   (AWS does; local mode's emulator does not), else receive → send → delete.
 * - One failure class: receive → send → delete at `ratePerSecond`, at most `limit`; messages of
 *   other classes stay hidden while the run lasts and are made visible again at the end.
 *
 * The body moves unchanged (the processor ignores the failure attributes, and a stale
 * FailureReason on a message that fails again would mislead). A crash between send and delete
 * leaves a copy in both queues: the ledger makes the second one a duplicate.
 */
export async function redrive(target: PipelineTarget, options: RedriveOptions): Promise<RedriveResult> {
  if (options.dryRun) return dryRun(target, options);
  if (options.failureClass === undefined) {
    const started = await startMoveTask(target, options);
    if (started.kind === 'started') return started.result;
    return { ...(await receiveSendDelete(target, options)), fallbackReason: started.reason };
  }
  return receiveSendDelete(target, options);
}

async function dryRun(target: PipelineTarget, options: RedriveOptions): Promise<RedriveResult> {
  const { letters, truncated } = await readDeadLetters(target, options.limit);
  const selected = letters.filter((letter) => matchesReason(letter, options.failureClass));
  return {
    method: 'dry-run',
    ...summarise(selected),
    skipped: letters.length - selected.length,
    limited: truncated,
  };
}

function summarise(letters: readonly DeadLetter[]): Pick<RedriveResult, 'moved' | 'duplicates' | 'badInput' | 'byClass'> {
  const byClass: Record<string, number> = {};
  for (const letter of letters) byClass[letter.failureClass] = (byClass[letter.failureClass] ?? 0) + 1;
  return {
    moved: letters.length,
    duplicates: letters.filter((letter) => SETTLED.has(String(letter.ledger?.status))).length,
    badInput: letters.filter((letter) => letter.badInput).length,
    byClass,
  };
}

type MoveTaskStart = { readonly kind: 'started'; readonly result: RedriveResult } | { readonly kind: 'unavailable'; readonly reason: string };

async function startMoveTask(target: PipelineTarget, options: RedriveOptions): Promise<MoveTaskStart> {
  const { sqs, resources } = target;
  // Count what is there first (and make it visible again at once: a move task skips hidden messages).
  const { letters } = await readDeadLetters(target, options.limit);
  const [sourceArn, destinationArn] = [await queueArn(sqs, resources.inputDlqUrl), await queueArn(sqs, resources.inputQueueUrl)];
  try {
    const { TaskHandle } = await sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: sourceArn,
        DestinationArn: destinationArn,
        MaxNumberOfMessagesPerSecond: Math.max(1, Math.min(500, Math.round(options.ratePerSecond))),
      }),
    );
    return { kind: 'started', result: { method: 'message-move-task', ...summarise(letters), skipped: 0, taskHandle: TaskHandle, limited: false } };
  } catch (error) {
    const name = (error as { name?: string }).name ?? 'Error';
    // Any refusal of the operation itself (an emulator without it, a policy that forbids it) falls
    // back to the path that needs only receive/send/delete; other failures are real failures.
    if (
      /Unsupported|InvalidAction|UnknownOperation|NotImplemented|AccessDenied|InvalidParameterValue|UnsupportedOperation/i.test(name) ||
      /not (supported|implemented)|unknown operation|unsupported/i.test((error as Error).message ?? '')
    ) {
      return { kind: 'unavailable', reason: `StartMessageMoveTask is not available here (${name}: ${(error as Error).message})` };
    }
    throw error;
  }
}

async function receiveSendDelete(target: PipelineTarget, options: RedriveOptions): Promise<RedriveResult> {
  const { sqs, dynamodb, resources } = target;
  const rate = Math.max(0.1, options.ratePerSecond);
  // Hidden long enough that the run never sees a message twice: the limit at the rate, plus a margin.
  const visibility = Math.min(43_200, Math.ceil(options.limit / rate) + 60);
  const skippedMessages: Message[] = [];
  const moved: DeadLetter[] = [];
  const movedKeys = new Set<string>();
  let returned = 0;
  const started = Date.now();
  let emptyReads = 0;
  try {
    while (moved.length < options.limit && emptyReads < 2) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: resources.inputDlqUrl,
          MaxNumberOfMessages: Math.min(10, options.limit - moved.length),
          VisibilityTimeout: visibility,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      emptyReads = Messages.length === 0 ? emptyReads + 1 : 0;
      if (Messages.length === 0) continue;
      const keys = Messages.map(keyOfMessage);
      const ledger = await getLedgerItems(dynamodb, resources.ledgerTableName, keys, ['pk', 'status', 'lastErrorClass', 'reason']);
      const batch: Array<{ message: Message; letter: DeadLetter }> = [];
      Messages.forEach((message, index) => {
        const letter = toDeadLetter(message, ledger.get(keys[index] as string));
        if (!matchesReason(letter, options.failureClass)) skippedMessages.push(message);
        // A key moved earlier in this run that is back already (bad input is rejected again at
        // once) stays: moving it again would loop until the limit.
        else if (movedKeys.has(letter.key)) {
          skippedMessages.push(message);
          returned += 1;
        } else {
          movedKeys.add(letter.key);
          batch.push({ message, letter });
        }
      });
      if (batch.length === 0) continue;
      // Bounded rate: the n-th message does not leave before n / rate seconds into the run.
      const due = started + ((moved.length + batch.length) / rate) * 1000;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      const sent = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: resources.inputQueueUrl,
          Entries: batch.map(({ message }, index) => ({ Id: String(index), MessageBody: message.Body ?? '' })),
        }),
      );
      const sentIds = new Set((sent.Successful ?? []).map((entry) => entry.Id));
      const done = batch.filter((_, index) => sentIds.has(String(index)));
      if (done.length > 0) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: resources.inputDlqUrl,
            Entries: done.map(({ message }, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
          }),
        );
      }
      moved.push(...done.map(({ letter }) => letter));
      // Entries SQS refused stay in the DLQ, visible again for the next run.
      const refused = batch.filter((_, index) => !sentIds.has(String(index))).map(({ message }) => message);
      if (refused.length > 0) skippedMessages.push(...refused);
      options.onMoved?.(moved.length);
    }
  } finally {
    await changeVisibility(sqs, resources.inputDlqUrl, skippedMessages, 0);
  }
  return {
    method: 'receive-send-delete',
    ...summarise(moved),
    skipped: skippedMessages.length - returned,
    returned,
    limited: moved.length >= options.limit,
  };
}

import { createHash } from 'node:crypto';
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { MAX_MESSAGE_BYTES } from '../lambda/contract';
import { RejectedInputError } from '../lambda/errors/pipeline-errors';
import { MessageEnvelope, parseMessage } from '../lambda/processor/message-parser';
import { OperationFailedError, UsageError } from './errors';

/** One line that passed the processor's own checks, with the jobId stamped in. */
export interface ValidLine {
  /** 1-based line number in the input. */
  readonly line: number;
  /** The body to send: the line's envelope with `jobId` set. */
  readonly body: string;
  /** The idempotency key the processor will compute (the jobId is not part of it). */
  readonly key: string;
}

export interface LineProblem {
  readonly line: number;
  /** The processor's rejection reason (NOT_JSON, INVALID_INPUT, …), or JOB_ID when stamping failed. */
  readonly reason: string;
  readonly detail: string;
}

export interface ValidatedInput {
  readonly valid: readonly ValidLine[];
  readonly problems: readonly LineProblem[];
  /** Empty (or whitespace-only) lines: not messages, skipped. */
  readonly blank: number;
  /** Lines that already carried another jobId, which was replaced. */
  readonly jobIdReplaced: number;
}

/**
 * The job id a send gets when none is given: derived from the content, so re-running the same
 * file resumes the same job instead of registering a second one.
 */
export function defaultJobId(text: string): string {
  return `job-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

/** Checks a job id against the envelope's own rule (what the processor would accept). */
export function checkJobId(jobId: string): void {
  const result = MessageEnvelope.shape.jobId.safeParse(jobId);
  if (!result.success) throw new UsageError(`--job-id "${jobId}": ${result.error.issues[0]?.message ?? 'invalid'}`);
}

/**
 * Validates every line with the processor's parser (`parseMessage`: the same size, depth, key,
 * envelope, task and input checks), so a line that passes here is not rejected there, and stamps
 * the job id into each envelope. A stamped body is checked again: the id can push a body over
 * the size limit.
 */
export function validateLines(text: string, jobId: string): ValidatedInput {
  const valid: ValidLine[] = [];
  const problems: LineProblem[] = [];
  let blank = 0;
  let jobIdReplaced = 0;
  const lines = text.split('\n');
  // A final newline does not start another line.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, index) => {
    const line = index + 1;
    const body = raw.replace(/\r$/, '');
    if (body.trim() === '') {
      blank += 1;
      return;
    }
    try {
      const parsed = parseMessage(body);
      const document = JSON.parse(body) as Record<string, unknown>;
      if (typeof document.jobId === 'string' && document.jobId !== jobId) jobIdReplaced += 1;
      const stamped = JSON.stringify({ ...document, jobId });
      if (Buffer.byteLength(stamped, 'utf8') > MAX_MESSAGE_BYTES) {
        problems.push({ line, reason: 'TOO_LARGE', detail: `with "jobId" added the body is over ${MAX_MESSAGE_BYTES} bytes` });
        return;
      }
      valid.push({ line, body: stamped, key: parsed.key });
    } catch (error) {
      if (!(error instanceof RejectedInputError)) throw error;
      problems.push({ line, reason: error.reason, detail: error.detail });
    }
  });
  return { valid, problems, blank, jobIdReplaced };
}

export interface SendOptions {
  /** SendMessageBatch requests in flight at once. @default 4 */
  readonly concurrency?: number;
  /** Called after each batch with the running total. */
  readonly onSent?: (sent: number) => void;
}

/** Failed entries of a batch are tried again this many times (SQS reports them one by one). */
const ENTRY_RETRIES = 3;

/**
 * Sends the lines with SendMessageBatch in tens, `concurrency` batches at a time. Entries SQS
 * refuses with a server fault are sent again (up to three times); a sender fault (the request
 * itself is wrong) is not, and fails the send naming the line.
 */
export async function sendLines(sqs: SQSClient, queueUrl: string, lines: readonly ValidLine[], options: SendOptions = {}): Promise<number> {
  const concurrency = options.concurrency ?? 4;
  let next = 0;
  let sent = 0;
  const worker = async () => {
    while (next < lines.length) {
      const chunk = lines.slice(next, next + 10);
      next += 10;
      let pending: Array<SendMessageBatchRequestEntry & { Id: string }> = chunk.map((line) => ({ Id: String(line.line), MessageBody: line.body }));
      for (let attempt = 0; pending.length > 0; attempt += 1) {
        const response = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }));
        const failed = response.Failed ?? [];
        const fatal = failed.find((entry) => entry.SenderFault);
        if (fatal || (failed.length > 0 && attempt >= ENTRY_RETRIES)) {
          const first = fatal ?? failed[0];
          throw new OperationFailedError(
            `SQS refused line ${first?.Id}: ${first?.Code} ${first?.Message ?? ''}. ${sent} message(s) were sent before it; ` +
              're-run the same command to send the rest (lines already processed are skipped).',
          );
        }
        const failedIds = new Set(failed.map((entry) => entry.Id));
        sent += pending.length - failedIds.size;
        pending = pending.filter((entry) => failedIds.has(entry.Id));
        if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
      options.onSent?.(sent);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return sent;
}

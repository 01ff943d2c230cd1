import { MAX_MESSAGE_BYTES } from '../contract';
import { findTask, TASK_NAMES } from '../tasks/registry';
import type { AnyTaskDefinition } from '../tasks/task-definition';
import { REJECTION_REASON, RejectedInputError } from '../errors/pipeline-errors';
import * as z from '../shared/zod-mini';
import { inputKey, rejectedKey } from './input-key';

/** Keys that could reach an object's prototype if the document were ever merged into an object. */
const HOSTILE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Nesting deeper than this is rejected: no real task input needs it, and deep recursion is an attack surface. */
export const MAX_DEPTH = 32;

/** What a producer sends: the SQS message body. */
export const MessageEnvelope = z.strictObject({
  task: z.string().check(z.minLength(1), z.maxLength(100)),
  input: z.unknown(),
  jobId: z.optional(z.string().check(z.minLength(1), z.maxLength(128), z.regex(/^[A-Za-z0-9._:-]+$/, 'jobId may hold only letters, digits and . _ : -'))),
  /**
   * What the input is about (a ticket, a case, a document): edits of one entity are counted
   * together by the entity guard (issue 16). An identifier, like `jobId`: it names an item of the
   * control table and appears in logs, so no free text.
   */
  entityId: z.optional(
    z.string().check(z.minLength(1), z.maxLength(128), z.regex(/^[A-Za-z0-9._:#/-]+$/, 'entityId may hold only letters, digits and . _ : # / -')),
  ),
  metadata: z.optional(z.record(z.string().check(z.maxLength(128)), z.union([z.string().check(z.maxLength(1024)), z.number(), z.boolean(), z.null()]))),
});
export type MessageEnvelope = z.infer<typeof MessageEnvelope>;

/** A message that passed every check, with its idempotency key. */
export interface ParsedMessage {
  readonly task: AnyTaskDefinition;
  readonly input: unknown;
  readonly jobId?: string;
  /** The entity the input is about (the envelope's `entityId`), when the producer named one. */
  readonly entityId?: string;
  readonly metadata?: Record<string, unknown>;
  readonly key: string;
}

/**
 * Parse and validate one message body. Throws `RejectedInputError` with a stable reason for any
 * bad input; never throws anything else, whatever the bytes.
 */
export function parseMessage(body: string): ParsedMessage {
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > MAX_MESSAGE_BYTES) {
    throw new RejectedInputError(REJECTION_REASON.TOO_LARGE, `body is ${bytes} bytes; the limit is ${MAX_MESSAGE_BYTES}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch (error) {
    // Only where it broke: the parser's own message quotes the body, which must not reach logs or the DLQ.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    const where = position !== undefined ? ` (at character ${position})` : /end of JSON input/.test((error as Error).message) ? ' (it ends early)' : '';
    throw new RejectedInputError(REJECTION_REASON.NOT_JSON, `body is not JSON${where}`);
  }
  try {
    return parseDocument(document);
  } catch (error) {
    // A parsed body that is rejected still names its job, so the job counts it as dead-lettered.
    const jobId = jobIdOf(document);
    if (error instanceof RejectedInputError && jobId) throw new RejectedInputError(error.reason, error.detail, jobId);
    throw error;
  }
}

/** The envelope's `jobId` when it is a well-formed one (the envelope schema's own pattern). */
function jobIdOf(document: unknown): string | undefined {
  if (document === null || typeof document !== 'object' || Array.isArray(document) || !Object.hasOwn(document, 'jobId')) return undefined;
  const jobId = (document as { jobId?: unknown }).jobId;
  return MessageEnvelope.shape.jobId.safeParse(jobId).data;
}

function parseDocument(document: unknown): ParsedMessage {
  checkShape(document);

  const envelope = MessageEnvelope.safeParse(document);
  if (!envelope.success) {
    throw new RejectedInputError(REJECTION_REASON.INVALID_ENVELOPE, describeIssues(envelope.error));
  }
  const task = findTask(envelope.data.task);
  if (!task) {
    throw new RejectedInputError(REJECTION_REASON.UNKNOWN_TASK, `unknown task ${safeName(envelope.data.task)}; known tasks: ${TASK_NAMES.join(', ')}`);
  }
  const input = task.inputSchema.safeParse(envelope.data.input);
  if (!input.success) {
    throw new RejectedInputError(REJECTION_REASON.INVALID_INPUT, describeIssues(input.error));
  }
  return {
    task,
    input: input.data,
    jobId: envelope.data.jobId,
    ...(envelope.data.entityId === undefined ? {} : { entityId: envelope.data.entityId }),
    metadata: envelope.data.metadata,
    // The key hashes the validated input — what the prompt is built from and the model is paid
    // for — so inputs that differ only in what validation trims (or in Unicode normalization) are
    // one key. local/report.ts keys sent bodies through this same parser, so it agrees.
    key: inputKey(task.name, task.version, input.data),
  };
}

/** One value met by checkShape: where it is, as its parent and its key or index (the path is built only for a rejection). */
interface ShapeFrame {
  readonly value: unknown;
  readonly depth: number;
  readonly parent?: ShapeFrame;
  readonly segment?: string | number;
}

/** `$.input.items[2]`, each key as safeName shows it: a key that could be personal data appears only as its length. */
function pathOf(frame: ShapeFrame): string {
  let path = '';
  for (let at: ShapeFrame | undefined = frame; at?.segment !== undefined; at = at.parent) {
    path = (typeof at.segment === 'number' ? `[${at.segment}]` : `.${unquoted(at.segment)}`) + path;
  }
  return `$${path}`;
}

/** Reject hostile keys and excessive depth anywhere in the document, without recursion. */
function checkShape(document: unknown): void {
  const stack: ShapeFrame[] = [{ value: document, depth: 0 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value, depth } = next;
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_DEPTH) {
      throw new RejectedInputError(REJECTION_REASON.TOO_DEEP, `nesting deeper than ${MAX_DEPTH} levels at ${pathOf(next)}`);
    }
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) stack.push({ value: item, depth: depth + 1, parent: next, segment: index });
      continue;
    }
    for (const key of Object.keys(value)) {
      if (HOSTILE_KEYS.has(key)) {
        throw new RejectedInputError(REJECTION_REASON.HOSTILE_KEY, `key "${key}" is not allowed (at ${pathOf(next)})`);
      }
      stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1, parent: next, segment: key });
    }
  }
}

/**
 * The rejection detail, which goes to the log line and the DLQ's FailureDetail attribute. It names
 * where the problem is and what was expected, never the producer's data: zod's messages carry no
 * received values, but key names and task names come from the message, so they pass `safeName`.
 */
function describeIssues(error: z.core.$ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const where =
        issue.path.length > 0 ? issue.path.map((segment) => (typeof segment === 'number' ? String(segment) : unquoted(String(segment)))).join('.') : '(root)';
      const what = issue.code === 'unrecognized_keys' ? `unrecognized key(s): ${issue.keys.map(safeName).join(', ')}` : issue.message;
      return `${where}: ${what}`;
    })
    .join('; ')
    .slice(0, 500);
}

/**
 * A name from a message as it may appear in logs: itself when it looks like an identifier, else
 * only its length. An email address, a phone or card number used as a key or task name never
 * reaches a log line or a DLQ attribute.
 */
export function safeName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/.test(name) && !/\d{5,}/.test(name) ? `"${name}"` : `<${name.length} characters, not shown>`;
}

function unquoted(name: string): string {
  return safeName(name).replace(/^"|"$/g, '');
}

/**
 * The ledger key of a message body as the processor derives it: the input key of a valid message,
 * the rejection key of a bad one. For whoever counts keys from bodies (local mode's report, tests).
 */
export function keyOfMessageBody(body: string): string {
  try {
    return parseMessage(body).key;
  } catch (error) {
    if (error instanceof RejectedInputError) return rejectedKey(body);
    throw error;
  }
}

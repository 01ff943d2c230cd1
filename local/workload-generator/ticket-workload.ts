/**
 * The example workload: one SQS message body per line, exactly as a producer sends it.
 *
 * Mostly valid `ticket-triage` messages, a few re-sends (byte-identical, or the same content
 * with keys reordered and different whitespace, which must get the same idempotency key) and
 * one bad line per way a producer gets it wrong. The same options always give the same lines,
 * which is what lets a test prove that the committed examples/tickets.jsonl has not drifted
 * from this code.
 */
import { pick, seededRandom, type Random } from '../../lambda/shared/seeded-random';
import { ticketTriage, type TicketInput } from '../../lambda/tasks/ticket-triage';
import { newContent, SMALL_EDIT_KINDS, smallEdit } from './agent-edits';
import { generateTicket, type TicketCategory } from './ticket-generator';

/** The ways a bad line is bad: each is one line of the default workload. */
export const BAD_LINE_KINDS = [
  'not-json',
  'truncated-json',
  'unknown-task',
  'missing-subject',
  'body-not-string',
  'unknown-top-level-key',
  'proto-key-in-input',
  'constructor-key-in-input',
  'tier-not-in-enum',
] as const;
export type BadLineKind = (typeof BAD_LINE_KINDS)[number];

/** What a line is: a first send, a re-send, an agent's edit of an earlier ticket, a looper's edit, or a bad message. */
export type WorkloadLineKind = 'valid' | 'duplicate-exact' | 'duplicate-reordered' | 'agent-edit' | 'looper-edit' | BadLineKind;

/** One line of the workload file, with what it was made to be. */
export interface WorkloadLine {
  readonly kind: WorkloadLineKind;
  /** The message body, exactly as it is written to the file (no trailing newline). */
  readonly text: string;
}

/** A producer's message body, as the processor's envelope defines it. */
export interface ProducerMessage {
  readonly task: string;
  readonly input: TicketInput;
  readonly jobId?: string;
  /** The ticket the input is about (set on every ticket of a workload with agent edits). */
  readonly entityId?: string;
  readonly metadata?: Readonly<Record<string, string | number | boolean | null>>;
}

/** Knobs of the workload; the defaults make the committed examples/tickets.jsonl. */
export interface WorkloadOptions {
  /** Total lines, bad lines and duplicates included. */
  readonly count?: number;
  readonly seed?: number;
  /** Over-represent one category (drift experiments); see `TicketGeneratorOptions`. */
  readonly category?: TicketCategory;
  /** Fraction of tickets forced to `category`; 1 when only `category` is given. */
  readonly share?: number;
  /** Fraction of lines that are re-sends of an earlier line. */
  readonly duplicateRate?: number;
  /** Whether to include one line of each `BAD_LINE_KINDS`. */
  readonly badLines?: boolean;
  /**
   * Fraction of lines that are an agent's small edit of an earlier ticket (same `entityId`, a typo
   * fixed, a signature added or the subject changed). When above 0, every ticket names its
   * entity, and `loopers` entities are edited over and over with new content. @default 0
   */
  readonly agentEdits?: number;
  /** Entities rewritten again and again (new content each time), when `agentEdits` > 0. @default 2 */
  readonly loopers?: number;
  /** Rewrites of each looper (past any sensible decision limit). @default 8 */
  readonly looperEdits?: number;
}

/** The options of the committed examples/tickets.jsonl. */
export const DEFAULT_WORKLOAD = { count: 300, seed: 1, duplicateRate: 0.06, badLines: true } as const;

/** The job id some demo messages carry, so per-job reporting has something to group. */
export const DEMO_JOB_ID = 'demo-job-1';

/** Where messages come from; metadata values are kept to the primitives the envelope accepts. */
const METADATA_CHOICES: ReadonlyArray<ProducerMessage['metadata']> = [
  { source: 'email' },
  { source: 'email', mailbox: 'support@northwind.example' },
  { source: 'web-form' },
  { source: 'web-form', locale: 'de-DE' },
  { source: 'chat', transcriptLines: 14 },
  { source: 'api', retry: false },
];

function producerMessage(random: Random, category: TicketCategory | undefined, share: number | undefined): ProducerMessage {
  const { input } = generateTicket(random, category === undefined ? {} : { category, share });
  const jobId = random() < 0.25 ? DEMO_JOB_ID : undefined;
  const metadata = random() < 0.4 ? pick(random, METADATA_CHOICES) : undefined;
  return {
    task: ticketTriage.name,
    input,
    ...(jobId === undefined ? {} : { jobId }),
    ...(metadata === undefined ? {} : { metadata }),
  };
}

/** Escapes every non-ASCII UTF-16 unit as `\uXXXX`: the same string to a JSON parser, other bytes. */
function escapeNonAscii(json: string): string {
  return json.replace(/[\u007f-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The same document, written the way another JSON library might: keys in reverse order, spaces
 * around `:` and `,`, non-ASCII escaped. Equal under canonical JSON, different as bytes. Stays
 * on one line because `JSON.stringify` escapes newlines inside strings.
 */
export function restyledJson(value: unknown): string {
  if (Array.isArray(value)) return `[ ${value.map(restyledJson).join(' , ')} ]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).reverse();
    return `{ ${entries.map(([key, item]) => `${escapeNonAscii(JSON.stringify(key))} : ${restyledJson(item)}`).join(' , ')} }`;
  }
  return escapeNonAscii(JSON.stringify(value));
}

/**
 * A bad line of the given kind, built from a realistic message so it looks like a real mistake.
 * Hostile keys are written as text: an object literal with `__proto__` would set the prototype
 * instead of producing the key.
 */
function badLine(kind: BadLineKind, message: ProducerMessage): string {
  const { subject, body } = message.input;
  const task = JSON.stringify(message.task);
  switch (kind) {
    case 'not-json':
      // A producer that posts the web form as form-encoded text instead of JSON.
      return `task=${message.task}&subject=${encodeURIComponent(subject)}&body=${encodeURIComponent(body.slice(0, 120))}`;
    case 'truncated-json': {
      const full = JSON.stringify(message);
      return full.slice(0, Math.floor(full.length * 0.6));
    }
    case 'unknown-task':
      return JSON.stringify({ ...message, task: 'ticket_triage' });
    case 'missing-subject':
      return JSON.stringify({ ...message, input: { body, customerTier: message.input.customerTier } });
    case 'body-not-string':
      return JSON.stringify({ ...message, input: { subject, body: 40417 } });
    case 'unknown-top-level-key':
      // A producer trying to set the answer itself.
      return JSON.stringify({ ...message, priority: 'urgent' });
    case 'proto-key-in-input':
      return `{"task":${task},"input":{"subject":${JSON.stringify(subject)},"body":${JSON.stringify(body)},"__proto__":{"isAdmin":true}}}`;
    case 'constructor-key-in-input':
      return `{"task":${task},"input":{"subject":${JSON.stringify(subject)},"body":${JSON.stringify(body)},"constructor":{"prototype":{"isAdmin":true}}}}`;
    case 'tier-not-in-enum':
      return JSON.stringify({ ...message, input: { subject, body, customerTier: 'premium' } });
  }
}

/**
 * Builds the workload, line by line. Re-sends always come after the line they repeat, as they
 * would on a queue; bad lines land anywhere.
 *
 * @param options - See `WorkloadOptions`; unset fields take `DEFAULT_WORKLOAD`.
 * @returns `count` lines, each tagged with its kind.
 */
export function buildWorkload(options: WorkloadOptions = {}): WorkloadLine[] {
  const count = options.count ?? DEFAULT_WORKLOAD.count;
  const duplicateRate = options.duplicateRate ?? DEFAULT_WORKLOAD.duplicateRate;
  const badKinds = (options.badLines ?? DEFAULT_WORKLOAD.badLines) ? BAD_LINE_KINDS : [];
  const random = seededRandom(options.seed ?? DEFAULT_WORKLOAD.seed);
  const duplicates = Math.round(count * duplicateRate);
  const originals = count - duplicates - badKinds.length;
  if (originals < 1 || duplicates > originals) {
    throw new RangeError(`count ${count} is too small for ${duplicates} duplicates and ${badKinds.length} bad lines`);
  }

  // Agent edits and loopers come out of the originals' share, so `count` stays the total.
  const agentEdits = Math.round(count * (options.agentEdits ?? 0));
  const loopers = agentEdits > 0 ? (options.loopers ?? 2) : 0;
  const looperEdits = loopers * (options.looperEdits ?? 8);
  const ticketCount = originals - agentEdits - looperEdits;
  if (ticketCount < Math.max(1, loopers + agentEdits)) {
    throw new RangeError(`count ${count} is too small for ${agentEdits} agent edits and ${looperEdits} looper edits`);
  }
  const messages: ProducerMessage[] = [];
  for (let i = 0; i < ticketCount; i += 1) {
    const message = producerMessage(random, options.category, options.share);
    messages.push(agentEdits > 0 ? { ...message, entityId: `ticket-${String(i + 1).padStart(5, '0')}` } : message);
  }
  const lines: Array<WorkloadLine & { readonly source?: ProducerMessage }> = messages.map((message) => ({
    kind: 'valid',
    text: JSON.stringify(message),
    source: message,
  }));

  // Each re-send repeats a different original; half are byte-identical, half restyled.
  const repeated = new Set<ProducerMessage>();
  for (let d = 0; d < duplicates; d += 1) {
    let source = pick(random, messages);
    while (repeated.has(source)) source = pick(random, messages);
    repeated.add(source);
    const exact = d % 2 === 0;
    const at = lines.findIndex((line) => line.source === source);
    const insertAt = at + 1 + Math.floor(random() * (lines.length - at));
    lines.splice(insertAt, 0, {
      kind: exact ? 'duplicate-exact' : 'duplicate-reordered',
      text: exact ? JSON.stringify(source) : restyledJson(source),
    });
  }

  appendAgentEdits(random, lines, messages, agentEdits, loopers, options.looperEdits ?? 8);

  for (const kind of badKinds) {
    const text = badLine(kind, producerMessage(random, options.category, options.share));
    lines.splice(Math.floor(random() * (lines.length + 1)), 0, { kind, text });
  }
  return lines.map(({ kind, text }) => ({ kind, text }));
}

/**
 * Agent edits: each a small edit of a different earlier ticket, placed at least a third of the
 * workload after it (an agent edits a ticket after automation has answered it). Loopers: the first
 * `loopers` tickets, each rewritten `looperEdits` times with new content of its category, in order.
 */
function appendAgentEdits(
  random: Random,
  lines: Array<WorkloadLine & { readonly source?: ProducerMessage }>,
  messages: readonly ProducerMessage[],
  agentEdits: number,
  loopers: number,
  looperEdits: number,
): void {
  const edited = new Set<ProducerMessage>(messages.slice(0, loopers));
  const gap = Math.floor(lines.length / 3);
  for (let e = 0; e < agentEdits; e += 1) {
    let source = pick(random, messages);
    while (edited.has(source)) source = pick(random, messages);
    edited.add(source);
    const kind = SMALL_EDIT_KINDS[e % SMALL_EDIT_KINDS.length] as (typeof SMALL_EDIT_KINDS)[number];
    const at = lines.findIndex((line) => line.source === source);
    const from = Math.min(lines.length, at + 1 + gap);
    lines.splice(from + Math.floor(random() * (lines.length - from + 1)), 0, {
      kind: 'agent-edit',
      text: JSON.stringify({ ...source, input: smallEdit(random, source.input, kind) }),
    });
  }
  for (const looper of messages.slice(0, loopers)) {
    const at = lines.findIndex((line) => line.source === looper);
    let after = at;
    for (let r = 0; r < looperEdits; r += 1) {
      // The agent rewrites the whole ticket each time: new content, so nothing is reused and each edit is a decision.
      const input = newContent(random, 'other', 'new-any-category');
      after = after + 1 + Math.floor(random() * Math.max(1, (lines.length - after) / (looperEdits - r + 1)));
      lines.splice(Math.min(after, lines.length), 0, { kind: 'looper-edit', text: JSON.stringify({ ...looper, input }) });
    }
  }
}

/** The file content for `lines`: one message body per line, newline-terminated. */
export function renderWorkload(lines: readonly WorkloadLine[]): string {
  return lines.map((line) => `${line.text}\n`).join('');
}

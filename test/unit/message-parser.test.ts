import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { MAX_MESSAGE_BYTES } from '../../lambda/contract';
import { REJECTION_REASON, RejectedInputError, type RejectionReason } from '../../lambda/errors/pipeline-errors';
import { inputKey, rejectedKey } from '../../lambda/processor/input-key';
import { keyOfMessageBody, MAX_DEPTH, type ParsedMessage, parseMessage, safeName } from '../../lambda/processor/message-parser';
import type * as Registry from '../../lambda/tasks/registry';
import type { AnyTaskDefinition } from '../../lambda/tasks/task-definition';
import { ticketTriage } from '../../lambda/tasks/ticket-triage';

const TICKET = { subject: 'Refund', body: 'Please refund my last invoice.' };

/** A message body with the given envelope fields (ticket-triage and a valid ticket unless overridden). */
const body = (fields: Record<string, unknown> = {}): string => JSON.stringify({ task: 'ticket-triage', input: TICKET, ...fields });

/** The error parseMessage throws for a body; fails the test if it does not throw a RejectedInputError. */
function rejectionOf(text: string): RejectedInputError {
  try {
    parseMessage(text);
  } catch (error) {
    expect(error).toBeInstanceOf(RejectedInputError);
    return error as RejectedInputError;
  }
  throw new Error(`expected a rejection, but the body was accepted: ${text.slice(0, 200)}`);
}

const nestArrays = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);
const nestObjects = (levels: number): string => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
/** Pads a JSON text with trailing whitespace (insignificant) to exactly `bytes` UTF-8 bytes. */
const padTo = (text: string, bytes: number): string => text + ' '.repeat(bytes - Buffer.byteLength(text, 'utf8'));

afterEach(() => {
  // No test may leave the prototype polluted for the next one.
  expect(Object.prototype).not.toHaveProperty('polluted');
});

describe('parseMessage: a valid message', () => {
  it('returns the task definition, the validated input, the job id, the metadata and the key', () => {
    const parsed = parseMessage(body({ jobId: 'job-2026.11:a_b', metadata: { source: 'crm', attempt: 2, vip: true, note: null } }));

    expect(parsed.task).toBe(ticketTriage);
    expect(parsed.input).toEqual(TICKET);
    expect(parsed.jobId).toBe('job-2026.11:a_b');
    expect(parsed.metadata).toEqual({ source: 'crm', attempt: 2, vip: true, note: null });
    expect(parsed.key).toBe(inputKey('ticket-triage', '1', TICKET));
  });

  it('carries the entityId, which is not part of the key (the same input about two entities is one piece of work)', () => {
    const parsed = parseMessage(body({ entityId: 'ticket-48213' }));
    expect(parsed.entityId).toBe('ticket-48213');
    expect(parsed.key).toBe(parseMessage(body()).key);
  });

  it('leaves jobId and metadata undefined when the producer sends none', () => {
    const parsed = parseMessage(body());
    // Absent, not present-and-undefined: a message about no entity has no entityId member at all.
    expect(parsed).not.toHaveProperty('entityId');
    expect(parsed.entityId).toBeUndefined();
    expect(parsed.jobId).toBeUndefined();
    expect(parsed.metadata).toBeUndefined();
  });

  it('gives restyled JSON of the same message the same key', () => {
    const restyled = `{\n  "input" : {\n\t"body" : "Please refund my last invoice.",\n\t"subject":"Refund"\n  },\n  "task" : "ticket-triage"\n}\n`;
    expect(parseMessage(restyled).key).toBe(parseMessage(body()).key);
  });

  it('keys the validated input: what validation trims, or Unicode NFC/NFD, is one key (paid once)', () => {
    const padded = JSON.stringify({ task: 'ticket-triage', input: { ...TICKET, subject: ` ${TICKET.subject}  ` } });
    expect(parseMessage(padded).key).toBe(parseMessage(body()).key);
    expect(parseMessage(padded).input).toEqual(TICKET);
    const composed = JSON.stringify({ task: 'ticket-triage', input: { ...TICKET, subject: 'Caf\u00e9 refund' } });
    const decomposed = JSON.stringify({ task: 'ticket-triage', input: { ...TICKET, subject: 'Cafe\u0301 refund' } });
    expect(parseMessage(composed).key).toBe(parseMessage(decomposed).key);
    expect(parseMessage(composed).key).not.toBe(parseMessage(body()).key);
  });

  it('keys on task and input only: job id and metadata do not make it different work', () => {
    const plain = parseMessage(body()).key;
    expect(parseMessage(body({ jobId: 'job-1' })).key).toBe(plain);
    expect(parseMessage(body({ jobId: 'job-2', metadata: { x: 1 } })).key).toBe(plain);
  });

  it('keys on the input after the schema trims it: the prompt and the key see the same text (issue 12, defect 9)', () => {
    const spaced = { ...TICKET, subject: '  Refund  ' };
    const parsed = parseMessage(body({ input: spaced }));
    expect((parsed.input as { subject: string }).subject).toBe('Refund');
    expect(parsed.key).toBe(inputKey('ticket-triage', '1', { ...TICKET, subject: 'Refund' }));
    expect(parsed.key).not.toBe(inputKey('ticket-triage', '1', spaced));
  });

  it.each<[string, Record<string, unknown>]>([
    ['subject of 300 characters', { input: { subject: 's'.repeat(300), body: 'b' } }],
    ['body of 20,000 characters', { input: { subject: 's', body: 'b'.repeat(20_000) } }],
    ['customer tier', { input: { ...TICKET, customerTier: 'enterprise' } }],
    ['jobId of 128 characters', { jobId: 'j'.repeat(128) }],
    ['entityId of 128 characters', { entityId: 'e'.repeat(128) }],
    ['entityId in a CRM shape', { entityId: 'zendesk:ticket/48213#thread-2' }],
    ['metadata string of 1,024 characters', { metadata: { note: 'n'.repeat(1_024) } }],
    ['hostile words as string values (only keys are hostile)', { input: { subject: '__proto__', body: 'constructor prototype' } }],
    ['a key that merely contains a hostile word', { metadata: { constructorName: 'x', __PROTO__: 'y' } }],
  ])('accepts the limit case: %s', (_name, fields) => {
    expect(parseMessage(body(fields)).task).toBe(ticketTriage);
  });
});

describe('parseMessage: rejections', () => {
  it.each<[string, string]>([
    ['empty body', ''],
    ['plain text', 'hello'],
    ['truncated JSON', body().slice(0, -5)],
    ['single quotes', "{'task':'ticket-triage'}"],
    ['trailing comma', '{"task":"ticket-triage",}'],
    ['two documents', `${body()}${body()}`],
    ['a lone surrogate outside a string', '\ud800'],
    ['NaN literal', '{"task":"ticket-triage","input":NaN}'],
  ])('NOT_JSON: %s', (_name, text) => {
    expect(rejectionOf(text).reason).toBe(REJECTION_REASON.NOT_JSON);
  });

  describe('TOO_LARGE: measured in UTF-8 bytes, not characters', () => {
    // 2-byte "é" in metadata values: the body has far fewer UTF-16 units than bytes.
    const metadata = Object.fromEntries(Array.from({ length: 126 }, (_, i) => [`m${i}`, 'é'.repeat(1_024)]));
    const atLimit = padTo(body({ metadata }), MAX_MESSAGE_BYTES);

    it('accepts a valid message of exactly 256 KB made mostly of 2-byte characters', () => {
      expect(Buffer.byteLength(atLimit, 'utf8')).toBe(MAX_MESSAGE_BYTES);
      expect(atLimit.length).toBeLessThan(MAX_MESSAGE_BYTES * 0.6);
      expect(parseMessage(atLimit).metadata).toEqual(metadata);
    });

    it.each<[string, string]>([
      ['the same message one byte over', `${atLimit} `],
      ['a 3-byte "€" string of 90,000 characters (270,000 bytes)', body({ metadata: { a: '€'.repeat(90_000) } })],
      ['4-byte emoji: 65,536 of them (131,072 UTF-16 units, 262,144 bytes + quotes)', `"${'😀'.repeat(65_536)}"`],
      ['garbage over the limit is TOO_LARGE, not NOT_JSON', 'x'.repeat(MAX_MESSAGE_BYTES + 1)],
    ])('%s', (_name, text) => {
      expect(text.length).toBeLessThanOrEqual(MAX_MESSAGE_BYTES + 1);
      const error = rejectionOf(text);
      expect(error.reason).toBe(REJECTION_REASON.TOO_LARGE);
      expect(error.detail).toContain(String(Buffer.byteLength(text, 'utf8')));
    });

    it('accepts 256 KB of 2-byte characters as far as size goes (the body is then NOT_JSON)', () => {
      const text = 'é'.repeat(MAX_MESSAGE_BYTES / 2);
      expect(rejectionOf(text).reason).toBe(REJECTION_REASON.NOT_JSON);
      expect(rejectionOf(`${text}a`).reason).toBe(REJECTION_REASON.TOO_LARGE);
    });
  });

  it.each<[string, string]>([
    [`${MAX_DEPTH + 1} nested arrays`, nestArrays(MAX_DEPTH + 1)],
    [`${MAX_DEPTH + 1} nested objects`, nestObjects(MAX_DEPTH + 1)],
    // input at depth 1, its member x at depth 2: 31 more levels put the innermost at depth 32.
    ['deep nesting inside input', body({ input: { ...TICKET, x: JSON.parse(nestObjects(MAX_DEPTH - 1)) } })],
    ['deep nesting inside metadata', body({ metadata: { a: JSON.parse(nestArrays(MAX_DEPTH - 1)) } })],
    // 200,000 bytes of brackets: must be rejected by the iterative check, not a stack overflow.
    ['100,000 nested arrays', nestArrays(100_000)],
  ])('TOO_DEEP: %s', (_name, text) => {
    expect(rejectionOf(text).reason).toBe(REJECTION_REASON.TOO_DEEP);
  });

  it(`TOO_DEEP boundary: ${MAX_DEPTH} levels pass the depth check (then fail later checks)`, () => {
    expect(rejectionOf(body({ input: { ...TICKET, x: JSON.parse(nestObjects(MAX_DEPTH - 2)) } })).reason).toBe(REJECTION_REASON.INVALID_INPUT);
    expect(rejectionOf(nestObjects(MAX_DEPTH)).reason).toBe(REJECTION_REASON.INVALID_ENVELOPE);
  });

  it.each<[string, string, string]>([
    ['__proto__ at the top level', '{"__proto__":{"polluted":1}}', '__proto__'],
    ['constructor at the top level', '{"task":"ticket-triage","input":{},"constructor":{"prototype":{}}}', 'constructor'],
    ['__proto__ in input', '{"task":"ticket-triage","input":{"subject":"s","body":"b","__proto__":{"polluted":1}}}', '__proto__'],
    ['prototype deep inside input', '{"task":"ticket-triage","input":{"subject":"s","body":"b","x":{"y":{"z":{"prototype":1}}}}}', 'prototype'],
    [
      'constructor in an object inside an array in input',
      '{"task":"ticket-triage","input":{"subject":"s","body":"b","x":[1,[{"constructor":1}]]}}',
      'constructor',
    ],
    ['__proto__ in metadata', '{"task":"ticket-triage","input":{"subject":"s","body":"b"},"metadata":{"__proto__":"x"}}', '__proto__'],
    [
      'constructor deep inside metadata',
      '{"task":"ticket-triage","input":{"subject":"s","body":"b"},"metadata":{"a":{"b":{"constructor":{"prototype":{"polluted":1}}}}}}',
      'constructor',
    ],
    ['prototype inside metadata array', '{"task":"ticket-triage","input":{"subject":"s","body":"b"},"metadata":{"a":[{"prototype":1}]}}', 'prototype'],
    ['escaped __proto__ key', '{"task":"ticket-triage","input":{"subject":"s","body":"b","\\u005f_proto__":{"polluted":1}}}', '__proto__'],
  ])('HOSTILE_KEY: %s', (_name, text, key) => {
    const error = rejectionOf(text);
    expect(error.reason).toBe(REJECTION_REASON.HOSTILE_KEY);
    expect(error.detail).toContain(`"${key}"`);
  });

  it.each<[string, string]>([
    ['top-level array', '[]'],
    ['top-level string', '"ticket-triage"'],
    ['top-level number', '42'],
    ['top-level null', 'null'],
    ['top-level true', 'true'],
    ['empty object', '{}'],
    ['missing task', JSON.stringify({ input: TICKET })],
    ['missing input', JSON.stringify({ task: 'ticket-triage' })],
    ['task is a number', body({ task: 1 })],
    ['task is null', body({ task: null })],
    ['task is empty', body({ task: '' })],
    ['task longer than 100 characters', body({ task: 't'.repeat(101) })],
    ['extra key at the top level', body({ priority: 'high' })],
    ['extra key that looks like a typo', body({ jobID: 'a' })],
    ['jobId with a space', body({ jobId: 'job 1' })],
    ['jobId with a slash', body({ jobId: 'job/1' })],
    ['jobId empty', body({ jobId: '' })],
    ['jobId of 129 characters', body({ jobId: 'j'.repeat(129) })],
    ['jobId is a number', body({ jobId: 7 })],
    ['entityId with a space', body({ entityId: 'ticket 1' })],
    ['entityId empty', body({ entityId: '' })],
    ['entityId of 129 characters', body({ entityId: 'e'.repeat(129) })],
    ['entityId is a number', body({ entityId: 48213 })],
    ['entityId is an email address', body({ entityId: 'jane@example.com' })],
    ['entityId with a newline', body({ entityId: 'ticket-1\nx' })],
    ['metadata is a string', body({ metadata: 'x' })],
    ['metadata is an array', body({ metadata: ['x'] })],
    ['metadata value is an object', body({ metadata: { a: { b: 1 } } })],
    ['metadata value is an array', body({ metadata: { a: [1] } })],
    ['metadata string of 1,025 characters', body({ metadata: { a: 'n'.repeat(1_025) } })],
    ['metadata key of 129 characters', body({ metadata: { ['k'.repeat(129)]: 1 } })],
  ])('INVALID_ENVELOPE: %s', (_name, text) => {
    expect(rejectionOf(text).reason).toBe(REJECTION_REASON.INVALID_ENVELOPE);
  });

  it.each<[string, string]>([
    ['an unknown name', 'summarise-email'],
    ['wrong case', 'Ticket-Triage'],
    ['trailing space', 'ticket-triage '],
    // Names of Object.prototype members must not resolve to anything through the registry.
    ['toString', 'toString'],
    ['hasOwnProperty', 'hasOwnProperty'],
    ['__proto__ as a value', '__proto__'],
    ['constructor as a value', 'constructor'],
  ])('UNKNOWN_TASK: %s', (_name, task) => {
    const error = rejectionOf(body({ task }));
    expect(error.reason).toBe(REJECTION_REASON.UNKNOWN_TASK);
    expect(error.detail).toContain('ticket-triage');
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a string', 'Refund please'],
    ['an array', [TICKET]],
    ['missing subject', { body: 'b' }],
    ['missing body', { subject: 's' }],
    ['blank subject (trimmed to empty)', { subject: '   ', body: 'b' }],
    ['subject of 301 characters', { subject: 's'.repeat(301), body: 'b' }],
    ['empty body', { subject: 's', body: '' }],
    ['body of 20,001 characters', { subject: 's', body: 'b'.repeat(20_001) }],
    ['unknown customer tier', { ...TICKET, customerTier: 'gold' }],
    ['subject is a number', { subject: 1, body: 'b' }],
    ['extra key in the input', { ...TICKET, priority: 'urgent' }],
  ])('INVALID_INPUT: %s', (_name, input) => {
    expect(rejectionOf(body({ input })).reason).toBe(REJECTION_REASON.INVALID_INPUT);
  });

  it('covers every rejection reason in REJECTION_REASON', () => {
    const samples: Record<RejectionReason, string> = {
      NOT_JSON: '{',
      TOO_LARGE: ' '.repeat(MAX_MESSAGE_BYTES + 1),
      TOO_DEEP: nestArrays(MAX_DEPTH + 1),
      HOSTILE_KEY: '{"prototype":1}',
      INVALID_ENVELOPE: '{}',
      UNKNOWN_TASK: body({ task: 'nope' }),
      INVALID_INPUT: body({ input: {} }),
    };
    expect(Object.keys(samples).sort()).toEqual(Object.values(REJECTION_REASON).sort());
    for (const [reason, text] of Object.entries(samples)) expect(rejectionOf(text).reason).toBe(reason);
  });

  it('rejections are not retryable and carry a stable name', () => {
    const error = rejectionOf('{');
    expect(error.retryable).toBe(false);
    expect(error.name).toBe('RejectedInputError');
    expect(error.message).toMatch(/^NOT_JSON: /);
  });
});

describe('parseMessage: the rejection detail (the log line and the DLQ FailureDetail attribute)', () => {
  it('TOO_LARGE names the size in bytes and the limit', () => {
    const text = 'x'.repeat(MAX_MESSAGE_BYTES + 1);
    expect(rejectionOf(text).detail).toBe(`body is ${MAX_MESSAGE_BYTES + 1} bytes; the limit is ${MAX_MESSAGE_BYTES}`);
  });

  it.each<[string, string, string]>([
    ['the character where it broke', '{', 'body is not JSON (at character 1)'],
    ['a position of several digits', '{"task":"ticket-triage"}x', 'body is not JSON (at character 24)'],
    ['that a body ends early', '{"task":', 'body is not JSON (it ends early)'],
    ['that an empty body ends early', '', 'body is not JSON (it ends early)'],
    // V8's own message quotes the body here ("Unexpected token 'j', "jane@example.com" is not valid JSON").
    ['nothing more when the parser names no position', 'jane@example.com', 'body is not JSON'],
  ])('NOT_JSON says %s, never what the body holds', (_name, text, detail) => {
    expect(rejectionOf(text).detail).toBe(detail);
  });

  it('TOO_DEEP names the path where the nesting crossed the limit', () => {
    expect(rejectionOf(nestArrays(MAX_DEPTH + 1)).detail).toBe(`nesting deeper than 32 levels at $${'[0]'.repeat(MAX_DEPTH)}`);
    expect(rejectionOf(nestObjects(MAX_DEPTH + 1)).detail).toBe(`nesting deeper than 32 levels at $${'.a'.repeat(MAX_DEPTH)}`);
  });

  it('TOO_DEEP does not put a key name that could be personal data into the detail (logs, DLQ)', () => {
    let body = '1';
    for (let level = 0; level <= MAX_DEPTH; level += 1) body = `{${JSON.stringify(level === MAX_DEPTH ? 'jane.doe@example.org' : 'a')}:${body}}`;
    const { detail } = rejectionOf(body);
    expect(detail).toMatch(/^nesting deeper than 32 levels at \$/);
    expect(detail).not.toContain('jane');
    expect(detail).not.toContain('example.org');
  });

  it.each<[string, string, string]>([
    ['at the top level', '{"prototype":1}', 'key "prototype" is not allowed (at $)'],
    ['in the input', '{"task":"ticket-triage","input":{"subject":"s","body":"b","__proto__":{}}}', 'key "__proto__" is not allowed (at $.input)'],
    [
      'in an array, with positions of one and two digits',
      '{"task":"ticket-triage","input":{"x":[0,1,2,3,4,5,6,7,8,9,10,[{"constructor":1}]]}}',
      'key "constructor" is not allowed (at $.input.x[11][0])',
    ],
    ['under an empty key', '{"":{"__proto__":1}}', 'key "__proto__" is not allowed (at $.<0 characters, not shown>)'],
    [
      'under keys that may be personal data: only their length',
      '{"metadata":{"+14155550172":{"order12345":[{"prototype":1}]}}}',
      'key "prototype" is not allowed (at $.metadata.<12 characters, not shown>.<10 characters, not shown>[0])',
    ],
    ['under an identifier key of 50 characters: shown', `{"${'k'.repeat(50)}":{"__proto__":1}}`, `key "__proto__" is not allowed (at $.${'k'.repeat(50)})`],
    [
      'under a key of 65 characters: its length only',
      `{"${'k'.repeat(65)}":{"__proto__":1}}`,
      'key "__proto__" is not allowed (at $.<65 characters, not shown>)',
    ],
  ])('HOSTILE_KEY names the key and where it is: %s', (_name, text, detail) => {
    const error = rejectionOf(text);
    expect(error.reason).toBe(REJECTION_REASON.HOSTILE_KEY);
    expect(error.detail).toBe(detail);
  });

  it.each<[string, string, RejectionReason, string]>([
    ['a missing field, by its path', JSON.stringify({ input: TICKET }), 'INVALID_ENVELOPE', 'task: Invalid input: expected string, received undefined'],
    ['a document that is not an object, at the root', '[]', 'INVALID_ENVELOPE', '(root): Invalid input: expected object, received array'],
    ['the jobId pattern', body({ jobId: 'job 1' }), 'INVALID_ENVELOPE', 'jobId: jobId may hold only letters, digits and . _ : -'],
    ['the entityId pattern', body({ entityId: 'ticket 1' }), 'INVALID_ENVELOPE', 'entityId: entityId may hold only letters, digits and . _ : # / -'],
    [
      'unrecognized keys, each shown only if it looks like an identifier',
      body({ priority: 'high', 'jane@example.com': 1 }),
      'INVALID_ENVELOPE',
      '(root): unrecognized key(s): "priority", <16 characters, not shown>',
    ],
    [
      'a path through a key that may be personal data',
      body({ metadata: { 'jane@example.com': 'n'.repeat(1_025) } }),
      'INVALID_ENVELOPE',
      'metadata.<16 characters, not shown>: Too big: expected string to have <=1024 characters',
    ],
    ['an input that is not an object, at the input root', body({ input: null }), 'INVALID_INPUT', '(root): Invalid input: expected object, received null'],
    [
      'every issue of the input, in order',
      body({ input: { subject: '  ', body: '', priority: 1 } }),
      'INVALID_INPUT',
      'subject: Too small: expected string to have >=1 characters; body: Too small: expected string to have >=1 characters; (root): unrecognized key(s): "priority"',
    ],
  ])('validation failures name where and what: %s', (_name, text, reason, detail) => {
    const error = rejectionOf(text);
    expect(error.reason).toBe(reason);
    expect(error.detail).toBe(detail);
  });

  it('UNKNOWN_TASK names the task (or only its length) and the known tasks', () => {
    expect(rejectionOf(body({ task: 'summarise-email' })).detail).toBe('unknown task "summarise-email"; known tasks: ticket-triage');
    expect(rejectionOf(body({ task: 'jane@example.com' })).detail).toBe('unknown task <16 characters, not shown>; known tasks: ticket-triage');
  });

  it('names at most the first five issues', () => {
    const metadata = Object.fromEntries(['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'].map((name) => [name, {}]));
    expect(rejectionOf(body({ metadata })).detail).toBe(
      'metadata.k1: Invalid input; metadata.k2: Invalid input; metadata.k3: Invalid input; metadata.k4: Invalid input; metadata.k5: Invalid input',
    );
  });

  it('is cut to 500 characters, however long the issues', () => {
    // Five issues of 125 characters each: 64-character key names and zod's "Too big" message.
    const names = ['a', 'b', 'c', 'd', 'e'].map((letter) => letter + 'x'.repeat(63));
    const metadata = Object.fromEntries(names.map((name) => [name, 'n'.repeat(1_025)]));
    const detail = rejectionOf(body({ metadata })).detail;
    expect(detail).toHaveLength(500);
    expect(detail.startsWith(`metadata.${names[0]}: Too big: expected string to have <=1024 characters; metadata.${names[1]}: `)).toBe(true);
  });
});

describe('parseMessage: a rejected body still names its job (the job then counts it as dead-lettered)', () => {
  const JOB = 'job-2026.11:a_b';

  it.each<[RejectionReason, Record<string, unknown>]>([
    ['HOSTILE_KEY', { input: JSON.parse('{"subject":"s","body":"b","__proto__":{}}') }],
    ['TOO_DEEP', { input: { ...TICKET, x: JSON.parse(nestArrays(MAX_DEPTH)) } }],
    ['INVALID_ENVELOPE', { priority: 'high' }],
    ['UNKNOWN_TASK', { task: 'summarise-email' }],
    ['INVALID_INPUT', { input: {} }],
  ])('%s carries the well-formed jobId, with the same reason and detail as without it', (reason, fields) => {
    const withJob = rejectionOf(body({ ...fields, jobId: JOB }));
    const without = rejectionOf(body(fields));
    expect(withJob.reason).toBe(reason);
    expect(withJob.jobId).toBe(JOB);
    expect(withJob.detail).toBe(without.detail);
    expect(withJob.message).toBe(`${reason}: ${without.detail}`);
    expect(without.jobId).toBeUndefined();
  });

  it.each<[string, string]>([
    ['a malformed jobId', body({ jobId: 'job 1', input: {} })],
    ['a jobId that is not a string', body({ jobId: 7, input: {} })],
    ['a jobId nested in an array document', `[${body({ jobId: JOB })}]`],
    ['a null document', 'null'],
    ['a string document', `"${JOB}"`],
    ['a body that is not JSON', `{"jobId":"${JOB}",`],
    ['a body that is too large', padTo(body({ jobId: JOB, input: {} }), MAX_MESSAGE_BYTES + 1)],
  ])('names no job for %s', (_name, text) => {
    expect(rejectionOf(text).jobId).toBeUndefined();
  });
});

describe('safeName: what of a producer-chosen name may appear in a log line', () => {
  it.each<[string, string]>([
    ['a', '"a"'],
    ['_private', '"_private"'],
    ['Ticket_triage-2', '"Ticket_triage-2"'],
    ['a'.repeat(64), `"${'a'.repeat(64)}"`],
    ['order1234', '"order1234"'],
    ['v1234x5678', '"v1234x5678"'],
  ])('shows an identifier: %j', (name, shown) => {
    expect(safeName(name)).toBe(shown);
  });

  it.each<[string, string]>([
    ['', '<0 characters, not shown>'],
    ['a'.repeat(65), '<65 characters, not shown>'],
    ['9lives', '<6 characters, not shown>'],
    ['-flag', '<5 characters, not shown>'],
    ['@handle', '<7 characters, not shown>'],
    ['handle@', '<7 characters, not shown>'],
    ['two words', '<9 characters, not shown>'],
    ['order12345', '<10 characters, not shown>'],
    ['café', '<4 characters, not shown>'],
  ])('shows only the length of anything else: %j', (name, shown) => {
    expect(safeName(name)).toBe(shown);
  });
});

describe('keyOfMessageBody: the ledger key the processor derives from a body', () => {
  it('is the input key of a valid message', () => {
    expect(keyOfMessageBody(body({ jobId: 'job-1', metadata: { a: 1 } }))).toBe(inputKey('ticket-triage', '1', TICKET));
  });

  it.each<[string, string]>([
    ['not JSON', '{'],
    ['an empty body', ''],
    ['an invalid envelope', '[]'],
    ['an unknown task', body({ task: 'nope' })],
    ['an invalid input', body({ input: {} })],
    ['a hostile key', '{"__proto__":{}}'],
  ])('is the rejection key of the raw body for %s', (_name, text) => {
    expect(keyOfMessageBody(text)).toBe(rejectedKey(text));
  });
});

describe('parseMessage with more tasks registered than the shipped registry has', () => {
  // A task whose input holds a list, and one whose schema has a bug: it throws instead of reporting an issue.
  const tagList: AnyTaskDefinition = { ...ticketTriage, name: 'tag-list', inputSchema: z.strictObject({ tags: z.array(z.string().min(1)).max(3) }) };
  const broken: AnyTaskDefinition = {
    ...ticketTriage,
    name: 'broken-task',
    inputSchema: z.unknown().transform((): unknown => {
      throw new Error('bug in the task schema');
    }),
  };
  // A fresh copy of the parser (and of its error classes) that sees the larger registry.
  let parser: typeof import('../../lambda/processor/message-parser');
  let errors: typeof import('../../lambda/errors/pipeline-errors');

  beforeAll(async () => {
    vi.resetModules();
    vi.doMock('../../lambda/tasks/registry', async (importOriginal) => {
      const real = await importOriginal<typeof Registry>();
      const tasks: Record<string, AnyTaskDefinition> = { ...real.TASKS, [tagList.name]: tagList, [broken.name]: broken };
      return { ...real, TASKS: tasks, TASK_NAMES: Object.keys(tasks), findTask: (name: string) => (Object.hasOwn(tasks, name) ? tasks[name] : undefined) };
    });
    parser = await import('../../lambda/processor/message-parser');
    errors = await import('../../lambda/errors/pipeline-errors');
  });

  afterAll(() => {
    vi.doUnmock('../../lambda/tasks/registry');
    vi.resetModules();
  });

  const thrownBy = (run: () => unknown): unknown => {
    try {
      run();
    } catch (error) {
      return error;
    }
    throw new Error('expected an exception');
  };

  it('UNKNOWN_TASK lists every known task', () => {
    const error = thrownBy(() => parser.parseMessage(body({ task: 'nope' })));
    expect(error).toBeInstanceOf(errors.RejectedInputError);
    expect((error as RejectedInputError).detail).toBe('unknown task "nope"; known tasks: ticket-triage, tag-list, broken-task');
  });

  it('names list positions in a validation path by their number', () => {
    const error = thrownBy(() => parser.parseMessage(JSON.stringify({ task: 'tag-list', input: { tags: ['a', '', 'c'] } })));
    expect(error).toBeInstanceOf(errors.RejectedInputError);
    expect((error as RejectedInputError).detail).toBe('tags.1: Too small: expected string to have >=1 characters');
  });

  it.each<[string, Record<string, unknown>]>([
    ['without a jobId', {}],
    ['with a jobId', { jobId: 'job-1' }],
  ])('does not blame a bug in a task schema on the input (%s): the error passes through, not as a rejection', (_name, fields) => {
    const text = JSON.stringify({ task: 'broken-task', input: {}, ...fields });
    for (const run of [() => parser.parseMessage(text), () => parser.keyOfMessageBody(text)]) {
      const error = thrownBy(run);
      expect(error).not.toBeInstanceOf(errors.RejectedInputError);
      expect((error as Error).message).toBe('bug in the task schema');
    }
  });
});

describe('parseMessage: prototype pollution', () => {
  it('leaves Object.prototype clean after a __proto__ body', () => {
    expect(rejectionOf('{"__proto__":{"polluted":1}}').reason).toBe(REJECTION_REASON.HOSTILE_KEY);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('leaves Object.prototype clean after constructor.prototype nested in input', () => {
    rejectionOf(body({ input: JSON.parse('{"subject":"s","body":"b","constructor":{"prototype":{"polluted":1}}}') }));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('parseMessage: property', () => {
  const reasons = new Set<string>(Object.values(REJECTION_REASON));
  const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype');
  const key = fc.oneof({ weight: 9, arbitrary: fc.string({ maxLength: 8 }) }, { weight: 1, arbitrary: hostileKey });
  const envelopeLike = fc
    .record(
      {
        task: fc.oneof(fc.constant('ticket-triage'), fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 1 })),
        input: fc.oneof(
          fc.record(
            {
              subject: fc.string({ unit: 'grapheme', maxLength: 40 }),
              body: fc.string({ unit: 'grapheme', maxLength: 80 }),
              customerTier: fc.constantFrom('free', 'pro', 'enterprise', 'gold'),
            },
            { requiredKeys: [] },
          ),
          fc.jsonValue({ maxDepth: 3 }),
        ),
        jobId: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,20}$/), fc.string({ maxLength: 10 })),
        metadata: fc.dictionary(key, fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 2 })), {
          maxKeys: 4,
        }),
        extra: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    )
    .map((envelope) => JSON.stringify(envelope));
  const bodies = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.json(),
    envelopeLike,
    // Valid-looking bodies cut short.
    fc.tuple(envelopeLike, fc.nat()).map(([text, cut]) => text.slice(0, cut % (text.length + 1))),
  );

  it('any string body gives a parsed message or a RejectedInputError with a known reason, never another exception', () => {
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(bodies, (text) => {
        let outcome: string;
        try {
          const parsed: ParsedMessage = parseMessage(text);
          expect(parsed.key).toMatch(/^[0-9a-f]{64}$/);
          expect(parsed.task).toBe(ticketTriage);
          expect(ticketTriage.inputSchema.safeParse(parsed.input).success).toBe(true);
          outcome = 'parsed';
        } catch (error) {
          expect(error).toBeInstanceOf(RejectedInputError);
          expect(reasons.has((error as RejectedInputError).reason)).toBe(true);
          outcome = (error as RejectedInputError).reason;
        }
        seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
        expect(Object.prototype).not.toHaveProperty('polluted');
      }),
      { seed: 31, numRuns: 3_000 },
    );
    // The generator reaches the interesting branches, not only NOT_JSON.
    for (const outcome of ['parsed', 'NOT_JSON', 'HOSTILE_KEY', 'INVALID_ENVELOPE', 'UNKNOWN_TASK', 'INVALID_INPUT']) {
      expect(seen.get(outcome) ?? 0, outcome).toBeGreaterThan(0);
    }
  });
});

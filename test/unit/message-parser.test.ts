import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES } from '../../lambda/contract';
import { REJECTION_REASON, RejectedInputError, type RejectionReason } from '../../lambda/errors/pipeline-errors';
import { inputKey } from '../../lambda/processor/input-key';
import { MAX_DEPTH, parseMessage, type ParsedMessage } from '../../lambda/processor/message-parser';
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

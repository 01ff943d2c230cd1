/**
 * Hostile input, property-based (fast-check): whatever bytes arrive, the parser returns a message
 * or a classified rejection — never another exception, never a polluted prototype — and a
 * rejection always carries a reason class. Then the same kind of bodies through the whole local
 * pipeline: every one is dead-lettered with its reason and not one reaches the model.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES } from '../../lambda/contract';
import { REJECTION_REASON, RejectedInputError } from '../../lambda/errors/pipeline-errors';
import { MAX_DEPTH, parseMessage } from '../../lambda/processor/message-parser';
import { startLocalPipeline, type LocalPipeline } from '../../local/local-pipeline';
import { buildReport } from '../../local/report';
import { sendBodies, waitForDrain } from '../../local/run-local';
import { synthesizeLocalStack } from '../../local/stack-model';

const REASONS = new Set<string>(Object.values(REJECTION_REASON));
const HOSTILE = ['__proto__', 'constructor', 'prototype'] as const;
const prototypeKeys = () => Object.getOwnPropertyNames(Object.prototype).sort().join(',');
const cleanPrototype = prototypeKeys();

/** Runs the parser and classifies what happened; anything but a message or a RejectedInputError fails the property. */
function outcome(body: string): { kind: 'parsed' } | { kind: 'rejected'; reason: string } {
  try {
    parseMessage(body);
    return { kind: 'parsed' };
  } catch (error) {
    if (error instanceof RejectedInputError) return { kind: 'rejected', reason: error.reason };
    throw error;
  }
}

function assertNoPollution(): void {
  expect(prototypeKeys()).toBe(cleanPrototype);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
}

// The task trims its text fields, so each needs something besides whitespace.
const text = (maxLength: number) => fc.string({ minLength: 1, maxLength }).filter((value) => value.trim().length > 0);
const validInput = fc.record({ subject: text(80), body: text(400) });

/** A JSON document with a hostile key somewhere below the root, written as text (an object literal would set the prototype). */
const hostileDocument = fc
  .tuple(fc.constantFrom(...HOSTILE), fc.array(fc.constantFrom('input', 'metadata', 'a', 'b'), { minLength: 0, maxLength: 6 }), fc.jsonValue())
  .map(([key, path, payload]) => {
    let inner = `{${JSON.stringify(key)}:{"polluted":true,"isAdmin":true,"value":${JSON.stringify(payload)}}}`;
    for (const segment of [...path].reverse()) inner = `{${JSON.stringify(segment)}:${inner}}`;
    return `{"task":"ticket-triage","input":{"subject":"s","body":"b","x":${inner}}}`;
  });

describe('the message parser, property-based', () => {
  it('any byte string, read as UTF-8 (invalid sequences included), is parsed or rejected with a reason', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const result = outcome(Buffer.from(bytes).toString('utf8'));
        if (result.kind === 'rejected') expect(REASONS.has(result.reason)).toBe(true);
        assertNoPollution();
      }),
      { numRuns: 500 },
    );
  });

  it('any string (lone surrogates, NUL bytes, control characters) is parsed or rejected with a reason', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 2048 }), (text) => {
        const result = outcome(text);
        if (result.kind === 'rejected') expect(REASONS.has(result.reason)).toBe(true);
        assertNoPollution();
      }),
      { numRuns: 500 },
    );
  });

  it('any JSON value as the body, or as the input of a valid envelope, is parsed or rejected with a reason', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        for (const body of [JSON.stringify(value), JSON.stringify({ task: 'ticket-triage', input: value })]) {
          const result = outcome(body);
          if (result.kind === 'rejected') expect(REASONS.has(result.reason)).toBe(true);
        }
        assertNoPollution();
      }),
      { numRuns: 300 },
    );
  });

  it('a hostile key anywhere is rejected as HOSTILE_KEY and pollutes nothing', () => {
    fc.assert(
      fc.property(hostileDocument, (body) => {
        expect(outcome(body)).toEqual({ kind: 'rejected', reason: REJECTION_REASON.HOSTILE_KEY });
        assertNoPollution();
      }),
      { numRuns: 300 },
    );
  });

  it('valid tickets with NUL bytes and any unicode in their text are accepted, and key order never changes the key', () => {
    fc.assert(
      fc.property(validInput, fc.string({ unit: 'grapheme', maxLength: 20 }), (input, extra) => {
        const withNul = { ...input, body: `${input.body}\u0000${extra}` };
        const a = parseMessage(JSON.stringify({ task: 'ticket-triage', input: withNul }));
        const b = parseMessage(JSON.stringify({ input: { body: withNul.body, subject: withNul.subject }, task: 'ticket-triage' }));
        expect(a.key).toBe(b.key);
      }),
      { numRuns: 200 },
    );
  });

  it.each([
    ['deep arrays', (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`],
    ['deep objects', (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`],
    ['deep input', (depth: number) => `{"task":"ticket-triage","input":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`],
  ])('%s: TOO_DEEP past the limit, without a stack overflow even at 100,000 levels', (_name, nest) => {
    expect(outcome(nest(MAX_DEPTH + 1))).toEqual({ kind: 'rejected', reason: REJECTION_REASON.TOO_DEEP });
    const huge = outcome(nest(100_000));
    expect(huge.kind).toBe('rejected');
  });

  it.each([
    [
      'numbers at the edges',
      '{"task":"ticket-triage","input":{"subject":"s","body":"b"},"metadata":{"a":1e308,"b":-1e308,"c":5e-324,"d":9007199254740993,"e":-0}}',
      { kind: 'parsed' },
    ],
    [
      'a number that overflows to Infinity',
      '{"task":"ticket-triage","input":{"subject":"s","body":"b"},"metadata":{"a":1e400}}',
      { kind: 'rejected', reason: 'INVALID_ENVELOPE' },
    ],
    ['duplicate keys (the last wins, as JSON.parse does)', '{"task":"nope","task":"ticket-triage","input":{"subject":"s","body":"b"}}', { kind: 'parsed' }],
    [
      'a 20,000-element array in metadata (which holds primitives only)',
      JSON.stringify({ task: 'ticket-triage', input: { subject: 's', body: 'b' }, metadata: { list: Array.from({ length: 20_000 }, () => 1) } }),
      { kind: 'rejected', reason: 'INVALID_ENVELOPE' },
    ],
    [
      'a 200 KB subject (the task caps it)',
      JSON.stringify({ task: 'ticket-triage', input: { subject: 's'.repeat(200_000), body: 'b' } }),
      { kind: 'rejected', reason: 'INVALID_INPUT' },
    ],
  ])('%s', (_name, body, expected) => {
    expect(outcome(body)).toEqual(expected);
  });

  it('256 KB is the limit, counted in UTF-8 bytes', () => {
    const envelope = (body: string) => JSON.stringify({ task: 'ticket-triage', input: { subject: 's', body } });
    const overhead = Buffer.byteLength(envelope(''), 'utf8');
    expect(outcome(envelope('x'.repeat(MAX_MESSAGE_BYTES - overhead + 1)))).toEqual({ kind: 'rejected', reason: REJECTION_REASON.TOO_LARGE });
    // 'é' is two bytes: the same number of characters is over the limit in bytes.
    expect(outcome(envelope('é'.repeat(Math.ceil((MAX_MESSAGE_BYTES - overhead) / 2) + 1)))).toEqual({ kind: 'rejected', reason: REJECTION_REASON.TOO_LARGE });
  });
});

describe('hostile bodies through the whole local pipeline', () => {
  let pipeline: LocalPipeline;
  const bodies = [
    ...fc.sample(hostileDocument, { numRuns: 20, seed: 7 }),
    ...fc.sample(fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }), { numRuns: 20, seed: 8 }).map((text) => `not json ${text}`),
    ...fc.sample(fc.jsonValue({ maxDepth: 4 }), { numRuns: 20, seed: 9 }).map((value) => JSON.stringify({ task: 'ticket-triage', input: value, extra: 1 })),
    `${'['.repeat(5000)}${']'.repeat(5000)}`,
  ]
    // SQS itself refuses some characters (and empty bodies); a producer could not send those at all.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters SQS accepts are the point of this pattern.
    .map((body) => body.replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '?'))
    .filter((body) => body.trim().length > 0);

  beforeAll(async () => {
    pipeline = await startLocalPipeline({ stack: synthesizeLocalStack(), monitors: false });
  });
  afterAll(async () => pipeline?.stop());

  it('rejects every one on its first receive with a reason, and none reaches the model', async () => {
    await sendBodies(pipeline.sqs, pipeline.resources.inputQueueUrl, bodies);
    expect(await waitForDrain(pipeline, 60_000)).toBe(true);
    await pipeline.poller.stop();
    const report = await buildReport(pipeline, bodies, 0, 0);
    expect(report.invariantViolations).toEqual([]);
    expect(report.completed).toBe(0);
    expect(report.deadLettered).toBe(report.unique);
    expect(report.rejected).toBe(report.unique);
    expect(Object.keys(report.details.dlqByReason).every((reason) => REASONS.has(reason))).toBe(true);
    expect(pipeline.simulator.stats().requests).toBe(0);
  });
});

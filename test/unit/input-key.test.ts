import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inputKey, normalizedForKey, rejectedKey } from '../../lambda/processor/input-key';
import { canonicalJson } from '../../lambda/shared/canonical-json';

const TASK = 'ticket-triage';
const VERSION = '1';

/** The key of an input given as producer text: what the parser does after JSON.parse. */
const keyOf = (text: string): string => inputKey(TASK, VERSION, JSON.parse(text));

describe('inputKey: a known vector', () => {
  const input = { subject: 'Double charge', body: 'My card was charged twice.', customerTier: 'pro' };
  // Written by hand: sorted keys at both levels, no whitespace.
  const canonical = '{"input":{"body":"My card was charged twice.","customerTier":"pro","subject":"Double charge"},"task":"ticket-triage","taskVersion":"1"}';

  it('is the SHA-256 of the canonical JSON of {task, taskVersion, input}', () => {
    expect(inputKey(TASK, VERSION, input)).toBe(createHash('sha256').update(canonical, 'utf8').digest('hex'));
  });

  it('is pinned: a change here re-processes every input already in the ledger', () => {
    expect(inputKey(TASK, VERSION, input)).toBe('dc9fdb1559cd048567dcade3ad4ee04c159d293677b6efd6ed86a10bb8f17658');
  });
});

describe('inputKey: which producer texts are the same work', () => {
  it.each<[string, string, string]>([
    ['key order, top level', '{"subject":"s","body":"b"}', '{"body":"b","subject":"s"}'],
    ['key order, depth 2', '{"a":{"x":1,"y":2}}', '{"a":{"y":2,"x":1}}'],
    ['key order, depth 4 inside an array', '{"a":[{"b":{"c":{"p":1,"q":2}}}]}', '{"a":[{"b":{"c":{"q":2,"p":1}}}]}'],
    ['key order at every depth at once', '{"b":{"d":[{"f":1,"e":2}],"c":0},"a":1}', '{"a":1,"b":{"c":0,"d":[{"e":2,"f":1}]}}'],
    ['whitespace: spaces, tabs, newlines, CRLF', '{"a":[1,2],"b":{"c":null}}', '{\r\n\t"a" : [ 1 ,\n 2 ] ,\n  "b":{ "c" :null }\n}'],
    ['\\u00e9 escape vs literal é', '{"s":"\\u00e9"}', '{"s":"é"}'],
    ['escaped slash vs plain slash', '{"s":"a\\/b"}', '{"s":"a/b"}'],
    ['emoji as surrogate-pair escapes vs literal', '{"s":"\\ud83d\\ude00"}', '{"s":"😀"}'],
    ['escaped key vs literal key', '{"\\u0061":1}', '{"a":1}'],
    ['1.0 vs 1', '{"n":1.0}', '{"n":1}'],
    ['1e3 vs 1000', '{"n":1e3}', '{"n":1000}'],
    ['1E+3 vs 1000', '{"n":1E+3}', '{"n":1000}'],
    ['0.1 vs 1e-1', '{"n":0.1}', '{"n":1e-1}'],
    ['-0 vs 0 (JSON.stringify prints -0 as 0)', '{"n":-0}', '{"n":0}'],
    // JSON numbers are IEEE doubles once parsed: 2^53 + 1 cannot be told from 2^53.
    ['2^53 + 1 vs 2^53 (precision beyond 2^53 is lost by JSON.parse)', '{"n":9007199254740993}', '{"n":9007199254740992}'],
    // JSON.parse keeps the last of duplicate keys; so does the key.
    ['duplicate keys vs the last value', '{"a":1,"a":2}', '{"a":2}'],
    // Unicode NFC before hashing: the same text, composed or decomposed, is the same work.
    ['NFC é (U+00E9) vs NFD e + U+0301', '{"s":"\u00e9"}', '{"s":"e\u0301"}'],
    ['NFC vs NFD in a key', '{"\u00e9":1}', '{"e\u0301":1}'],
    ['NFC vs NFD inside an array', '{"a":["\u00c5"]}', '{"a":["A\u030a"]}'],
  ])('same key: %s', (_name, a, b) => {
    expect(keyOf(a)).toBe(keyOf(b));
  });

  it.each<[string, string, string]>([
    ['array order', '{"a":[1,2]}', '{"a":[2,1]}'],
    ['number vs string', '{"n":1}', '{"n":"1"}'],
    ['true vs "true"', '{"b":true}', '{"b":"true"}'],
    ['null member vs absent member', '{"a":null}', '{}'],
    ['empty object vs empty array', '{"a":{}}', '{"a":[]}'],
    ['key case', '{"A":1}', '{"a":1}'],
    ['trailing space in a key', '{"a ":1}', '{"a":1}'],
    ['whitespace inside a string value', '{"s":"a b"}', '{"s":"a  b"}'],
    ['0.1 + 0.2 vs 0.3', '{"n":0.30000000000000004}', '{"n":0.3}'],
  ])('different key: %s', (_name, a, b) => {
    expect(keyOf(a)).not.toBe(keyOf(b));
  });

  it.each<[string, [string, string], [string, string]]>([
    ['task version', [TASK, '1'], [TASK, '2']],
    ['task name', [TASK, '1'], ['summarise-email', '1']],
    // A naive concatenation "task" + "version" would make these equal.
    ['task/version boundary', ['ab', 'c'], ['a', 'bc']],
  ])('a different %s gives a different key for the same input', (_name, [taskA, versionA], [taskB, versionB]) => {
    const input = { subject: 's', body: 'b' };
    expect(inputKey(taskA, versionA, input)).not.toBe(inputKey(taskB, versionB, input));
  });

  it.each<[string, unknown]>([
    ['NaN', { n: NaN }],
    ['Infinity', { n: Infinity }],
    ['-Infinity deep in an array', { a: [[{ n: -Infinity }]] }],
    ['undefined member', { a: undefined }],
  ])('rejects an input holding %s', (_name, input) => {
    expect(() => inputKey(TASK, VERSION, input)).toThrow(TypeError);
  });

  it('is 64 lowercase hex characters', () => {
    expect(inputKey(TASK, VERSION, { subject: 's', body: 'b' })).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('inputKey: property', () => {
  /** Rebuild a value with every object's keys inserted in a shuffled order (own data properties, so "__proto__" stays a key). */
  function shuffleKeys(value: unknown, order: () => number): unknown {
    if (Array.isArray(value)) return value.map((item) => shuffleKeys(item, order));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value)
      .map(([key, member]) => ({ key, member, rank: order() }))
      .sort((a, b) => a.rank - b.rank);
    const out: Record<string, unknown> = {};
    for (const { key, member } of entries) {
      Object.defineProperty(out, key, { value: shuffleKeys(member, order), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  it('shuffling object key order at any depth never changes the key', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.infiniteStream(fc.double({ min: 0, max: 1, noNaN: true })), (input, stream) => {
        const ranks = stream[Symbol.iterator]();
        const shuffled = shuffleKeys(input, () => ranks.next().value as number);
        expect(inputKey(TASK, VERSION, shuffled)).toBe(inputKey(TASK, VERSION, input));
      }),
      { seed: 21, numRuns: 300 },
    );
  });

  it('distinct canonical documents get distinct keys (2,000 generated documents)', () => {
    const inputs = fc.sample(fc.jsonValue(), { seed: 22, numRuns: 2_000 });
    const canonicalTexts = new Set(inputs.map((input) => canonicalJson(normalizedForKey(input))));
    const keys = new Set(inputs.map((input) => inputKey(TASK, VERSION, input)));
    expect(keys.size).toBe(canonicalTexts.size);
    expect(keys.size).toBeGreaterThan(1_000);
  });
});

describe('rejectedKey', () => {
  it('is "rejected#" + the SHA-256 of the raw body, computed independently', () => {
    const body = '{"task": oops';
    expect(rejectedKey(body)).toBe(`rejected#${createHash('sha256').update(body, 'utf8').digest('hex')}`);
  });

  it('is the same for the same bad body, every time', () => {
    expect(rejectedKey('not json')).toBe(rejectedKey('not json'));
  });

  it('hashes the raw bytes: a reformatted body is a different rejection', () => {
    expect(rejectedKey('{"a":1}')).not.toBe(rejectedKey('{ "a": 1 }'));
  });

  it('can never equal an input key (prefix and shape differ)', () => {
    const key = rejectedKey('{}');
    expect(key).toMatch(/^rejected#[0-9a-f]{64}$/);
    expect(key).not.toMatch(/^[0-9a-f]{64}$/);
  });
});

import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../../lambda/shared/canonical-json';

describe('canonicalJson: the exact text', () => {
  // Expected texts are written by hand, not produced by another serialiser.
  it.each<[string, unknown, string]>([
    ['string', 'a"b\\c\n', '"a\\"b\\\\c\\n"'],
    ['boolean', true, 'true'],
    ['null', null, 'null'],
    ['integer', 42, '42'],
    ['1.0 prints as 1', 1.0, '1'],
    ['-0 prints as 0', -0, '0'],
    ['1e21 keeps its exponent form', 1e21, '1e+21'],
    ['small fraction', 1e-7, '1e-7'],
    ['empty object', {}, '{}'],
    ['empty array', [], '[]'],
    ['keys sorted, no whitespace', { b: 1, a: 2 }, '{"a":2,"b":1}'],
    ['upper case sorts before lower case (code units)', { b: 1, B: 2, a: 3 }, '{"B":2,"a":3,"b":1}'],
    // Object.keys would list "9" before "10" (integer keys first); the sort must undo that.
    ['integer-like keys sort as strings, not as numbers', { a: 1, 10: 2, 9: 3 }, '{"10":2,"9":3,"a":1}'],
    // UTF-16 code unit order (RFC 8785): the emoji's high surrogate 0xD83D sorts before U+FF01.
    ['keys beyond the BMP sort by UTF-16 code unit', { '\uff01': 1, '😀': 2 }, '{"😀":2,"！":1}'],
    ['nested objects sorted at every depth', { z: { y: { b: 1, a: 2 }, x: 0 }, a: [{ d: 1, c: 2 }] }, '{"a":[{"c":2,"d":1}],"z":{"x":0,"y":{"a":2,"b":1}}}'],
    ['arrays keep their order', [3, 1, 2], '[3,1,2]'],
    ['lone surrogate is escaped, not replaced', '\ud800', '"\\ud800"'],
    ['"__proto__" as an own key is kept', JSON.parse('{"__proto__":1,"a":2}'), '{"__proto__":1,"a":2}'],
  ])('%s', (_name, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });
});

describe('canonicalJson: values JSON cannot carry are rejected, not dropped', () => {
  it.each<[string, unknown, string]>([
    ['NaN', NaN, 'canonical JSON cannot carry the number NaN'],
    ['Infinity', Infinity, 'canonical JSON cannot carry the number Infinity'],
    ['-Infinity', -Infinity, 'canonical JSON cannot carry the number -Infinity'],
    ['undefined', undefined, 'canonical JSON cannot carry a value of type undefined'],
    ['a bigint', 10n, 'canonical JSON cannot carry a value of type bigint'],
    ['a function', () => 1, 'canonical JSON cannot carry a value of type function'],
    ['a symbol', Symbol('s'), 'canonical JSON cannot carry a value of type symbol'],
    ['NaN nested in an array in an object', { a: [1, { b: NaN }] }, 'canonical JSON cannot carry the number NaN'],
    // JSON.stringify would silently drop this member; a key must not hide it.
    ['an undefined member', { a: 1, b: undefined }, 'canonical JSON cannot carry a value of type undefined'],
    ['an undefined array element', [1, undefined], 'canonical JSON cannot carry a value of type undefined'],
    // biome-ignore lint/suspicious/noSparseArray: a sparse array is the case under test.
    ['a sparse array', [1, , 2], 'canonical JSON cannot carry a sparse array (hole at 1)'],
    ['an array with a trailing hole', Object.assign([1, 2], { length: 3 }), 'canonical JSON cannot carry a sparse array (hole at 2)'],
    ['a Date', new Date(0), 'canonical JSON carries plain objects only, not Date'],
    ['a Map', new Map([['a', 1]]), 'canonical JSON carries plain objects only, not Map'],
    ['a Set', new Set([1]), 'canonical JSON carries plain objects only, not Set'],
    [
      'a class instance',
      new (class Point {
        x = 1;
      })(),
      'canonical JSON carries plain objects only, not Point',
    ],
    // Its prototype is an object without a constructor: the message still names the problem.
    ['an object inheriting from a null-prototype object', Object.create(Object.create(null)), 'canonical JSON carries plain objects only, not this object'],
    ['a Date nested in an object', { at: new Date(0) }, 'canonical JSON carries plain objects only, not Date'],
  ])('%s', (_name, value, message) => {
    expect(() => canonicalJson(value)).toThrow(new TypeError(message));
  });
});

describe('canonicalJson: plain objects without a prototype', () => {
  it('serialises a null-prototype object (a dictionary) like the plain object with the same members', () => {
    const dictionary = Object.assign(Object.create(null) as Record<string, unknown>, { b: 1, a: [Object.assign(Object.create(null), { c: true })] });
    expect(canonicalJson(dictionary)).toBe('{"a":[{"c":true}],"b":1}');
  });
});

/** Serialise a JSON value with object keys in a seeded random order and random whitespace. */
function restyle(value: unknown, random: () => number): string {
  const ws = (): string => [' ', '\n', '\t', '\r\n  ', ''][Math.floor(random() * 5)]!;
  if (Array.isArray(value)) return `[${ws()}${value.map((item) => restyle(item, random)).join(`${ws()},${ws()}`)}${ws()}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    for (let i = keys.length - 1; i > 0; i -= 1) {
      const j = Math.floor(random() * (i + 1));
      [keys[i], keys[j]] = [keys[j]!, keys[i]!];
    }
    const members = keys.map((key) => `${ws()}${JSON.stringify(key)}${ws()}:${ws()}${restyle((value as Record<string, unknown>)[key], random)}`);
    return `{${members.join(',')}${ws()}}`;
  }
  return JSON.stringify(value);
}

describe('canonicalJson: properties', () => {
  it('is the same for any key order and whitespace of the same document', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer(), (value, seed) => {
        let state = seed;
        const random = (): number => {
          state = (Math.imul(state, 1_103_515_245) + 12_345) | 0;
          return ((state >>> 8) & 0xffff) / 0x10000;
        };
        const text = restyle(value, random);
        expect(canonicalJson(JSON.parse(text))).toBe(canonicalJson(value));
      }),
      { seed: 11, numRuns: 400 },
    );
  });

  it('is valid JSON with no whitespace outside strings, and a fixed point', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        const reparsed: unknown = JSON.parse(text);
        expect(canonicalJson(reparsed)).toBe(text);
        // Strings are the only place whitespace may appear: strip them and look at the rest.
        expect(text.replace(/"(?:[^"\\]|\\.)*"/g, '""')).not.toMatch(/\s/);
      }),
      { seed: 12, numRuns: 400 },
    );
  });
});

describe('sha256Hex', () => {
  it.each<[string, string, string]>([
    ['the empty string (FIPS 180 vector)', '', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['"abc" (FIPS 180 vector)', 'abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    // The UTF-8 bytes C3 A9, not the UTF-16 code unit or Latin-1 byte E9.
    ['"é" hashed as UTF-8', '\u00e9', '4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c'],
  ])('%s', (_name, text, expected) => {
    expect(sha256Hex(text)).toBe(expected);
  });

  it('agrees with node:crypto over the UTF-8 bytes for arbitrary well-formed text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        expect(sha256Hex(text)).toBe(createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex'));
      }),
      { seed: 13, numRuns: 200 },
    );
  });
});

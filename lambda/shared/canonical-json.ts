import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted by UTF-16 code unit (as RFC 8785 does), no insignificant
 * whitespace, numbers and strings serialised as `JSON.stringify` does. Two documents that differ
 * only in key order or whitespace give the same text, and so the same hash.
 *
 * Values that JSON cannot carry (undefined, functions, symbols, NaN, Infinity, BigInt, sparse
 * arrays, and objects other than plain ones: Date, Map, Set, class instances) are rejected rather than silently dropped: a key must never hide a difference.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON cannot carry the number ${value}`);
      return JSON.stringify(value); // -0 prints as 0, 1.0 as 1: the same as the parsed document
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        // `map` skips holes, which would print `[1,,2]`: not JSON, and equal to nothing.
        for (let index = 0; index < value.length; index += 1) {
          if (!(index in value)) throw new TypeError(`canonical JSON cannot carry a sparse array (hole at ${index})`);
        }
        return `[${value.map(canonicalJson).join(',')}]`;
      }
      const prototype = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) {
        // A Date, Map, Set or class instance has no JSON form of its own; hashing it as `{}` would
        // make different values the same key.
        throw new TypeError(`canonical JSON carries plain objects only, not ${prototype?.constructor?.name ?? 'this object'}`);
      }
      const keys = Object.keys(value).sort();
      const members = keys.map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
      return `{${members.join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot carry a value of type ${typeof value}`);
  }
}

/** Hex SHA-256 of a string's UTF-8 bytes. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

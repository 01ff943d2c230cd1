/**
 * How close a new input is to the one an entity's last decision was made for: MinHash signatures
 * of word-bigram shingles of the normalized text, compared position by position, which estimates
 * the Jaccard similarity of the two shingle sets.
 *
 * Why this measure:
 * - the entity item keeps a fixed 512-byte signature, never the input text (which may be personal
 *   data, and may be 256 KiB: a stored text could push the item past DynamoDB's 400 KB);
 * - a signature costs one pass over the words (O(words × hashes)), about 0.1 ms for a ticket, and
 *   comparing two costs 128 integer comparisons;
 * - word bigrams keep word order a little (a rewritten sentence differs, a moved signature
 *   block does not much), and a typo changes only the two bigrams its word is in.
 * A normalized Levenshtein distance would need both texts, and is quadratic in their length.
 *
 * Written here rather than taken from npm: the MinHash packages there are unmaintained
 * playgrounds (`minhash` 0.1.1, 2020) and none gives a compact serializable signature.
 */

/** Hash functions in a signature: the estimate's standard error is about √(J(1−J)/128) ≤ 0.045. */
export const SIGNATURE_SIZE = 128;

/** A MinHash signature: `SIGNATURE_SIZE` unsigned 32-bit minima. */
export type Signature = Uint32Array;

/**
 * The text of an input that similarity compares: its string values (keys sorted, so the order of
 * the producer's keys does not matter), one per line. Numbers and booleans are not text an agent
 * edits; they are left out.
 */
export function textOf(input: unknown): string {
  const parts: string[] = [];
  const stack: unknown[] = [input];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') parts.push(value);
    else if (Array.isArray(value)) for (let i = value.length - 1; i >= 0; i -= 1) stack.push(value[i]);
    else if (value !== null && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record).sort().reverse()) stack.push(record[key]);
    }
  }
  return parts.join('\n');
}

/** Lower case, compatibility-normalized, letters and digits only: punctuation, case and spacing edits are not edits. */
export function normalizedWords(text: string): string[] {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0);
}

/** The word bigrams of a text (a one-word text is its one word). */
export function shingles(text: string): Set<string> {
  const words = normalizedWords(text);
  if (words.length === 1) return new Set(words);
  const set = new Set<string>();
  for (let i = 0; i + 1 < words.length; i += 1) set.add(`${words[i]} ${words[i + 1]}`);
  return set;
}

/** FNV-1a over UTF-16 units: a fast 32-bit hash of a shingle. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** murmur3's finalizer: the i-th hash function is fmix32(h ⊕ seed_i), a good enough permutation family for MinHash. */
function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Fixed seeds: signatures written by one version must compare with those of the next. */
const SEEDS: readonly number[] = Array.from({ length: SIGNATURE_SIZE }, (_, i) => fmix32(0x9e3779b9 + Math.imul(i, 0x632be5ab)));

/** The MinHash signature of a text. An empty text has all-ones minima (similar only to another empty text). */
export function signatureOf(text: string): Signature {
  const signature = new Uint32Array(SIGNATURE_SIZE).fill(0xffffffff);
  for (const shingle of shingles(text)) {
    const base = fnv1a(shingle);
    for (let i = 0; i < SIGNATURE_SIZE; i += 1) {
      const hashed = fmix32(base ^ (SEEDS[i] as number));
      if (hashed < (signature[i] as number)) signature[i] = hashed;
    }
  }
  return signature;
}

/** Estimated Jaccard similarity (0–1) of the texts two signatures were made from. */
export function similarity(a: Signature, b: Signature): number {
  if (a.length !== b.length || a.length === 0) return 0;
  let equal = 0;
  for (let i = 0; i < a.length; i += 1) if (a[i] === b[i]) equal += 1;
  return equal / a.length;
}

/** The exact Jaccard similarity of two texts' shingle sets (tests and the labelled-set report compare the estimate with it). */
export function jaccard(a: string, b: string): number {
  const left = shingles(a);
  const right = shingles(b);
  if (left.size === 0 && right.size === 0) return 1;
  let shared = 0;
  for (const shingle of left) if (right.has(shingle)) shared += 1;
  return shared / (left.size + right.size - shared);
}

/** A signature as bytes (little-endian), for a DynamoDB binary attribute. */
export function signatureBytes(signature: Signature): Uint8Array {
  const bytes = new Uint8Array(signature.length * 4);
  const view = new DataView(bytes.buffer);
  for (const [i, value] of signature.entries()) view.setUint32(i * 4, value, true);
  return bytes;
}

/** The signature stored by `signatureBytes`; undefined when the bytes are not one. */
export function signatureFromBytes(bytes: Uint8Array | undefined): Signature | undefined {
  if (!bytes || bytes.length !== SIGNATURE_SIZE * 4) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Uint32Array.from({ length: SIGNATURE_SIZE }, (_, i) => view.getUint32(i * 4, true));
}

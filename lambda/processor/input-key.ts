import { canonicalJson, sha256Hex } from '../shared/canonical-json';

/**
 * The idempotency key of a unit of work: SHA-256 of the canonical JSON of
 * `{task, taskVersion, input}`, every string (keys and values) in Unicode NFC. Never the SQS
 * message id: a redrive or a re-send gets a new id, and must still be recognised as the same work.
 * Pass the validated input (what the prompt is built from, trimmed by the task's schema): the key
 * then names exactly the work that is paid for, so `" Refund"` and `"Refund"`, or an accent
 * composed and decomposed, are one key.
 */
export function inputKey(task: string, taskVersion: string, input: unknown): string {
  return sha256Hex(canonicalJson({ task, taskVersion, input: normalizedForKey(input) }));
}

/** Every string of a JSON value (object keys included) in NFC; everything else as it is. */
export function normalizedForKey(value: unknown): unknown {
  if (typeof value === 'string') return value.normalize('NFC');
  if (Array.isArray(value)) return value.map(normalizedForKey);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([name, inner]) => [name.normalize('NFC'), normalizedForKey(inner)]));
  }
  return value;
}

/**
 * The key of a message that could not be parsed into a task: the hash of its raw body, prefixed
 * so it can never collide with an input key. The same bad body always gets the same key, which is
 * how a report counts it once however often it was sent.
 */
export function rejectedKey(rawBody: string): string {
  return `rejected#${sha256Hex(rawBody)}`;
}

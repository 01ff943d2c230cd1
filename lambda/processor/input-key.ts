import { canonicalJson, sha256Hex } from '../shared/canonical-json';

/**
 * The idempotency key of a unit of work: SHA-256 of the canonical JSON of
 * `{task, taskVersion, input}`. Never the SQS message id: a redrive or a re-send gets a new id,
 * and must still be recognised as the same work.
 */
export function inputKey(task: string, taskVersion: string, input: unknown): string {
  return sha256Hex(canonicalJson({ task, taskVersion, input }));
}

/**
 * The key of a message that could not be parsed into a task: the hash of its raw body, prefixed
 * so it can never collide with an input key. The same bad body always gets the same key, which is
 * how a report counts it once however often it was sent.
 */
export function rejectedKey(rawBody: string): string {
  return `rejected#${sha256Hex(rawBody)}`;
}

/**
 * Which records log a line in every invocation (INFO/WARN) and which only in debug-sampled ones
 * (issue 17: log bytes). A plain success is most of the traffic and no runbook query reads it;
 * everything an on-call person filters for (a fallback tier, a note, an error, a retry, a duplicate
 * skip, a review, a rejection, a deferral) must never be sampled away.
 */
import { describe, expect, it } from 'vitest';
import { REUSED_TIER, TIER } from '../../lambda/contract';
import { MODEL_ERROR_CLASS, ModelCallError } from '../../lambda/errors/pipeline-errors';
import { isPlainSuccess } from '../../lambda/processor/batch-processor';
import { OUTCOME, type RecordResult } from '../../lambda/processor/record-protocol';

const completed = (overrides: Partial<RecordResult> = {}): RecordResult => ({ outcome: OUTCOME.COMPLETED, tier: TIER.PRIMARY, retry: false, ...overrides });

describe('isPlainSuccess', () => {
  it.each<[string, RecordResult]>([
    ['completed by the primary model', completed()],
    ['completed by the primary model, empty notes', completed({ notes: [] })],
  ])('%s: DEBUG (sampled)', (_name, result) => {
    expect(isPlainSuccess(result)).toBe(true);
  });

  it.each<[string, RecordResult]>([
    ['completed by the secondary model', completed({ tier: TIER.SECONDARY })],
    ['completed by the rules tier', completed({ tier: TIER.RULES })],
    ['completed by reusing an entity decision', completed({ tier: REUSED_TIER })],
    ['completed by the primary model with a note', completed({ notes: [{ tier: TIER.PRIMARY, reason: 'repaired' }] })],
    ['completed by the primary model after an error', completed({ error: new ModelCallError(MODEL_ERROR_CLASS.SERVER_ERROR, 'HTTP 503') })],
    ['in review', { outcome: OUTCOME.IN_REVIEW, tier: TIER.HUMAN, retry: false }],
    ['rejected', { outcome: OUTCOME.REJECTED, retry: false }],
    ['failed, back to the queue', { outcome: OUTCOME.FAILED, retry: true }],
    ['claimed elsewhere, back to the queue', { outcome: OUTCOME.CLAIMED_ELSEWHERE, retry: true }],
    ['deferred by a stopped task', { outcome: OUTCOME.DEFERRED, retry: false }],
    ['a duplicate skipped (DESIGN.md: every duplicate skip is a log line)', { outcome: OUTCOME.DUPLICATE, retry: false }],
    ['a duplicate that goes back to the queue', { outcome: OUTCOME.DUPLICATE, retry: true }],
  ])('%s: INFO or WARN, every invocation', (_name, result) => {
    expect(isPlainSuccess(result)).toBe(false);
  });
});

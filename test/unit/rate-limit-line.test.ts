/**
 * Where "rate limited" ends and "outage" begins, for the breaker (shared-breaker.ts,
 * `breakerOutcomeOf`): both sides of the line.
 */
import { describe, expect, it } from 'vitest';
import {
  isRateLimited,
  MODEL_ERROR_CLASS,
  MODEL_ERROR_TRAITS,
  ModelCallError,
  type ModelErrorClass,
  RateLimitedError,
} from '../../lambda/errors/pipeline-errors';
import { breakerOutcomeOf } from '../../lambda/resilience/shared-breaker';

describe('rate limited vs outage', () => {
  it.each([
    ['a 429 with Retry-After', new ModelCallError(MODEL_ERROR_CLASS.THROTTLED, '429', { retryAfterMs: 2000, status: 429 })],
    ['a ThrottlingException without Retry-After (Bedrock)', new ModelCallError(MODEL_ERROR_CLASS.THROTTLED, 'ThrottlingException')],
    ['the limiter refusing a token', new RateLimitedError('m', 1000, 'quota')],
  ])('%s is rate limiting: retryable, not a breaker failure', (_, error) => {
    expect(isRateLimited(error)).toBe(true);
    expect(error.retryable).toBe(true);
    expect(breakerOutcomeOf(error)).toBe('neutral');
  });

  it.each<ModelErrorClass>([
    MODEL_ERROR_CLASS.SERVER_ERROR,
    MODEL_ERROR_CLASS.BAD_GATEWAY,
    MODEL_ERROR_CLASS.SERVICE_UNAVAILABLE,
    MODEL_ERROR_CLASS.OVERLOADED,
    MODEL_ERROR_CLASS.TIMEOUT,
    MODEL_ERROR_CLASS.NETWORK,
    MODEL_ERROR_CLASS.MODEL_NOT_READY,
  ])('%s is an outage: a breaker failure, not rate limiting', (errorClass) => {
    const error = new ModelCallError(errorClass, errorClass, { retryAfterMs: 1000 });
    expect(isRateLimited(error)).toBe(false);
    expect(breakerOutcomeOf(error)).toBe('failure');
  });

  it('a spent quota (insufficient_quota) is not rate limiting: no pacing brings it back, it still counts', () => {
    const error = new ModelCallError(MODEL_ERROR_CLASS.QUOTA_EXHAUSTED, 'insufficient_quota', { status: 429 });
    expect(isRateLimited(error)).toBe(false);
    expect(error.retryable).toBe(false);
    expect(breakerOutcomeOf(error)).toBe('failure');
  });

  it('a bad request says nothing about the provider', () => {
    expect(breakerOutcomeOf(new ModelCallError(MODEL_ERROR_CLASS.BAD_REQUEST, '400'))).toBe('neutral');
  });

  it('Throttled is the only rate-limited class', () => {
    const rateLimited = Object.entries(MODEL_ERROR_TRAITS)
      .filter(([, traits]) => traits.rateLimited)
      .map(([name]) => name);
    expect(rateLimited).toEqual([MODEL_ERROR_CLASS.THROTTLED]);
  });
});

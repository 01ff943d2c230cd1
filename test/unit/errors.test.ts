import { describe, expect, it } from 'vitest';
import {
  asPipelineError,
  BreakerOpenError,
  BudgetExhaustedError,
  MODEL_ERROR_CLASS,
  MODEL_ERROR_TRAITS,
  type ModelErrorClass,
  ClaimedElsewhereError,
  DependencyError,
  errorClassOf,
  InvalidModelOutputError,
  isRateLimited,
  ModelCallError,
  PipelineError,
  RateLimitedError,
  REJECTION_REASON,
  RejectedInputError,
  TimeBudgetExhaustedError,
} from '../../lambda/errors/pipeline-errors';

describe('the error hierarchy', () => {
  it.each<[string, () => PipelineError, boolean]>([
    ['RejectedInputError', () => new RejectedInputError(REJECTION_REASON.NOT_JSON, 'x'), false],
    ['ClaimedElsewhereError', () => new ClaimedElsewhereError('k', 0), true],
    ['TimeBudgetExhaustedError', () => new TimeBudgetExhaustedError('no time left'), true],
    ['ModelCallError', () => new ModelCallError('Throttled', 'throttled'), true],
    ['ModelCallError', () => new ModelCallError('AccessDenied', 'access denied'), false],
    ['BreakerOpenError', () => new BreakerOpenError(['m'], 100), true],
    ['BudgetExhaustedError', () => new BudgetExhaustedError(100, 1000), true],
    ['InvalidModelOutputError', () => new InvalidModelOutputError('not JSON'), false],
    ['DependencyError', () => new DependencyError('sqs', 'send failed'), true],
  ])('%s (retryable: %s) has a stable name and is a PipelineError', (name, create, retryable) => {
    const error = create();
    expect(error.name).toBe(name);
    expect(error.retryable).toBe(retryable);
    expect(error).toBeInstanceOf(PipelineError);
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toMatch(new RegExp(`^${name}: `));
  });

  it('RejectedInputError carries its reason and detail, and says both', () => {
    const error = new RejectedInputError(REJECTION_REASON.TOO_DEEP, 'nesting deeper than 32 levels at $');
    expect(error.reason).toBe('TOO_DEEP');
    expect(error.detail).toBe('nesting deeper than 32 levels at $');
    expect(error.message).toBe('TOO_DEEP: nesting deeper than 32 levels at $');
  });

  it('ClaimedElsewhereError carries the key and lease end, and states the lease end in ISO time', () => {
    const error = new ClaimedElsewhereError('abc', Date.UTC(2026, 10, 23, 14, 0, 0));
    expect(error.key).toBe('abc');
    expect(error.leaseUntil).toBe(Date.UTC(2026, 10, 23, 14, 0, 0));
    expect(error.message).toContain('2026-11-23T14:00:00.000Z');
  });

  it('ModelCallError keeps its cause, error class, status and Retry-After', () => {
    const cause = new Error('HTTP 429');
    const error = new ModelCallError('Throttled', 'rate limited', { cause, retryAfterMs: 2_000, status: 429 });
    expect(error.cause).toBe(cause);
    expect(error.errorClass).toBe('Throttled');
    expect(error.retryAfterMs).toBe(2_000);
    expect(error.status).toBe(429);
    expect(new ModelCallError('Timeout', 'x').retryAfterMs).toBeUndefined();
  });

  it.each(Object.values(MODEL_ERROR_CLASS))('ModelCallError of class %s takes retryable and systemic from MODEL_ERROR_TRAITS', (errorClass) => {
    const error = new ModelCallError(errorClass, 'x');
    expect(error.retryable).toBe(MODEL_ERROR_TRAITS[errorClass].retryable);
    expect(error.systemic).toBe(MODEL_ERROR_TRAITS[errorClass].systemic);
  });

  it.each<[ModelErrorClass, boolean]>([
    ['Throttled', true],
    ['ServerError', true],
    ['BadGateway', true],
    ['ServiceUnavailable', true],
    ['Overloaded', true],
    ['Timeout', true],
    ['Network', true],
    ['QuotaExhausted', false],
    ['AccessDenied', false],
    ['BadRequest', false],
    ['NotFound', false],
    ['ContentFiltered', false],
  ])("the design's rule: %s is retryable: %s", (errorClass, retryable) => {
    expect(MODEL_ERROR_TRAITS[errorClass].retryable).toBe(retryable);
  });

  it('BreakerOpenError and BudgetExhaustedError carry how long to wait', () => {
    expect(new BreakerOpenError(['a', 'b'], 1500)).toMatchObject({ modelIds: ['a', 'b'], retryAfterMs: 1500 });
    expect(new BudgetExhaustedError(104, 60_000)).toMatchObject({ usedPercent: 104, retryAfterMs: 60_000 });
    expect(new BreakerOpenError(['a'], 1500).message).toContain('a');
  });

  it('DependencyError keeps its dependency and cause', () => {
    const cause = new Error('socket hang up');
    const error = new DependencyError('dynamodb', 'claim failed', { cause });
    expect(error.dependency).toBe('dynamodb');
    expect(error.cause).toBe(cause);
  });
});

describe('asPipelineError', () => {
  it.each<[string, PipelineError]>([
    ['RejectedInputError', new RejectedInputError(REJECTION_REASON.UNKNOWN_TASK, 'x')],
    ['ModelCallError', new ModelCallError('ContentFiltered', 'x')],
    ['DependencyError', new DependencyError('sqs', 'x')],
    ['TimeBudgetExhaustedError', new TimeBudgetExhaustedError('x')],
  ])('returns a %s unchanged (same instance)', (_name, error) => {
    expect(asPipelineError(error)).toBe(error);
  });

  it('wraps an unknown Error as a retryable DynamoDB dependency failure, keeping it as the cause', () => {
    const original = new TypeError('boom');
    const wrapped = asPipelineError(original);
    expect(wrapped).toBeInstanceOf(DependencyError);
    expect((wrapped as DependencyError).dependency).toBe('dynamodb');
    expect(wrapped.retryable).toBe(true);
    expect(wrapped.message).toBe('TypeError: boom');
    expect(wrapped.cause).toBe(original);
  });

  it.each<[string, unknown, string]>([
    ['a string', 'boom', 'boom'],
    ['undefined', undefined, 'undefined'],
    ['null', null, 'null'],
    ['a number', 42, '42'],
    ['a plain object', { code: 'X' }, '[object Object]'],
  ])('wraps %s thrown as a value', (_name, thrown, message) => {
    const wrapped = asPipelineError(thrown);
    expect(wrapped).toBeInstanceOf(DependencyError);
    expect(wrapped.message).toBe(message);
    expect(wrapped.cause).toBe(thrown);
  });
});

describe('errorClassOf', () => {
  class CustomError extends Error {}

  it.each<[string, unknown, string]>([
    ['ModelCallError: its error class', new ModelCallError('Throttled', 'x'), 'Throttled'],
    ['BreakerOpenError: its name', new BreakerOpenError(['m'], 1), 'BreakerOpenError'],
    ['RejectedInputError: its reason', new RejectedInputError(REJECTION_REASON.HOSTILE_KEY, 'x'), 'HOSTILE_KEY'],
    ['DependencyError: its name', new DependencyError('sqs', 'x'), 'DependencyError'],
    ['ClaimedElsewhereError: its name', new ClaimedElsewhereError('k', 0), 'ClaimedElsewhereError'],
    ['InvalidModelOutputError: its name', new InvalidModelOutputError('x'), 'InvalidModelOutputError'],
    ['a built-in error: its name', new TypeError('x'), 'TypeError'],
    ['an Error subclass that sets no name', new CustomError('x'), 'Error'],
    ['a string', 'boom', 'Unknown'],
    ['undefined', undefined, 'Unknown'],
    ['an error-shaped plain object', { name: 'FakeError', message: 'x' }, 'Unknown'],
  ])('%s', (_name, error, expected) => {
    expect(errorClassOf(error)).toBe(expected);
  });
});

describe('RateLimitedError', () => {
  it('is a retryable PipelineError carrying the model, the wait and the mode', () => {
    const error = new RateLimitedError('model-a', 1234.4, 'quota');
    expect(error).toBeInstanceOf(PipelineError);
    expect(error.name).toBe('RateLimitedError');
    expect(error.retryable).toBe(true);
    expect(error).toMatchObject({ modelId: 'model-a', retryAfterMs: 1234.4, mode: 'quota' });
  });

  it.each<['quota' | 'adaptive', number, string]>([
    ['quota', 1234.4, 'no quota token for model-a; retry in 1234 ms'],
    ['adaptive', 99.5, 'no learned-rate token for model-a; retry in 100 ms'],
  ])('says which limiter (%s) has no token and when to retry', (mode, retryAfterMs, message) => {
    expect(new RateLimitedError('model-a', retryAfterMs, mode).message).toBe(message);
  });
});

describe('isRateLimited: rate limited, not an outage', () => {
  it.each<[string, unknown, boolean]>([
    ['the limiter refusing a token', new RateLimitedError('m', 10, 'adaptive'), true],
    ['a Throttled model call (429)', new ModelCallError('Throttled', 'x', { status: 429 }), true],
    ['a Throttled model call without Retry-After', new ModelCallError('Throttled', 'x'), true],
    ['a spent quota', new ModelCallError('QuotaExhausted', 'x', { status: 429 }), false],
    ['a server error', new ModelCallError('ServerError', 'x', { status: 500 }), false],
    ['a timeout', new ModelCallError('Timeout', 'x'), false],
    ['an open breaker', new BreakerOpenError(['m'], 100), false],
    ['a plain Error', new Error('Throttled'), false],
    ['a look-alike object', { errorClass: 'Throttled', name: 'ModelCallError' }, false],
    ['undefined', undefined, false],
  ])('%s → %s', (_name, error, expected) => {
    expect(isRateLimited(error)).toBe(expected);
  });
});

describe('the messages of the errors that carry a wait', () => {
  it('BreakerOpenError names every model and the rounded wait', () => {
    expect(new BreakerOpenError(['model-a', 'model-b'], 1499.6).message).toBe('the breaker of model-a, model-b is open; retry in 1500 ms');
  });

  it('BudgetExhaustedError states the percentage used and the rounded wait', () => {
    const error = new BudgetExhaustedError(103.6, 59_999.4);
    expect(error.message).toBe('the hourly model budget is spent (104% used); retry in 59999 ms');
    expect(error.retryAfterMs).toBe(59_999.4);
  });

  it('RejectedInputError keeps the job id when the envelope named one', () => {
    expect(new RejectedInputError(REJECTION_REASON.INVALID_INPUT, 'x', 'job-1').jobId).toBe('job-1');
    expect(new RejectedInputError(REJECTION_REASON.NOT_JSON, 'x').jobId).toBeUndefined();
  });

  it('ModelCallError keeps its message, and the errors built from a message keep their cause', () => {
    const cause = new Error('root');
    expect(new ModelCallError('ServerError', 'HTTP 500', { cause }).message).toBe('HTTP 500');
    expect(new TimeBudgetExhaustedError('no time left', { cause }).cause).toBe(cause);
    expect(new InvalidModelOutputError('not JSON', { cause }).cause).toBe(cause);
  });
});

/**
 * The classification table: every Bedrock exception and every HTTP failure of an OpenAI-compatible
 * endpoint lands in one error class, with the retry and breaker traits the design asks for.
 * Bedrock rows use the SDK's own exception classes, as the client throws them.
 */
import {
  AccessDeniedException,
  ConflictException,
  InternalServerException,
  ModelErrorException,
  ModelNotReadyException,
  ModelStreamErrorException,
  ModelTimeoutException,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
  ServiceUnavailableException,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { BEDROCK_EXCEPTION_NAMES, classifyBedrockError } from '../../lambda/model/bedrock-errors';
import { classifyFetchFailure, classifyHttpResponse, parseRetryAfter } from '../../lambda/model/http-errors';
import { type ModelErrorClass, ModelCallError } from '../../lambda/errors/pipeline-errors';

const metadata = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
const headers = (values: Record<string, string> = {}) => new Headers(values);
const openAiError = (code: string, type = code) => JSON.stringify({ error: { message: 'x', type, code } });

describe('classifyBedrockError', () => {
  it.each<[string, unknown, ModelErrorClass, boolean]>([
    ['ThrottlingException', new ThrottlingException({ message: 'slow down', ...metadata(429) }), 'Throttled', true],
    ['ServiceUnavailableException', new ServiceUnavailableException({ message: 'x', ...metadata(503) }), 'ServiceUnavailable', true],
    ['InternalServerException', new InternalServerException({ message: 'x', ...metadata(500) }), 'ServerError', true],
    ['ModelTimeoutException', new ModelTimeoutException({ message: 'x', ...metadata(408) }), 'Timeout', true],
    ['ModelNotReadyException', new ModelNotReadyException({ message: 'x', ...metadata(429) }), 'ModelNotReady', true],
    ['ModelErrorException', new ModelErrorException({ message: 'x', ...metadata(424) }), 'ModelError', true],
    ['ModelStreamErrorException', new ModelStreamErrorException({ message: 'x', ...metadata(424) }), 'ModelError', true],
    ['ConflictException', new ConflictException({ message: 'x', ...metadata(400) }), 'Conflict', true],
    ['ValidationException', new ValidationException({ message: 'x', ...metadata(400) }), 'BadRequest', false],
    ['AccessDeniedException', new AccessDeniedException({ message: 'x', ...metadata(403) }), 'AccessDenied', false],
    ['ResourceNotFoundException', new ResourceNotFoundException({ message: 'x', ...metadata(404) }), 'NotFound', false],
    ['ServiceQuotaExceededException', new ServiceQuotaExceededException({ message: 'x', ...metadata(400) }), 'QuotaExhausted', false],
    // ConverseStream's event-stream members carry the same failures under lower-case names.
    ['stream throttlingException', { name: 'throttlingException', message: 'x' }, 'Throttled', true],
    ['stream internalServerException', { name: 'internalServerException', message: 'x' }, 'ServerError', true],
    ['stream serviceUnavailableException', { name: 'serviceUnavailableException', message: 'x' }, 'ServiceUnavailable', true],
    ['stream modelStreamErrorException', { name: 'modelStreamErrorException', message: 'x' }, 'ModelError', true],
    ['stream validationException', { name: 'validationException', message: 'x' }, 'BadRequest', false],
    // Unknown names fall back on the HTTP status, then on socket codes.
    ['an unknown 429', Object.assign(new Error('x'), { name: 'SomethingNew', ...metadata(429) }), 'Throttled', true],
    ['an unknown 503', Object.assign(new Error('x'), { name: 'SomethingNew', ...metadata(503) }), 'ServiceUnavailable', true],
    ['an unknown 502', Object.assign(new Error('x'), { name: 'SomethingNew', ...metadata(502) }), 'ServerError', true],
    ['an unknown 403', Object.assign(new Error('x'), { name: 'SomethingNew', ...metadata(403) }), 'AccessDenied', false],
    ['an unknown 400', Object.assign(new Error('x'), { name: 'SomethingNew', ...metadata(400) }), 'BadRequest', false],
    ['a reset socket', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'Network', true],
    [
      'a refused HTTP/2 connection',
      Object.assign(new Error('The pending stream has been canceled'), {
        code: 'ERR_HTTP2_STREAM_CANCEL',
        cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
      }),
      'Network',
      true,
    ],
    ['the SDK aborting on our signal', Object.assign(new Error('aborted'), { name: 'AbortError' }), 'Timeout', true],
    ['the SDK request timeout', Object.assign(new Error('x'), { name: 'TimeoutError' }), 'Timeout', true],
    ['anything else', new TypeError('what'), 'Unknown', true],
  ])('%s → %s (retryable %s)', (_name, error, errorClass, retryable) => {
    const classified = classifyBedrockError(error);
    expect(classified).toBeInstanceOf(ModelCallError);
    expect(classified.errorClass).toBe(errorClass);
    expect(classified.retryable).toBe(retryable);
    expect(classified.cause).toBe(error);
  });

  it('has a row above for every exception name it maps', () => {
    // The SDK's exception classes of this client (a new one must be added to the table).
    const sdkNames = [
      'ThrottlingException',
      'ServiceUnavailableException',
      'InternalServerException',
      'ModelTimeoutException',
      'ModelNotReadyException',
      'ModelErrorException',
      'ModelStreamErrorException',
      'ConflictException',
      'ValidationException',
      'AccessDeniedException',
      'ResourceNotFoundException',
      'ServiceQuotaExceededException',
    ];
    expect(BEDROCK_EXCEPTION_NAMES).toEqual(expect.arrayContaining(sdkNames));
  });

  it('is a Timeout whatever was thrown once our signal fired', () => {
    const controller = new AbortController();
    controller.abort();
    expect(classifyBedrockError(new InternalServerException({ message: 'x', ...metadata(500) }), controller.signal).errorClass).toBe('Timeout');
  });

  it('keeps a ModelCallError as it is', () => {
    const error = new ModelCallError('ContentFiltered', 'x');
    expect(classifyBedrockError(error)).toBe(error);
  });
});

describe('classifyHttpResponse', () => {
  it.each<[string, number, Record<string, string>, string, ModelErrorClass, boolean, number | undefined]>([
    ['400', 400, {}, openAiError('invalid_request_error'), 'BadRequest', false, undefined],
    ['400 content filter', 400, {}, openAiError('content_filter'), 'ContentFiltered', false, undefined],
    ['401', 401, {}, openAiError('invalid_api_key'), 'AccessDenied', false, undefined],
    ['402', 402, {}, '{}', 'QuotaExhausted', false, undefined],
    ['403', 403, {}, '', 'AccessDenied', false, undefined],
    ['404', 404, {}, openAiError('model_not_found'), 'NotFound', false, undefined],
    ['408', 408, {}, '', 'Timeout', true, undefined],
    ['409', 409, {}, '', 'Conflict', true, undefined],
    ['413', 413, {}, '', 'BadRequest', false, undefined],
    ['422', 422, {}, '', 'BadRequest', false, undefined],
    ['429 with Retry-After seconds', 429, { 'retry-after': '2' }, openAiError('rate_limit_exceeded'), 'Throttled', true, 2000],
    ['429 with retry-after-ms', 429, { 'retry-after-ms': '350', 'retry-after': '1' }, openAiError('rate_limit_exceeded'), 'Throttled', true, 350],
    ['429 without Retry-After', 429, {}, '', 'Throttled', true, undefined],
    ['429 insufficient_quota', 429, { 'retry-after': '20' }, openAiError('insufficient_quota'), 'QuotaExhausted', false, undefined],
    ['429 billing hard limit', 429, {}, openAiError('billing_hard_limit_reached'), 'QuotaExhausted', false, undefined],
    ['429 LiteLLM budget exceeded', 429, {}, JSON.stringify({ error: { type: 'budget_exceeded', message: 'x' } }), 'QuotaExhausted', false, undefined],
    ['500', 500, {}, '', 'ServerError', true, undefined],
    ['502', 502, {}, '<html>bad gateway</html>', 'BadGateway', true, undefined],
    ['503 with Retry-After', 503, { 'retry-after': '1' }, '', 'ServiceUnavailable', true, 1000],
    ['504', 504, {}, '', 'Timeout', true, undefined],
    ['529', 529, {}, JSON.stringify({ type: 'error', error: { type: 'overloaded_error' } }), 'Overloaded', true, undefined],
    ['599 (any other 5xx)', 599, {}, '', 'ServerError', true, undefined],
    ['418 (any other 4xx)', 418, {}, '', 'BadRequest', false, undefined],
  ])('HTTP %s → %s (retryable %s, Retry-After %s ms)', (_name, status, headerValues, body, errorClass, retryable, retryAfterMs) => {
    const error = classifyHttpResponse(status, headers(headerValues), body);
    expect(error.errorClass).toBe(errorClass);
    expect(error.retryable).toBe(retryable);
    expect(error.status).toBe(status);
    expect(error.retryAfterMs).toBe(retryAfterMs);
  });
});

describe('classifyFetchFailure', () => {
  const fetchFailed = (code: string) => new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code }) });

  it.each<[string, unknown, ModelErrorClass]>([
    ['connection reset', fetchFailed('ECONNRESET'), 'Network'],
    ['connection refused', fetchFailed('ECONNREFUSED'), 'Network'],
    ['socket closed by the server', fetchFailed('UND_ERR_SOCKET'), 'Network'],
    ['headers timeout', fetchFailed('UND_ERR_HEADERS_TIMEOUT'), 'Timeout'],
    ['our abort', new DOMException('The operation was aborted.', 'AbortError'), 'Timeout'],
    ['AbortSignal.timeout firing', new DOMException('The operation timed out.', 'TimeoutError'), 'Timeout'],
    ['anything else', new Error('surprise'), 'Unknown'],
  ])('%s → %s, retryable', (_name, error, errorClass) => {
    const classified = classifyFetchFailure(error);
    expect(classified.errorClass).toBe(errorClass);
    expect(classified.retryable).toBe(true);
    expect(classified.cause).toBe(error);
  });

  it('is a Timeout when our signal fired, whatever fetch threw', () => {
    const controller = new AbortController();
    controller.abort();
    expect(classifyFetchFailure(fetchFailed('ECONNRESET'), controller.signal).errorClass).toBe('Timeout');
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 10, 23, 12, 0, 0);

  it.each<[string, Record<string, string>, number | undefined]>([
    ['delta seconds', { 'retry-after': '3' }, 3000],
    ['fractional seconds (some proxies send them)', { 'retry-after': '0.25' }, 250],
    ['an HTTP date', { 'retry-after': 'Mon, 23 Nov 2026 12:00:05 GMT' }, 5000],
    ['an HTTP date in the past', { 'retry-after': 'Mon, 23 Nov 2026 11:59:00 GMT' }, 0],
    ['retry-after-ms before retry-after', { 'retry-after-ms': '120', 'retry-after': '9' }, 120],
    ['garbage', { 'retry-after': 'soon' }, undefined],
    ['nothing', {}, undefined],
  ])('%s', (_name, values, expected) => {
    expect(parseRetryAfter(headers(values), now)).toBe(expected);
  });
});

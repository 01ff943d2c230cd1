import { MODEL_ERROR_CLASS, ModelCallError, type ModelErrorClass } from '../errors/pipeline-errors';

/**
 * Error codes an OpenAI-compatible endpoint puts in `error.code` or `error.type` when the account
 * is out of quota or over a spend limit (OpenAI, Azure OpenAI, LiteLLM budgets). A 429 carrying
 * one of them is not rate limiting: retrying it only burns the retry budget.
 */
const QUOTA_CODES: ReadonlySet<string> = new Set([
  'insufficient_quota',
  'billing_hard_limit_reached',
  'billing_not_active',
  'budget_exceeded',
  'spend_limit_exceeded',
  'quota_exceeded',
]);

/** Codes that say the provider refused the content. */
const CONTENT_FILTER_CODES: ReadonlySet<string> = new Set(['content_filter', 'content_policy_violation', 'content_filtered']);

/** Error classes by HTTP status, for statuses that need no look at the body. */
const BY_STATUS: Readonly<Record<number, ModelErrorClass>> = {
  400: MODEL_ERROR_CLASS.BAD_REQUEST,
  401: MODEL_ERROR_CLASS.ACCESS_DENIED,
  403: MODEL_ERROR_CLASS.ACCESS_DENIED,
  404: MODEL_ERROR_CLASS.NOT_FOUND,
  408: MODEL_ERROR_CLASS.TIMEOUT,
  409: MODEL_ERROR_CLASS.CONFLICT,
  413: MODEL_ERROR_CLASS.BAD_REQUEST,
  422: MODEL_ERROR_CLASS.BAD_REQUEST,
  429: MODEL_ERROR_CLASS.THROTTLED,
  500: MODEL_ERROR_CLASS.SERVER_ERROR,
  502: MODEL_ERROR_CLASS.BAD_GATEWAY,
  503: MODEL_ERROR_CLASS.SERVICE_UNAVAILABLE,
  504: MODEL_ERROR_CLASS.TIMEOUT,
  529: MODEL_ERROR_CLASS.OVERLOADED,
};

/** Socket-level error codes (Node, undici) that mean the connection failed, not the request. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** The headers a classifier reads; `Headers` and a plain lowercase record both fit. */
export interface HeaderSource {
  get(name: string): string | null;
}

/**
 * The delay a response asks for, in ms: `retry-after-ms` (OpenAI, Azure) when present, else
 * `retry-after` as delta-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined when neither parses.
 */
export function parseRetryAfter(headers: HeaderSource, now: number = Date.now()): number | undefined {
  const milliseconds = headers.get('retry-after-ms');
  if (milliseconds !== null && /^\s*\d+(\.\d+)?\s*$/.test(milliseconds)) return Math.ceil(Number(milliseconds));
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** `error.code` and `error.type` of an OpenAI-style error body, lowercased; empty when the body is not one. */
function errorCodes(body: string): string[] {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; type?: unknown } | string; code?: unknown; type?: unknown };
    const error = typeof parsed.error === 'object' && parsed.error !== null ? parsed.error : parsed;
    return [error.code, error.type].filter((value): value is string => typeof value === 'string').map((value) => value.toLowerCase());
  } catch {
    return [];
  }
}

/**
 * Classifies an HTTP error response of an OpenAI-compatible endpoint. The body's error code
 * decides between rate limiting and an exhausted quota on 429 (both use that status), and
 * recognises content filtering on 400; otherwise the status decides.
 */
export function classifyHttpResponse(status: number, headers: HeaderSource, body: string, now: number = Date.now()): ModelCallError {
  const codes = errorCodes(body);
  let errorClass: ModelErrorClass = BY_STATUS[status] ?? (status >= 500 ? MODEL_ERROR_CLASS.SERVER_ERROR : MODEL_ERROR_CLASS.BAD_REQUEST);
  if (codes.some((code) => QUOTA_CODES.has(code)) && (status === 429 || status === 403 || status === 400 || status === 402)) {
    errorClass = MODEL_ERROR_CLASS.QUOTA_EXHAUSTED;
  } else if (status === 402) {
    errorClass = MODEL_ERROR_CLASS.QUOTA_EXHAUSTED;
  } else if (codes.some((code) => CONTENT_FILTER_CODES.has(code)) && status === 400) {
    errorClass = MODEL_ERROR_CLASS.CONTENT_FILTERED;
  }
  const retryAfterMs = errorClass === MODEL_ERROR_CLASS.QUOTA_EXHAUSTED ? undefined : parseRetryAfter(headers, now);
  const detail = codes.length > 0 ? ` (${codes.join(', ')})` : '';
  return new ModelCallError(errorClass, `model endpoint answered HTTP ${status}${detail}`, { status, retryAfterMs });
}

/**
 * Classifies a failed `fetch`: our own time budget (the signal fired) is a Timeout; a socket that
 * was reset, refused or closed is a Network failure; anything else is Unknown (retryable, so a
 * surprise is retried within the budget rather than dropped).
 */
export function classifyFetchFailure(error: unknown, signal?: AbortSignal): ModelCallError {
  if (signal?.aborted || isAbort(error)) {
    return new ModelCallError(MODEL_ERROR_CLASS.TIMEOUT, 'the model call ran out of its time budget and was aborted', { cause: error });
  }
  const code = networkFailureCode(error);
  if (code) {
    return new ModelCallError(
      code.includes('TIMEOUT') ? MODEL_ERROR_CLASS.TIMEOUT : MODEL_ERROR_CLASS.NETWORK,
      `the connection to the model endpoint failed (${code})`,
      { cause: error },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ModelCallError(MODEL_ERROR_CLASS.UNKNOWN, `the model call failed: ${message}`, { cause: error });
}

function isAbort(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

/**
 * The socket-level failure code of an error or of one of its causes — undici wraps it
 * (`TypeError('fetch failed', { cause })`), the SDK's HTTP/2 handler too
 * (`ERR_HTTP2_STREAM_CANCEL` caused by `ECONNREFUSED`) — or undefined when there is none.
 */
export function networkFailureCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('ERR_HTTP2_'))) {
      // An HTTP/2 wrapper says less than the socket error under it, when there is one.
      return code.startsWith('ERR_HTTP2_') ? (networkFailureCode((current as { cause?: unknown }).cause) ?? code) : code;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

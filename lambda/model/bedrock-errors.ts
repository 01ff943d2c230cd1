import { MODEL_ERROR_CLASS, ModelCallError, type ModelErrorClass } from '../errors/pipeline-errors';
import { networkFailureCode } from './http-errors';

/**
 * Bedrock Runtime exceptions by name. The Converse API throws the upper-case names; ConverseStream
 * delivers the same failures as lower-case event-stream members (`throttlingException`, …), which
 * are matched by their upper-cased first letter.
 */
const BY_NAME: Readonly<Record<string, ModelErrorClass>> = {
  ThrottlingException: MODEL_ERROR_CLASS.THROTTLED,
  ServiceUnavailableException: MODEL_ERROR_CLASS.SERVICE_UNAVAILABLE,
  InternalServerException: MODEL_ERROR_CLASS.SERVER_ERROR,
  ModelTimeoutException: MODEL_ERROR_CLASS.TIMEOUT,
  ModelNotReadyException: MODEL_ERROR_CLASS.MODEL_NOT_READY,
  ModelErrorException: MODEL_ERROR_CLASS.MODEL_ERROR,
  ModelStreamErrorException: MODEL_ERROR_CLASS.MODEL_ERROR,
  ConflictException: MODEL_ERROR_CLASS.CONFLICT,
  ValidationException: MODEL_ERROR_CLASS.BAD_REQUEST,
  AccessDeniedException: MODEL_ERROR_CLASS.ACCESS_DENIED,
  ResourceNotFoundException: MODEL_ERROR_CLASS.NOT_FOUND,
  ServiceQuotaExceededException: MODEL_ERROR_CLASS.QUOTA_EXHAUSTED,
  // Request-level failures the SDK raises itself.
  TimeoutError: MODEL_ERROR_CLASS.TIMEOUT,
  RequestTimeout: MODEL_ERROR_CLASS.TIMEOUT,
  RequestTimeoutException: MODEL_ERROR_CLASS.TIMEOUT,
};

/** The names above, for the table test. */
export const BEDROCK_EXCEPTION_NAMES: readonly string[] = Object.keys(BY_NAME);

/**
 * Classifies anything the Bedrock Runtime client throws. The SDK's exception classes carry their
 * name and `$metadata.httpStatusCode`; names are matched first, then the status (a proxy or a new
 * exception still lands in the right class), then socket failures and aborts.
 */
export function classifyBedrockError(error: unknown, signal?: AbortSignal): ModelCallError {
  if (error instanceof ModelCallError) return error;
  const name = String((error as { name?: unknown } | null)?.name ?? '');
  const canonical = name.length > 0 ? name.charAt(0).toUpperCase() + name.slice(1) : name;
  const message = error instanceof Error ? error.message : String(error);
  if (signal?.aborted || name === 'AbortError') {
    return new ModelCallError(MODEL_ERROR_CLASS.TIMEOUT, 'the Bedrock call ran out of its time budget and was aborted', { cause: error });
  }
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  const retryAfterMs = retryAfterOf(error);
  const byName = BY_NAME[canonical];
  if (byName) return new ModelCallError(byName, `Bedrock: ${canonical}: ${message}`, { cause: error, status, retryAfterMs });
  if (typeof status === 'number') {
    const byStatus: ModelErrorClass =
      status === 429
        ? MODEL_ERROR_CLASS.THROTTLED
        : status === 503
          ? MODEL_ERROR_CLASS.SERVICE_UNAVAILABLE
          : status === 408 || status === 504
            ? MODEL_ERROR_CLASS.TIMEOUT
            : status === 401 || status === 403
              ? MODEL_ERROR_CLASS.ACCESS_DENIED
              : status === 404
                ? MODEL_ERROR_CLASS.NOT_FOUND
                : status >= 500
                  ? MODEL_ERROR_CLASS.SERVER_ERROR
                  : MODEL_ERROR_CLASS.BAD_REQUEST;
    return new ModelCallError(byStatus, `Bedrock: ${name || 'error'} (HTTP ${status}): ${message}`, { cause: error, status, retryAfterMs });
  }
  const code = networkFailureCode(error);
  if (code) {
    return new ModelCallError(code.includes('TIMEOUT') ? MODEL_ERROR_CLASS.TIMEOUT : MODEL_ERROR_CLASS.NETWORK, `Bedrock: connection failed (${code})`, {
      cause: error,
    });
  }
  return new ModelCallError(MODEL_ERROR_CLASS.UNKNOWN, `Bedrock: ${name || 'error'}: ${message}`, { cause: error });
}

/** Bedrock sends no Retry-After today; if a response ever carries one, honour it. */
function retryAfterOf(error: unknown): number | undefined {
  const headers = (error as { $response?: { headers?: Record<string, string> } } | null)?.$response?.headers;
  const value = headers?.['retry-after'];
  if (value === undefined || !/^\d+(\.\d+)?$/.test(value)) return undefined;
  return Math.ceil(Number(value) * 1000);
}

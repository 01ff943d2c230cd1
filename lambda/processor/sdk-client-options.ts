/**
 * Request and connection timeouts for the DynamoDB and SQS clients (the SDK builds its
 * NodeHttpHandler from these options). Without them one hung request holds a record until the
 * invocation times out, and the whole batch goes round again (issue 12, defect 7).
 *
 * These are ceilings per request; each call of the ledger and the queue gateway also carries an
 * abort signal that fires when the record's lease ends, so no request outlives the invocation's
 * remaining time, and the SDK's own retries (3 attempts) stay inside it.
 */
export const SDK_HTTP_TIMEOUTS = {
  /** A TCP/TLS connection that takes longer than this is given up (and retried by the SDK). */
  connectionTimeout: 1_000,
  /** A request with no response this long after it was sent is given up (and retried by the SDK). */
  requestTimeout: 5_000,
} as const;

/** Client options that set {@link SDK_HTTP_TIMEOUTS}. */
export function withRequestTimeouts<T extends object>(options: T): T & { requestHandler: typeof SDK_HTTP_TIMEOUTS } {
  return { ...options, requestHandler: SDK_HTTP_TIMEOUTS };
}

/**
 * Takes the SDK's logger middleware off a client. That middleware copies every request's input and
 * response through the model's sensitive-data filter before it hands them to `logger.info`, even
 * when the logger is the SDK's default no-op one; nothing of ours logs through the SDK, so it was
 * CPU spent on every DynamoDB and SQS request for nothing (issue 17's profile: `schemaLogFilter`).
 * Errors still reach the caller unchanged: the middleware only logs them.
 */
export function withoutSdkRequestLogging<T extends { middlewareStack: { remove(name: string): boolean } }>(client: T): T {
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}

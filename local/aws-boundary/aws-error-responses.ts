import { randomUUID } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * Error answers exactly as DynamoDB and SQS send them over their JSON protocols, so the SDK inside
 * the bundle classifies an injected fault as it would a real one (throttling, transient 5xx) and
 * its standard retry strategy treats it the same way.
 *
 * What the SDK reads (@smithy/core `loadJsonRpcErrorCode`, `@aws-sdk/core` AwsJsonRpcProtocol):
 * - DynamoDB (awsJson1_0): the error code from the body's `__type` (namespace before `#` dropped),
 *   else `code`, else the `x-amzn-ErrorType` header; the HTTP status decides 4xx/5xx.
 * - SQS (awsJson1_0 with the awsQueryCompatible trait): `x-amzn-query-error: Code;Sender|Receiver`
 *   gives the query-era code (`error.Code`), and `__type` the modeled shape; RequestThrottled is
 *   modeled as HTTP 403 (`awsQueryError: ["RequestThrottled", 403]` in the SQS model).
 * The retry strategy then calls a name in THROTTLING_ERROR_CODES (ProvisionedThroughputExceeded,
 * ThrottlingException, RequestThrottled) throttling, and 500/502/503/504 transient.
 */
export interface AwsErrorResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The injected errors, by name; each is one real answer of the service. */
export const AWS_ERROR = {
  /** Provisioned capacity exceeded (HTTP 400); never applied. */
  DDB_PROVISIONED_THROUGHPUT_EXCEEDED: {
    service: 'dynamodb',
    status: 400,
    type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message: 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  },
  /** On-demand throughput exceeded (HTTP 400); never applied. */
  DDB_THROTTLING: {
    service: 'dynamodb',
    status: 400,
    type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException',
    message:
      'Throughput exceeds the current throughput limit for your account. Please contact AWS Support at https://aws.amazon.com/support request a limit increase',
  },
  /** DynamoDB's 500: the request may or may not have been applied. */
  DDB_INTERNAL_SERVER_ERROR: {
    service: 'dynamodb',
    status: 500,
    type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
    message: 'Internal server error',
  },
  /** SQS's 500 (query code InternalFailure): the request may or may not have been applied. */
  SQS_INTERNAL_FAILURE: {
    service: 'sqs',
    status: 500,
    type: 'com.amazon.coral.service#InternalFailure',
    queryError: 'InternalFailure;Receiver',
    message: 'The request processing has failed because of an unknown error, exception or failure.',
  },
  /** SQS throttling (HTTP 403 as modeled); never applied. */
  SQS_REQUEST_THROTTLED: {
    service: 'sqs',
    status: 403,
    type: 'com.amazonaws.sqs#RequestThrottled',
    queryError: 'RequestThrottled;Sender',
    message: 'Request is throttled.',
  },
} as const;

export type AwsErrorName = keyof typeof AWS_ERROR;

/** The HTTP answer of one of the errors above. */
export function awsErrorResponse(name: AwsErrorName): AwsErrorResponse {
  const error = AWS_ERROR[name];
  const body = JSON.stringify({ __type: error.type, message: error.message });
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-requestid': randomUUID(),
    'content-length': String(Buffer.byteLength(body)),
  };
  if (error.service === 'dynamodb') {
    // DynamoDB signs every body with its CRC32; clients that check it (v2, some v3 configs) must pass.
    headers['x-amz-crc32'] = String(crc32(body));
  }
  if ('queryError' in error) headers['x-amzn-query-error'] = error.queryError;
  return { status: error.status, headers, body };
}

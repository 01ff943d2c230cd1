/**
 * AWS list prices used by the cost table (us-east-1, on-demand, no free tier), as published on the
 * AWS pricing pages. Written down on 2026-11-23 from the author's knowledge of those pages; this
 * machine cannot reach them, so re-check before quoting and update the date.
 */
export const PRICES = {
  checked: '2026-11-23 (not re-verified online from this machine)',
  region: 'us-east-1',
  /** Lambda, arm64: per GB-second, and per request. */
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerRequest: 0.2 / 1e6,
  /** SQS standard queue: per request (each 64 KB chunk of a payload is one request). */
  sqsPerRequest: 0.4 / 1e6,
  /** DynamoDB on-demand: per write request unit and per read request unit (items ≤ 1 KB / 4 KB). */
  dynamodbPerWriteUnit: 0.625 / 1e6,
  dynamodbPerReadUnit: 0.125 / 1e6,
  /** CloudWatch Logs ingestion per GB (EMF metrics and log lines arrive this way). */
  cloudwatchLogsPerGb: 0.5,
  /** Step Functions standard workflows: per state transition. */
  stepFunctionsPerTransition: 0.025 / 1000,
} as const;

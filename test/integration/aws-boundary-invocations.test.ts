import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AwsBoundary } from '../../local/aws-boundary/aws-boundary';
import type { InfraFaultSpec } from '../../local/aws-boundary/infra-fault-spec';
import { startEmulators, type Emulators } from '../../local/emulators';
import { ExecutionEnvironment } from '../../local/lambda-runtime';

/**
 * The per-invocation faults of the AWS boundary (crash, timeout) on a real execution environment
 * (a worker thread) running a tiny handler that makes DynamoDB requests through its lane: the
 * environment dies or overruns, the invocation fails as Lambda reports it, and the next one gets a
 * fresh environment. Assertions are on results and counts, not on durations.
 */

/** A handler that makes `event.requests` ListTables calls (JSON protocol, as the SDK sends them) and returns how many answered. */
const HANDLER = `
exports.handler = async (event) => {
  let answered = 0;
  for (let i = 0; i < event.requests; i += 1) {
    const response = await fetch(process.env.AWS_ENDPOINT_URL_DYNAMODB, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.ListTables', authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' },
      body: '{}',
    });
    await response.text();
    answered += 1;
  }
  return { answered };
};
`;

let emulators: Emulators;
const scratch = mkdtempSync(join(tmpdir(), 'boundary-invocations-'));
const bundlePath = join(scratch, 'handler.cjs');
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  writeFileSync(bundlePath, HANDLER);
  emulators = await startEmulators();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await emulators?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

async function environmentWith(faults: InfraFaultSpec): Promise<{ boundary: AwsBoundary; environment: ExecutionEnvironment }> {
  const boundary = await AwsBoundary.start({ dynamodbEndpoint: emulators.dynamodbEndpoint, sqsEndpoint: emulators.sqsEndpoint, lanes: 1, faults, seed: 3 });
  const environment = new ExecutionEnvironment(
    {
      functionName: 'boundary-test',
      bundlePath,
      handlerExport: 'handler',
      // Generous: only the timeout fault may reach it, and that one waits for it whatever its length.
      timeoutMs: 5_000,
      memoryMb: 128,
      environment: { AWS_ENDPOINT_URL_DYNAMODB: boundary.endpointOf(0) },
      region: emulators.region,
    },
    () => undefined,
  );
  boundary.attach(0, environment);
  cleanups.push(async () => {
    await environment.stop();
    await boundary.stop();
  });
  return { boundary, environment };
}

/** An SQS-shaped event of four records (crash points are drawn in 0…8); the handler reads `requests`. */
const event = (requests: number) => ({ requests, Records: Array.from({ length: 4 }, () => ({})) });

describe('AWS boundary: invocations die or overrun as drawn', () => {
  it('without faults, every request is answered and the result delivered', async () => {
    const { boundary, environment } = await environmentWith({});
    const result = await environment.invoke(event(10));
    expect(result).toMatchObject({ kind: 'ok', result: { answered: 10 } });
    expect(boundary.counts().crash).toBe(0);
  });

  it('crash=1: the environment is killed inside the invocation, which fails as a runtime exit; the next one starts cold', async () => {
    const { boundary, environment } = await environmentWith({ crash: { rate: 1 } });
    // Enough requests that the drawn point (0…2 × records) is always reached.
    const first = await environment.invoke(event(10));
    expect(first.kind).toBe('error');
    expect(first.kind === 'error' && first.error.name).toBe('Runtime.ExitError');
    expect(boundary.counts().crash).toBe(1);
    expect(environment.coldStarts).toBe(1);
    const second = await environment.invoke(event(10));
    expect(second.kind).toBe('error');
    expect(boundary.counts().crash).toBe(2);
    // Killed and started again: a second cold start.
    expect(environment.coldStarts).toBe(2);
  });

  it('crash=1 on an invocation that makes no request: it dies before its result reaches the caller', async () => {
    const { boundary, environment } = await environmentWith({ crash: { rate: 1 } });
    const result = await environment.invoke(event(0));
    expect(result.kind).toBe('error');
    expect(boundary.counts().crash).toBe(1);
  });

  it('timeout=1: the invocation stalls and is killed at its timeout; its held requests end with it', async () => {
    const { boundary, environment } = await environmentWith({ timeout: { rate: 1 } });
    const result = await environment.invoke(event(10));
    expect(result.kind).toBe('timeout');
    expect(boundary.counts().timeout).toBe(1);
    // The environment was killed: the next invocation is a cold start; with rate 1 it too overruns
    // (even with no request to stall, its result is dropped), counted once more.
    const next = await environment.invoke(event(0));
    expect(next.kind).toBe('timeout');
    expect(environment.coldStarts).toBe(2);
    expect(boundary.counts().timeout).toBe(2);
  });
});

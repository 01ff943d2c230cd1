/**
 * `npm start -- --console` as a user runs it: `pipectl local --console` in a child process starts
 * the pipeline, sends the workload and prints the console's link; the console answers on loopback
 * with the pipeline's state; SIGINT stops everything and exits 0.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { LEDGER_STATUS } from '../../lambda/contract';
import { queueDepth } from '../../pipectl/queue-inspector';

vi.setConfig({ testTimeout: 300_000 });

const ROOT = join(__dirname, '..', '..');
const MESSAGES = 12;

let child: ReturnType<typeof spawn> | undefined;
afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGTERM');
});

/** GET with the session cookie the link sets (no redirects followed: the link answers 303 with the cookie). */
async function signIn(link: string): Promise<(path: string) => Promise<Response>> {
  const first = await fetch(link, { redirect: 'manual' });
  expect(first.status).toBe(303);
  const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const origin = new URL(link).origin;
  return (path) => fetch(`${origin}${path}`, { headers: { cookie } });
}

describe('pipectl local --console', () => {
  it('serves the console on the running pipeline, showing as many completions as the ledger has, and stops on SIGINT', async () => {
    let stderr = '';
    let endpoints: { dynamodbEndpoint: string; sqsEndpoint: string; region: string; tables: { ledger: string }; queues: { input: string } } | undefined;
    // Half of real time: a 15 s function timeout, so a loaded machine slows the run without timing it out.
    // Node with tsx's loader, not the tsx CLI: the CLI relays SIGINT and SIGKILLs its child when the
    // child has not acknowledged within 30 ms, which a loaded machine misses (exit 130).
    // Its own working directory: `pipectl local` keeps its log (which the console's counts read) in
    // ./.local, and other test files run `pipectl local` in the repository at the same time.
    const cwd = mkdtempSync(join(tmpdir(), 'local-console-'));
    const proc = spawn(
      process.execPath,
      [
        '--import',
        pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href,
        join(ROOT, 'bin', 'pipectl.ts'),
        'local',
        '--console',
        '--messages',
        String(MESSAGES),
        '--seed',
        '3',
        '--time-scale',
        '0.5',
        // No drift reference run (a pipeline of its own, ~10 s of CPU, in this fresh directory's
        // ./.local): nothing here reads drift.
        '--drift-reference',
        'none',
      ],
      { cwd, env: { ...process.env, CI: 'true' } },
    );
    child = proc;
    const exited = new Promise<number | null>((resolve) => proc.on('close', resolve));
    proc.stdout?.on('data', (chunk: Buffer) => {
      const line = chunk
        .toString()
        .split('\n')
        .find((text) => text.startsWith('{'));
      if (line && !endpoints) endpoints = JSON.parse(line);
    });
    const link = new Promise<string>((resolve) => {
      proc.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /operator console: open (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(stderr);
        if (match) resolve(match[1] as string);
      });
    });
    const get = await signIn(await Promise.race([link, exited.then((code) => Promise.reject(new Error(`exited ${code}: ${stderr}`)))]));
    await expect.poll(() => endpoints !== undefined, { timeout: 30_000 }).toBe(true);

    // Wait for the run to settle: the input queue empty and no claim in progress. Then count what the ledger completed.
    const config = { region: endpoints?.region, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } };
    const dynamodb = new DynamoDBClient({ ...config, endpoint: endpoints?.dynamodbEndpoint });
    const sqs = new SQSClient({ ...config, endpoint: endpoints?.sqsEndpoint, useQueueUrlAsEndpoint: false });
    const ledgerStatuses = async () => {
      const statuses: string[] = [];
      for await (const page of paginateScan({ client: dynamodb }, { TableName: endpoints?.tables.ledger })) {
        statuses.push(...(page.Items ?? []).map((item) => item.status?.S ?? '?'));
      }
      return statuses;
    };
    let last = '';
    const settled = async () => {
      const depth = await queueDepth(sqs, endpoints?.queues.input as string);
      const statuses = await ledgerStatuses();
      last = `input queue ${JSON.stringify(depth)}; ledger ${statuses.join(', ')}`;
      return depth.visible + depth.inFlight + depth.delayed === 0 && statuses.length > 0 && !statuses.includes(LEDGER_STATUS.IN_PROGRESS);
    };
    await expect
      .poll(settled, { timeout: 180_000, interval: 1000 })
      .toBe(true)
      .catch((error: Error) => {
        throw new Error(`${error.message}; last seen: ${last}`);
      });
    const completed = (await ledgerStatuses()).filter((status) => status === LEDGER_STATUS.COMPLETED).length;
    expect(completed).toBeGreaterThan(0);
    dynamodb.destroy();
    sqs.destroy();

    // The overview's fragment says as much (the processor log's count of it), once the log has it.
    await expect
      .poll(async () => /<p class="big">(\d+) completed<\/p>/.exec(await (await get('/fragments/overview')).text())?.[1], { timeout: 60_000, interval: 1000 })
      .toBe(String(completed));
    expect((await get('/review')).status).toBe(200);

    proc.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});

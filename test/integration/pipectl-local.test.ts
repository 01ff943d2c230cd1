/**
 * The `pipectl local` command as a user runs it (`npm start`, the package's bin): a child process
 * of bin/pipectl.js — the prebuilt bundle when it is fresh, the TypeScript source otherwise — its
 * exit status, its files. The cases are independent child processes with their own files, so they
 * run side by side: most of each is a pipeline waiting on its scaled clock.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'pipectl-local-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function pipectl(args: string[], onStdoutLine?: (line: string, child: ReturnType<typeof spawn>) => void) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/pipectl.js', ...args], { cwd: ROOT, env: { ...process.env, CI: 'true' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      stdout += text;
      for (const line of text.split('\n').filter(Boolean)) onStdoutLine?.(line, child);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * No drift reference run (`--drift-reference none`): `pipectl local` would otherwise pin its drift
 * baseline from a run of examples/tickets.jsonl through a pipeline of its own (~10 s of CPU, cached
 * in ./.local by the bundle and the processor environment), and none of these cases reads drift;
 * the reference run is the drift tests' subject (test/integration/drift-monitor.test.ts,
 * test/unit/drift-reference-cache.test.ts). On a loaded machine it also failed the first case on
 * its own ("the drift reference run did not drain"). The first case still runs alone: in a clean
 * clone it synthesizes and bundles the dev stack into node_modules/.cache/pipeline-synth, which the
 * children side by side would otherwise each do at once.
 */
const NO_REFERENCE = ['--drift-reference', 'none'];

// Child processes that synthesize, run and drain: allow a busy machine more than the default 60 s.
describe('pipectl local', { timeout: 180_000 }, () => {
  it('runs a workload, prints a summary, writes the report and exits 0 when the invariant holds', async () => {
    const reportFile = join(scratch, 'report.json');
    const { code, stdout, stderr } = await pipectl([
      'local',
      '--messages',
      '40',
      '--duplicates',
      '0.25',
      '--seed',
      '5',
      ...NO_REFERENCE,
      '--report',
      reportFile,
    ]);
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('no drift reference (--drift-reference none)');
    expect(stdout).toContain('invariant holds');
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    for (const field of [
      'sent',
      'unique',
      'completed',
      'deadLettered',
      'inReview',
      'rejected',
      'duplicatesSkipped',
      'modelCalls',
      'byTier',
      'alarms',
      'apiCalls',
      'invariantHolds',
      'durationMs',
    ]) {
      expect(report).toHaveProperty(field);
    }
    expect(report).toMatchObject({ sent: 40, unique: 30, invariantHolds: true });
    // Ten re-sends; a redelivery after a timed-out invocation (a starved machine) also counts as one.
    expect(report.duplicatesSkipped).toBeGreaterThanOrEqual(10);
    expect(Object.keys(report.byTier).sort()).toEqual(['human', 'primary', 'reused', 'rules', 'secondary']);
    expect(Object.keys(report.apiCalls).sort()).toEqual(['cloudwatch', 'dynamodb.read', 'dynamodb.write', 'sqs']);
  });
});

describe.concurrent('pipectl local, side by side', { timeout: 180_000 }, () => {
  it('runs with --faults: the simulator injects them, the summary says so, the invariant holds', async () => {
    const reportFile = join(scratch, 'faults.json');
    const { code, stdout, stderr } = await pipectl([
      'local',
      '--messages',
      '40',
      '--seed',
      '5',
      ...NO_REFERENCE,
      '--faults',
      '429=0.3:1000,5xx=0.1',
      '--report',
      reportFile,
    ]);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/faults injected: throttled \d+/);
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    expect(report.invariantHolds).toBe(true);
    expect(report.details.model.byOutcome.throttled).toBeGreaterThan(0);
    expect(report.details.model.retryAfter.violations).toBe(0);
  });

  it.each<[string, string[], RegExp]>([
    ['a fault spec that does not parse', ['--faults', '503=0.1'], /unknown fault "503"; valid items: 429=RATE/],
    ['faults on a stage that does not allow fault injection', ['--stage', 'prod', '--faults', '429=0.1'], /does not allow fault injection/],
    [
      'a drift reference file that is not there',
      ['--drift-reference', 'no-such-reference.jsonl'],
      /no-such-reference\.jsonl: no such file \(give a JSONL file of message bodies, or none\)/,
    ],
  ])('refuses %s, saying why', async (_name, args, message) => {
    const { code, stderr } = await pipectl(['local', '--messages', '5', ...args]);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(message);
  });

  it('rejects a duplicates fraction outside [0, 1)', async () => {
    const { code, stderr } = await pipectl(['local', '--duplicates', '1.5']);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/fraction in \[0, 1\)/);
  });

  it('--serve prints one JSON line with endpoints, queue URLs and table names, and stops on SIGTERM', async () => {
    let endpoints: Record<string, any> | undefined;
    let queues: string[] = [];
    const { code } = await pipectl(['local', '--serve', ...NO_REFERENCE], (line, child) => {
      if (endpoints) return;
      endpoints = JSON.parse(line);
      // Any SQS client can talk to it: list the queues, then ask it to stop.
      const client = new SQSClient({ region: endpoints!.region, endpoint: endpoints!.sqsEndpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
      void client
        .send(new ListQueuesCommand({}))
        .then((response) => (queues = response.QueueUrls ?? []))
        .finally(() => child.kill('SIGTERM'));
    });
    expect(code).toBe(0);
    expect(endpoints).toMatchObject({
      region: 'us-east-1',
      sqsEndpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      dynamodbEndpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      tables: { ledger: expect.any(String) },
    });
    expect(queues.sort()).toEqual(Object.values(endpoints!.queues as Record<string, string>).sort());
  });
});

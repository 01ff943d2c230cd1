/**
 * The operator console against a real local pipeline (bundled processor, poller, fauxqs, dynalite,
 * the control API, a serve file), driven in headless Debian chromium through playwright-core.
 * Every check is on the pipeline's state (the ledger, the queues, the event source mapping), read
 * with pipectl's own readers; the page is only how the person gets there. All traffic is to
 * 127.0.0.1.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LEDGER_STATUS, MESSAGE_ATTRIBUTE } from '../../lambda/contract';
import { DynamoDbLedgerStore } from '../../lambda/ledger/dynamodb-ledger-store';
import { inputKey } from '../../lambda/processor/input-key';
import { SqsQueueGateway } from '../../lambda/processor/queue-gateway';
import { type ControlApi, startPipelineControlApi } from '../../local/control-api';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { keyOfMessageBody as keyOfBody } from '../../lambda/processor/message-parser';
import { waitForDrain } from '../../local/run-local';
import { synthesizeLocalStack } from '../../local/stack-model';
import { runbookUrl } from '../../lib/observability/alarm-catalog';
import { catalogOfStage } from '../../lib/observability/stage-catalogs';
import { readAlarms } from '../../pipectl/alarms';
import { sessionCookieName } from '../../pipectl/console/console-security';
import { type ConsoleServer, startConsole } from '../../pipectl/console/console-server';
import { UsageError } from '../../pipectl/errors';
import { getMapping } from '../../pipectl/event-source';
import { getLedgerItem, getLedgerItems } from '../../pipectl/ledger-reader';
import { servedEndpoints, writeServeFile } from '../../pipectl/local-endpoints';
import { keyOfMessage, peekMessages, queueDepth } from '../../pipectl/queue-inspector';
import { localTarget, type PipelineTarget } from '../../pipectl/target';
import { pipectl } from '../pipectl/cli-harness';

// The pipeline and a browser share two cores with other test runs: room for a loaded machine.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });

/** Debian's chromium (apt); playwright-core downloads no browser of its own. */
const CHROMIUM = process.env.PIPECTL_CHROMIUM ?? '/usr/bin/chromium';
const noBrowser = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install -y chromium, as .ci/run does)`;
if (noBrowser) process.stderr.write(`test/console: skipping the browser tests: ${noBrowser}\n`);

/**
 * Where the screenshot goes: `.local/` on every run (so a test run leaves the tree clean), and the
 * README's copy in docs/ when UPDATE_SCREENSHOTS=1 (`UPDATE_SCREENSHOTS=1 npx vitest run test/console`).
 */
const SCREENSHOT =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? join(__dirname, '..', '..', 'docs', 'console-overview.png')
    : join(__dirname, '..', '..', '.local', 'console-overview.png');

const scratch = mkdtempSync(join(tmpdir(), 'console-'));
const serveFile = join(scratch, 'serve.json');

let pipeline: LocalPipeline;
let controlApi: ControlApi;
let target: PipelineTarget;
let producer: SQSClient;
let server: ConsoleServer;

beforeAll(async () => {
  // At a quarter of real time a function timeout is 7.5 s: a busy machine slows the pipeline down
  // without turning its invocations into timeouts, which these tests are not about.
  const logFile = join(scratch, 'processor.log');
  // No drift reference run (a pipeline of its own, ~10 s of CPU on a cold cache): the console's drift is not under test here.
  pipeline = await startLocalPipeline({ stack: synthesizeLocalStack(), logFile, timeScale: 0.25, monitors: { driftReference: false } });
  controlApi = await startPipelineControlApi(pipeline);
  const { emulators } = pipeline;
  writeServeFile(servedEndpoints(pipeline, { lambdaEndpoint: controlApi.endpoint, logFile, pid: process.pid }), serveFile);
  target = localTarget(serveFile);
  producer = new SQSClient({
    region: emulators.region,
    endpoint: emulators.sqsEndpoint,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    useQueueUrlAsEndpoint: false,
  });
  server = await startConsole({ target, port: 0, gamedayFile: join(scratch, 'no-gameday.json'), operator: 'console-test' });
});

afterAll(async () => {
  await server?.stop();
  target?.destroy();
  producer?.destroy();
  await controlApi?.stop();
  await pipeline?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const ticket = (subject: string) => JSON.stringify({ task: 'ticket-triage', input: { subject, body: `Details about ${subject.toLowerCase()}.` } });

async function send(bodies: readonly string[]): Promise<void> {
  for (let start = 0; start < bodies.length; start += 10) {
    const response = await producer.send(
      new SendMessageBatchCommand({
        QueueUrl: target.resources.inputQueueUrl,
        Entries: bodies.slice(start, start + 10).map((body, index) => ({ Id: String(index), MessageBody: body })),
      }),
    );
    expect(response.Failed ?? []).toEqual([]);
  }
}

async function dlqDepth(): Promise<number> {
  const depth = await queueDepth(target.sqs, target.resources.inputDlqUrl);
  return depth.visible + depth.inFlight + depth.delayed;
}

/** A raw HTTP request to the console, with whatever headers a test needs to forge. */
function rawRequest(options: { path?: string; method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port: server.port, path: options.path ?? '/', method: options.method ?? 'GET', headers: options.headers },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

describe('served on loopback only', () => {
  it('listens on 127.0.0.1, and refuses to start on any other address', async () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.origin).toBe(`http://127.0.0.1:${server.port}`);
    await expect(startConsole({ target, host: '0.0.0.0', port: 0 })).rejects.toThrow(UsageError);
    await expect(startConsole({ target, host: 'localhost', port: 0 })).rejects.toThrow(/127\.0\.0\.1 \(or ::1\) only/);
    const run = await pipectl(['console', '--host', '0.0.0.0', '--port', '0', '--local', serveFile]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/listens on 127\.0\.0\.1 \(or ::1\) only, not "0\.0\.0\.0"/);
  });

  // This machine's other addresses: a connection to them is delivered by the kernel locally (it
  // never leaves the machine), and must find nothing listening.
  const external = Object.values(networkInterfaces())
    .flat()
    .filter((entry) => entry !== undefined && !entry.internal && !entry.address.startsWith('fe80'))
    .map((entry) => entry?.address as string);
  if (external.length === 0) process.stderr.write('test/console: no non-loopback interface on this machine: the "not on other addresses" check is skipped\n');

  it.skipIf(external.length === 0)(`is not reachable on this machine's other addresses (${external.join(', ')})`, async () => {
    for (const address of external) {
      const outcome = await new Promise<string>((resolve) => {
        const socket = connect({ host: address, port: server.port, timeout: 5000 });
        socket.once('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('timeout', () => {
          socket.destroy();
          resolve('timeout');
        });
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });
      expect(outcome, `connecting to ${address}:${server.port}`).not.toBe('connected');
    }
  });

  it('answers nothing to a Host other than its own loopback name (DNS rebinding), even with the session', async () => {
    const cookie = `${sessionCookieName(server.port)}=${new URL(server.url).searchParams.get('token')}`;
    const own = await rawRequest({ headers: { host: `127.0.0.1:${server.port}`, cookie } });
    expect(own.status).toBe(200);
    const rebound = await rawRequest({ headers: { host: `attacker.example:${server.port}`, cookie } });
    expect(rebound.status).toBe(421);
    expect(rebound.body).not.toContain(target.resources.ledgerTableName);
  });

  it('answers nothing without the session secret', async () => {
    const anonymous = await rawRequest({ headers: { host: `127.0.0.1:${server.port}` } });
    expect(anonymous.status).toBe(401);
    const guessed = await rawRequest({ path: '/?token=guess', headers: { host: `127.0.0.1:${server.port}` } });
    expect(guessed.status).toBe(401);
    expect(guessed.body).not.toContain('Set-Cookie');
  });
});

describe.skipIf(noBrowser !== undefined)('in a browser', () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const good = Array.from({ length: 10 }, (_, index) => ticket(`Order ${index} never arrived, tracking number is wrong`));
  const bad = ['not json', JSON.stringify({ task: 'ticket-triage', input: { subject: 'no body' } })];

  beforeAll(async () => {
    // --no-sandbox: CI runs as root, where chromium's sandbox cannot start.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    page = await context.newPage();
    // The link the command prints: it sets the session cookie and leaves the secret out of the address.
    await page.goto(server.url);
    expect(new URL(page.url()).searchParams.has('token')).toBe(false);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('renders the overview from the local pipeline, and updates it live', async () => {
    await send([...good, ...bad]);
    expect(await waitForDrain(pipeline, 180_000)).toBe(true);
    const ledger = await getLedgerItems(target.dynamodb, target.resources.ledgerTableName, good.map(keyOfBody));
    const completed = [...ledger.values()].filter((item) => item.status === LEDGER_STATUS.COMPLETED).length;
    expect(completed).toBe(good.length);
    expect(await dlqDepth()).toBe(bad.length);

    await page.goto(`${server.origin}/`);
    // What the queues hold, and what the ledger completed (the processor log's count of it).
    await expect.poll(() => page.locator('#queues tr[data-queue="inputDlq"] td').nth(1).textContent()).toBe(String(bad.length));
    await expect.poll(() => page.locator('#throughput .big').textContent()).toBe(`${completed} completed`);
    // One chart per graph of the catalog the CloudWatch dashboard is built from, with data drawn.
    const graphs = catalogOfStage('dev').dashboard.flatMap((row) => row.graphs);
    expect(await page.locator('figure.chart-box').count()).toBe(graphs.length);
    expect(
      await page
        .locator('figure[data-chart="Records per minute by outcome"] svg polyline, figure[data-chart="Records per minute by outcome"] svg circle')
        .count(),
    ).toBeGreaterThan(0);

    // Live: one more dead letter shows up without a reload.
    await send(['still not json']);
    expect(await waitForDrain(pipeline, 180_000)).toBe(true);
    expect(await dlqDepth()).toBe(bad.length + 1);
    await expect.poll(() => page.locator('#queues tr[data-queue="inputDlq"] td').nth(1).textContent(), { timeout: 60_000 }).toBe(String(bad.length + 1));
    expect(Number(await page.locator('#live').getAttribute('data-refreshes'))).toBeGreaterThan(0);

    // The DLQ alarm of local mode's evaluator fires within a (scaled) period; the page lists it with its runbook section.
    await expect
      .poll(
        async () => {
          const alarms = await readAlarms(target, 'ALARM');
          return alarms.available && alarms.alarms.some((alarm) => alarm.name.endsWith('-dlq-has-messages'));
        },
        { timeout: 120_000 },
      )
      .toBe(true);
    const link = page.locator('#alarms a[href$="#dlq-has-messages"]');
    await expect.poll(() => link.count(), { timeout: 30_000 }).toBe(1);
    expect(await link.getAttribute('href')).toBe(runbookUrl(catalogOfStage('dev').runbookBaseUrl, 'dlq-has-messages'));

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
  });

  describe('a record in human review', () => {
    const input = { subject: 'Ambiguous request', body: 'Something something, please advise.' };
    const key = inputKey('ticket-triage', '1', input);
    const reasons = [
      'primary (sim-primary): HTTP 503 after 3 attempts',
      'secondary (sim-secondary): output failed the schema',
      'rules: confidence 0.2 is below 0.6',
    ];

    beforeAll(async () => {
      // Escalated with the processor's own ledger and queue code (through the pipeline, review
      // needs every tier to fail, which is the model fault tests' business).
      const dynamodb = new DynamoDBClient({
        region: target.region,
        endpoint: target.local?.dynamodbEndpoint,
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      });
      const ledger = new DynamoDbLedgerStore({ client: dynamodb, tableName: target.resources.ledgerTableName, ttlDays: 30 });
      const now = Date.now();
      await ledger.claim({ key, task: 'ticket-triage', taskVersion: '1', messageId: 'm-review', claimToken: 't1', leaseUntil: now + 60_000, now });
      const gateway = new SqsQueueGateway({
        client: producer,
        inputQueueUrl: target.resources.inputQueueUrl,
        deadLetterQueueUrl: target.resources.inputDlqUrl,
        reviewQueueUrl: target.resources.reviewQueueUrl,
      });
      await gateway.escalate(JSON.stringify({ key, task: 'ticket-triage', taskVersion: '1', input, reasons }), {
        [MESSAGE_ATTRIBUTE.INPUT_HASH]: key,
        [MESSAGE_ATTRIBUTE.FAILURE_REASON]: 'ESCALATED',
      });
      await ledger.markInReview({ key, claimToken: 't1', reasons, input, now });
      dynamodb.destroy();
    });

    const status = async () => (await getLedgerItem(target.dynamodb, target.resources.ledgerTableName, key))?.status;

    it('is resolved end to end: read, a schema-checked form, a confirmation; the ledger changes and it leaves the backlog', async () => {
      await page.goto(`${server.origin}/review`);
      await page.locator(`#review-list tr[data-key="${key}"] a`).click();
      expect(await page.locator('#review-input').textContent()).toContain('Something something, please advise.');
      expect(await page.locator('#tiers tbody tr td:first-child').allTextContents()).toEqual(['primary', 'secondary', 'rules']);
      expect(await page.locator('#tiers').textContent()).toContain('confidence 0.2 is below 0.6');

      // The server checks the schema, not only the browser: a value the form's limits would stop, forced through.
      await page.selectOption('select[name="field.category"]', 'other');
      await page.selectOption('select[name="field.priority"]', 'low');
      await page.locator('input[name="field.confidence"]').evaluate((element) => element.removeAttribute('max'));
      await page.fill('input[name="field.confidence"]', '3');
      await page.fill('textarea[name="field.summary"]', 'Asked for advice; answered by support.');
      await page.click('#resolve-form button[type="submit"]');
      expect(await page.locator('#form-error').textContent()).toMatch(/does not match the ticket-triage output schema: confidence/);
      expect(await status()).toBe(LEDGER_STATUS.IN_REVIEW);

      await page.fill('input[name="field.confidence"]', '0.8');
      await page.click('#resolve-form button[type="submit"]');
      // The confirmation says what will happen; until it is answered nothing is written.
      expect(await page.locator('#confirm-question').textContent()).toContain(
        `This will complete ${key} with your result (tier human) and remove it from the review queue`,
      );
      expect(await status()).toBe(LEDGER_STATUS.IN_REVIEW);
      await page.click('#confirm-yes');
      expect(await page.locator('#action-result').textContent()).toMatch(/^resolved: .* is COMPLETED \(tier human\); 1 review message\(s\) removed$/);

      const item = await getLedgerItem(target.dynamodb, target.resources.ledgerTableName, key);
      expect(item).toMatchObject({
        status: LEDGER_STATUS.COMPLETED,
        tier: 'human',
        resolvedBy: 'console-test',
        result: { category: 'other', priority: 'low', confidence: 0.8, summary: 'Asked for advice; answered by support.' },
      });
      const review = await peekMessages(target.sqs, target.resources.reviewQueueUrl);
      await review.release();
      expect(review.messages.map(keyOfMessage)).not.toContain(key);
      await page.goto(`${server.origin}/review`);
      expect(await page.locator(`tr[data-key="${key}"]`).count()).toBe(0);
    });
  });

  it('groups the DLQ by reason and dry-runs a redrive: it says what would move, and nothing moves', async () => {
    const before = await dlqDepth();
    expect(before).toBe(bad.length + 1);
    await page.goto(`${server.origin}/dlq`);
    const counts = await page.locator('.dlq-group h2 .count').allTextContents();
    expect(counts.map(Number).reduce((total, count) => total + count, 0)).toBe(before);
    expect(await page.locator('.dlq-group').count()).toBeGreaterThan(0);

    await page.click('button[data-redrive="all:dry-run"]');
    expect(await page.locator('#action-result').textContent()).toMatch(new RegExp(`^dry run: would move ${before} message\\(s\\) .*; nothing moved`));
    expect(await dlqDepth()).toBe(before);
    const input = await queueDepth(target.sqs, target.resources.inputQueueUrl);
    expect(input.visible + input.inFlight).toBe(0);

    // The real redrive asks first; cancelled, nothing moves either.
    await page.goto(`${server.origin}/dlq`);
    await page.click('button[data-redrive="all"]');
    expect(await page.locator('#confirm-question').textContent()).toContain(`This will move ${before} dead letter(s) back to the input queue`);
    await page.click('#confirm-cancel');
    expect(new URL(page.url()).pathname).toBe('/dlq');
    expect(await dlqDepth()).toBe(before);
  });

  it('pauses and resumes the processor only after a confirmation, through the event source mapping', async () => {
    await page.goto(`${server.origin}/controls`);
    await page.click('text=Pause the processor…');
    expect(await page.locator('#confirm-question').textContent()).toContain('pause the processor');
    expect((await getMapping(target)).paused).toBe(false);
    await page.click('#confirm-yes');
    expect(await page.locator('#action-result').textContent()).toMatch(/^paused: /);
    expect((await getMapping(target)).paused).toBe(true);

    await page.goto(`${server.origin}/controls`);
    await page.click('text=Resume the processor…');
    await page.click('#confirm-yes');
    expect(await page.locator('#action-result').textContent()).toMatch(/^resumed: /);
    expect((await getMapping(target)).paused).toBe(false);
  });

  it('on a production stage, asks for the stage name as the CLI does; a wrong answer changes nothing', async () => {
    // The same pipeline, described as production: the console decides by the target, as `confirm()` does.
    const production = await startConsole({
      target: { ...target, production: true, description: 'stage dev (as production)' },
      port: 0,
      operator: 'console-test',
    });
    try {
      const prodPage = await context.newPage();
      await prodPage.goto(production.url);
      expect(await prodPage.locator('header.production').textContent()).toContain('PRODUCTION');
      await prodPage.goto(`${production.origin}/controls`);
      await prodPage.click('text=Pause the processor…');
      expect(await prodPage.locator('#confirm-form.production').textContent()).toContain('Type the stage name (dev) to confirm');
      await prodPage.fill('input[name="confirm"]', 'prod');
      await prodPage.click('#confirm-form button[type="submit"]');
      expect(await prodPage.locator('#error-message').textContent()).toBe('not confirmed ("prod" ≠ "dev"): nothing done.');
      expect((await getMapping(target)).paused).toBe(false);
      await prodPage.close();
      // Its cookie is its own: the first console still knows this browser.
      await page.goto(`${server.origin}/controls`);
      expect(await page.locator('#mapping-state').textContent()).toBe('Enabled');
    } finally {
      await production.stop();
    }
  });

  it('draws the game day of a `pipectl gameday --json` result: fault window, detection, recovery', async () => {
    await page.goto(`${server.origin}/gameday`);
    expect(await page.locator('#gameday-missing').textContent()).toMatch(/no game day result at .*pipectl gameday model-outage --json/);
    const events = [
      ['fault starts', 30],
      ['model-error-rate INSUFFICIENT_DATA → ALARM', 92],
      ['fault ends', 150],
      ['every alarm that fired is OK again', 245],
    ] as const;
    writeFileSync(
      join(scratch, 'no-gameday.json'),
      JSON.stringify({
        scenario: 'model-outage',
        faults: 'outage=30-150',
        timeScale: 0.1,
        timeToDetectSeconds: 62,
        timeToRecoverSeconds: 95,
        detectedBy: 'model-error-rate',
        passed: true,
        events: events.map(([event, virtualSeconds]) => ({ at: virtualSeconds * 100, virtualSeconds, event })),
      }),
    );
    await page.reload();
    expect(await page.locator('#gameday-facts').textContent()).toMatch(
      /fault window30 s → 150 s.*detection62 s after the fault began \(model-error-rate\).*recovery95 s after the fault ended/s,
    );
    expect(await page.locator('svg.timeline rect.fault-window').count()).toBe(1);
    expect(await page.locator('svg.timeline line.detection').count()).toBe(1);
    expect(await page.locator('#gameday-events tbody tr').evaluateAll((rows) => rows.map((row) => row.className))).toEqual([
      'fault',
      'detection',
      'fault',
      'recovery',
    ]);
  });

  describe('cross-site requests', () => {
    let attacker: Server;
    let attackerOrigin: string;

    beforeAll(async () => {
      // Another site (localhost is a different site from 127.0.0.1) whose page posts a confirmed pause to the console.
      attacker = createServer((_request, response) => {
        response.writeHead(200, { 'Content-Type': 'text/html' });
        response.end(
          `<form id="f" method="post" action="${server.origin}/action"><input name="action" value="pause"><input name="confirm" value="y"></form>` +
            '<script>document.getElementById("f").submit()</script>',
        );
      });
      await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
      attackerOrigin = `http://localhost:${(attacker.address() as { port: number }).port}`;
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => attacker?.close(() => resolve()));
    });

    it("a form on another page cannot act, and a script of the console's own origin needs the page's token", async () => {
      const attackPage = await context.newPage();
      const posted = attackPage.waitForResponse((response) => response.url() === `${server.origin}/action`);
      await attackPage.goto(`${attackerOrigin}/`);
      expect([401, 403]).toContain((await posted).status());
      await attackPage.close();
      expect((await getMapping(target)).paused).toBe(false);

      // Even from the console's origin (cookie sent), a POST without the form token is refused.
      await page.goto(`${server.origin}/controls`);
      const status = await page.evaluate(async () => {
        const response = await fetch('/action', {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: 'action=pause&confirm=y',
        });
        return response.status;
      });
      expect(status).toBe(403);
      expect((await getMapping(target)).paused).toBe(false);
    });
  });
});

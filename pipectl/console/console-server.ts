import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { METRIC } from '../../lambda/contract';
import type { AlarmCatalog, MetricQuery } from '../../lib/observability/alarm-types';
import { loadStageConfig } from '../../lib/config/stage-load';
import { buildAlarmCatalog } from '../../lib/observability/alarm-catalog';
import { listBreakers } from '../control-state';
import { groupByClass, readDeadLetters } from '../dlq';
import { PipectlError, UsageError } from '../errors';
import { getMapping } from '../event-source';
import { getLedgerItem } from '../ledger-reader';
import { listReviews } from '../review';
import { gatherStatus } from '../status';
import type { PipelineTarget } from '../target';
import { operatorName, runAction } from './console-actions';
import { CONSOLE_CSS, CONSOLE_JS } from './console-assets';
import {
  backOf,
  confirmPage,
  controlsPage,
  dlqPage,
  errorPage,
  gamedayPage,
  liveOverview,
  type OverviewData,
  overviewPage,
  type PageContext,
  resultPage,
  reviewItemPage,
  reviewListPage,
} from './console-pages';
import { assertLoopbackBind, ConsoleSecrets, cookieValue, isLoopbackAddress, isLoopbackHost, SECURITY_HEADERS, sessionCookieName } from './console-security';
import { GAMEDAY_RESULT_FILE } from '../gameday-scenarios';
import { readGameDay } from './gameday-timeline';
import { type ChartRow, MetricSeriesReader } from './metric-series';
import { formFieldsOf } from './review-form';

/** Options of {@link startConsole}. */
export interface ConsoleOptions {
  readonly target: PipelineTarget;
  /** @default the catalog of the target's stage (the one its dashboard and alarms come from) */
  readonly catalog?: AlarmCatalog;
  /** Only loopback addresses are accepted. @default 127.0.0.1 */
  readonly host?: string;
  /** 0 picks a free port. @default 8700 */
  readonly port?: number;
  /** A `pipectl gameday --json` result to draw. @default .local/gameday/result.json */
  readonly gamedayFile?: string;
  /** Recorded as who resolved or forced something. @default $PIPECTL_OPERATOR or the user name */
  readonly operator?: string;
}

/** A running console. */
export interface ConsoleServer {
  /** `http://127.0.0.1:<port>`: the origin; a browser needs {@link ConsoleServer.url} the first time. */
  readonly origin: string;
  /** The origin with the session secret: open this once, the console keeps it in a cookie. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  stop(): Promise<void>;
}

/** The largest form the console accepts: a review result is a few hundred bytes. */
const MAX_BODY_BYTES = 64 * 1024;

/** The window the latency percentiles of the overview summarise. */
const LATENCY_WINDOW_MS = { local: 10 * 60_000, stage: 5 * 60_000 } as const;

/**
 * How often an open overview refreshes. A deployed stage is read with paid CloudWatch calls
 * (GetMetricData is billed per metric: the dashboard's ~40 every 3 s would be about $0.50 an hour
 * per open tab), and its metrics have one-minute periods anyway.
 */
const REFRESH_MS = { local: 3_000, stage: 20_000 } as const;
/** A deployed stage's charts are read at most this often (their period is a minute). */
const STAGE_CHART_TTL_MS = 60_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/**
 * Starts the operator console: a web page on 127.0.0.1 that reads and acts on `target` with the
 * credentials pipectl already has (no new IAM surface, no public endpoint). Every read is a
 * pipectl function the CLI commands call; every action goes through `runAction`, which follows
 * the CLI command's validation and confirmation.
 *
 * A request is served only when (1) its Host header names 127.0.0.1/localhost on this port (DNS
 * rebinding), (2) it comes from a loopback address, (3) it carries the session cookie, set by
 * opening {@link ConsoleServer.url} once (another local user cannot act with your credentials),
 * and, for a POST, (4) the per-session form token and, when sent, an Origin of this console
 * (cross-site requests).
 *
 * @example
 * const console = await startConsole({ target: await resolveTarget({ local: true }), port: 0 });
 * process.stdout.write(`open ${console.url}\n`);
 */
export async function startConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  const host = options.host ?? '127.0.0.1';
  assertLoopbackBind(host);
  const { target } = options;
  const catalog = options.catalog ?? catalogOf(target);
  const secrets = new ConsoleSecrets();
  const metrics = new MetricSeriesReader(target, catalog);
  const operator = options.operator ?? operatorName();
  const gamedayFile = options.gamedayFile ?? GAMEDAY_RESULT_FILE;
  const context: PageContext = {
    csrf: secrets.csrf,
    targetDescription: target.description,
    production: target.production,
    catalog,
    refreshMs: target.kind === 'local' ? REFRESH_MS.local : REFRESH_MS.stage,
  };
  let chartCache: { at: number; rows: Promise<ChartRow[]> } | undefined;
  const charts = (now: number): Promise<ChartRow[]> => {
    if (target.kind === 'local') return metrics.charts(now);
    if (!chartCache || now - chartCache.at >= STAGE_CHART_TTL_MS) chartCache = { at: now, rows: metrics.charts(now) };
    return chartCache.rows;
  };
  const latencyQueries = catalog.dashboard
    .flatMap((row) => row.graphs)
    .flatMap((graph) => graph.left)
    .filter((query): query is MetricQuery => query.source.kind === 'pipeline' && query.source.name === METRIC.MODEL_LATENCY);
  let port = 0;

  async function overview(): Promise<OverviewData> {
    const now = Date.now();
    const status = await gatherStatus(target, now);
    metrics.recordStatus(status);
    const windowMs = target.kind === 'local' ? LATENCY_WINDOW_MS.local : LATENCY_WINDOW_MS.stage;
    const [rows, latencies] = await Promise.all([
      charts(now),
      Promise.all(latencyQueries.map((query) => metrics.summary(query, windowMs, now).catch(() => undefined))),
    ]);
    return { status, charts: rows, latency: { windowMs, values: latencyQueries.map((query, index) => ({ label: query.label, value: latencies[index] })) } };
  }

  async function get(url: URL): Promise<string> {
    switch (url.pathname) {
      case '/':
        return overviewPage(context, await overview());
      case '/fragments/overview':
        return liveOverview(context, await overview()).value;
      case '/review': {
        const { items, truncated } = await listReviews(target);
        return reviewListPage(context, items, truncated);
      }
      case '/review/item': {
        const key = url.searchParams.get('key') ?? '';
        const [ledger, { items }] = await Promise.all([getLedgerItem(target.dynamodb, target.resources.ledgerTableName, key), listReviews(target)]);
        const item = items.find((candidate) => candidate.key === key);
        return reviewItemPage(context, key, item, ledger, formFieldsOf(String(item?.task ?? ledger?.task ?? '')));
      }
      case '/dlq': {
        const { letters, truncated } = await readDeadLetters(target);
        return dlqPage(context, groupByClass(letters), letters.length, truncated);
      }
      case '/controls': {
        const settle = <T>(promise: Promise<T>) => promise.catch((error: unknown) => ({ error: (error as Error).message }));
        const [mapping, breakers] = await Promise.all([settle(getMapping(target)), settle(listBreakers(target.dynamodb, target.resources.controlTableName))]);
        return controlsPage(context, mapping, breakers);
      }
      case '/gameday':
        return gamedayPage(context, readGameDay(gamedayFile));
      default:
        throw new HttpError(404, `no page ${url.pathname}`);
    }
  }

  async function post(url: URL, request: IncomingMessage): Promise<{ status: number; body: string }> {
    if (url.pathname !== '/action') throw new HttpError(404, `no action at ${url.pathname}`);
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== `http://${request.headers.host}`) throw new HttpError(403, `a form from ${origin} may not act here`);
    if (!(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) throw new HttpError(415, 'forms only');
    const form = new URLSearchParams(await readBody(request));
    if (!secrets.isCsrf(form.get('csrf') ?? undefined)) throw new HttpError(403, 'the form token is missing or stale: reload the page and try again');
    try {
      const outcome = await runAction(target, form, operator);
      if (outcome.kind === 'confirm') return { status: 200, body: confirmPage(context, outcome, form) };
      return { status: 200, body: resultPage(context, outcome.message, backOf(form)) };
    } catch (error) {
      if (!(error instanceof PipectlError)) throw error;
      // A result the schema refuses goes back to the form with what was typed, and nothing written.
      if (form.get('action') === 'resolve' && error instanceof UsageError) {
        const key = form.get('key') ?? '';
        const [ledger, { items }] = await Promise.all([getLedgerItem(target.dynamodb, target.resources.ledgerTableName, key), listReviews(target)]);
        const item = items.find((candidate) => candidate.key === key);
        return {
          status: 422,
          body: reviewItemPage(context, key, item, ledger, formFieldsOf(String(item?.task ?? ledger?.task ?? '')), { form, error: error.message }),
        };
      }
      return { status: error.exitCode === 2 ? 400 : 409, body: errorPage(context, 'Not done', error.message, backOf(form)) };
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
    // DNS rebinding: a page of another site whose name now resolves to 127.0.0.1 sends its own name.
    if (!isLoopbackHost(request.headers.host, port) || !isLoopbackAddress(request.socket.remoteAddress)) {
      return send(response, 421, 'text/plain', 'this console answers to 127.0.0.1 only\n');
    }
    const url = new URL(request.url ?? '/', `http://${request.headers.host}`);
    if (request.method === 'GET' && url.pathname === '/console.css') return send(response, 200, 'text/css', CONSOLE_CSS);
    if (request.method === 'GET' && url.pathname === '/console.js') return send(response, 200, 'text/javascript', CONSOLE_JS);
    // Browsers ask for it unprompted; a 404 would show up as an error in every page's console.
    if (request.method === 'GET' && url.pathname === '/favicon.ico') return send(response, 204, 'image/x-icon', '');
    const token = url.searchParams.get('token');
    if (request.method === 'GET' && token !== null) {
      if (!secrets.isSession(token)) return send(response, 401, 'text/plain', 'this link is not the one the console printed\n');
      // The secret leaves the address bar and the history: it lives in a cookie only this origin sends.
      response.setHeader('Set-Cookie', `${sessionCookieName(port)}=${secrets.session}; HttpOnly; SameSite=Strict; Path=/`);
      url.searchParams.delete('token');
      response.setHeader('Location', `${url.pathname}${url.search}`);
      return send(response, 303, 'text/plain', 'signed in\n');
    }
    if (!secrets.isSession(cookieValue(request.headers.cookie, sessionCookieName(port)))) {
      return send(response, 401, 'text/plain', "open the link `pipectl console` printed (it carries this session's secret)\n");
    }
    try {
      if (request.method === 'GET') return send(response, 200, 'text/html', await get(url));
      if (request.method === 'POST') {
        const answer = await post(url, request);
        return send(response, answer.status, 'text/html', answer.body);
      }
      response.setHeader('Allow', 'GET, POST');
      return send(response, 405, 'text/plain', 'GET or POST\n');
    } catch (error) {
      if (error instanceof HttpError) return send(response, error.status, 'text/html', errorPage(context, 'Refused', error.message));
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      return send(response, 500, 'text/html', errorPage(context, 'Failed', message));
    }
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, 'text/plain', `${(error as Error).message}\n`);
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8700, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://${host === '::1' ? '[::1]' : host}:${port}`;
  return {
    origin,
    url: `${origin}/?token=${secrets.session}`,
    port,
    host,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The catalog the target's alarms and dashboard were generated from, as `pipectl triage` builds it. */
function catalogOf(target: PipelineTarget): AlarmCatalog {
  try {
    return buildAlarmCatalog(loadStageConfig(target.stage), target.stackName ? { stackName: target.stackName } : {});
  } catch (error) {
    throw new UsageError(
      `this checkout has no stage config "${target.stage}", and the console draws its charts and runbook links from that stage's alarm catalog ` +
        `(${(error as Error).message})`,
    );
  }
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { 'Content-Type': `${type}; charset=utf-8`, 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, 'the form is too large'));
        request.destroy();
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttp2Server, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { estimateTokens, simulateAnswer } from '../../lambda/model/simulated-model';
import { seededRandom, seedFromString } from '../../lambda/shared/seeded-random';
import { rateAt } from '../fault-window';
import { type FaultSpec, NO_FAULTS, QUOTA_WINDOW_MS } from './fault-spec';
import { QuotaBucket, QuotaSeries, type QuotaWindowCount } from './quota-bucket';

export interface ModelSimulatorOptions {
  /** Seed of the answers and of the fault draws. @default 42 */
  readonly seed?: number;
  /** Faults, with durations already in the time the simulator runs at (see `scaleFaultSpec`). @default none */
  readonly faults?: FaultSpec;
  /** @default 0 (a free port) */
  readonly port?: number;
}

/** What one call drew. */
export const SIMULATED_OUTCOMES = ['ok', 'throttled', 'server-error', 'hang', 'quota', 'malformed', 'truncated', 'schema', 'outage', 'rate-limited'] as const;
export type SimulatedOutcome = (typeof SIMULATED_OUTCOMES)[number];

/** Counters of a simulator, read by tests, chaos scenarios and the local report. */
export interface ModelSimulatorStats {
  readonly requests: number;
  readonly byOutcome: Readonly<Record<SimulatedOutcome, number>>;
  readonly byModel: Readonly<Record<string, number>>;
  /** Requests by the prompt version the caller named (`x-prompt-version` / `requestMetadata`); unnamed ones are not counted. */
  readonly byPromptVersion: Readonly<Record<string, number>>;
  /** Requests that carried a repair turn (the model's previous answer and the problem with it). */
  readonly repairs: number;
  /** Requests being answered (or hanging) right now, and the most there ever were at once. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  /**
   * Retries of a prompt to the same model after a 429 with Retry-After: how many came no sooner
   * than asked, how many came sooner (violations), and the shortest gap relative to the ask.
   */
  readonly retryAfter: { readonly honoured: number; readonly violations: number; readonly minGapRatio: number | null };
  /**
   * Under `rpm`/`tpm`: the quota, the length of its window in simulator time, and per model the
   * calls accepted and refused (429 `rate-limited`) in each window since the first request.
   */
  readonly quota?: {
    readonly rpm?: number;
    readonly tpm?: number;
    readonly windowMs: number;
    readonly series: Readonly<Record<string, readonly QuotaWindowCount[]>>;
  };
  /** Calls that arrived with more than burst-latency's concurrency in flight, and were slowed. */
  readonly burstSlowed: number;
}

/**
 * A running simulator. `url` is the OpenAI-compatible base URL (`…/v1`, HTTP/1.1); `endpoint` the
 * Bedrock Runtime endpoint (HTTP/2 cleartext, what the SDK's client speaks).
 */
export interface ModelSimulator {
  readonly url: string;
  readonly endpoint: string;
  /** The faults it runs (after `endOutage()`, with the outage's window cut short). */
  readonly faults: FaultSpec;
  /**
   * Ends the outage now, or keeps one that has not begun from beginning: for a test that lets an
   * outage last until the pipeline's state shows what it causes (a breaker opened), however long a
   * loaded machine takes to get there, rather than for a fixed window it may not fill.
   */
  endOutage(): void;
  /**
   * When the first request arrived (epoch ms), `undefined` before it: the clock of the outage
   * and of the model items' `/FROM-TO` windows (`modelFaultWindow` is relative to it).
   */
  firstRequestAt(): number | undefined;
  stats(): ModelSimulatorStats;
  stop(): Promise<void>;
}

/** Node's timers may fire up to a millisecond before the requested delay; gaps are compared with this slack. */
const TIMER_SLACK_MS = 2;
const MAX_BODY_BYTES = 1024 * 1024;

interface Call {
  readonly model: string;
  readonly system: string;
  readonly user: string;
  readonly repair: boolean;
  /** The caller's prompt version (`x-prompt-version` header, Converse `requestMetadata.promptVersion`), if it sent one. */
  readonly promptVersion?: string;
}

/**
 * A model endpoint on loopback that speaks the OpenAI chat-completions API (`POST /v1/chat/completions`)
 * and Bedrock's Converse API (`POST /model/{modelId}/converse`), so the real providers — their
 * HTTP, timeouts, Retry-After parsing and error classification — are what local mode and the
 * tests exercise. Answers come from `simulateAnswer` (the task's rules, with a seeded confidence).
 *
 * Faults are drawn per call from a stream seeded by (seed, model, prompt, how many times this
 * prompt was asked), so the same run draws the same faults for the same calls whatever order
 * concurrent calls arrive in.
 */
export async function startModelSimulator(options: ModelSimulatorOptions = {}): Promise<ModelSimulator> {
  const seed = options.seed ?? 42;
  let faults = options.faults ?? NO_FAULTS;
  const asked = new Map<string, number>();
  const byOutcome = Object.fromEntries(SIMULATED_OUTCOMES.map((outcome) => [outcome, 0])) as Record<SimulatedOutcome, number>;
  const byModel: Record<string, number> = {};
  const byPromptVersion: Record<string, number> = {};
  const throttledAt = new Map<string, { at: number; retryAfterMs: number }>();
  const retryAfter = { honoured: 0, violations: 0, minGapRatio: null as number | null };
  let requests = 0;
  let repairs = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let firstRequestAt: number | undefined;
  let completionId = 0;
  // Provider quotas (issue 14): one bucket per model and dimension, created at a model's first call.
  const quotaWindowMs = faults.quotaWindowMs ?? QUOTA_WINDOW_MS;
  const hasQuota = faults.rpm !== undefined || faults.tpm !== undefined;
  const requestBuckets = new Map<string, QuotaBucket>();
  const tokenBuckets = new Map<string, QuotaBucket>();
  const quotaSeries = new QuotaSeries(quotaWindowMs);
  let burstSlowed = 0;
  const bucketOf = (buckets: Map<string, QuotaBucket>, model: string, perWindow: number, now: number): QuotaBucket => {
    let bucket = buckets.get(model);
    if (!bucket) {
      bucket = new QuotaBucket(perWindow, quotaWindowMs, now);
      buckets.set(model, bucket);
    }
    return bucket;
  };
  /** Admits a call under the model's quotas, or says how long until it would be admitted. */
  const admit = (model: string, now: number): { ok: true } | { ok: false; retryAfterMs: number } => {
    const tokens = faults.tpm !== undefined ? bucketOf(tokenBuckets, model, faults.tpm, now).check(now) : ({ ok: true } as const);
    if (!tokens.ok) return tokens;
    return faults.rpm !== undefined ? bucketOf(requestBuckets, model, faults.rpm, now).take(1, now) : { ok: true };
  };

  const onRequest = (request: IncomingMessage, response: ServerResponse) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      inFlight -= 1;
    };
    response.on('close', settle);
    void handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, { error: { message: String(error), type: 'simulator_error' } });
    });
  };
  const server: Server = createServer(onRequest);
  server.keepAliveTimeout = 60_000;
  // The Bedrock Runtime client speaks HTTP/2 only (its default handler): a cleartext HTTP/2
  // listener (prior knowledge, as the SDK connects to an http:// endpoint) serves it. Node's
  // compatibility API gives the handler the same request/response shape.
  const http2Server: Http2Server = createHttp2Server(onRequest as unknown as Parameters<typeof createHttp2Server>[0]);
  const sessions = new Set<import('node:http2').ServerHttp2Session>();
  http2Server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = request.url ?? '/';
    if (request.method === 'GET' && url === '/health') return send(response, 200, { ok: true });
    const converse = /^\/model\/([^/]+)\/converse$/.exec(url);
    const isChat = url === '/v1/chat/completions' || url === '/chat/completions';
    if (request.method !== 'POST' || (!isChat && !converse))
      return send(response, 404, { error: { message: `no route ${request.method} ${url}`, type: 'not_found' } });

    let call: Call;
    try {
      const body = JSON.parse(await readBody(request)) as Record<string, unknown>;
      const header = request.headers['x-prompt-version'];
      call = isChat ? chatCall(body, typeof header === 'string' ? header : undefined) : converseCall(decodeURIComponent(converse?.[1] ?? ''), body);
    } catch (error) {
      return isChat
        ? send(response, 400, { error: { message: `bad request: ${(error as Error).message}`, type: 'invalid_request_error', code: null } })
        : sendBedrockError(response, 400, 'ValidationException', `bad request: ${(error as Error).message}`);
    }

    const now = Date.now();
    firstRequestAt ??= now;
    requests += 1;
    byModel[call.model] = (byModel[call.model] ?? 0) + 1;
    if (call.promptVersion) byPromptVersion[call.promptVersion] = (byPromptVersion[call.promptVersion] ?? 0) + 1;
    if (call.repair) repairs += 1;
    const promptKey = `${call.model}\n${call.user}`;
    const nth = asked.get(promptKey) ?? 0;
    asked.set(promptKey, nth + 1);
    const throttled = throttledAt.get(promptKey);
    if (throttled) {
      throttledAt.delete(promptKey);
      const gap = now - throttled.at;
      if (gap + TIMER_SLACK_MS >= throttled.retryAfterMs) retryAfter.honoured += 1;
      else retryAfter.violations += 1;
      if (throttled.retryAfterMs > 0) {
        const ratio = gap / throttled.retryAfterMs;
        retryAfter.minGapRatio = retryAfter.minGapRatio === null ? ratio : Math.min(retryAfter.minGapRatio, ratio);
      }
    }

    const random = seededRandom(seedFromString(`${promptKey}\n${nth}`, seed));
    const elapsedMs = now - firstRequestAt;
    const drawn = draw(faults, random(), elapsedMs);
    // change safety (issue 15): a degraded model's (or prompt version's) otherwise good answers are wrong-shaped at its rate.
    const degraded = faults.degrade !== undefined && (faults.degrade.target === call.model || faults.degrade.target === call.promptVersion);
    let outcome = drawn === 'ok' && degraded && random() < rateAt(faults.degrade, elapsedMs) ? 'schema' : drawn;
    let quotaRetryAfterMs: number | undefined;
    if (hasQuota && outcome !== 'outage') {
      // A quota is checked before anything else the provider does: what goes over is refused at once.
      const admitted = admit(call.model, now);
      quotaSeries.add(call.model, now - firstRequestAt, admitted.ok);
      if (!admitted.ok) {
        outcome = 'rate-limited';
        quotaRetryAfterMs = admitted.retryAfterMs;
      }
    }
    byOutcome[outcome] += 1;
    if (outcome === 'rate-limited') {
      const ms = quotaRetryAfterMs ?? 1;
      throttledAt.set(promptKey, { at: now, retryAfterMs: ms });
      const headers = { 'retry-after-ms': String(ms), 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))) };
      return isChat
        ? send(
            response,
            429,
            { error: { message: 'Rate limit reached for requests (simulated quota)', type: 'requests', code: 'rate_limit_exceeded' } },
            headers,
          )
        : sendBedrockError(response, 429, 'ThrottlingException', 'Too many requests (simulated quota)', headers);
    }
    if (outcome === 'hang') return; // never answers; the client's own timeout ends it
    // Drawn whether or not the window is open, so the draws after it stay where they were.
    const slow = faults.latency && random() < rateAt(faults.latency, elapsedMs) ? faults.latency.ms : 0;
    // inFlight counts this call too: "more than CONCURRENCY in flight" includes it.
    const burst = faults.burstLatency && inFlight > faults.burstLatency.concurrency ? faults.burstLatency.ms : 0;
    if (burst > 0) burstSlowed += 1;
    const delay = faults.baseLatencyMs + slow + burst;
    if (delay > 0) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (response.destroyed || response.writableEnded) return; // the client gave up
    }
    const statusPick = random();
    if (outcome === 'throttled') {
      const ms = faults.throttle?.retryAfterMs;
      if (ms !== undefined) throttledAt.set(promptKey, { at: Date.now(), retryAfterMs: ms });
      const headers: Record<string, string> =
        ms !== undefined ? { 'retry-after-ms': String(ms), 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))) } : {};
      return isChat
        ? send(response, 429, { error: { message: 'Rate limit reached (simulated)', type: 'requests', code: 'rate_limit_exceeded' } }, headers)
        : sendBedrockError(response, 429, 'ThrottlingException', 'Too many requests (simulated)', headers);
    }
    if (outcome === 'quota') {
      return isChat
        ? send(response, 429, { error: { message: 'You exceeded your current quota (simulated)', type: 'insufficient_quota', code: 'insufficient_quota' } })
        : sendBedrockError(response, 400, 'ServiceQuotaExceededException', 'Quota exceeded (simulated)');
    }
    if (outcome === 'server-error' || outcome === 'outage') {
      const status = outcome === 'outage' ? 503 : (([500, 502, 503, 529] as const)[Math.floor(statusPick * 4)] ?? 500);
      if (!isChat) {
        return status === 503 || status === 529
          ? sendBedrockError(response, 503, 'ServiceUnavailableException', 'Service unavailable (simulated)')
          : sendBedrockError(response, 500, 'InternalServerException', 'Internal error (simulated)');
      }
      return send(response, status, { error: { message: `simulated ${status}`, type: status === 529 ? 'overloaded_error' : 'server_error', code: null } });
    }

    const answer = simulateAnswer({ system: call.system, user: call.user }, seed, call.model);
    let text = answer.text;
    let finishReason: 'stop' | 'length' = 'stop';
    if (outcome === 'malformed') text = `Sure! Here is the triage you asked for: ${text.replace(/[{}"]/g, '')}`;
    else if (outcome === 'truncated') {
      text = text.slice(0, Math.max(1, Math.floor(text.length * (0.3 + statusPick * 0.4))));
      finishReason = 'length';
    } else if (outcome === 'schema') text = JSON.stringify({ label: 'billing', score: 0.9, note: 'a valid JSON answer in the wrong shape (simulated)' });
    const tokensOut = estimateTokens(text);
    if (faults.tpm !== undefined) bucketOf(tokenBuckets, call.model, faults.tpm, Date.now()).charge(answer.tokensIn + tokensOut, Date.now());
    completionId += 1;
    if (isChat) {
      return send(response, 200, {
        id: `chatcmpl-sim-${completionId}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: call.model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: finishReason }],
        usage: { prompt_tokens: answer.tokensIn, completion_tokens: tokensOut, total_tokens: answer.tokensIn + tokensOut },
      });
    }
    return send(response, 200, {
      output: { message: { role: 'assistant', content: [{ text }] } },
      stopReason: finishReason === 'length' ? 'max_tokens' : 'end_turn',
      usage: { inputTokens: answer.tokensIn, outputTokens: tokensOut, totalTokens: answer.tokensIn + tokensOut },
      metrics: { latencyMs: delay },
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  await new Promise<void>((resolve, reject) => {
    http2Server.once('error', reject);
    http2Server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const http2Port = (http2Server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    endpoint: `http://127.0.0.1:${http2Port}`,
    get faults() {
      return faults;
    },
    endOutage() {
      const { outage } = faults;
      if (!outage) return;
      const now = firstRequestAt === undefined ? 0 : Date.now() - firstRequestAt;
      if (now < outage.toMs) faults = { ...faults, outage: { ...outage, toMs: Math.max(outage.fromMs, now) } };
    },
    firstRequestAt: () => firstRequestAt,
    stats: () => ({
      requests,
      byOutcome: { ...byOutcome },
      byModel: { ...byModel },
      byPromptVersion: { ...byPromptVersion },
      repairs,
      inFlight,
      maxInFlight,
      retryAfter: { ...retryAfter },
      ...(hasQuota ? { quota: { rpm: faults.rpm, tpm: faults.tpm, windowMs: quotaWindowMs, series: quotaSeries.toJSON() } } : {}),
      burstSlowed,
    }),
    async stop() {
      // Hanging requests never end by themselves: cut them.
      server.closeAllConnections();
      for (const session of sessions) session.destroy();
      await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), new Promise<void>((resolve) => http2Server.close(() => resolve()))]);
    },
  };
}

/**
 * The outcome of one call: the outage window first, then one band of the answer faults. A fault
 * outside its `/FROM-TO` window has a band of width 0 for this call (the bands after it move up),
 * so the draw stays one uniform number against rates that add up to at most 1.
 */
export function draw(faults: FaultSpec, u: number, sinceFirstRequestMs: number): SimulatedOutcome {
  if (faults.outage && sinceFirstRequestMs >= faults.outage.fromMs && sinceFirstRequestMs < faults.outage.toMs) return 'outage';
  const bands: Array<[SimulatedOutcome, FaultSpec['throttle']]> = [
    ['throttled', faults.throttle],
    ['server-error', faults.serverError],
    ['hang', faults.hang],
    ['quota', faults.quota],
    ['malformed', faults.malformed],
    ['truncated', faults.truncated],
    ['schema', faults.schema],
  ];
  let edge = 0;
  for (const [outcome, fault] of bands) {
    edge += rateAt(fault, sinceFirstRequestMs);
    if (u < edge) return outcome;
  }
  return 'ok';
}

function chatCall(body: Record<string, unknown>, promptVersion: string | undefined): Call {
  const messages = body.messages;
  if (typeof body.model !== 'string' || !Array.isArray(messages)) throw new Error('expected { model, messages: [...] }');
  const text = (role: string) => messages.find((message: { role?: unknown }) => message?.role === role)?.content;
  return {
    model: body.model,
    system: String(text('system') ?? ''),
    user: String(text('user') ?? ''),
    repair: messages.some((message: { role?: unknown }) => message?.role === 'assistant'),
    ...(promptVersion ? { promptVersion } : {}),
  };
}

function converseCall(model: string, body: Record<string, unknown>): Call {
  const messages = body.messages as Array<{ role?: string; content?: Array<{ text?: string }> }> | undefined;
  if (!model || !Array.isArray(messages)) throw new Error('expected { messages: [...] }');
  const user =
    messages
      .find((message) => message.role === 'user')
      ?.content?.map((block) => block.text ?? '')
      .join('') ?? '';
  const system = ((body.system as Array<{ text?: string }> | undefined) ?? []).map((block) => block.text ?? '').join('');
  const metadata = body.requestMetadata as Record<string, unknown> | undefined;
  const promptVersion = typeof metadata?.promptVersion === 'string' ? metadata.promptVersion : undefined;
  return { model, system, user, repair: messages.some((message) => message.role === 'assistant'), ...(promptVersion ? { promptVersion } : {}) };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('body too large'));
        request.destroy();
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (response.destroyed) return;
  const payload = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers });
  response.end(payload);
}

/** A Bedrock error as the service sends it: the exception name in `x-amzn-ErrorType`, a JSON message. */
function sendBedrockError(response: ServerResponse, status: number, type: string, message: string, headers: Record<string, string> = {}): void {
  send(response, status, { message }, { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`, ...headers });
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { LocalPipeline } from './local-pipeline';

/** What the control API needs from the local event source (`EventSourcePoller`). */
export interface PausableEventSource {
  setPaused(paused: boolean): void;
  /** Batches being processed right now: a disabled mapping reports `Disabling` until they finish. */
  readonly inFlight: number;
}

/** The mapping as the template defines it, reported in every response. */
export interface LocalMappingSettings {
  readonly uuid: string;
  readonly functionName: string;
  readonly region: string;
  readonly queueArn: string;
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  readonly maxConcurrency: number;
  readonly reportBatchItemFailures: boolean;
  /** @default '000000000000' */
  readonly accountId?: string;
  /**
   * After a disable, how long a receive already waiting may still return messages (the poller's
   * long poll plus its batching window): the mapping reads `Disabling` at least this long, so
   * `Disabled` means nothing more will be processed. @default 0
   */
  readonly settleMs?: number;
  /**
   * The function as GetFunctionConfiguration reports it (`pipectl triage` reads the model ids and
   * settings from its environment). Omitted: that operation answers 404.
   */
  readonly function?: {
    readonly handler: string;
    readonly timeoutSeconds: number;
    readonly memoryMb: number;
    /** The bundle's SHA-256 (base64, as Lambda's CodeSha256). */
    readonly codeSha256: string;
    readonly environment: Readonly<Record<string, string>>;
  };
}

export interface ControlApi {
  /** `http://127.0.0.1:<port>`: give it to `LambdaClient` as `endpoint`. */
  readonly endpoint: string;
  /** Whether the mapping is enabled (the poller receives). */
  readonly enabled: boolean;
  stop(): Promise<void>;
}

const API_PREFIX = '/2015-03-31/event-source-mappings';
const FUNCTIONS_PREFIX = '/2015-03-31/functions/';
/** Request bodies of the three operations are a few hundred bytes; anything bigger is refused. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * A loopback HTTP server speaking the part of the AWS Lambda REST API (2015-03-31) that
 * `@aws-sdk/client-lambda` uses for GetEventSourceMapping, UpdateEventSourceMapping (`Enabled`
 * only) and ListEventSourceMappings, backed by the local poller's `setPaused()`, and
 * GetFunctionConfiguration (the processor's settings and environment, for `pipectl triage`). With it,
 * `pipectl pause|resume|status` run the same SDK calls against local mode as against AWS.
 *
 * Written here because no emulator serves an event source mapping for a poller it does not run:
 * moto_server stores mappings but cannot drive this process's poller, and a real endpoint is what
 * keeps pipectl's local path identical to its AWS path. Semantics follow the service: an update
 * answers 202 with the mapping `Disabling`/`Enabling`; a disabled mapping reads `Disabling` while
 * batches are still in flight, then `Disabled`; messages wait in the queue meanwhile.
 */
export async function startControlApi(source: PausableEventSource, settings: LocalMappingSettings): Promise<ControlApi> {
  let enabled = true;
  let lastModified = Date.now();
  let disabledAt = 0;
  const accountId = settings.accountId ?? '000000000000';
  const { settleMs } = settings;
  const functionArn = `arn:aws:lambda:${settings.region}:${accountId}:function:${settings.functionName}`;

  const configuration = (transition?: 'Enabling' | 'Disabling') => ({
    UUID: settings.uuid,
    EventSourceMappingArn: `arn:aws:lambda:${settings.region}:${accountId}:event-source-mapping:${settings.uuid}`,
    EventSourceArn: settings.queueArn,
    FunctionArn: functionArn,
    BatchSize: settings.batchSize,
    MaximumBatchingWindowInSeconds: settings.maxBatchingWindowSeconds,
    ScalingConfig: { MaximumConcurrency: settings.maxConcurrency },
    FunctionResponseTypes: settings.reportBatchItemFailures ? ['ReportBatchItemFailures'] : [],
    LastModified: lastModified / 1000,
    State: transition ?? (enabled ? 'Enabled' : source.inFlight > 0 || Date.now() < disabledAt + (settleMs ?? 0) ? 'Disabling' : 'Disabled'),
    StateTransitionReason: 'USER_INITIATED',
  });

  const matchesFunction = (name: string | null) => name === null || name === settings.functionName || name === functionArn;

  const started = new Date().toISOString().replace(/Z$/, '+0000');
  const functionConfiguration = () => {
    const fn = settings.function as NonNullable<LocalMappingSettings['function']>;
    return {
      FunctionName: settings.functionName,
      FunctionArn: functionArn,
      Runtime: 'nodejs',
      Handler: fn.handler,
      Timeout: fn.timeoutSeconds,
      MemorySize: fn.memoryMb,
      CodeSha256: fn.codeSha256,
      Version: '$LATEST',
      LastModified: started,
      State: 'Active',
      Environment: { Variables: fn.environment },
    };
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.replace(/\/+$/, '');
    if (path.startsWith(FUNCTIONS_PREFIX) && path.endsWith('/configuration') && request.method === 'GET') {
      const name = decodeURIComponent(path.slice(FUNCTIONS_PREFIX.length, -'/configuration'.length));
      if (!settings.function || !matchesFunction(name)) {
        return error(response, 404, 'ResourceNotFoundException', `Function not found: ${name}`);
      }
      return send(response, 200, functionConfiguration());
    }
    if (path === API_PREFIX && request.method === 'GET') {
      const matches = matchesFunction(url.searchParams.get('FunctionName')) && [null, settings.queueArn].includes(url.searchParams.get('EventSourceArn'));
      return send(response, 200, { EventSourceMappings: matches ? [configuration()] : [] });
    }
    if (!path.startsWith(`${API_PREFIX}/`)) {
      return error(
        response,
        404,
        'UnknownOperationException',
        `local mode serves only event source mappings and GetFunctionConfiguration: not ${request.method} ${url.pathname}`,
      );
    }
    const uuid = decodeURIComponent(path.slice(API_PREFIX.length + 1));
    if (uuid !== settings.uuid) {
      return error(response, 404, 'ResourceNotFoundException', `The resource you requested does not exist. (event source mapping ${uuid})`);
    }
    if (request.method === 'GET') return send(response, 200, configuration());
    if (request.method !== 'PUT') return error(response, 405, 'UnknownOperationException', `${request.method} is not served for a mapping`);

    let update: Record<string, unknown>;
    try {
      update = JSON.parse((await readBody(request)) || '{}') as Record<string, unknown>;
    } catch (failure) {
      return error(response, 400, 'InvalidParameterValueException', `the request body is not JSON: ${(failure as Error).message}`);
    }
    const unsupported = Object.keys(update).filter((key) => key !== 'Enabled' && key !== 'FunctionName');
    if (unsupported.length > 0) {
      return error(
        response,
        400,
        'InvalidParameterValueException',
        `local mode changes only Enabled; ${unsupported.join(', ')} come from the template (edit lib/config and restart)`,
      );
    }
    if (update.FunctionName !== undefined && !matchesFunction(String(update.FunctionName))) {
      return error(response, 400, 'InvalidParameterValueException', `the mapping belongs to ${settings.functionName}`);
    }
    if (update.Enabled !== undefined && typeof update.Enabled !== 'boolean') {
      return error(response, 400, 'InvalidParameterValueException', 'Enabled must be true or false');
    }
    let transition: 'Enabling' | 'Disabling' | undefined;
    if (typeof update.Enabled === 'boolean' && update.Enabled !== enabled) {
      enabled = update.Enabled;
      lastModified = Date.now();
      if (!enabled) disabledAt = lastModified;
      source.setPaused(!enabled);
      transition = enabled ? 'Enabling' : 'Disabling';
    }
    return send(response, 202, configuration(transition));
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((failure: unknown) => {
      if (!response.headersSent) error(response, 500, 'ServiceException', (failure as Error).message);
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get enabled() {
      return enabled;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

/** Lambda's error shape: the type in `x-amzn-ErrorType` (what the SDK reads) and a `Message`. */
function error(response: ServerResponse, status: number, type: string, message: string): void {
  const text = JSON.stringify({ Type: 'User', Message: message });
  response.writeHead(status, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': type, 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_BODY_BYTES) {
        reject(new Error(`request body over ${MAX_BODY_BYTES} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** The control API of a running local pipeline: its poller, its mapping as the template defines it. */
export function startPipelineControlApi(pipeline: LocalPipeline): Promise<ControlApi> {
  const { eventSource } = pipeline.stack;
  return startControlApi(pipeline.poller, {
    uuid: pipeline.resources.eventSourceMappingId,
    functionName: pipeline.resources.processorFunctionName,
    region: pipeline.emulators.region,
    queueArn: pipeline.inputQueueArn,
    batchSize: eventSource.batchSize,
    maxBatchingWindowSeconds: eventSource.maxBatchingWindowSeconds,
    maxConcurrency: eventSource.maxConcurrency,
    reportBatchItemFailures: eventSource.reportBatchItemFailures,
    // The poller long-polls for up to 1 s (WaitTimeSeconds: 1 in event-source-poller.ts), then
    // tops a batch up for its batching window: what a receive already waiting can still bring in.
    settleMs: 1000 + eventSource.maxBatchingWindowSeconds * 1000 * pipeline.timeScale + 100,
    function: {
      handler: `index.${pipeline.stack.processor.handlerExport}`,
      timeoutSeconds: pipeline.stack.processor.timeoutSeconds,
      memoryMb: pipeline.stack.processor.memoryMb,
      codeSha256: createHash('sha256').update(readFileSync(pipeline.stack.processor.bundlePath)).digest('base64'),
      // What Lambda would show: the stack's variables, not the emulator plumbing local mode adds.
      environment: Object.fromEntries(Object.entries(pipeline.processorEnvironment).filter(([name]) => !/^(AWS_|PATH$|TZ$)/.test(name))),
    },
  });
}

import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { IncomingMessage } from 'node:http';
import { CallAttribution, callOriginOf } from './call-attribution';

/** Requests whose User-Agent carries this mark are the local runner's own observation calls, not the pipeline's. */
export const OBSERVER_USER_AGENT = 'pipectl-observer';

/** DynamoDB operations that read, and those that write (what a bill and a capacity plan count). */
const DYNAMODB_READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);
const DYNAMODB_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

/** Requests the pipeline made, counted at the emulators (the observer's own are left out). */
export class ApiCallCounter {
  readonly byOperation = new Map<string, number>();

  record(service: 'dynamodb' | 'sqs', request: IncomingMessage): void {
    const userAgent = String(request.headers['user-agent'] ?? '');
    if (userAgent.includes(OBSERVER_USER_AGENT)) return;
    const target = String(request.headers['x-amz-target'] ?? '');
    const operation = target.slice(target.lastIndexOf('.') + 1) || 'Unknown';
    const name = `${service}.${operation}`;
    this.byOperation.set(name, (this.byOperation.get(name) ?? 0) + 1);
  }

  /** Totals in the report's shape. */
  totals(): { 'dynamodb.read': number; 'dynamodb.write': number; sqs: number; cloudwatch: number } {
    let read = 0;
    let write = 0;
    let sqs = 0;
    for (const [name, count] of this.byOperation) {
      const [service, operation] = name.split('.') as [string, string];
      if (service === 'sqs') sqs += count;
      else if (DYNAMODB_READS.has(operation)) read += count;
      else if (DYNAMODB_WRITES.has(operation)) write += count;
    }
    // The processor emits metrics as EMF log lines: no CloudWatch API call on the hot path.
    return { 'dynamodb.read': read, 'dynamodb.write': write, sqs, cloudwatch: 0 };
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.byOperation].sort(([a], [b]) => a.localeCompare(b)));
  }

  reset(): void {
    this.byOperation.clear();
  }
}

/** The embedded AWS endpoints: SQS (fauxqs) and DynamoDB (dynalite), on loopback, ports chosen by the OS. */
export interface Emulators {
  readonly region: string;
  readonly sqsEndpoint: string;
  readonly dynamodbEndpoint: string;
  readonly counter: ApiCallCounter;
  /** Each request attributed to the function that made it (local/call-attribution.ts); only when asked for. */
  readonly attribution?: CallAttribution;
  stop(): Promise<void>;
}

/** Options of {@link startEmulators}. */
export interface EmulatorOptions {
  /** Attribute each request to the function that made it, with its resource (reads every body). @default false */
  readonly attributeCalls?: boolean;
}

export const LOCAL_REGION = 'us-east-1';
/** Dummy credentials: the emulators check none, but the SDK signs every request. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  const counter = new ApiCallCounter();
  const attribution = options.attributeCalls ? new CallAttribution() : undefined;

  const { default: dynalite } = await import('dynalite');
  const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  dynamo.prependListener('request', (request: IncomingMessage) => {
    counter.record('dynamodb', request);
    if (attribution) attributeDynamoDbRequest(attribution, request);
  });
  await new Promise<void>((resolve, reject) => {
    dynamo.once('error', reject);
    dynamo.listen(0, '127.0.0.1', () => resolve());
  });
  dynamo.keepAliveTimeout = 60_000;

  // fauxqs is ESM-only; its buildApp lets us bind to loopback and count requests with a hook.
  const { buildApp } = await import('fauxqs');
  await acceptSupplementaryCharacters();
  const sqs = buildApp({ logger: false, defaultRegion: LOCAL_REGION });
  sqs.addHook('onRequest', (request: { raw: IncomingMessage }, _reply: unknown, done: () => void) => {
    counter.record('sqs', request.raw);
    done();
  });
  if (attribution) {
    // After fauxqs has parsed the JSON body (reading it in onRequest would take it from fauxqs).
    sqs.addHook('preHandler', (request: { raw: IncomingMessage; body?: unknown }, _reply: unknown, done: () => void) => {
      const origin = callOriginOf(String(request.raw.headers['user-agent'] ?? ''));
      if (origin) attribution.record('sqs', origin, String(request.raw.headers['x-amz-target'] ?? ''), request.body);
      done();
    });
  }
  const sqsAddress = await sqs.listen({ port: 0, host: '127.0.0.1' });

  const dynamoPort = (dynamo.address() as AddressInfo).port;
  return {
    region: LOCAL_REGION,
    sqsEndpoint: sqsAddress,
    dynamodbEndpoint: `http://127.0.0.1:${dynamoPort}`,
    counter,
    attribution,
    async stop() {
      await sqs.close();
      dynamo.closeAllConnections?.();
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
    },
  };
}

/**
 * Reads the body of a DynamoDB request a function made, beside dynalite: its own 'data' listener is
 * added in the same 'request' event, before any chunk arrives, so both see every chunk.
 */
function attributeDynamoDbRequest(attribution: CallAttribution, request: IncomingMessage): void {
  const origin = callOriginOf(String(request.headers['user-agent'] ?? ''));
  if (!origin) return;
  const target = String(request.headers['x-amz-target'] ?? '');
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.once('end', () => attribution.record('dynamodb', origin, target, Buffer.concat(chunks).toString('utf8')));
}

/**
 * fauxqs 1.9.2 checks message bodies with a regular expression that lacks the `u` flag, so every
 * character above U+FFFF (emoji, which real tickets contain and real SQS accepts: #x10000 to
 * #x10FFFF) is refused as "Invalid characters found". Until that is fixed upstream, recompile its
 * shared pattern with the flag and the missing range. The module is not in the package's exports
 * map, so it is found by path; if the layout changes, the check below says so loudly.
 */
async function acceptSupplementaryCharacters(): Promise<void> {
  const candidates = (require.resolve.paths('fauxqs') ?? []).map((dir) => join(dir, 'fauxqs', 'dist', 'sqs', 'sqsTypes.js'));
  const file = candidates.find((candidate) => existsSync(candidate));
  if (!file) throw new Error('cannot find fauxqs/dist/sqs/sqsTypes.js to let it accept characters above U+FFFF');
  const types = (await import(pathToFileURL(file).href)) as { INVALID_MESSAGE_BODY_CHAR?: RegExp };
  const pattern = types.INVALID_MESSAGE_BODY_CHAR;
  if (!(pattern instanceof RegExp)) throw new Error('fauxqs no longer exports INVALID_MESSAGE_BODY_CHAR; revisit acceptSupplementaryCharacters');
  if (pattern.flags.includes('u')) return;
  // RegExp.prototype.compile replaces the pattern in place, which every importer of it then sees.
  (pattern as RegExp & { compile(source: string, flags: string): RegExp }).compile('[^\\x09\\x0A\\x0D\\x20-\\uD7FF\\uE000-\\uFFFD\\u{10000}-\\u{10FFFF}]', 'u');
}

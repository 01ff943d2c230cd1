import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pick, type Random, seededRandom, seedFromString } from '../../lambda/shared/seeded-random';
import type { InvocationInterceptor, InvocationVerdict } from '../lambda-runtime';
import { type AwsErrorName, type AwsErrorResponse, awsErrorResponse } from './aws-error-responses';
import { rateAt } from '../fault-window';
import { type InfraFaultCounts, type InfraFaultKind, type InfraFaultSpec, zeroInfraFaultCounts } from './infra-fault-spec';

/*
 * The AWS boundary of local mode: a small HTTP proxy on loopback between the bundled processor and
 * the emulators, where the faults the emulators cannot produce are injected (DESIGN.md, "Faults the
 * emulators cannot produce are injected at their boundary"). The bundle does not change: its
 * AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_SQS point here instead of at dynalite and fauxqs.
 * The monitors, the report and pipectl keep talking to the emulators directly, so what is observed
 * is never faulted.
 *
 * One listener ("lane") per execution environment: a request's port says which environment sent it,
 * so `crash` kills the right one and `timeout` stalls the right one, with no header the bundle
 * would have to add. Each lane draws from its own seeded stream (`--seed`), so a run is
 * reproducible as far as the order of one environment's requests is (concurrent records inside an
 * invocation can still interleave differently).
 *
 * Written here rather than taken from an HTTP proxy library: the proxy must parse the AWS JSON
 * protocol's target header, answer in the services' exact error formats, hold requests forever and
 * kill worker threads; a generic proxy would be most of this code plus an adapter.
 *
 * What each fault does, per request of an environment:
 *
 *   ddb-throttle  400 ProvisionedThroughputExceededException or ThrottlingException; not applied
 *   ddb-error     500 InternalServerError; half of them were applied first (AWS: "may or may not
 *                 have succeeded"), so the processor must cope with its own write having landed
 *   ddb-hang      no answer until the environment dies or the pipeline stops; half applied first
 *   ddb-latency   the answer (whatever it is) comes MS later
 *   sqs-error     500 InternalFailure or 403 RequestThrottled; not applied (a SendMessage that
 *                 was applied and then failed would be a duplicate send SQS itself can make, but
 *                 which no runtime can undo; it would hide the defects this is for)
 *
 * and per invocation (drawn when it starts):
 *
 *   crash    the environment dies just before or just after its k-th request (k drawn from
 *            0…2 × records), or, when it makes fewer, just before its response reaches the event
 *            source; the worker thread is terminated, the invocation fails as a whole (nothing
 *            deleted, the batch reappears after its visibility timeout), as a Lambda crash does
 *   timeout  from its k-th request on, every request is held, and its result (if it still returns
 *            one) is discarded: the invocation runs past the function timeout and is killed then
 *
 * A fault with a `/FROM-TO` window injects only while the boundary's fault clock is inside it: a
 * request's faults by when it arrives, an invocation's crash or timeout by when it starts. The
 * clock starts with the boundary, and the pipeline restarts it when it starts polling
 * (`startFaultClock`). Outside its window a fault's rate is 0, but every draw is still made, so
 * the seeded stream of a lane stays the same whatever the windows.
 */

/** Where the proxied requests go: the emulators. */
export interface AwsBoundaryOptions {
  readonly dynamodbEndpoint: string;
  readonly sqsEndpoint: string;
  /** How many lanes (one per execution environment). */
  readonly lanes: number;
  /** Faults, durations already at local mode's time scale. */
  readonly faults: InfraFaultSpec;
  readonly seed: number;
}

/** What the boundary sees of an execution environment. */
export interface CrashableEnvironment {
  /** Kills the environment now; its invocation in flight fails. */
  crash(): void;
  /** Set by the boundary; consulted by the environment around every invocation. */
  interceptor?: InvocationInterceptor;
}

/** The crash or timeout planned for one invocation. */
interface InvocationPlan {
  readonly kind: 'crash' | 'timeout';
  /** Index (0-based) of the request at which it strikes. */
  readonly at: number;
  /** crash only: after the request's answer came back from the emulator (else before it went out). */
  readonly after: boolean;
  fired: boolean;
}

interface Invocation {
  requests: number;
  readonly plan?: InvocationPlan;
}

interface Lane {
  readonly index: number;
  readonly server: Server;
  readonly random: Random;
  environment?: CrashableEnvironment;
  invocation?: Invocation;
  /** Requests that will never be answered (hangs, a timed-out invocation), ended when the environment dies. */
  readonly held: Set<ServerResponse>;
}

/** JSON-protocol target prefixes: which emulator a request is for. */
const TARGET_PREFIX = { DYNAMODB: 'DynamoDB_', SQS: 'AmazonSQS.' } as const;
/**
 * Requests of one invocation at which a crash or a stall may strike, per record of its batch: a
 * record makes at least two (claim, then complete or fail), so every drawn point is one the
 * invocation reaches; a point it does not reach strikes when its result comes back.
 */
const PLAN_REQUESTS_PER_RECORD = 2;

/** The running boundary. */
export class AwsBoundary {
  private readonly injected: InfraFaultCounts = zeroInfraFaultCounts();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private readonly sockets = new Set<Socket>();
  private stopped = false;
  private clockStartedAt = Date.now();

  private constructor(
    private readonly options: AwsBoundaryOptions,
    private readonly lanes: readonly Lane[],
  ) {}

  /** Starts one listener per lane on 127.0.0.1, ports chosen by the OS. */
  static async start(options: AwsBoundaryOptions): Promise<AwsBoundary> {
    const lanes: Lane[] = [];
    let boundary: AwsBoundary | undefined;
    for (let index = 0; index < options.lanes; index += 1) {
      const server = createServer((request, response) => boundary?.handle(lane, request, response));
      const lane: Lane = { index, server, random: seededRandom(seedFromString(`aws-boundary lane ${index}`, options.seed)), held: new Set() };
      lanes.push(lane);
    }
    boundary = new AwsBoundary(options, lanes);
    for (const lane of lanes) {
      lane.server.on('connection', (socket: Socket) => {
        boundary?.sockets.add(socket);
        socket.once('close', () => boundary?.sockets.delete(socket));
      });
      await new Promise<void>((resolve, reject) => {
        lane.server.once('error', reject);
        lane.server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return boundary;
  }

  /** The endpoint URL the environment of lane `index` uses for both DynamoDB and SQS. */
  endpointOf(index: number): string {
    const lane = this.lanes[index];
    if (!lane) throw new RangeError(`no lane ${index}: the boundary has ${this.lanes.length}`);
    return `http://127.0.0.1:${(lane.server.address() as AddressInfo).port}`;
  }

  /** Binds an execution environment to lane `index`: its invocations are planned and may be killed. */
  attach(index: number, environment: CrashableEnvironment): void {
    const lane = this.lanes[index];
    if (!lane) throw new RangeError(`no lane ${index}: the boundary has ${this.lanes.length}`);
    lane.environment = environment;
    environment.interceptor = {
      started: (records) => this.startInvocation(lane, records),
      finishing: () => this.finishInvocation(lane),
      ended: () => this.endInvocation(lane),
    };
  }

  /**
   * Starts the clock the faults' `/FROM-TO` windows count from at `at` (epoch ms); until it is
   * called it runs from when the boundary started. Returns `at`.
   */
  startFaultClock(at: number = Date.now()): number {
    this.clockStartedAt = at;
    return at;
  }

  /** The faults it injects, durations at local mode's time scale. */
  get faults(): InfraFaultSpec {
    return this.options.faults;
  }

  /** When the fault clock started (epoch ms). */
  get faultClockStartedAt(): number {
    return this.clockStartedAt;
  }

  /** Milliseconds on the fault clock. */
  faultClockMs(now: number = Date.now()): number {
    return now - this.clockStartedAt;
  }

  /** Counts a fault injected elsewhere (the poller's redelivery). */
  record(kind: InfraFaultKind, count = 1): void {
    this.injected[kind] += count;
  }

  /** Faults injected so far, by kind. */
  counts(): InfraFaultCounts {
    return { ...this.injected };
  }

  /** Ends every held request and closes the listeners: nothing outlives the pipeline. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const lane of this.lanes) this.release(lane);
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(this.lanes.map((lane) => new Promise<void>((resolve) => lane.server.close(() => resolve()))));
    this.agent.destroy();
  }

  private startInvocation(lane: Lane, records: number): void {
    const { faults } = this.options;
    const elapsedMs = this.faultClockMs();
    const crash = rateAt(faults.crash, elapsedMs);
    const timeout = rateAt(faults.timeout, elapsedMs);
    const draw = lane.random();
    const at = Math.floor(lane.random() * (PLAN_REQUESTS_PER_RECORD * Math.max(1, records) + 1));
    const after = lane.random() < 0.5;
    let plan: InvocationPlan | undefined;
    if (draw < crash) plan = { kind: 'crash', at, after, fired: false };
    else if (draw < crash + timeout) plan = { kind: 'timeout', at, after: false, fired: false };
    lane.invocation = { requests: 0, plan };
  }

  /** The invocation's result came back: deliver it, or die before it reaches the event source, or let the timeout fire. */
  private finishInvocation(lane: Lane): InvocationVerdict {
    const plan = lane.invocation?.plan;
    if (!plan) return 'deliver';
    if (plan.kind === 'timeout') {
      if (!plan.fired) this.fire(plan);
      return 'overrun';
    }
    if (plan.fired) return 'deliver';
    this.fire(plan);
    return 'crash';
  }

  private endInvocation(lane: Lane): void {
    lane.invocation = undefined;
    // The environment is done with (or dead with) these: a hung request must not outlive it.
    this.release(lane);
  }

  private fire(plan: InvocationPlan): void {
    plan.fired = true;
    this.injected[plan.kind] += 1;
  }

  private release(lane: Lane): void {
    for (const response of lane.held) response.destroy();
    lane.held.clear();
  }

  private crash(lane: Lane, response: ServerResponse): void {
    response.destroy();
    lane.environment?.crash();
  }

  private hold(lane: Lane, response: ServerResponse): void {
    if (this.stopped) {
      response.destroy();
      return;
    }
    lane.held.add(response);
    response.once('close', () => lane.held.delete(response));
  }

  private async handle(lane: Lane, request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      const body = await readBody(request);
      const target = String(request.headers['x-amz-target'] ?? '');
      const service = target.startsWith(TARGET_PREFIX.DYNAMODB) ? 'dynamodb' : target.startsWith(TARGET_PREFIX.SQS) ? 'sqs' : undefined;
      if (!service) {
        send(response, { status: 400, headers: { 'content-type': 'text/plain' }, body: `no AWS JSON-protocol target: ${target}` });
        return;
      }
      const upstream = service === 'dynamodb' ? this.options.dynamodbEndpoint : this.options.sqsEndpoint;
      const forward = () => this.forward(upstream, request, body);
      const invocation = lane.invocation;
      const nth = invocation ? invocation.requests++ : -1;
      const plan = invocation?.plan;

      if (plan?.kind === 'crash' && !plan.fired && nth === plan.at) {
        this.fire(plan);
        if (plan.after) await forward();
        this.crash(lane, response);
        return;
      }
      if (plan?.kind === 'timeout' && nth >= plan.at) {
        if (!plan.fired) this.fire(plan);
        this.hold(lane, response);
        return;
      }

      const { faults } = this.options;
      const elapsedMs = this.faultClockMs();
      const random = lane.random;
      const draw = random();
      const applied = random() < 0.5;
      const variant = random();
      const delayMs = service === 'dynamodb' && faults.ddbLatency && random() < rateAt(faults.ddbLatency, elapsedMs) ? faults.ddbLatency.ms : 0;
      if (delayMs > 0) this.injected['ddb-latency'] += 1;
      let answer: AwsErrorResponse | 'hang' | undefined;
      if (service === 'dynamodb') {
        const throttle = rateAt(faults.ddbThrottle, elapsedMs);
        const error = throttle + rateAt(faults.ddbError, elapsedMs);
        const hang = error + rateAt(faults.ddbHang, elapsedMs);
        if (draw < throttle) {
          this.injected['ddb-throttle'] += 1;
          answer = awsErrorResponse(pick<AwsErrorName>(() => variant, ['DDB_PROVISIONED_THROUGHPUT_EXCEEDED', 'DDB_THROTTLING']));
        } else if (draw < error) {
          this.injected['ddb-error'] += 1;
          if (applied) await forward();
          answer = awsErrorResponse('DDB_INTERNAL_SERVER_ERROR');
        } else if (draw < hang) {
          this.injected['ddb-hang'] += 1;
          if (applied) await forward();
          answer = 'hang';
        }
      } else if (draw < rateAt(faults.sqsError, elapsedMs)) {
        this.injected['sqs-error'] += 1;
        answer = awsErrorResponse(variant < 0.5 ? 'SQS_INTERNAL_FAILURE' : 'SQS_REQUEST_THROTTLED');
      }
      if (answer === 'hang') {
        this.hold(lane, response);
        return;
      }
      const result = answer ?? (await forward());
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      send(response, result);
    } catch {
      // The emulator went away (the pipeline is stopping) or the client hung up: nothing to answer.
      response.destroy();
    }
  }

  /** Sends the request on to the emulator, byte for byte, and reads its whole answer. */
  private forward(endpoint: string, request: IncomingMessage, body: Buffer): Promise<AwsErrorResponse> {
    const url = new URL(request.url ?? '/', endpoint);
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(url, { method: request.method, headers: request.headers, agent: this.agent }, (incoming) => {
        readBody(incoming).then((answer) => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(incoming.headers)) {
            if (value !== undefined && name !== 'connection' && name !== 'keep-alive' && name !== 'transfer-encoding') headers[name] = String(value);
          }
          headers['content-length'] = String(answer.length);
          resolve({ status: incoming.statusCode ?? 502, headers, body: answer.toString('utf8') });
        }, reject);
      });
      outgoing.once('error', reject);
      outgoing.end(body);
    });
  }
}

function send(response: ServerResponse, answer: AwsErrorResponse): void {
  if (response.destroyed) return;
  response.writeHead(answer.status, answer.headers);
  response.end(answer.body);
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PROJECT_ROOT } from '../lib/project-root';

const WORKER_SCRIPT = join(PROJECT_ROOT, 'local', 'lambda-worker.cjs');
/** The line that ends an invocation's log, as on Lambda. */
const END_PREFIX = 'END RequestId: ';

export interface FunctionSpec {
  readonly functionName: string;
  /** Absolute path of the bundled handler file: the artifact `cdk deploy` uploads. */
  readonly bundlePath: string;
  readonly handlerExport: string;
  readonly timeoutMs: number;
  readonly memoryMb: number;
  readonly environment: Readonly<Record<string, string>>;
  readonly region: string;
  /**
   * `thread` (default): a worker thread, cheap to start, what local mode uses. `process`: a child
   * process, so the benchmark can read one environment's own CPU time and peak RSS.
   */
  readonly isolation?: 'thread' | 'process';
  /** Extra Node options of a `process` environment, e.g. `--cpu-prof` for the benchmark's profile. */
  readonly execArgv?: readonly string[];
}

/** What an invocation cost, in `process` isolation only. */
export interface InvocationUsage {
  readonly cpuMicros: number;
  readonly maxRssKb: number;
}

/** A worker thread or a child process, seen through the few calls this module makes. */
interface Runner {
  readonly stdout: Readable;
  readonly stderr: Readable;
  postMessage(message: unknown): void;
  // biome-ignore lint/suspicious/noExplicitAny: worker_threads and child_process both type message payloads as any.
  on(event: 'message', listener: (message: any) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  on(event: 'exit', listener: () => void): void;
  terminate(): Promise<unknown>;
  /** Asks the environment to exit normally (child process only); falls back to terminate. */
  exit?(): Promise<unknown>;
}

export type InvokeResult =
  | { readonly kind: 'ok'; readonly result: unknown; readonly durationMs: number; readonly usage?: InvocationUsage }
  | { readonly kind: 'error'; readonly error: { name: string; message: string }; readonly durationMs: number; readonly usage?: InvocationUsage }
  /** The invocation ran past the function timeout: the environment was killed, as Lambda does. */
  | { readonly kind: 'timeout'; readonly durationMs: number };

/** What happens to an invocation's result: returned, lost with the environment, or kept past the timeout. */
export type InvocationVerdict = 'deliver' | 'crash' | 'overrun';

/**
 * A fault injector's view of an environment's invocations (local/aws-boundary/aws-boundary.ts):
 * told when one starts and ends, and asked what becomes of its result. Without one, every result
 * is delivered.
 */
export interface InvocationInterceptor {
  /** An invocation of a batch of `records` starts. */
  started(records: number): void;
  /** The handler returned (or threw): deliver that, crash before it reaches the caller, or overrun the timeout. */
  finishing(): InvocationVerdict;
  /** The invocation is over, however it ended. */
  ended(): void;
}

/**
 * One Lambda execution environment: a worker thread (or child process) with its own module
 * instance, environment variables and stdout. It runs one invocation at a time; a timed-out invocation kills it and the
 * next invocation gets a fresh one (a new cold start), as on Lambda.
 */
export class ExecutionEnvironment {
  private worker?: Runner;
  private starting?: Promise<Runner>;
  private readonly pending = new Map<string, (result: InvokeResult, fromHandler: boolean) => void>();
  /** Invocations whose result arrived before their END log line (see lambda-worker.cjs). */
  private readonly awaitingEnd = new Map<string, InvokeResult>();
  private readonly endSeen = new Set<string>();
  /** Cold-start (module init) durations of every worker this environment started. */
  readonly initDurationsMs: number[] = [];
  coldStarts = 0;
  /** Set by a fault injector (local mode's AWS boundary); none in a run without infrastructure faults. */
  interceptor?: InvocationInterceptor;

  constructor(
    private readonly spec: FunctionSpec,
    private readonly onLogLine: (line: string) => void,
  ) {}

  async invoke(event: unknown): Promise<InvokeResult> {
    const started = Date.now();
    let worker: Runner;
    try {
      worker = await this.ensureWorker();
    } catch (error) {
      // As Lambda reports a function that cannot initialise: the invocation fails (and is retried
      // or redriven like any failed one); it does not take the event source down with it.
      return {
        kind: 'error',
        error: { name: 'Runtime.InitError', message: error instanceof Error ? error.message : String(error) },
        durationMs: Date.now() - started,
      };
    }
    const id = randomUUID();
    const deadline = started + this.spec.timeoutMs;
    const interceptor = this.interceptor;
    interceptor?.started(recordsOf(event));
    return new Promise<InvokeResult>((resolve) => {
      const finish = (result: InvokeResult) => {
        clearTimeout(timer);
        interceptor?.ended();
        resolve(result);
      };
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.awaitingEnd.delete(id);
        this.endSeen.delete(id);
        void this.kill();
        finish({ kind: 'timeout', durationMs: Date.now() - started });
      }, this.spec.timeoutMs + 50);
      this.pending.set(id, (result, fromHandler) => {
        const verdict = fromHandler ? (interceptor?.finishing() ?? 'deliver') : 'deliver';
        // 'overrun': the result is dropped and the timer above kills the environment at the timeout.
        if (verdict === 'overrun') return;
        if (verdict === 'crash') {
          // The environment dies after the handler's last side effect, before Lambda reads its response.
          void this.kill();
          finish({
            kind: 'error',
            error: { name: 'Runtime.ExitError', message: 'the execution environment was killed (crash fault)' },
            durationMs: Date.now() - started,
          });
          return;
        }
        finish(result);
      });
      worker.postMessage({ type: 'invoke', id, event, deadline, requestId: id });
    });
  }

  /** Kills the environment now, as a crash would (the crash fault); an invocation in flight fails. */
  crash(): void {
    void this.kill();
  }

  /** Stops the environment; between invocations a child process exits normally (profiles get written). */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (worker?.exit && this.pending.size === 0) {
      this.worker = undefined;
      this.starting = undefined;
      await worker.exit();
      return;
    }
    await this.kill();
  }

  private async kill(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.starting = undefined;
    if (worker) await worker.terminate();
  }

  private ensureWorker(): Promise<Runner> {
    if (this.worker) return Promise.resolve(this.worker);
    this.starting ??= this.startWorker();
    return this.starting;
  }

  private spawn(): Runner {
    const workerData = {
      bundlePath: this.spec.bundlePath,
      handlerExport: this.spec.handlerExport,
      functionName: this.spec.functionName,
      memoryMb: this.spec.memoryMb,
      region: this.spec.region,
    };
    // Roughly the function's memory setting: a runaway handler fails here as it would on Lambda.
    const heapMb = Math.max(128, this.spec.memoryMb);
    if (this.spec.isolation === 'process') {
      const child: ChildProcess = fork(WORKER_SCRIPT, [], {
        env: { ...this.spec.environment, LOCAL_LAMBDA_WORKER_DATA: JSON.stringify(workerData) },
        execArgv: [`--max-old-space-size=${heapMb}`, ...(this.spec.execArgv ?? [])],
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        serialization: 'advanced',
      });
      return {
        stdout: child.stdout as Readable,
        stderr: child.stderr as Readable,
        postMessage: (message) => child.send(message as object),
        // biome-ignore lint/suspicious/noExplicitAny: child_process's listener signature takes any[].
        on: (event: string, listener: (...args: any[]) => void) => child.on(event, listener),
        terminate: () =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
        exit: () =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null || !child.connected) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.send({ type: 'exit' });
          }),
      };
    }
    return new Worker(WORKER_SCRIPT, {
      workerData,
      // Only what the function is configured with, plus what the Lambda runtime itself sets: a local
      // AWS_PROFILE or proxy setting must not leak into the function.
      env: { ...this.spec.environment },
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
    });
  }

  private startWorker(): Promise<Runner> {
    this.coldStarts += 1;
    const worker = this.spawn();
    createInterface({ input: worker.stdout }).on('line', (line) => {
      this.onLogLine(line);
      if (line.startsWith(END_PREFIX)) this.onEnd(line.slice(END_PREFIX.length).trim());
    });
    createInterface({ input: worker.stderr }).on('line', this.onLogLine);
    return new Promise<Runner>((resolve, reject) => {
      worker.on('message', (message: { type: string; id?: string; initMs?: number; error?: { message: string } } & Record<string, unknown>) => {
        if (message.type === 'ready') {
          this.initDurationsMs.push(message.initMs ?? 0);
          this.worker = worker;
          resolve(worker);
        } else if (message.type === 'init-error') {
          reject(new Error(`the handler failed to initialise: ${message.error?.message}`));
        } else if (message.type === 'result' && message.id) {
          const usage = typeof message.cpuMicros === 'number' ? { cpuMicros: message.cpuMicros, maxRssKb: Number(message.maxRssKb) } : undefined;
          const result: InvokeResult = message.ok
            ? { kind: 'ok', result: message.result, durationMs: Number(message.durationMs), usage }
            : { kind: 'error', error: message.error as { name: string; message: string }, durationMs: Number(message.durationMs), usage };
          if (this.endSeen.delete(message.id)) this.settle(message.id, result);
          else this.awaitingEnd.set(message.id, result);
        }
      });
      worker.on('error', (error) => {
        reject(error);
        this.failPending(`the execution environment crashed: ${error.message}`);
      });
      worker.on('exit', () => {
        if (this.worker === worker) this.worker = undefined;
        this.starting = undefined;
        this.failPending('the execution environment exited');
      });
    });
  }

  /** The END line of an invocation: all its log lines are in; settle it if its result is too. */
  private onEnd(id: string): void {
    const result = this.awaitingEnd.get(id);
    if (result) {
      this.awaitingEnd.delete(id);
      this.settle(id, result);
    } else if (this.pending.has(id)) this.endSeen.add(id);
  }

  private settle(id: string, result: InvokeResult): void {
    const settle = this.pending.get(id);
    this.pending.delete(id);
    settle?.(result, true);
  }

  private failPending(message: string): void {
    this.awaitingEnd.clear();
    this.endSeen.clear();
    for (const [id, settle] of this.pending) {
      this.pending.delete(id);
      settle({ kind: 'error', error: { name: 'Runtime.ExitError', message }, durationMs: 0 }, false);
    }
  }
}

/** How many records an SQS event carries (1 for any other event). */
function recordsOf(event: unknown): number {
  const records = (event as { Records?: unknown } | null)?.Records;
  return Array.isArray(records) ? records.length : 1;
}

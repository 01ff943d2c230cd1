/**
 * `npm run bench`: the cost and speed of this pipeline's reliability, side by side with a handler
 * built only from Powertools (bench/baseline/powertools-handler.ts), in ONE run, on the same kind
 * of emulators, with the same workload and the same model simulator. A benchmark, not a test:
 * nothing here fails on a slow machine; it prints tables and writes bench/results.json.
 *
 *   npm run bench                              # ~12 min on 2 cores
 *   npm run bench -- --quick                   # 2,000 messages, scales 1k/2k: a few minutes
 *
 * Bounded: every run sends a fixed number of messages to loopback and waits at most 10 minutes
 * for its queue to drain.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { generateTickets } from '../local/workload-generator/ticket-generator';
import { restyledJson } from '../local/workload-generator/ticket-workload';
import { ENV } from '../lambda/contract';
import type { InvocationReport } from '../local/event-source-poller';
import { startLocalPipeline } from '../local/local-pipeline';
import { parseFaultSpec } from '../local/model-simulator/fault-spec';
import { buildReport } from '../local/report';
import { drainQueue, sendBodies } from '../local/run-local';
import { synthesizeLocalStack, type LocalStackModel } from '../local/stack-model';
import { startBaselinePipeline } from './baseline-pipeline';
import { type BenchTarget, pipelineTarget } from './bench-target';
import { bundleBaseline, bundleFigures, coldInitMs, median } from './bundles';
import { measureStartup, startupTable } from './cli-startup';
import { BENCH_TIME_SCALE, profileVariant } from './profile-variant';
import { buildCli } from '../scripts/build-cli';
import { PRICES } from './prices';
import { formatVerdicts, judgeTargets, targetInputsOf } from './targets';

const TIME_SCALE = BENCH_TIME_SCALE;
const SEED = 42;

const program = new Command()
  .option('--messages <n>', 'messages per scenario (20% of them duplicates)', (value) => Number.parseInt(value, 10), 10_000)
  .option('--scales <list>', 'message counts for the cost-growth runs', '1000,10000,50000')
  .option('--cold-samples <n>', 'fresh processes per cold-init median', (value) => Number.parseInt(value, 10), 7)
  .option('--quick', 'a smaller run: 2,000 messages, scales 1000,2000')
  .option('--out <file>', 'where to write the JSON results', join(__dirname, 'results.json'))
  .parse();
const options = program.opts<{ messages: number; scales: string; coldSamples: number; quick?: boolean; out: string }>();
if (options.quick) {
  options.messages = 2000;
  options.scales = '1000,2000';
}

type Variant = 'pipeline' | 'baseline';

interface Usage {
  invocations: number;
  cpuMicros: number;
  durationMs: number;
  /** Peak RSS per invocation, in order, for the memory-flatness check. */
  rssKb: number[];
}

interface PhaseFigures {
  readonly messages: number;
  readonly dynamodbWrites: number;
  readonly dynamodbReads: number;
  readonly sqsRequests: number;
  readonly modelCalls: number;
}

interface ScenarioResult {
  readonly variant: Variant;
  readonly profile: string;
  readonly messages: number;
  readonly unique: number;
  readonly seconds: number;
  readonly messagesPerSecond: number;
  readonly cpuMsPerMessage: number;
  readonly lambdaMsPerMessage: number;
  readonly invocationsPerMessage: number;
  readonly peakRssMb: number;
  /** Peak RSS over the first and the last quarter of invocations: memory is flat when they match. */
  readonly rssFirstQuarterMb: number;
  readonly rssLastQuarterMb: number;
  readonly fresh: PhaseFigures;
  readonly duplicate: PhaseFigures;
  readonly sqsRequestsPerMessage: number;
  readonly modelCallsPerUniqueKey: number;
  readonly maxInFlightModelCalls: number;
  readonly inFlightBound: number | null;
  readonly logBytesPerMessage: number;
  /** The part of those bytes that is EMF metric documents (what the alarms read), not log lines. */
  readonly emfBytesPerMessage: number;
  readonly outcome: string;
  /** Log bytes per message by kind: EMF documents, record lines of duplicate skips, other record lines, batch lines, the rest. */
  readonly logBytesByKind: Readonly<Record<LogKind, number>>;
  /** A run made of two halves (the zero-latency pair): each half's own figures. */
  readonly halves?: ReadonlyArray<{ messages: number; seconds: number; cpuMsPerMessage: number; lambdaMsPerMessage: number }>;
}

/** `unique` distinct tickets, then `duplicates` re-sends of the first ones (half restyled). */
function workload(messages: number, seed: number): { fresh: string[]; duplicates: string[] } {
  const duplicates = Math.round(messages * 0.2);
  const tickets = generateTickets(messages - duplicates, seed);
  const fresh = tickets.map((ticket) => JSON.stringify({ task: 'ticket-triage', input: ticket.input }));
  const resends = tickets
    .slice(0, duplicates)
    .map((ticket, index) =>
      index % 2 === 0 ? JSON.stringify({ task: 'ticket-triage', input: ticket.input }) : restyledJson({ input: ticket.input, task: 'ticket-triage' }),
    );
  return { fresh, duplicates: resends };
}

async function drain(target: BenchTarget, timeoutMs = 600_000): Promise<void> {
  if (!(await drainQueue(target.sqs, target.inputQueueUrl, target.poller, timeoutMs))) {
    throw new Error(`${target.name}: the input queue did not drain within ${timeoutMs / 1000} s`);
  }
}

async function phase(target: BenchTarget, bodies: readonly string[]): Promise<{ seconds: number; figures: PhaseFigures }> {
  target.counter.reset();
  const requestsBefore = target.simulator.stats().requests;
  const started = process.hrtime.bigint();
  await sendBodies(target.sqs, target.inputQueueUrl, bodies);
  await drain(target);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const calls = target.counter.totals();
  return {
    seconds,
    figures: {
      messages: bodies.length,
      dynamodbWrites: calls['dynamodb.write'],
      dynamodbReads: calls['dynamodb.read'],
      sqsRequests: calls.sqs,
      modelCalls: target.simulator.stats().requests - requestsBefore,
    },
  };
}

function newUsage(): Usage {
  return { invocations: 0, cpuMicros: 0, durationMs: 0, rssKb: [] };
}

function track(usage: Usage): (report: InvocationReport) => void {
  return (report) => {
    usage.invocations += 1;
    usage.durationMs += report.durationMs;
    if (report.usage) {
      usage.cpuMicros += report.usage.cpuMicros;
      usage.rssKb.push(report.usage.maxRssKb);
    }
  };
}

async function scenario(
  variant: Variant,
  stack: LocalStackModel,
  baselineBundle: string,
  profile: string,
  messages: number,
  seed: number,
): Promise<ScenarioResult> {
  const usage = newUsage();
  const { fresh, duplicates } = workload(messages, seed);
  const logDir = mkdtempSync(join(tmpdir(), `bench-${variant}-`));
  const logFile = join(logDir, 'log.jsonl');
  let target: BenchTarget;
  let outcome = 'n/a';
  let inFlightBound: number | null = null;
  let finish: () => Promise<void>;
  if (variant === 'pipeline') {
    const pipeline = await startLocalPipeline({
      stack,
      timeScale: TIME_SCALE,
      isolation: 'process',
      faults: profile,
      monitors: false,
      logFile,
      onInvocation: track(usage),
    });
    target = pipelineTarget(pipeline);
    inFlightBound = Number(pipeline.processorEnvironment[ENV.RECORD_CONCURRENCY]) * stack.eventSource.maxConcurrency;
    finish = async () => {
      await pipeline.poller.stop();
      const report = await buildReport(pipeline, [...fresh, ...duplicates], 0, usage.invocations);
      outcome = report.invariantHolds
        ? `invariant holds: ${report.unique} unique = ${report.completed} completed + ${report.deadLettered} dead-lettered + ${report.inReview} in review`
        : `INVARIANT BROKEN: ${report.invariantViolations.join('; ')}`;
    };
  } else {
    const baseline = await startBaselinePipeline({
      stack,
      bundlePath: baselineBundle,
      faults: parseFaultSpec(profile),
      timeScale: TIME_SCALE,
      seed: SEED,
      onInvocation: track(usage),
      logFile,
    });
    target = baseline;
    // BatchProcessor runs every record of a batch at once: the batch size is its only bound.
    inFlightBound = stack.eventSource.batchSize * stack.eventSource.maxConcurrency;
    finish = async () => {
      // Distinct inputs, not bodies: a generated workload can hold the same ticket twice (2026-12-03's second half: 4,000 bodies, 3,999 inputs).
      outcome = await baseline.outcome(new Set(fresh).size);
    };
  }
  let measured: Omit<ScenarioResult, 'logBytesPerMessage' | 'emfBytesPerMessage' | 'logBytesByKind'>;
  try {
    const first = await phase(target, fresh);
    const second = await phase(target, duplicates);
    const stats = target.simulator.stats();
    await finish();
    const seconds = first.seconds + second.seconds;
    const quarter = Math.max(1, Math.floor(usage.rssKb.length / 4));
    measured = {
      variant,
      profile,
      messages,
      unique: fresh.length,
      seconds,
      messagesPerSecond: messages / seconds,
      cpuMsPerMessage: usage.cpuMicros / 1000 / messages,
      lambdaMsPerMessage: usage.durationMs / messages,
      invocationsPerMessage: usage.invocations / messages,
      peakRssMb: Math.max(...usage.rssKb) / 1024,
      rssFirstQuarterMb: Math.max(...usage.rssKb.slice(0, quarter)) / 1024,
      rssLastQuarterMb: Math.max(...usage.rssKb.slice(-quarter)) / 1024,
      fresh: first.figures,
      duplicate: second.figures,
      sqsRequestsPerMessage: (first.figures.sqsRequests + second.figures.sqsRequests) / messages,
      modelCallsPerUniqueKey: stats.requests / fresh.length,
      maxInFlightModelCalls: stats.maxInFlight,
      inFlightBound,
      outcome,
    };
  } finally {
    await target.stop();
  }
  // After stop: the log file is flushed and closed.
  const logBytes = statSync(logFile).size;
  const kinds = logBytesByKind(readFileSync(logFile, 'utf8'));
  rmSync(logDir, { recursive: true, force: true });
  const perMessage = Object.fromEntries(Object.entries(kinds).map(([kind, bytes]) => [kind, bytes / messages])) as Record<LogKind, number>;
  return { ...measured, logBytesPerMessage: logBytes / messages, emfBytesPerMessage: perMessage.emf, logBytesByKind: perMessage };
}

type LogKind = 'emf' | 'duplicateRecords' | 'otherRecords' | 'batch' | 'other';

/** A log file's bytes by kind of line (the processor's `record` lines by outcome). */
function logBytesByKind(text: string): Record<LogKind, number> {
  const bytes: Record<LogKind, number> = { emf: 0, duplicateRecords: 0, otherRecords: 0, batch: 0, other: 0 };
  for (const line of text.split('\n')) {
    if (!line) continue;
    const size = Buffer.byteLength(line) + 1;
    if (line.startsWith('{"_aws"')) bytes.emf += size;
    else if (line.includes('"message":"record"')) bytes[line.includes('"outcome":"duplicate"') ? 'duplicateRecords' : 'otherRecords'] += size;
    else if (line.includes('"message":"batch"')) bytes.batch += size;
    else bytes.other += size;
  }
  return bytes;
}

/** Two runs of one variant as one: counts summed, per-message figures weighted by messages, peaks as maxima. */
function mergeHalves([a, b]: ScenarioResult[]): ScenarioResult {
  if (!a || !b) throw new Error('mergeHalves needs two runs');
  const messages = a.messages + b.messages;
  const weighted = (
    key: 'cpuMsPerMessage' | 'lambdaMsPerMessage' | 'invocationsPerMessage' | 'sqsRequestsPerMessage' | 'logBytesPerMessage' | 'emfBytesPerMessage',
  ) => (a[key] * a.messages + b[key] * b.messages) / messages;
  const sum = (x: PhaseFigures, y: PhaseFigures): PhaseFigures => ({
    messages: x.messages + y.messages,
    dynamodbWrites: x.dynamodbWrites + y.dynamodbWrites,
    dynamodbReads: x.dynamodbReads + y.dynamodbReads,
    sqsRequests: x.sqsRequests + y.sqsRequests,
    modelCalls: x.modelCalls + y.modelCalls,
  });
  const seconds = a.seconds + b.seconds;
  return {
    variant: a.variant,
    profile: a.profile,
    messages,
    unique: a.unique + b.unique,
    seconds,
    messagesPerSecond: messages / seconds,
    cpuMsPerMessage: weighted('cpuMsPerMessage'),
    lambdaMsPerMessage: weighted('lambdaMsPerMessage'),
    invocationsPerMessage: weighted('invocationsPerMessage'),
    peakRssMb: Math.max(a.peakRssMb, b.peakRssMb),
    rssFirstQuarterMb: Math.max(a.rssFirstQuarterMb, b.rssFirstQuarterMb),
    rssLastQuarterMb: Math.max(a.rssLastQuarterMb, b.rssLastQuarterMb),
    fresh: sum(a.fresh, b.fresh),
    duplicate: sum(a.duplicate, b.duplicate),
    sqsRequestsPerMessage: weighted('sqsRequestsPerMessage'),
    modelCallsPerUniqueKey: (a.modelCallsPerUniqueKey * a.unique + b.modelCallsPerUniqueKey * b.unique) / (a.unique + b.unique),
    maxInFlightModelCalls: Math.max(a.maxInFlightModelCalls, b.maxInFlightModelCalls),
    inFlightBound: a.inFlightBound,
    logBytesPerMessage: weighted('logBytesPerMessage'),
    emfBytesPerMessage: weighted('emfBytesPerMessage'),
    logBytesByKind: Object.fromEntries(
      Object.keys(a.logBytesByKind).map((kind) => [
        kind,
        (a.logBytesByKind[kind as LogKind] * a.messages + b.logBytesByKind[kind as LogKind] * b.messages) / messages,
      ]),
    ) as Record<LogKind, number>,
    outcome: `${a.outcome}; ${b.outcome}`,
    halves: [a, b].map((run) => ({
      messages: run.messages,
      seconds: run.seconds,
      cpuMsPerMessage: run.cpuMsPerMessage,
      lambdaMsPerMessage: run.lambdaMsPerMessage,
    })),
  };
}

/** Per-message cost in USD at list prices (bench/prices.ts), from one scenario's measured figures. */
function costPerMessage(result: ScenarioResult, memoryMb: number) {
  const perMessage = (figures: PhaseFigures, key: keyof PhaseFigures) => figures[key] / figures.messages;
  const share = (fresh: number, duplicate: number) => (fresh * result.fresh.messages + duplicate * result.duplicate.messages) / result.messages;
  const writes = share(perMessage(result.fresh, 'dynamodbWrites'), perMessage(result.duplicate, 'dynamodbWrites'));
  const reads = share(perMessage(result.fresh, 'dynamodbReads'), perMessage(result.duplicate, 'dynamodbReads'));
  // The producer's SendMessageBatch (one request per ten messages) plus the pipeline's own requests.
  const sqsRequests = 0.1 + result.sqsRequestsPerMessage;
  const lambda = (result.lambdaMsPerMessage / 1000) * (memoryMb / 1024) * PRICES.lambdaArmPerGbSecond + result.invocationsPerMessage * PRICES.lambdaPerRequest;
  const sqs = sqsRequests * PRICES.sqsPerRequest;
  const dynamodb = writes * PRICES.dynamodbPerWriteUnit + reads * PRICES.dynamodbPerReadUnit;
  const cloudwatch = (result.logBytesPerMessage / 1024 ** 3) * PRICES.cloudwatchLogsPerGb;
  return { lambda, sqs, dynamodb, cloudwatch, total: lambda + sqs + dynamodb + cloudwatch, inputs: { writes, reads, sqsRequests } };
}

/**
 * The same steps as a Step Functions standard workflow, per message: start, validate, claim
 * (DynamoDB integration), invoke model, validate, complete (DynamoDB integration) — six state
 * transitions — with the same DynamoDB and SQS requests as this pipeline and no Lambda.
 */
function stepFunctionsCostPerMessage(pipelineCost: ReturnType<typeof costPerMessage>) {
  const transitions = 6;
  return { transitions, total: transitions * PRICES.stepFunctionsPerTransition + pipelineCost.dynamodb + pipelineCost.sqs + pipelineCost.cloudwatch };
}

const pad = (value: string, width: number) => value.padStart(width);
const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}\n`);
  log('synthesizing the stack and bundling the baseline');
  const stack = synthesizeLocalStack();
  const baselineBundle = bundleBaseline();

  const results: ScenarioResult[] = [];
  // The zero-latency pair, which the targets compare, runs in halves in the order pipeline,
  // baseline, baseline, pipeline: a machine whose load rises or falls during the run (it is shared)
  // weighs on both variants alike. The brownout pair, whose target is the in-flight bound, runs once each.
  const halves: Record<Variant, ScenarioResult[]> = { pipeline: [], baseline: [] };
  const half = Math.round(options.messages / 2);
  for (const [variant, seed] of [
    ['pipeline', 1],
    ['baseline', 1],
    ['baseline', 2],
    ['pipeline', 2],
  ] as const) {
    log(`${variant}, zero-latency, ${half} messages (half ${seed} of 2)`);
    const result = await scenario(variant, stack, baselineBundle, 'zero-latency', half, seed);
    log(`  ${fixed(result.messagesPerSecond, 0)} msg/s, ${fixed(result.cpuMsPerMessage, 3)} CPU ms/msg — ${result.outcome}`);
    halves[variant].push(result);
  }
  results.push(mergeHalves(halves.pipeline), mergeHalves(halves.baseline));
  for (const variant of ['pipeline', 'baseline'] as const) {
    log(`${variant}, brownout, ${options.messages} messages`);
    const result = await scenario(variant, stack, baselineBundle, 'brownout', options.messages, 1);
    log(`  ${fixed(result.messagesPerSecond, 0)} msg/s, ${fixed(result.cpuMsPerMessage, 3)} CPU ms/msg — ${result.outcome}`);
    results.push(result);
  }

  const scales = options.scales.split(',').map((value) => Number.parseInt(value, 10));
  const growth: Array<{ variant: Variant; messages: number; costPerMillion: number; messagesPerSecond: number }> = [];
  for (const messages of scales) {
    for (const variant of ['pipeline', 'baseline'] as const) {
      const existing = results.find((result) => result.variant === variant && result.profile === 'zero-latency' && result.messages === messages);
      log(`cost growth: ${variant}, ${messages} messages${existing ? ' (reusing the scenario run)' : ''}`);
      const result = existing ?? (await scenario(variant, stack, baselineBundle, 'zero-latency', messages, 7));
      growth.push({
        variant,
        messages,
        costPerMillion: costPerMessage(result, stack.processor.memoryMb).total * 1e6,
        messagesPerSecond: result.messagesPerSecond,
      });
    }
  }

  log('bundles and cold init');
  const pipelineEnvironment = await (async () => {
    const pipeline = await startLocalPipeline({ stack, autoStart: false, monitors: false });
    const environment = { ...pipeline.processorEnvironment };
    await pipeline.stop();
    return environment;
  })();
  const baselineEnvironment = {
    IDEMPOTENCY_TABLE_NAME: 'baseline-idempotency',
    MODEL_BASE_URL: 'http://127.0.0.1:9/v1',
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  // Alternated sample by sample, so the machine's load falls on both alike.
  const coldSamples = { pipeline: [] as number[], baseline: [] as number[] };
  for (let i = 0; i < options.coldSamples; i += 1) {
    coldSamples.pipeline.push(...coldInitMs(stack.processor.bundlePath, pipelineEnvironment, 1).samplesMs);
    coldSamples.baseline.push(...coldInitMs(baselineBundle, baselineEnvironment, 1).samplesMs);
  }
  const bundles = {
    pipeline: { ...bundleFigures(stack.processor.bundlePath), coldInit: { medianMs: median(coldSamples.pipeline), samplesMs: coldSamples.pipeline } },
    baseline: { ...bundleFigures(baselineBundle), coldInit: { medianMs: median(coldSamples.baseline), samplesMs: coldSamples.baseline } },
  };

  log('CPU profiles of the processor and of the baseline (2,000 messages each, the same workload)');
  const profileWorkload = workload(2000, 3);
  const profileBodies = [...profileWorkload.fresh, ...profileWorkload.duplicates];
  const profile = (await profileVariant('pipeline', { stack, baselineBundle, bodies: profileBodies, seed: 3 })).summary;
  const baselineProfile = (await profileVariant('baseline', { stack, baselineBundle, bodies: profileBodies, seed: 3 })).summary;

  log('CLI start-up: npx pipectl --help against npx --no-install tsc --version');
  // The prebuilt CLI bundle, as `npm ci` leaves it: with a source newer than the bundle the launcher
  // runs the source through tsx (bin/pipectl.js), which would time an edit, not the CLI users get.
  await buildCli();
  const cliStartup = measureStartup(join(__dirname, '..'), 11);

  const memoryMb = stack.processor.memoryMb;
  const at = (variant: Variant, profileName: string) =>
    results.find((result) => result.variant === variant && result.profile === profileName) as ScenarioResult;
  const ours = at('pipeline', 'zero-latency');
  const theirs = at('baseline', 'zero-latency');
  const oursCost = costPerMessage(ours, memoryMb);
  const theirsCost = costPerMessage(theirs, memoryMb);
  const sfnCost = stepFunctionsCostPerMessage(oursCost);

  const output = {
    benchmark: 'pipeline-vs-powertools-baseline',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    settings: {
      messages: options.messages,
      duplicates: 0.2,
      timeScale: TIME_SCALE,
      memoryMb,
      batchSize: stack.eventSource.batchSize,
      maxConcurrency: stack.eventSource.maxConcurrency,
      isolation: 'child process per execution environment',
    },
    results,
    bundles,
    cost: {
      prices: PRICES,
      perMillion: {
        pipeline: scaleCost(oursCost),
        baseline: scaleCost(theirsCost),
        stepFunctionsStandard: { transitions: sfnCost.transitions, total: sfnCost.total * 1e6 },
      },
    },
    growth,
    cpuProfile: { ...profile, baselineByArea: baselineProfile.byArea, baselineTotalMs: baselineProfile.totalMs },
    cliStartup,
    durationSeconds: (Date.now() - started) / 1000,
  };
  const targets = judgeTargets(targetInputsOf(output));
  writeFileSync(options.out, `${JSON.stringify({ ...output, targets }, null, 2)}\n`);

  const rows: Array<[string, (result: ScenarioResult) => string]> = [
    ['messages/s end to end', (result) => fixed(result.messagesPerSecond, 0)],
    ['handler CPU ms per message', (result) => fixed(result.cpuMsPerMessage, 3)],
    ['Lambda duration ms per message', (result) => fixed(result.lambdaMsPerMessage, 2)],
    ['DynamoDB writes per fresh message', (result) => fixed(result.fresh.dynamodbWrites / result.fresh.messages)],
    ['DynamoDB reads per fresh message', (result) => fixed(result.fresh.dynamodbReads / result.fresh.messages)],
    ['DynamoDB requests per duplicate', (result) => fixed((result.duplicate.dynamodbWrites + result.duplicate.dynamodbReads) / result.duplicate.messages)],
    ['model calls per duplicate', (result) => fixed(result.duplicate.modelCalls / result.duplicate.messages)],
    ['model calls per unique key', (result) => fixed(result.modelCallsPerUniqueKey)],
    ['SQS requests per message (consumer)', (result) => fixed(result.sqsRequestsPerMessage)],
    ['log bytes per message (of which EMF)', (result) => `${fixed(result.logBytesPerMessage, 0)} (${fixed(result.emfBytesPerMessage, 0)})`],
    ['peak RSS MB (one environment)', (result) => fixed(result.peakRssMb, 0)],
    ['RSS MB first → last quarter', (result) => `${fixed(result.rssFirstQuarterMb, 0)} → ${fixed(result.rssLastQuarterMb, 0)}`],
    ['max in-flight model calls / bound', (result) => `${result.maxInFlightModelCalls} / ${result.inFlightBound}`],
  ];
  const table = (profileName: string) => {
    const a = at('pipeline', profileName);
    const b = at('baseline', profileName);
    return [
      `| ${profileName.padEnd(36)} | ${pad('pipeline', 12)} | ${pad('baseline', 12)} |`,
      `|${'-'.repeat(38)}|${'-'.repeat(14)}|${'-'.repeat(14)}|`,
      ...rows.map(([label, pick]) => `| ${label.padEnd(36)} | ${pad(pick(a), 12)} | ${pad(pick(b), 12)} |`),
    ].join('\n');
  };
  const ratio = (a: number, b: number) => fixed(a / b, 2);
  process.stdout.write(
    [
      '',
      `${options.messages} messages (20% duplicates) per scenario, ${cpus().length} cores, Node ${process.version}, time scale ${TIME_SCALE}`,
      '',
      table('zero-latency'),
      '',
      table('brownout'),
      '',
      `outcomes: ${results.map((result) => `${result.variant}/${result.profile}: ${result.outcome}`).join('\n          ')}`,
      '',
      `| bundle                  | ${pad('pipeline', 12)} | ${pad('baseline', 12)} | ratio |`,
      `|-------------------------|--------------|--------------|-------|`,
      `| minified KB             | ${pad(fixed(bundles.pipeline.bytes / 1024, 0), 12)} | ${pad(fixed(bundles.baseline.bytes / 1024, 0), 12)} | ${ratio(bundles.pipeline.bytes, bundles.baseline.bytes)} |`,
      `| gzipped KB              | ${pad(fixed(bundles.pipeline.gzipBytes / 1024, 0), 12)} | ${pad(fixed(bundles.baseline.gzipBytes / 1024, 0), 12)} | ${ratio(bundles.pipeline.gzipBytes, bundles.baseline.gzipBytes)} |`,
      `| cold init ms (median)   | ${pad(fixed(bundles.pipeline.coldInit.medianMs, 1), 12)} | ${pad(fixed(bundles.baseline.coldInit.medianMs, 1), 12)} | ${ratio(bundles.pipeline.coldInit.medianMs, bundles.baseline.coldInit.medianMs)} |`,
      '',
      `ratios ours/baseline (zero latency): CPU per message ${ratio(ours.cpuMsPerMessage, theirs.cpuMsPerMessage)}, throughput ${ratio(ours.messagesPerSecond, theirs.messagesPerSecond)}`,
      '',
      `cost per 1M messages (USD, ${PRICES.region} list prices, ${PRICES.checked}):`,
      `  pipeline  ${fixed(oursCost.total * 1e6)}  (Lambda ${fixed(oursCost.lambda * 1e6)}, SQS ${fixed(oursCost.sqs * 1e6)}, DynamoDB ${fixed(oursCost.dynamodb * 1e6)}, CloudWatch Logs ${fixed(oursCost.cloudwatch * 1e6)})`,
      `  baseline  ${fixed(theirsCost.total * 1e6)}  (Lambda ${fixed(theirsCost.lambda * 1e6)}, SQS ${fixed(theirsCost.sqs * 1e6)}, DynamoDB ${fixed(theirsCost.dynamodb * 1e6)}, CloudWatch Logs ${fixed(theirsCost.cloudwatch * 1e6)})`,
      `  Step Functions standard, same steps: ${fixed(sfnCost.total * 1e6)} (${sfnCost.transitions} transitions per message)`,
      '',
      'cost growth (zero latency), USD per 1M messages:',
      ...growth.map(
        (entry) =>
          `  ${entry.variant.padEnd(8)} ${String(entry.messages).padStart(6)} messages: ${fixed(entry.costPerMillion)}  (${fixed(entry.messagesPerSecond, 0)} msg/s)`,
      ),
      '',
      `processor CPU profile, top frames by self time (${fixed(profile.totalMs, 0)} ms sampled):`,
      ...profile.frames.map((frame) => `  ${fixed(frame.share * 100, 1).padStart(5)}%  ${frame.name}  ${frame.source}`),
      `  by area: ${Object.entries(profile.byArea)
        .sort((a, b) => b[1] - a[1])
        .map(([area, ms]) => `${area} ${fixed((ms / profile.totalMs) * 100, 0)}%`)
        .join(', ')}`,
      `baseline CPU profile, same workload (${fixed(baselineProfile.totalMs, 0)} ms sampled), top frames:`,
      ...baselineProfile.frames.slice(0, 6).map((frame) => `  ${fixed(frame.share * 100, 1).padStart(5)}%  ${frame.name}  ${frame.source}`),
      `  by area, ms: ${Object.entries(profile.byArea)
        .sort((a, b) => b[1] - a[1])
        .map(([area, ms]) => `${area} ${fixed(ms, 0)} vs ${fixed(baselineProfile.byArea[area] ?? 0, 0)}`)
        .join(', ')} (processor vs baseline)`,
      '',
      'CLI start-up (target: at most 300 ms over the yardstick):',
      startupTable(cliStartup),
      '',
      formatVerdicts(targets),
      '',
      `results: ${options.out} (${fixed((Date.now() - started) / 1000, 0)} s)`,
      '',
    ].join('\n'),
  );
}

function scaleCost(cost: ReturnType<typeof costPerMessage>) {
  return {
    lambda: cost.lambda * 1e6,
    sqs: cost.sqs * 1e6,
    dynamodb: cost.dynamodb * 1e6,
    cloudwatch: cost.cloudwatch * 1e6,
    total: cost.total * 1e6,
    perMessageInputs: cost.inputs,
  };
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});

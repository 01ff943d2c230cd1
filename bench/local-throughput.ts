/**
 * `npm run bench`: local-mode throughput and the DynamoDB/SQS cost of each message, counted at the
 * emulators. A benchmark, not a test: it prints a table and writes bench/local-results.json; nothing
 * here fails on a slow machine. Bounded: a few thousand messages to loopback, then it stops.
 *
 *   npm run bench                         # 3 rounds of 2,000 fresh + 2,000 re-sent messages
 *   npm run bench -- --messages 5000 --rounds 5
 *
 * Each round starts a fresh local pipeline (emulators, five execution environments), then:
 *   1. fresh:     N distinct tickets, zero-latency simulated model → messages/s end to end
 *                 (first send to empty queue), writes/reads per message;
 *   2. duplicate: the same N bodies again → requests and model calls per duplicate.
 * Figures are medians over the rounds; the machine is shared, so compare runs side by side.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { generateTickets } from '../examples/ticket-generator';
import { METRIC } from '../lambda/contract';
import { startLocalPipeline, type LocalPipeline } from '../local/local-pipeline';
import { buildReport } from '../local/report';
import { sendBodies, waitForDrain } from '../local/run-local';
import { synthesizeLocalStack } from '../local/stack-model';

interface PhaseResult {
  readonly messages: number;
  readonly seconds: number;
  readonly messagesPerSecond: number;
  readonly dynamodbWritesPerMessage: number;
  readonly dynamodbReadsPerMessage: number;
  readonly sqsRequestsPerMessage: number;
  readonly modelCallsPerMessage: number;
}

const program = new Command()
  .option('--messages <n>', 'messages per phase', (value) => Number.parseInt(value, 10), 2000)
  .option('--rounds <n>', 'rounds (the median is reported)', (value) => Number.parseInt(value, 10), 3)
  .option('--out <file>', 'where to write the JSON results', join(__dirname, 'local-results.json'))
  .parse();
const options = program.opts<{ messages: number; rounds: number; out: string }>();

async function phase(pipeline: LocalPipeline, bodies: readonly string[]): Promise<PhaseResult> {
  const { counter } = pipeline.emulators;
  counter.reset();
  const modelCallsBefore = pipeline.logs.total(METRIC.MODEL_CALLS);
  const started = process.hrtime.bigint();
  await sendBodies(pipeline.sqs, pipeline.resources.inputQueueUrl, bodies);
  if (!(await waitForDrain(pipeline, 300_000))) throw new Error('the queue did not drain within 5 minutes');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const calls = counter.totals();
  const n = bodies.length;
  return {
    messages: n,
    seconds,
    messagesPerSecond: n / seconds,
    dynamodbWritesPerMessage: calls['dynamodb.write'] / n,
    dynamodbReadsPerMessage: calls['dynamodb.read'] / n,
    // The pipeline's own SQS requests (receive, delete, visibility); the producer's sends are not counted.
    sqsRequestsPerMessage: calls.sqs / n,
    modelCallsPerMessage: (pipeline.logs.total(METRIC.MODEL_CALLS) - modelCallsBefore) / n,
  };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

function medianOf(results: readonly PhaseResult[]): PhaseResult {
  const keys = Object.keys(results[0] as PhaseResult) as Array<keyof PhaseResult>;
  return Object.fromEntries(keys.map((key) => [key, median(results.map((result) => result[key]))])) as unknown as PhaseResult;
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const stack = synthesizeLocalStack();
  const fresh: PhaseResult[] = [];
  const duplicate: PhaseResult[] = [];
  let invariantHolds = true;
  for (let round = 1; round <= options.rounds; round += 1) {
    // A different seed per round: every round's first phase is genuinely fresh work.
    const bodies = generateTickets(options.messages, 1000 + round).map((ticket) => JSON.stringify({ task: 'ticket-triage', input: ticket.input }));
    const pipeline = await startLocalPipeline({ stack });
    try {
      fresh.push(await phase(pipeline, bodies));
      duplicate.push(await phase(pipeline, bodies));
      const report = await buildReport(pipeline, [...bodies, ...bodies], 0, 0);
      invariantHolds &&= report.invariantHolds;
      process.stderr.write(
        `round ${round}: fresh ${fresh.at(-1)?.messagesPerSecond.toFixed(0)} msg/s, duplicates ${duplicate.at(-1)?.messagesPerSecond.toFixed(0)} msg/s, invariant ${report.invariantHolds ? 'holds' : 'BROKEN'}\n`,
      );
    } finally {
      await pipeline.stop();
    }
  }

  const results = {
    benchmark: 'local-throughput',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    settings: { messagesPerPhase: options.messages, rounds: options.rounds, model: 'simulated, zero latency', stage: 'dev', timeScale: 0.1 },
    invariantHolds,
    fresh: medianOf(fresh),
    duplicate: medianOf(duplicate),
    rounds: { fresh, duplicate },
  };
  writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);

  const row = (name: string, pick: (result: PhaseResult) => number, digits = 2) =>
    `| ${name.padEnd(34)} | ${pick(results.fresh).toFixed(digits).padStart(9)} | ${pick(results.duplicate).toFixed(digits).padStart(9)} |`;
  process.stdout.write(
    [
      `local mode, ${options.messages} messages per phase, median of ${options.rounds} round(s), ${results.machine.cpus} cores, Node ${process.version}`,
      '',
      `| ${'per message'.padEnd(34)} | ${'fresh'.padStart(9)} | ${'duplicate'.padStart(9)} |`,
      `|${'-'.repeat(36)}|${'-'.repeat(11)}|${'-'.repeat(11)}|`,
      row('messages/s (end to end)', (result) => result.messagesPerSecond, 0),
      row('DynamoDB write requests', (result) => result.dynamodbWritesPerMessage),
      row('DynamoDB read requests', (result) => result.dynamodbReadsPerMessage),
      row('SQS requests (pipeline side)', (result) => result.sqsRequestsPerMessage),
      row('model calls', (result) => result.modelCallsPerMessage),
      '',
      `invariant ${invariantHolds ? 'held' : 'BROKEN'} in every round; results: ${options.out}`,
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import type { CliIo } from '../../pipectl/cli-io';
import { startPipelineControlApi } from '../../local/control-api';
import { firedAlarmLines } from '../../local/alarm-summary';
import { defaultLogFile, startLocalPipeline } from '../../local/local-pipeline';
import type { LocalRunReport } from '../../local/report';
import { runLocal } from '../../local/run-local';
import { shadowLines } from '../../local/shadow-report';
import { sendBodies } from '../../local/queue-drain';
import { buildBodies, DEFAULT_INPUT } from '../../local/workload';
import { ENV, METRIC, QUOTA_ENV } from '../../lambda/contract';
import { renderQuotaChart, summarizeQuotaRun } from '../../local/model-simulator/quota-chart';
import { FaultSpecError, parseFaultSpec } from '../../local/model-simulator/fault-spec';
import { startConsole } from '../../pipectl/console/console-server';
import { servedEndpoints } from '../../pipectl/local-endpoints';
import { localTarget } from '../../pipectl/target';

/** Where `--serve` writes its endpoints, so other pipectl commands (and scripts) can find them. */
export const SERVE_FILE = join('.local', 'serve.json');

interface LocalOptions {
  readonly messages?: number;
  readonly input?: string;
  readonly duplicates?: number;
  readonly agentEdits?: number;
  readonly faults?: string;
  readonly seed?: number;
  readonly report?: string;
  readonly serve?: boolean;
  readonly console?: boolean;
  readonly stage: string;
  readonly timeScale: number;
  readonly progress: boolean;
  readonly json?: boolean;
  readonly pacing: PacingOption;
  readonly chart?: string;
  readonly shadow?: { readonly modelId: string; readonly percent: number };
}

/**
 * What the processor is told about the simulated provider's quota (issue 14): `quota` — the
 * quota of `--faults rpm=N,tpm=N`, as an operator would configure the account's quota in the stage
 * config; `adaptive` — nothing, it learns a rate from the 429s; `off` — no pacing at all.
 */
const PACING_OPTIONS = ['quota', 'adaptive', 'off'] as const;
type PacingOption = (typeof PACING_OPTIONS)[number];

/** The processor environment a pacing option sets (after the template's; see LocalPipelineOptions.environment). */
function pacingEnvironment(pacing: PacingOption, faults: string | undefined): Record<string, string> {
  if (pacing === 'off') return { [QUOTA_ENV.RATE_PACING]: 'off' };
  const spec = faults ? parseFaultSpec(faults) : undefined;
  if (pacing === 'adaptive') return { [QUOTA_ENV.RATE_PACING]: 'adaptive' };
  if (spec?.rpm === undefined && spec?.tpm === undefined) return { [QUOTA_ENV.RATE_PACING]: 'on' };
  // The simulator enforces the quota per model: every model of the stage gets it.
  const quota = { ...(spec.rpm !== undefined ? { rpm: spec.rpm } : {}), ...(spec.tpm !== undefined ? { tpm: spec.tpm } : {}) };
  return { [QUOTA_ENV.RATE_PACING]: 'on', [QUOTA_ENV.MODEL_QUOTAS]: JSON.stringify({ 'sim-primary': quota, 'sim-secondary': quota }) };
}

const integer = (name: string) => (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError(`${name} must be an integer`);
  return parsed;
};
const fraction = (value: string) => {
  const parsed = Number(value);
  if (!(parsed >= 0 && parsed < 1)) throw new InvalidArgumentError('a fraction in [0, 1) is expected, e.g. 0.2');
  return parsed;
};
/** Checked when the flag is read, so a typo fails before anything starts; the text is passed on as given. */
const faultSpec = (value: string) => {
  try {
    parseFaultSpec(value);
  } catch (error) {
    if (error instanceof FaultSpecError) throw new InvalidArgumentError(error.message);
    throw error;
  }
  return value;
};
const positive = (value: string) => {
  const parsed = Number(value);
  if (!(parsed > 0 && parsed <= 1)) throw new InvalidArgumentError('a number in (0, 1] is expected');
  return parsed;
};

export function registerLocalCommand(program: Command, io: CliIo): void {
  program
    .command('local')
    .description('Run the pipeline on this machine: embedded SQS and DynamoDB, the bundled processor, a simulated model')
    .option('--messages <n>', 'how many messages to send (a generated workload unless --input is given)', integer('--messages'))
    .option('--input <file>', `one message body per line (default: ${relative(DEFAULT_INPUT)})`)
    .option('--duplicates <fraction>', 'fraction of messages that re-send an earlier one', fraction)
    .option(
      '--agent-edits <fraction>',
      "fraction of messages that are agents' small edits of earlier tickets (same entityId), plus two loopers (issue 16)",
      fraction,
    )
    .option(
      '--faults <spec>',
      'model and infrastructure faults to inject, e.g. 429=0.3:2000,5xx=0.1, brownout or ddb-throttle=0.05,crash=0.02 (README: "Fault spec")',
      faultSpec,
    )
    .option('--seed <n>', 'seed of the generated workload and the simulated model', integer('--seed'))
    .option('--report <file>', 'write the JSON report here')
    .option('--serve', 'keep running until SIGINT/SIGTERM; print the endpoints as one JSON line')
    .option('--console', 'as --serve, with the demo workload sent and the operator console (pipectl console) open on it')
    .addOption(new Option('--stage <name>', 'the stage whose template is emulated').default('dev'))
    .addOption(new Option('--time-scale <factor>', 'run timeouts this much faster than real time').argParser(positive).default(0.1))
    .option('--no-progress', 'no progress bar, even on a terminal')
    .option('--json', 'print the report (what --report writes) instead of the summary')
    .addOption(
      new Option(
        '--pacing <mode>',
        'quota: the processor paces to the --faults rpm/tpm quota; adaptive: it learns one from 429s (AIMD); off: no pacing (docs/quotas.md)',
      )
        .choices(PACING_OPTIONS)
        .default('quota'),
    )
    .option('--chart <file.svg>', 'with --faults rpm=N: write the calls per minute against the quota as an SVG chart')
    .option(
      '--shadow <model[:percent]>',
      "a shadow candidate (as the stage config's shadow block): that share of completed records (default 100) also asks it; the summary compares it with the baseline",
      shadowOption,
    )
    .action(async (options: LocalOptions) => {
      process.exitCode = options.serve || options.console ? await serve(options) : await run(options, io);
    });
}

/** `--shadow sim-candidate:50` → the candidate and its share. */
function shadowOption(value: string): { modelId: string; percent: number } {
  const [modelId = '', percentText] = value.split(/:(?=[\d.]+$)/);
  const percent = percentText === undefined ? 100 : Number(percentText);
  if (modelId.trim() === '' || !(percent > 0 && percent <= 100))
    throw new InvalidArgumentError('MODEL or MODEL:PERCENT with a percentage in (0, 100] is expected');
  return { modelId: modelId.trim(), percent };
}

/** The processor environment the command's options set (applied after the template's). */
function processorOverrides(options: LocalOptions): Record<string, string> {
  return {
    ...(options.seed !== undefined ? { SIMULATOR_SEED: String(options.seed) } : {}),
    ...pacingEnvironment(options.pacing, options.faults),
    ...(options.shadow ? { [ENV.SHADOW_MODEL_ID]: options.shadow.modelId, [ENV.SHADOW_PERCENT]: String(options.shadow.percent) } : {}),
  };
}

async function run(options: LocalOptions, io: CliIo): Promise<number> {
  const bodies = buildBodies(options);
  const logFile = defaultLogFile();
  const environment = processorOverrides(options);
  const showProgress = options.progress && Boolean(process.stderr.isTTY);
  const bar = showProgress
    ? new SingleBar({ format: ' {phase} |{bar}| {value}/{total} messages | {duration}s', stream: process.stderr, hideCursor: true }, Presets.shades_classic)
    : undefined;
  process.stderr.write(`pipectl local: synthesizing the ${options.stage} stack and starting the emulators…\n`);
  bar?.start(bodies.length, 0, { phase: 'sending   ' });
  let report: LocalRunReport;
  try {
    report = await runLocal(bodies, {
      stage: options.stage,
      timeScale: options.timeScale,
      logFile,
      environment,
      faults: options.faults,
      onProgress: ({ phase, done }) => bar?.update(done, { phase: phase === 'sending' ? 'sending   ' : 'processing' }),
    });
  } finally {
    bar?.stop();
  }
  if (options.report) {
    mkdirSync(dirname(resolve(options.report)), { recursive: true });
    writeFileSync(options.report, `${JSON.stringify(report, null, 2)}\n`);
  }
  const quota = report.details.model.quota;
  if (options.chart && quota) {
    mkdirSync(dirname(resolve(options.chart)), { recursive: true });
    writeFileSync(options.chart, renderQuotaChart([{ label: `pacing ${options.pacing}`, stats: quota }], `calls per minute vs quota (${options.faults})`));
  }
  io.out(options.json ? `${JSON.stringify(report, null, 2)}\n` : summary(report, logFile, options.report));
  return report.invariantHolds ? 0 : 1;
}

async function serve(options: LocalOptions): Promise<number> {
  const pipeline = await startLocalPipeline({
    stage: options.stage,
    timeScale: options.timeScale,
    logFile: defaultLogFile(),
    environment: processorOverrides(options),
    faults: options.faults,
  });
  const { resources } = pipeline;
  // pipectl pause/resume/status reach the event source mapping through this Lambda API endpoint.
  const controlApi = await startPipelineControlApi(pipeline);
  const endpoints = {
    ...servedEndpoints(pipeline, { stage: options.stage, lambdaEndpoint: controlApi.endpoint, logFile: defaultLogFile(), pid: process.pid }),
    // The endpoints above are the emulators themselves: what a client sends or reads there is never faulted.
    faults: options.faults ?? null,
  };

  mkdirSync(dirname(SERVE_FILE), { recursive: true });
  writeFileSync(SERVE_FILE, `${JSON.stringify(endpoints, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(endpoints)}\n`);
  // The console reads the pipeline as any pipectl command does: through the serve file.
  const consoleTarget = options.console ? localTarget(SERVE_FILE) : undefined;
  const consoleServer = consoleTarget ? await startConsole({ target: consoleTarget, port: 0 }) : undefined;
  if (consoleServer) process.stderr.write(`operator console: open ${consoleServer.url}\n`);
  if (options.input !== undefined || options.messages !== undefined || options.console) {
    const bodies = buildBodies(options);
    await sendBodies(pipeline.sqs, resources.inputQueueUrl, bodies);
    process.stderr.write(`sent ${bodies.length} message(s) to the input queue\n`);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stderr.write('stopping…\n');
  const injected = Object.entries(pipeline.infraFaults()).filter(([, count]) => count > 0);
  if (injected.length > 0) process.stderr.write(`infrastructure faults injected: ${injected.map(([kind, count]) => `${kind} ${count}`).join(', ')}\n`);
  await consoleServer?.stop();
  consoleTarget?.destroy();
  await controlApi.stop();
  await pipeline.stop();
  return 0;
}

function relative(path: string): string {
  return path.startsWith(process.cwd()) ? path.slice(process.cwd().length + 1) : path;
}

/** The human-readable summary of a run. */
export function summary(report: LocalRunReport, logFile: string, reportFile?: string): string {
  const perSecond = report.sent / Math.max(0.001, report.durationMs / 1000);
  const lines = [
    '',
    `  sent               ${report.sent}  (${report.unique} unique inputs; ${report.sent - report.unique} re-sends)`,
    `  completed          ${report.completed}  (primary ${report.byTier.primary}, secondary ${report.byTier.secondary}, rules ${report.byTier.rules}${report.byTier.reused > 0 ? `, reused ${report.byTier.reused}` : ''})`,
    ...entityLines(report),
    `  dead-lettered      ${report.deadLettered}  (${report.rejected} rejected as bad input${formatReasons(report.details.dlqByReason)})`,
    `  in human review    ${report.inReview}`,
    `  duplicates skipped ${report.duplicatesSkipped}  (no model call)`,
    `  model calls        ${report.modelCalls}${modelDetail(report)}`,
    `  DynamoDB requests  ${report.apiCalls['dynamodb.write']} writes, ${report.apiCalls['dynamodb.read']} reads;  SQS requests ${report.apiCalls.sqs}`,
    `  throughput         ${perSecond.toFixed(0)} messages/s over ${(report.durationMs / 1000).toFixed(1)} s`,
    ...infraFaultLines(report),
    ...quotaLines(report),
    ...shadowLines(report.shadow),
    ...firedAlarmLines(report.alarms),
    '',
    report.invariantHolds
      ? `  ✔ invariant holds: ${report.unique} unique = ${report.completed} completed + ${report.deadLettered} dead-lettered + ${report.inReview} in review`
      : `  ✘ INVARIANT BROKEN:\n${report.invariantViolations.map((violation) => `      - ${violation}`).join('\n')}`,
    '',
    `  processor log: ${relative(logFile)}${reportFile ? `   report: ${reportFile}` : ''}`,
    '',
  ];
  return lines.join('\n');
}

/** What the AWS boundary and the poller injected (the model's faults are on the model calls line). */
function infraFaultLines(report: LocalRunReport): string[] {
  const injected = Object.entries(report.faultsInjected.infrastructure).filter(([, count]) => count > 0);
  return injected.length === 0 ? [] : [`  infra faults       ${injected.map(([kind, count]) => `${kind} ${count}`).join(', ')}`];
}

/** The entity guard's line (issue 16), when the workload named entities. */
function entityLines(report: LocalRunReport): string[] {
  const { entities } = report;
  if (entities.count === 0) return [];
  return [
    `  entities           ${entities.count}: ${entities.decisionsReused} small edits reused a decision; ${entities.loopsDetected} escalation loops sent to review, ` +
      `${entities.held} entities held; at most ${entities.maxDecisions} automated decisions per entity (limit ${entities.decisionLimit})`,
  ];
}

/** Retries, repairs, breaker refusals and, under faults, what the simulator injected. */
function modelDetail(report: LocalRunReport): string {
  const { metrics, model } = report.details;
  const parts = [
    [metrics[METRIC.MODEL_RETRIES] ?? 0, 'retries'],
    [model.repairs, 'repairs'],
    [metrics[METRIC.BREAKER_OPEN] ?? 0, 'refused by an open breaker'],
  ]
    .filter(([count]) => Number(count) > 0)
    .map(([count, what]) => `${count} ${what}`);
  const injected = Object.entries(model.byOutcome)
    .filter(([outcome, count]) => outcome !== 'ok' && count > 0)
    .map(([outcome, count]) => `${outcome} ${count}`);
  if (injected.length > 0) parts.push(`faults injected: ${injected.join(', ')}`);
  return parts.length === 0 ? '' : `  (${parts.join('; ')})`;
}

function formatReasons(byReason: Readonly<Record<string, number>>): string {
  const entries = Object.entries(byReason);
  return entries.length === 0 ? '' : `: ${entries.map(([reason, count]) => `${reason} ${count}`).join(', ')}`;
}

/** Under `--faults rpm=N`: calls per minute against the quota over the busy period, and the 429 share. */
function quotaLines(report: LocalRunReport): string[] {
  const quota = report.details.model.quota;
  const run = quota ? summarizeQuotaRun(quota) : undefined;
  if (!run) return [];
  return [
    `  quota              ${run.rpm} calls/min: busy minutes ${run.busyWindows}, mean ${run.meanPerWindow.toFixed(0)}/min, worst minute ${(run.maxDeviation * 100).toFixed(1)}% off; ` +
      `429s ${run.refused} of ${run.accepted + run.refused} calls (${(run.refusedShare * 100).toFixed(1)}%)`,
  ];
}

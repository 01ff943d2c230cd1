/**
 * `pipectl local`: the run and `--serve`, loaded by bin/commands/local.ts only when the command
 * runs (they bring CDK synthesis, the emulators and esbuild; `--help` needs none of them).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import type { CliIo } from '../../pipectl/cli-io';
import { startPipelineControlApi } from '../../local/control-api';
import { firedAlarmLines } from '../../local/alarm-summary';
import { defaultLogFile, startLocalPipeline } from '../../local/local-pipeline';
import type { LocalRunReport } from '../../local/report';
import { runLocal } from '../../local/run-local';
import { shadowLines } from '../../local/shadow-report';
import { sendBodies } from '../../local/queue-drain';
import { buildBodies } from '../../local/workload';
import { ENV, METRIC, QUOTA_ENV } from '../../lambda/contract';
import { resolveTaskVersion } from '../../lambda/tasks/registry';
import { UsageError } from '../../pipectl/errors';
import { renderQuotaChart, summarizeQuotaRun } from '../../local/model-simulator/quota-chart';
import { parseFaultSpec } from '../../local/model-simulator/fault-spec';
import { startConsole } from '../../pipectl/console/console-server';
import { localTarget } from '../../pipectl/target';
import { SERVE_FILE, servedEndpoints } from '../../pipectl/local-endpoints';
import { relativeToCwd } from '../../pipectl/format';
import type { LocalOptions, PacingOption } from './local-options';
import { verdict } from '../../pipectl/run-verdict';

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

/** The processor environment the command's options set (applied after the template's). */
function processorOverrides(options: LocalOptions): Record<string, string> {
  const candidate = options.shadow?.candidate;
  if (candidate?.includes('@')) {
    // Checked here, not by the processor's cold start: a typo should be a usage error, not a run of failing invocations.
    const resolved = resolveTaskVersion(candidate);
    if (typeof resolved === 'string') throw new UsageError(`--shadow: ${resolved}`);
  }
  return {
    ...(options.seed !== undefined ? { SIMULATOR_SEED: String(options.seed) } : {}),
    ...pacingEnvironment(options.pacing, options.faults),
    ...(options.shadow
      ? {
          [options.shadow.candidate.includes('@') ? ENV.SHADOW_TASK_VERSION : ENV.SHADOW_MODEL_ID]: options.shadow.candidate,
          [ENV.SHADOW_PERCENT]: String(options.shadow.percent),
        }
      : {}),
  };
}

/** The scheduled monitors' options `--drift-reference` sets (none given: local mode's defaults). */
function monitorOptions(options: LocalOptions): { monitors?: { driftReference: string | false } } {
  if (options.driftReference === undefined) return {};
  if (options.driftReference === false) {
    process.stderr.write('pipectl local: no drift reference (--drift-reference none): the drift monitor waits for a first full day of data\n');
  }
  return { monitors: { driftReference: options.driftReference } };
}

export async function run(options: LocalOptions, io: CliIo): Promise<number> {
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
      ...monitorOptions(options),
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

export async function serve(options: LocalOptions): Promise<number> {
  const pipeline = await startLocalPipeline({
    stage: options.stage,
    timeScale: options.timeScale,
    logFile: defaultLogFile(),
    environment: processorOverrides(options),
    faults: options.faults,
    ...monitorOptions(options),
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
    verdict({ ...report, inputQueueDepth: report.details.inputQueueDepth }),
    '',
    `  processor log: ${relativeToCwd(logFile)}${reportFile ? `   report: ${reportFile}` : ''}`,
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
  // The simulator counts every request it answered; the processor's metrics lose the lines of an
  // invocation that crashed or timed out before printing them.
  // (A shadow candidate's calls are the simulator's too, and not model calls of the pipeline.)
  const unrecorded = report.shadow ? 0 : model.requests - report.modelCalls;
  const parts = [
    [Math.max(unrecorded, 0), `more reached the model (${model.requests} in all) in invocations that died before recording them`],
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

/**
 * The DLQ's messages by reason. Messages, not keys: a key whose re-sends (or SQS's redeliveries)
 * were each redriven has several, so under faults this total can be above the keys dead-lettered
 * (one run at load 20: 4 keys, 16 messages), which is what `pipectl dlq` then lists.
 */
export function formatReasons(byReason: Readonly<Record<string, number>>): string {
  const entries = Object.entries(byReason);
  const messages = entries.reduce((total, [, count]) => total + count, 0);
  return entries.length === 0
    ? ''
    : `; ${messages} DLQ message${messages === 1 ? '' : 's'}: ${entries.map(([reason, count]) => `${reason} ${count}`).join(', ')}`;
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

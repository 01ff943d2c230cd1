import { existsSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CliIo } from '../../pipectl/cli-io';
import { type LocalOptions, PACING_OPTIONS } from './local-options';
import { relativeToCwd } from '../../pipectl/format';
import { DEFAULT_INPUT } from '../../lib/project-root';
import { FaultSpecError, parseFaultSpec } from '../../local/model-simulator/fault-spec';

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

/** `none`, or a JSONL file that exists (checked when the flag is read, so a typo fails before anything starts). */
const driftReference = (value: string): string | false => {
  if (value === 'none') return false;
  if (!existsSync(value)) throw new InvalidArgumentError(`${value}: no such file (give a JSONL file of message bodies, or none)`);
  return value;
};

export function registerLocalCommand(program: Command, io: CliIo): void {
  program
    .command('local')
    .description('Run the pipeline on this machine: embedded SQS and DynamoDB, the bundled processor, a simulated model')
    .option('--messages <n>', 'how many messages to send (a generated workload unless --input is given)', integer('--messages'))
    .option('--input <file>', `one message body per line (default: ${relativeToCwd(DEFAULT_INPUT)})`)
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
    .addOption(
      new Option(
        '--drift-reference <file|none>',
        `the workload (JSONL) whose run through a pipeline of its own pins the drift monitor's baseline (default: ${relativeToCwd(DEFAULT_INPUT)}, ` +
          'cached in .local/drift-reference); none: pin none and skip that run, the drift monitor then waits for a first full day of data, as on AWS',
      ).argParser(driftReference),
    )
    .option('--chart <file.svg>', 'with --faults rpm=N: write the calls per minute against the quota as an SVG chart')
    .option(
      '--shadow <candidate[:percent]>',
      "a shadow candidate, a model id or a task version (ticket-triage@2), as the stage config's shadow block: that share of completed records (default 100) also asks it; the summary compares it with the baseline",
      shadowOption,
    )
    .action(async (options: LocalOptions) => {
      // The run itself (local mode: CDK synthesis, emulators, esbuild) loads only when it runs.
      const { run, serve } = await import('./local-run');
      process.exitCode = options.serve || options.console ? await serve(options) : await run(options, io);
    });
}

/** `--shadow sim-candidate:50` or `--shadow ticket-triage@2:50` → the candidate and its share. */
function shadowOption(value: string): { candidate: string; percent: number } {
  const [candidate = '', percentText] = value.split(/:(?=[\d.]+$)/);
  const percent = percentText === undefined ? 100 : Number(percentText);
  if (candidate.trim() === '' || !(percent > 0 && percent <= 100))
    throw new InvalidArgumentError('CANDIDATE or CANDIDATE:PERCENT (a model id or <task>@<version>) with a percentage in (0, 100] is expected');
  return { candidate: candidate.trim(), percent };
}

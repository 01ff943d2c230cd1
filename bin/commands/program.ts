import { Command, CommanderError } from 'commander';
import { type CliIo, processIo } from '../../pipectl/cli-io';
import { EXIT, PipectlError } from '../../pipectl/errors';
import { outputOption } from '../../pipectl/output-format';
import packageJson from '../../package.json';
import { registerBreakerCommand } from './breaker';
import { registerConsoleCommand } from './console';
import { registerDlqCommand } from './dlq';
import { registerDriftCommand } from './drift';
import { registerGameDayCommand } from './gameday';
import { registerIncidentCommand } from './incident';
import { registerJobsCommand } from './jobs';
import { registerLocalCommand } from './local';
import { registerPauseCommands } from './pause';
import { registerReplayCommand } from './replay';
import { registerReviewCommand } from './review';
import { registerRunbookCommand } from './runbook';
import { registerSendCommand } from './send';
import { registerStatusCommand } from './status';
import { registerSwitchCommand } from './switch';
import { registerCanaryCommand } from './canary';
import { registerTriageCommand } from './triage';

/**
 * The pipectl program with every command registered. Output goes through `io`, and commander
 * throws instead of exiting, so the tests run the real command line in-process.
 */
export function createProgram(io: CliIo = processIo()): Command {
  return buildProgram(io).program;
}

function buildProgram(io: CliIo): { program: Command; printed: () => string } {
  // What commander itself printed: a usage error it reported is not printed twice.
  let printed = '';
  const program = new Command()
    .name('pipectl')
    .description('Run and operate the resilient AI pipeline: a deployed stage (--stage) or the local mode (--local)')
    .version(packageJson.version, '-V, --version', 'print the version of pipectl')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text),
      writeErr: (text) => {
        printed += text;
        io.err(text);
      },
    });
  program.addHelpText(
    'after',
    '\nEvery on-call command is read-only unless it says otherwise; those that change state ask first (or take --yes).\n' +
      'Exit status: 0 ok, 1 failure, 2 usage.\n',
  );
  // Commands write through the --output wrapper; commander's own help and errors do not need it.
  const output = outputOption(io);
  registerCommands(program, output.io);
  output.install(program);
  return { program, printed: () => printed };
}

function registerCommands(program: Command, io: CliIo): void {
  registerLocalCommand(program, io);
  registerSendCommand(program, io);
  registerStatusCommand(program, io);
  registerDlqCommand(program, io);
  registerPauseCommands(program, io);
  registerReviewCommand(program, io);
  registerJobsCommand(program, io);
  registerDriftCommand(program, io);
  registerBreakerCommand(program, io);
  registerRunbookCommand(program, io);
  registerTriageCommand(program, io);
  registerGameDayCommand(program, io);
  registerConsoleCommand(program, io);
  registerSwitchCommand(program, io);
  registerCanaryCommand(program, io);
  registerReplayCommand(program, io);
  registerIncidentCommand(program, io);
}

/**
 * Runs pipectl with `argv` (as `process.argv`: node, script, args…) and returns the exit status:
 * 0 ok, 1 the operation failed, 2 the command line was wrong (or a confirmation was missing).
 */
export async function runPipectl(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const { program, printed } = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; they already printed.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.help' || error.code === 'commander.version') return EXIT.OK;
      // A usage problem commander reported itself (unknown option, bad argument) is already
      // printed; one an action threw (an InvalidArgumentError) is not.
      if (!printed().includes(error.message)) io.err(`pipectl: ${error.message}\n`);
      return EXIT.USAGE;
    }
    if (error instanceof PipectlError) {
      io.err(`pipectl: ${error.message}\n`);
      return error.exitCode;
    }
    // An AWS SDK error (it carries `$metadata`) gets the hint for credentials, permissions or a dead endpoint.
    if (error instanceof Error && '$metadata' in error) {
      const { awsCallFailed } = await import('../../pipectl/target');
      io.err(`pipectl: ${awsCallFailed('an AWS call', error).message}\n`);
      return EXIT.FAILURE;
    }
    io.err(`pipectl: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    return EXIT.FAILURE;
  }
}

#!/usr/bin/env -S npx tsx
/**
 * pipectl: the pipeline's command-line tool. `pipectl local` runs the whole pipeline on this
 * machine (what `npm start` does); the on-call commands for a deployed stage build on the same
 * entry point.
 */
import { Command } from 'commander';
import { registerLocalCommand } from './commands/local';

// The bundled SDK warns about Node versions on every client; the warning is noise for a CLI.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const program = new Command()
  .name('pipectl')
  .description('Run and operate the resilient AI pipeline')
  .showHelpAfterError('(run with --help for usage)');

registerLocalCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`pipectl: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});

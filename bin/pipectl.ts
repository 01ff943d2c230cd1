/**
 * pipectl: the pipeline's command-line tool. `pipectl local` runs the whole pipeline on this
 * machine (what `npm start` does); the on-call commands (send, status, dlq, pause, resume, …)
 * operate a deployed stage (`--stage`) or the local mode (`--local`). See bin/commands/program.ts.
 * The package's bin is bin/pipectl.js, which runs this file's prebuilt bundle (or this file).
 */
import { runPipectl } from './commands/program';

// The bundled SDK warns about Node versions on every client; the warning is noise for a CLI.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

runPipectl(process.argv).then((code) => {
  process.exitCode = code;
});

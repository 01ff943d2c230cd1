import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CliIo } from '../../pipectl/cli-io';
import { GAMEDAY_RESULT_FILE } from '../../pipectl/gameday-scenarios';
import { addExamples, addTargetOptions, type TargetFlags, withTarget } from './target-options';

interface ConsoleFlags extends TargetFlags {
  readonly port: number;
  readonly host: string;
  readonly gameday: string;
}

const port = (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) throw new InvalidArgumentError('a port number (0 picks a free one) is expected');
  return parsed;
};

/** `pipectl console`: the operator console on 127.0.0.1 until Ctrl-C. */
export function registerConsoleCommand(program: Command, io: CliIo): void {
  const command = program
    .command('console')
    .description(
      'A web page on 127.0.0.1 with the status, charts, review backlog, dead letters and game day of a pipeline, acting with your own ' +
        'credentials; every action asks first, as the CLI does (runs until Ctrl-C)',
    )
    .addOption(new Option('--port <n>', 'the port on 127.0.0.1 (0: any free one)').argParser(port).default(8700))
    .addOption(new Option('--host <address>', 'the loopback address to listen on: 127.0.0.1 or ::1; anything else is refused').default('127.0.0.1'))
    .addOption(new Option('--gameday <file>', 'a `pipectl gameday --json` result whose timeline the console draws').default(GAMEDAY_RESULT_FILE));
  addTargetOptions(command);
  addExamples(
    command,
    'pipectl console --local',
    'pipectl console --stage prod --port 8701',
    'ssh -L 8700:127.0.0.1:8700 bastion   # to use it from another machine',
  );
  command.action(async (flags: ConsoleFlags) => {
    const { startConsole } = await import('../../pipectl/console/console-server');
    await withTarget(flags, async (target) => {
      const server = await startConsole({ target, host: flags.host, port: flags.port, gamedayFile: flags.gameday });
      io.err(`pipectl console: ${target.description}\n`);
      io.out(`open ${server.url}\n`);
      io.err("(the link carries this session's secret: do not share it; Ctrl-C stops the console)\n");
      await untilSignal();
      await server.stop();
    });
  });
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

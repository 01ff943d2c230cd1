import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CliIo } from '../../pipectl/cli-io';
import { OperationFailedError, RefusedError } from '../../pipectl/errors';
import { formatDuration, parseDuration, table } from '../../pipectl/format';
import { findScenario, GAMEDAY_SCENARIOS, type GameDayResult, runGameDay } from '../../pipectl/gameday';
import { resolveTarget } from '../../pipectl/target';
import { addExamples } from './target-options';

interface GameDayFlags {
  readonly stage?: string;
  readonly region?: string;
  readonly local?: boolean;
  readonly template: string;
  readonly timeScale: number;
  readonly timeout: string;
  readonly log: string;
  readonly json?: boolean;
}

const timeScale = (value: string) => {
  const parsed = Number(value);
  if (!(parsed >= 0.02 && parsed <= 1)) throw new InvalidArgumentError('a number in [0.02, 1] is expected');
  return parsed;
};

export function registerGameDayCommand(program: Command, io: CliIo): void {
  const command = program
    .command('gameday')
    .description(
      'Inject a named fault scenario into a local pipeline of its own, watch until the matching alarm fires and until it recovers, ' +
        'and print time-to-detect and time-to-recover (pipeline time). Refuses a production stage.',
    )
    .argument('[scenario]', `one of: ${Object.keys(GAMEDAY_SCENARIOS).join(', ')} (none: list them)`)
    .option('--local', 'run it on a local pipeline (the default; it starts its own, as `pipectl local --faults` does)')
    .option('--stage <name>', 'a deployed stage: refused for production; not supported yet for the others (see the message)')
    .option('--region <region>', 'AWS region of --stage')
    .addOption(new Option('--template <stage>', 'the stage whose template the local pipeline runs (it must allow fault injection)').default('dev'))
    .addOption(new Option('--time-scale <factor>', 'local time runs this much faster than real time').argParser(timeScale).default(0.1))
    .addOption(new Option('--timeout <duration>', 'give up after this much pipeline time').default('15m'))
    .addOption(new Option('--log <file>', "where the game day's processor log (and alarm states) go").default(join('.local', 'gameday', 'processor.log')))
    .option('--json', 'print the result as JSON');
  addExamples(command, 'pipectl gameday', 'pipectl gameday model-outage', 'pipectl gameday model-blip --json');
  command.action(async (name: string | undefined, flags: GameDayFlags) => {
    if (flags.stage !== undefined) {
      const target = await resolveTarget({ stage: flags.stage, region: flags.region });
      target.destroy();
      if (target.production) {
        throw new RefusedError(`refusing a game day against ${target.description}: it is a production stage. Run it locally: pipectl gameday ${name ?? '<scenario>'}`);
      }
      throw new RefusedError(
        `game days against a deployed stage are not supported yet: its processor has no switch to start and stop faults at run time. ` +
          `Run it locally: pipectl gameday ${name ?? '<scenario>'}`,
      );
    }
    if (name === undefined) {
      io.out(
        `${table(
          ['scenario', 'faults', 'expected alarms', 'what happens'],
          Object.values(GAMEDAY_SCENARIOS).map((scenario) => [scenario.name, scenario.faults, scenario.expectedAlarms.join(' or '), scenario.description]),
        )}\n\nrun one: pipectl gameday <scenario>\n`,
      );
      return;
    }
    const scenario = findScenario(name);
    const timeoutSeconds = parseDuration(flags.timeout, '--timeout') / 1000;
    io.err(
      `game day ${scenario.name}: ${scenario.description}.\nA local pipeline of the ${flags.template} template at ×${flags.timeScale} time, ` +
        `faults ${scenario.faults}; expecting ${scenario.expectedAlarms.join(' or ')} (at most ${formatDuration(timeoutSeconds * 1000)} of pipeline time, ` +
        `${formatDuration(timeoutSeconds * 1000 * flags.timeScale)} of yours).\n`,
    );
    const result = await runGameDay(scenario, {
      stage: flags.template,
      timeScale: flags.timeScale,
      timeoutSeconds,
      logFile: flags.log,
      onEvent: (event) => io.err(`  ${formatClock(event.virtualSeconds)}  ${event.event}\n`),
    });
    io.out(flags.json ? `${JSON.stringify(result, null, 2)}\n` : describe(result));
    if (!result.passed) {
      const why = [
        result.timeToDetectSeconds === null ? 'the fault was not detected' : '',
        result.timeToDetectSeconds !== null && result.timeToRecoverSeconds === null ? 'the alarms did not recover' : '',
        result.report.invariantHolds ? '' : 'the invariant does not hold',
        result.firedBeforeFault.length > 0 ? `${result.firedBeforeFault.join(', ')} fired before the fault` : '',
      ].filter(Boolean);
      throw new OperationFailedError(`game day ${result.scenario} failed: ${why.join('; ')} (log: ${flags.log})`);
    }
  });
}

function formatClock(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  return `${String(Math.floor(whole / 60)).padStart(2, '0')}:${String(whole % 60).padStart(2, '0')}`;
}

function describe(result: GameDayResult): string {
  const lines = [
    '',
    `  time to detect   ${result.timeToDetectSeconds === null ? 'NOT DETECTED' : `${formatDuration(result.timeToDetectSeconds * 1000)} (${result.detectedBy})`}`,
    `  time to recover  ${result.timeToRecoverSeconds === null ? 'NOT RECOVERED' : `${formatDuration(result.timeToRecoverSeconds * 1000)} after the fault ended`}`,
    `  (pipeline time; the run took ${result.wallSeconds} s of yours at ×${result.timeScale})`,
    `  messages         ${result.sent} sent: ${result.report.completed} completed (primary ${result.report.byTier.primary}, secondary ${result.report.byTier.secondary}, ` +
      `rules ${result.report.byTier.rules}), ${result.report.deadLettered} dead-lettered, ${result.report.inReview} in review`,
    result.report.invariantHolds
      ? `  ✔ invariant holds: ${result.report.unique} unique = ${result.report.completed} completed + ${result.report.deadLettered} dead-lettered + ${result.report.inReview} in review`
      : `  ✘ INVARIANT BROKEN: ${result.report.invariantViolations.join('; ')}`,
  ];
  if (result.firedBeforeFault.length > 0) lines.push(`  ✘ fired before the fault: ${result.firedBeforeFault.join(', ')}`);
  lines.push(`  ${result.passed ? '✔ game day passed' : '✘ game day failed'}`, '');
  return lines.join('\n');
}

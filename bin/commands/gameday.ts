import { basename, dirname, extname, join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CliIo } from '../../pipectl/cli-io';
import { OperationFailedError, RefusedError } from '../../pipectl/errors';
import { formatDuration, parseDuration, table } from '../../pipectl/format';
import type { GameDayResult } from '../../pipectl/gameday';
import {
  DEFAULT_GAMEDAY_TIME_SCALE,
  DEFAULT_GAMEDAY_TIMEOUT_SECONDS,
  describeFault,
  findScenario,
  GAMEDAY_INCIDENT_FILE,
  GAMEDAY_SCENARIOS,
  type GameDayScenario,
} from '../../pipectl/gameday-scenarios';
import { addExamples } from './target-options';
import { verdict } from '../../pipectl/run-verdict';

interface GameDayFlags {
  readonly list?: boolean;
  readonly scenario?: string;
  readonly all?: boolean;
  readonly stage?: string;
  readonly region?: string;
  readonly local?: boolean;
  readonly template: string;
  readonly timeScale?: number;
  readonly timeout?: string;
  readonly rate?: number;
  readonly log: string;
  readonly json?: boolean;
  readonly incidentFile: string;
  readonly concurrency: number;
}

const drillConcurrency = (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 8) throw new InvalidArgumentError('an integer from 1 to 8 is expected');
  return parsed;
};

const timeScale = (value: string) => {
  const parsed = Number(value);
  if (!(parsed >= 0.02 && parsed <= 1)) throw new InvalidArgumentError('a number in [0.02, 1] is expected');
  return parsed;
};

const rate = (value: string) => {
  const parsed = Number(value);
  if (!(parsed >= 0.1 && parsed <= 20)) throw new InvalidArgumentError('a number of messages per second in [0.1, 20] is expected');
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
    .option('--list', 'list the scenarios, the fault each injects and the alarms that must see it')
    .option('--scenario <name>', 'the scenario to run (same as the argument)')
    .option('--all', 'run every scenario (--concurrency at a time, each on a pipeline of its own)')
    .addOption(
      new Option('--concurrency <n>', 'with --all: drills run at once (each is a whole local pipeline; more than 2 can starve a 2-core machine)')
        .argParser(drillConcurrency)
        .default(2),
    )
    .option('--local', 'run it on a local pipeline (the default; it starts its own, as `pipectl local --faults` does)')
    .option('--stage <name>', 'a deployed stage: refused for production; not supported yet for the others (see the message)')
    .option('--region <region>', 'AWS region of --stage')
    .addOption(new Option('--template <stage>', 'the stage whose template the local pipeline runs (it must allow fault injection)').default('dev'))
    .addOption(
      new Option(
        '--time-scale <factor>',
        "local time runs this much faster than real time (default: the scenario's, 0.1 unless its windows are long)",
      ).argParser(timeScale),
    )
    .option('--timeout <duration>', "give up after this much pipeline time (default: the scenario's, 15m unless its windows are long)")
    .addOption(
      new Option(
        '--rate <per-second>',
        "messages the producers send per second of pipeline time (default: the scenario's, 0.2 to 2); fewer is a cheaper drill, " +
          "as long as the rate alarms still see their minimum samples per minute (the stage's alarms.rateMinimumSamples, 10 on dev)",
      ).argParser(rate),
    )
    .addOption(new Option('--log <file>', "where the game day's processor log (and alarm states) go").default(join('.local', 'gameday', 'processor.log')))
    .addOption(
      new Option('--incident-file <file>', 'where the alarm transitions and recovery attempts are kept for `pipectl incident timeline --gameday`').default(
        GAMEDAY_INCIDENT_FILE,
      ),
    )
    .option('--json', 'print the result as JSON');
  addExamples(
    command,
    'pipectl gameday --list',
    'pipectl gameday --scenario model-outage',
    'pipectl gameday --all --time-scale 0.05',
    'pipectl gameday model-blip --json',
    'pipectl gameday model-outage --rate 0.5 --time-scale 0.2',
  );
  command.action(async (name: string | undefined, flags: GameDayFlags) => {
    if (flags.stage !== undefined) {
      const { resolveTarget } = await import('../../pipectl/target');
      const target = await resolveTarget({ stage: flags.stage, region: flags.region });
      target.destroy();
      if (target.production) {
        throw new RefusedError(
          `refusing a game day against ${target.description}: it is a production stage. Run it locally: pipectl gameday ${name ?? '<scenario>'}`,
        );
      }
      throw new RefusedError(
        `game days against a deployed stage are not supported yet: its processor has no switch to start and stop faults at run time. ` +
          `Run it locally: pipectl gameday ${name ?? '<scenario>'}`,
      );
    }
    const chosen = flags.scenario ?? name;
    if (flags.list || (chosen === undefined && !flags.all)) {
      io.out(
        `${table(
          ['scenario', 'fault', 'expected alarms', 'what happens'],
          Object.values(GAMEDAY_SCENARIOS).map((scenario) => [
            scenario.name,
            describeFault(scenario),
            scenario.expectedAlarms.join(' or '),
            scenario.description,
          ]),
        )}\n\nrun one: pipectl gameday --scenario <scenario>; all: pipectl gameday --all\n`,
      );
      return;
    }
    const scenarios = flags.all ? Object.values(GAMEDAY_SCENARIOS) : [findScenario(chosen as string)];
    // Drills run side by side, each on a pipeline of its own (its own emulators, ports and log);
    // results are printed in scenario order once all have finished.
    // The longest (by their time budget in wall time) start first, so the short ones fill in beside them.
    const results: GameDayResult[] = new Array(scenarios.length);
    const budget = (scenario: GameDayScenario) =>
      (scenario.timeoutSeconds ?? DEFAULT_GAMEDAY_TIMEOUT_SECONDS) * (flags.timeScale ?? scenario.timeScale ?? DEFAULT_GAMEDAY_TIME_SCALE);
    const order = scenarios.map((_, index) => index).sort((a, b) => budget(scenarios[b] as GameDayScenario) - budget(scenarios[a] as GameDayScenario));
    let next = 0;
    const worker = async () => {
      while (next < order.length) {
        const index = order[next++] as number;
        results[index] = await runOne(scenarios[index] as GameDayScenario, flags, scenarios.length > 1);
      }
    };
    await Promise.all(Array.from({ length: Math.min(flags.all ? flags.concurrency : 1, scenarios.length) }, worker));
    if (flags.json) io.out(`${JSON.stringify(flags.all ? results : results[0], null, 2)}\n`);
    else for (const result of results) io.out(describe(result));
    const failed = results.filter((result) => !result.passed);
    if (failed.length > 0) {
      throw new OperationFailedError(
        `${failed.map((result) => `game day ${result.scenario} failed: ${whyFailed(result).join('; ')}`).join('\n')} (log: ${flags.log})`,
      );
    }
  });

  async function runOne(scenario: GameDayScenario, flags: GameDayFlags, several: boolean): Promise<GameDayResult> {
    const timeoutSeconds =
      flags.timeout === undefined ? (scenario.timeoutSeconds ?? DEFAULT_GAMEDAY_TIMEOUT_SECONDS) : parseDuration(flags.timeout, '--timeout') / 1000;
    const scale = flags.timeScale ?? scenario.timeScale ?? DEFAULT_GAMEDAY_TIME_SCALE;
    io.err(
      `game day ${scenario.name}: ${scenario.description}.\nA local pipeline of the ${flags.template} template at ×${scale} time, ` +
        `fault ${describeFault(scenario)}; expecting ${scenario.expectedAlarms.join(' or ')} (at most ${formatDuration(timeoutSeconds * 1000)} of pipeline time, ` +
        `${formatDuration(timeoutSeconds * 1000 * scale)} of yours).\n`,
    );
    const { runGameDay } = await import('../../pipectl/gameday');
    const result = await runGameDay(scenario, {
      stage: flags.template,
      timeScale: scale,
      timeoutSeconds,
      ...(flags.rate !== undefined ? { ratePerSecond: flags.rate } : {}),
      // Several drills: one log and one incident file each, beside the ones named.
      logFile: several ? siblingFile(flags.log, scenario.name) : flags.log,
      incidentFile: several ? siblingFile(flags.incidentFile, scenario.name) : flags.incidentFile,
      onEvent: (event) => io.err(`  ${several ? `${scenario.name}  ` : ''}${formatClock(event.virtualSeconds)}  ${event.event}\n`),
    });
    return result;
  }
}

/** `dir/name.ext` → `dir/name.<scenario>.ext`. */
function siblingFile(file: string, scenario: string): string {
  const extension = extname(file);
  return join(dirname(file), `${basename(file, extension)}.${scenario}${extension}`);
}

function whyFailed(result: GameDayResult): string[] {
  return [
    result.timeToDetectSeconds === null ? 'the fault was not detected' : '',
    result.timeToDetectSeconds !== null && result.timeToRecoverSeconds === null ? 'the alarms did not recover' : '',
    result.report.invariantHolds ? '' : 'the invariant does not hold',
    result.missingPages.length > 0 ? `${result.missingPages.join(', ')} did not page` : '',
    result.firedBeforeFault.length > 0 ? `${result.firedBeforeFault.join(', ')} fired before the fault` : '',
    result.unexpectedAlarms.length > 0 ? `${result.unexpectedAlarms.join(', ')} fired for a cause that was not injected` : '',
  ].filter(Boolean);
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
    `  recovery clock   detect ${clockFigure(result.recoveryClock.timeToDetectSeconds)}, mitigate ${clockFigure(result.recoveryClock.timeToMitigateSeconds)}, ` +
      `stable recovery ${clockFigure(result.recoveryClock.timeToStableRecoverySeconds)} from the fault's start (pipectl incident timeline --gameday)`,
    `  (pipeline time; the run took ${result.wallSeconds} s of yours at ×${result.timeScale})`,
    `  messages         ${result.sent} sent: ${result.report.completed} completed (primary ${result.report.byTier.primary}, secondary ${result.report.byTier.secondary}, ` +
      `rules ${result.report.byTier.rules}), ${result.report.deadLettered} dead-lettered, ${result.report.inReview} in review`,
    verdict(result.report),
  ];
  lines.splice(
    1,
    0,
    `  scenario         ${result.scenario} (${result.faults}); first alarm: ${result.firstAlarm ?? 'none'}; pages: ${result.pages.length > 0 ? result.pages.join(', ') : 'none'}`,
  );
  if (result.missingPages.length > 0) lines.push(`  ✘ expected to page, did not: ${result.missingPages.join(', ')}`);
  if (result.firedBeforeFault.length > 0) lines.push(`  ✘ fired before the fault: ${result.firedBeforeFault.join(', ')}`);
  if (result.unexpectedAlarms.length > 0) lines.push(`  ✘ fired for a cause not injected: ${result.unexpectedAlarms.join(', ')}`);
  lines.push(`  ${result.passed ? '✔ game day passed' : '✘ game day failed'}`, '');
  return lines.join('\n');
}

function clockFigure(seconds: number | null): string {
  return seconds === null ? '—' : formatDuration(seconds * 1000);
}

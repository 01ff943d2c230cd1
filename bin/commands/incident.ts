import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Command, Option } from 'commander';
import type { CliIo } from '../../pipectl/cli-io';
import { UsageError } from '../../pipectl/errors';
import { isoSeconds, parseDuration } from '../../pipectl/format';
import { GAMEDAY_INCIDENT_FILE } from '../../pipectl/gameday-scenarios';
import type { IncidentTimeline } from '../../pipectl/incident-timeline';
import { addExamples, addTargetOptions, announce, type TargetFlags, withTarget } from './target-options';

interface TimelineFlags extends TargetFlags {
  readonly since: string;
  readonly startedAt?: string;
  readonly gameday?: boolean | string;
  readonly write?: string;
  readonly json?: boolean;
}

/** Registers `pipectl incident timeline`. */
export function registerIncidentCommand(program: Command, io: CliIo): void {
  const group = program.command('incident').description('The recovery clock of an incident: alarm history joined with the recovery attempts');
  addExamples(group, 'pipectl incident timeline --since 3h --stage prod --write postmortem.md');
  const command = group
    .command('timeline')
    .description(
      'Join the alarm history with the recovery attempts (pause, resume, redrive, breaker, switch, canary) and print ' +
        'time-to-detect, time-to-mitigate and time-to-stable-recovery (until every alarm is OK and no manual override is left). Changes nothing',
    )
    .addOption(new Option('--since <duration>', 'how far back to look').default('3h'))
    .option('--started-at <time>', 'when the impact began (ISO time), if known; default: the first breach of the first alarm')
    .option('--gameday [file]', `the last local game day's record (default ${GAMEDAY_INCIDENT_FILE}) instead of a running pipeline`)
    .option('--write <path>', 'write the post-mortem template with this timeline and the figures prefilled')
    .option('--json', 'print the timeline as JSON');
  addTargetOptions(command);
  addExamples(
    command,
    'pipectl incident timeline --since 2h --stage prod --write postmortems/2026-12-02.md',
    'pipectl gameday processor-paused && pipectl incident timeline --gameday --write postmortem.md',
  );
  command.action(async (flags: TimelineFlags) => {
    // Loaded when the command runs: --help needs none of them (bin/pipectl.js, docs/performance.md).
    const { readGameDayIncident, recoveryFigureLines, renderTimelinePostMortem } = await import('../../pipectl/incident-report');
    const { incidentTimeline } = await import('../../pipectl/incident-timeline');
    const { alarmTransitions } = await import('../../pipectl/alarms');
    const { listRecoveryAttempts } = await import('../../pipectl/recovery-clock');
    const startedAt = flags.startedAt === undefined ? undefined : Date.parse(flags.startedAt);
    if (startedAt !== undefined && !Number.isFinite(startedAt))
      throw new UsageError(`--started-at ${flags.startedAt} is not a time: give an ISO time such as 2026-12-02T14:05:00Z`);
    let timeline: IncidentTimeline;
    if (flags.gameday !== undefined) {
      if (flags.stage !== undefined || flags.local !== undefined)
        throw new UsageError('--gameday reads the game day record: give it without --stage or --local');
      const record = readGameDayIncident(typeof flags.gameday === 'string' ? flags.gameday : GAMEDAY_INCIDENT_FILE);
      io.err(`pipectl: the game day ${record.scenario} of ${isoSeconds(record.startedAt)}\n`);
      timeline = incidentTimeline(record.transitions, record.attempts, { startedAt: startedAt ?? record.startedAt, timeScale: record.timeScale });
    } else {
      const since = Date.now() - parseDuration(flags.since, '--since');
      timeline = await withTarget(flags, async (target) => {
        announce(io, target);
        const { transitions, timeScale } = await alarmTransitions(target, since);
        const attempts = await listRecoveryAttempts(target.dynamodb, target.resources.controlTableName, since);
        return incidentTimeline(transitions, attempts, { since, startedAt, timeScale });
      });
    }
    if (flags.write) {
      mkdirSync(dirname(flags.write), { recursive: true });
      writeFileSync(flags.write, renderTimelinePostMortem(timeline));
      io.err(`wrote the post-mortem with its timeline prefilled: ${flags.write}\n`);
    }
    if (flags.json) {
      io.out(`${JSON.stringify(timeline, null, 2)}\n`);
      return;
    }
    const lines = timeline.events.map((event) => `${isoSeconds(event.at)}  ${event.kind.padEnd(6)} ${event.text}`);
    io.out(`${[...lines, '', ...recoveryFigureLines(timeline)].join('\n')}\n`);
  });
}

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { POSTMORTEM_TEMPLATE } from '../lib/observability/postmortem-template';
import type { AlarmTransition } from './alarms';
import { TargetNotFoundError } from './errors';
import { GAMEDAY_INCIDENT_FILE } from './gameday-scenarios';
import { formatDuration, isoSeconds } from './format';
import type { IncidentTimeline } from './incident-timeline';
import { fillPostMortemTimeline } from './incident-writer';
import { RECOVERY_ACTION, type RecoveryAttempt } from './recovery-clock';

/** A game day's alarm transitions and recovery attempts, kept after its local pipeline stopped. */
export const GameDayIncident = z.object({
  scenario: z.string(),
  /** Epoch ms the fault began: the incident's start. */
  startedAt: z.number(),
  timeScale: z.number().positive(),
  transitions: z.array(z.object({ alarm: z.string(), from: z.string(), to: z.string(), at: z.number(), breachStartedAt: z.number().optional() })) as z.ZodType<
    AlarmTransition[]
  >,
  attempts: z.array(
    z.object({
      action: z.enum(Object.values(RECOVERY_ACTION) as [string, ...string[]]),
      at: z.number(),
      by: z.string(),
      reason: z.string().optional(),
      detail: z.string().optional(),
      override: z.enum(['placed', 'removed', 'none']),
    }),
  ) as z.ZodType<RecoveryAttempt[]>,
});
export type GameDayIncident = z.infer<typeof GameDayIncident>;

export function writeGameDayIncident(incident: GameDayIncident, file = GAMEDAY_INCIDENT_FILE): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(incident, null, 2)}\n`);
}

export function readGameDayIncident(file = GAMEDAY_INCIDENT_FILE): GameDayIncident {
  if (!existsSync(file)) throw new TargetNotFoundError(`no game day record: ${file} does not exist; run one first (pipectl gameday <scenario>)`);
  const parsed = GameDayIncident.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new TargetNotFoundError(`${file} is not a game day record of this pipectl: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

const hhmmss = (at: number) => isoSeconds(at).slice(11, 19);

/** A duration in seconds of pipeline time, or why there is none. */
export function figure(seconds: number | null, missing: string): string {
  return seconds === null ? missing : formatDuration(seconds * 1000);
}

/** The three figures, one line each (the terminal and the post-mortem say the same). */
export function recoveryFigureLines(timeline: IncidentTimeline): string[] {
  const scale = timeline.timeScale === 1 ? '' : ` (pipeline time at ×${timeline.timeScale})`;
  return [
    `time to detect           ${figure(timeline.timeToDetectSeconds, 'not detected')}${timeline.detectedBy ? ` (${timeline.detectedBy})` : ''}`,
    `time to mitigate         ${figure(timeline.timeToMitigateSeconds, 'no recovery attempt recorded')}${timeline.mitigatedBy ? ` (${timeline.mitigatedBy})` : ''}`,
    `time to stable recovery  ${figure(
      timeline.timeToStableRecoverySeconds,
      `not yet: ${[...timeline.alarmsFiring.map((alarm) => `${alarm} in ALARM`), ...timeline.overridesLeft.map((name) => `override ${name} in place`)].join(', ') || 'nothing fired'}`,
    )}`,
    `measured from ${isoSeconds(timeline.startedAt)} (${timeline.startFrom === 'given' ? 'given start' : timeline.startFrom === 'breach' ? "the first breach's first datapoint" : 'the first alarm: give --started-at for the real start'})${scale}`,
  ];
}

/**
 * The post-mortem template with the timeline prefilled (alarm transitions and recovery attempts),
 * the date and the alarms, and the three figures under the table.
 */
export function renderTimelinePostMortem(timeline: IncidentTimeline): string {
  const rows = timeline.events.map((event) => `| ${hhmmss(event.at)} | ${event.kind}: ${event.text.replace(/\|/g, '\\|')} |`);
  let text = POSTMORTEM_TEMPLATE;
  const end = timeline.stableAt === null ? '<end>' : hhmmss(timeline.stableAt);
  text = text.replace('<YYYY-MM-DD>, <start>–<end> UTC', `${isoSeconds(timeline.startedAt).slice(0, 10)}, ${hhmmss(timeline.startedAt)}–${end} UTC`);
  const alarms = [
    ...new Set(timeline.events.filter((event) => event.kind === 'alarm' && event.text.endsWith('→ ALARM')).map((event) => event.text.split(' ')[0])),
  ];
  if (alarms.length > 0) text = text.replace('<alarm names, first one first>', alarms.join(', '));
  // Only "page acknowledged" is left for a person: the clock knows the rest.
  text = fillPostMortemTimeline(text, rows, 'pipectl incident timeline', /acknowledged/);
  const figures = `\n**Recovery clock** (pipectl incident timeline):\n\n${recoveryFigureLines(timeline)
    .map((line) => `- ${line.replace(/\s{2,}/g, ': ')}`)
    .join('\n')}\n`;
  const afterTable = text.indexOf('\n\n## ', text.indexOf('| time | event |'));
  return afterTable < 0 ? `${text.trimEnd()}\n${figures}` : `${text.slice(0, afterTable)}\n${figures}${text.slice(afterTable + 1)}`;
}

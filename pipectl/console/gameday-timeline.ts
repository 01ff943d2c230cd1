import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';

import { GAMEDAY_RESULT_FILE } from '../gameday-scenarios';

/** The part of `pipectl gameday --json` (pipectl/gameday.ts, `GameDayResult`) the timeline reads. */
const GameDayFile = z.object({
  scenario: z.string(),
  faults: z.string(),
  timeScale: z.number(),
  timeToDetectSeconds: z.number().nullable(),
  timeToRecoverSeconds: z.number().nullable(),
  detectedBy: z.string().nullable(),
  passed: z.boolean(),
  sent: z.number().optional(),
  events: z.array(z.object({ at: z.number(), virtualSeconds: z.number(), event: z.string() })),
  report: z.object({ completed: z.number(), deadLettered: z.number(), inReview: z.number(), invariantHolds: z.boolean() }).partial().optional(),
});

/** What a moment of the game day was. */
export type TimelineKind = 'fault' | 'detection' | 'alarm' | 'recovery' | 'action';

/** One moment on the timeline. */
export interface TimelineEntry {
  readonly virtualSeconds: number;
  readonly at: number;
  readonly kind: TimelineKind;
  readonly text: string;
}

/** A game day ready to draw: the fault window, detection, recovery and every event between. */
export interface GameDayTimeline {
  readonly file: string;
  readonly scenario: string;
  readonly faults: string;
  readonly passed: boolean;
  readonly timeScale: number;
  readonly fault?: { readonly from: number; readonly to?: number };
  readonly detectedAt?: number;
  readonly detectedBy?: string;
  readonly recoveredAt?: number;
  readonly timeToDetectSeconds: number | null;
  readonly timeToRecoverSeconds: number | null;
  /** The last moment, in pipeline seconds: the timeline's length. */
  readonly endSeconds: number;
  readonly entries: readonly TimelineEntry[];
  readonly outcome?: string;
}

/** Classifies the events `runGameDay` notes (pipectl/gameday.ts): the wording there is the contract. */
function kindOf(event: string, detectedBy: string | null): TimelineKind {
  if (/^fault (starts|ends)$/.test(event)) return 'fault';
  if (/is OK again$/.test(event)) return 'recovery';
  const transition = /^(\S+) \S+ → ALARM$/.exec(event);
  if (transition && transition[1] === detectedBy) return 'detection';
  if (/ → (ALARM|OK|INSUFFICIENT_DATA)$/.test(event)) return 'alarm';
  return 'action';
}

/**
 * Reads a game day result, or says why there is none. The file is untrusted only in the sense
 * that it may be from another version: a shape this console does not read is reported, not shown.
 */
export function readGameDay(file: string = GAMEDAY_RESULT_FILE): GameDayTimeline | { readonly missing: string } {
  if (!existsSync(file)) return { missing: `no game day result at ${file}: run one with \`pipectl gameday model-outage --json > ${file}\`` };
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return { missing: `${file} is not JSON: ${(error as Error).message}` };
  }
  const parsed = GameDayFile.safeParse(document);
  if (!parsed.success)
    return { missing: `${file} is not a \`pipectl gameday --json\` result: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}` };
  const result = parsed.data;
  const entries = result.events.map((event) => ({
    virtualSeconds: event.virtualSeconds,
    at: event.at,
    kind: kindOf(event.event, result.detectedBy),
    text: event.event,
  }));
  const faultStart = entries.find((entry) => entry.text === 'fault starts');
  const faultEnd = entries.find((entry) => entry.text === 'fault ends');
  const detection = entries.find((entry) => entry.kind === 'detection');
  const recovery = entries.find((entry) => entry.kind === 'recovery');
  const report = result.report;
  return {
    file,
    scenario: result.scenario,
    faults: result.faults,
    passed: result.passed,
    timeScale: result.timeScale,
    ...(faultStart ? { fault: { from: faultStart.virtualSeconds, ...(faultEnd ? { to: faultEnd.virtualSeconds } : {}) } } : {}),
    ...(detection ? { detectedAt: detection.virtualSeconds } : {}),
    ...(result.detectedBy ? { detectedBy: result.detectedBy } : {}),
    ...(recovery ? { recoveredAt: recovery.virtualSeconds } : {}),
    timeToDetectSeconds: result.timeToDetectSeconds,
    timeToRecoverSeconds: result.timeToRecoverSeconds,
    endSeconds: Math.max(1, ...entries.map((entry) => entry.virtualSeconds)),
    entries,
    ...(report && report.completed !== undefined
      ? {
          outcome:
            `${result.sent ?? '?'} sent: ${report.completed} completed, ${report.deadLettered ?? '?'} dead-lettered, ${report.inReview ?? '?'} in review; ` +
            `invariant ${report.invariantHolds ? 'holds' : 'BROKEN'}`,
        }
      : {}),
  };
}

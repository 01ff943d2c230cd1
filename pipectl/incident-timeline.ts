import type { AlarmTransition } from './alarms';
import { RECOVERY_ACTION, type RecoveryAttempt } from './recovery-clock';

export type { AlarmTransition } from './alarms';

/*
 * The recovery clock's read side: alarm transitions (CloudWatch's alarm history on a stage, the
 * local evaluator's recorded transitions locally) joined with the recovery attempts of the
 * control table, and the three figures computed from them:
 *
 *   start ──► first ALARM ──► first recovery attempt ──► every alarm OK and no manual override left
 *     │  time-to-detect  │                                                                  │
 *     │──────────── time-to-mitigate ──────────────────►│                                    │
 *     │──────────────────────────── time-to-stable-recovery ───────────────────────────────►│
 */

/** One line of the timeline. */
export interface IncidentEvent {
  readonly at: number;
  readonly kind: 'start' | 'alarm' | 'action' | 'stable';
  readonly text: string;
}

/** The three figures and what they were measured from. */
export interface IncidentTimeline {
  /** Epoch ms the incident is measured from. */
  readonly startedAt: number;
  /** How the start was found: given (`--started-at`, a game day's fault start), the first breach's first datapoint, or the first alarm. */
  readonly startFrom: 'given' | 'breach' | 'first-alarm';
  readonly detectedAt: number | null;
  readonly detectedBy: string | null;
  readonly mitigatedAt: number | null;
  readonly mitigatedBy: string | null;
  readonly stableAt: number | null;
  /** Durations in seconds of pipeline time (wall time ÷ time scale); null: not reached. */
  readonly timeToDetectSeconds: number | null;
  readonly timeToMitigateSeconds: number | null;
  readonly timeToStableRecoverySeconds: number | null;
  /** Manual overrides still in place at the end of the window (what keeps recovery from being stable). */
  readonly overridesLeft: readonly string[];
  /** Alarms still in ALARM at the end of the window. */
  readonly alarmsFiring: readonly string[];
  readonly timeScale: number;
  readonly events: readonly IncidentEvent[];
}

/**
 * The manual override an attempt places or removes, by name, or undefined when it is neither (a
 * redrive). The names pair placements with removals: `pause`/`resume`, a model's forced breaker and
 * its release, a switch's set and unset, and the canary stopped by hand (abort, or the alarm's
 * rollback) until the candidate is withdrawn, promoted or rolled out again.
 */
export function overrideOf(attempt: Pick<RecoveryAttempt, 'action' | 'detail'>): { readonly name: string; readonly effect: 'placed' | 'removed' } | undefined {
  const detail = attempt.detail ?? '';
  const switchName = detail.split('=')[0] ?? '';
  switch (attempt.action) {
    case RECOVERY_ACTION.PAUSE:
      return { name: 'pause', effect: 'placed' };
    case RECOVERY_ACTION.RESUME:
      return { name: 'pause', effect: 'removed' };
    case RECOVERY_ACTION.BREAKER_FORCE:
      return { name: `breaker ${detail.split(':')[0]}`, effect: 'placed' };
    case RECOVERY_ACTION.BREAKER_RELEASE:
      return { name: `breaker ${detail.split(':')[0]}`, effect: 'removed' };
    case RECOVERY_ACTION.CANARY_ABORT:
    case RECOVERY_ACTION.CANARY_ROLLBACK:
      return { name: 'canary stopped', effect: 'placed' };
    case RECOVERY_ACTION.CANARY_PROMOTE:
      return { name: 'canary stopped', effect: 'removed' };
    case RECOVERY_ACTION.SWITCH_SET:
    case RECOVERY_ACTION.SWITCH_UNSET: {
      // A rollout's settings are not overrides, but withdrawing the candidate (or rolling out again) ends a stopped canary.
      if ((switchName === 'canary.model' || switchName === 'canary.version') && attempt.action === RECOVERY_ACTION.SWITCH_UNSET)
        return { name: 'canary stopped', effect: 'removed' };
      if (switchName === 'canary.percent' && !/^canary\.percent=0\b/.test(detail)) return { name: 'canary stopped', effect: 'removed' };
      if (switchName.startsWith('canary.') || switchName.startsWith('shadow.')) return undefined;
      return { name: `switch ${switchName}`, effect: attempt.action === RECOVERY_ACTION.SWITCH_SET ? 'placed' : 'removed' };
    }
    default:
      return undefined;
  }
}

export interface TimelineOptions {
  /** When the impact began, when known (a game day's fault start, `--started-at`). */
  readonly startedAt?: number;
  /** Local mode runs faster than real time: durations are divided by this. @default 1 */
  readonly timeScale?: number;
  /** Ignore what happened before (epoch ms). @default 0 */
  readonly since?: number;
}

/** Joins transitions and attempts and computes time-to-detect, -mitigate and -stable-recovery. */
export function incidentTimeline(
  transitions: readonly AlarmTransition[],
  attempts: readonly RecoveryAttempt[],
  options: TimelineOptions = {},
): IncidentTimeline {
  const since = options.since ?? 0;
  const timeScale = options.timeScale ?? 1;
  const changes = transitions.filter((transition) => transition.at >= since && transition.from !== transition.to).sort((a, b) => a.at - b.at);
  const actions = attempts.filter((attempt) => attempt.at >= since).sort((a, b) => a.at - b.at);
  const firstAlarm = changes.find((transition) => transition.to === 'ALARM');
  const breachStarts = changes.flatMap((transition) =>
    transition.to === 'ALARM' && transition.breachStartedAt !== undefined ? [transition.breachStartedAt] : [],
  );
  const startFrom: IncidentTimeline['startFrom'] = options.startedAt !== undefined ? 'given' : breachStarts.length > 0 ? 'breach' : 'first-alarm';
  const startedAt = options.startedAt ?? (breachStarts.length > 0 ? Math.min(...breachStarts) : (firstAlarm?.at ?? since));
  const detection = changes.find((transition) => transition.to === 'ALARM' && transition.at >= startedAt) ?? firstAlarm;
  // The first action taken in response: at or after detection (what was done before it, e.g. the
  // change that started the incident or the pause that is the fault of a game day, is not a response).
  const mitigation = actions.find((attempt) => attempt.at >= (detection?.at ?? startedAt));

  // Walk the merged events in time order; stable is the last moment at which every alarm became OK
  // with no override left, provided nothing fired or was overridden again after it.
  type Step = { at: number; apply: () => void; event: IncidentEvent };
  const states = new Map<string, string>();
  const overrides = new Set<string>();
  const steps: Step[] = [
    ...changes.map((transition) => ({
      at: transition.at,
      apply: () => void states.set(transition.alarm, transition.to),
      event: { at: transition.at, kind: 'alarm' as const, text: `${transition.alarm} ${transition.from} → ${transition.to}` },
    })),
    ...actions.map((attempt) => {
      const override = overrideOf(attempt);
      return {
        at: attempt.at,
        apply: () => {
          if (override?.effect === 'placed') overrides.add(override.name);
          if (override?.effect === 'removed') overrides.delete(override.name);
        },
        event: {
          at: attempt.at,
          kind: 'action' as const,
          text: `${attempt.action}${attempt.detail ? ` ${attempt.detail}` : ''} by ${attempt.by}${attempt.reason ? `: ${attempt.reason}` : ''}${override ? ` (override ${override.name} ${override.effect})` : ''}`,
        },
      };
    }),
  ].sort((a, b) => a.at - b.at);
  let stableAt: number | null = null;
  for (const step of steps) {
    step.apply();
    const calm = [...states.values()].every((state) => state !== 'ALARM') && overrides.size === 0;
    if (!calm) stableAt = null;
    else if (stableAt === null && detection !== undefined && step.at >= detection.at) stableAt = step.at;
  }
  const seconds = (to: number | null | undefined) => (to === null || to === undefined ? null : Math.round(((to - startedAt) / 1000 / timeScale) * 10) / 10);
  const events: IncidentEvent[] = [
    {
      at: startedAt,
      kind: 'start' as const,
      text: `incident starts (${startFrom === 'given' ? 'given' : startFrom === 'breach' ? "the first breach's first datapoint" : 'the first alarm'})`,
    },
    ...steps.map((step) => step.event),
    ...(stableAt === null ? [] : [{ at: stableAt, kind: 'stable' as const, text: 'every alarm OK, no manual override left' }]),
  ].sort((a, b) => a.at - b.at);
  return {
    startedAt,
    startFrom,
    detectedAt: detection?.at ?? null,
    detectedBy: detection?.alarm ?? null,
    mitigatedAt: mitigation?.at ?? null,
    mitigatedBy: mitigation ? `${mitigation.action}${mitigation.detail ? ` ${mitigation.detail}` : ''}` : null,
    stableAt,
    timeToDetectSeconds: seconds(detection?.at),
    timeToMitigateSeconds: seconds(mitigation?.at),
    timeToStableRecoverySeconds: seconds(stableAt),
    overridesLeft: [...overrides],
    alarmsFiring: [...states.entries()].filter(([, state]) => state === 'ALARM').map(([alarm]) => alarm),
    timeScale,
    events,
  };
}

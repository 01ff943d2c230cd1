import { describe, expect, it } from 'vitest';
import { renderTimelinePostMortem } from '../../pipectl/incident-report';
import { type AlarmTransition, incidentTimeline, overrideOf } from '../../pipectl/incident-timeline';
import { RECOVERY_ACTION, type RecoveryAttempt } from '../../pipectl/recovery-clock';

const T0 = Date.parse('2026-12-02T14:00:00Z');
const at = (seconds: number) => T0 + seconds * 1000;
const alarm = (name: string, from: string, to: string, seconds: number): AlarmTransition => ({ alarm: name, from, to, at: at(seconds) });
const action = (kind: RecoveryAttempt['action'], seconds: number, detail?: string): RecoveryAttempt => ({
  action: kind,
  at: at(seconds),
  by: 'oncall',
  override: 'none',
  ...(detail ? { detail } : {}),
});

describe('overrideOf', () => {
  it.each([
    [RECOVERY_ACTION.PAUSE, undefined, { name: 'pause', effect: 'placed' }],
    [RECOVERY_ACTION.RESUME, undefined, { name: 'pause', effect: 'removed' }],
    [RECOVERY_ACTION.BREAKER_FORCE, 'sim-primary: OPEN', { name: 'breaker sim-primary', effect: 'placed' }],
    [RECOVERY_ACTION.BREAKER_RELEASE, 'sim-primary: CLOSED', { name: 'breaker sim-primary', effect: 'removed' }],
    [RECOVERY_ACTION.SWITCH_SET, 'stop-task.ticket-triage=true', { name: 'switch stop-task.ticket-triage', effect: 'placed' }],
    [RECOVERY_ACTION.SWITCH_UNSET, 'stop-task.ticket-triage=(unset) (was true)', { name: 'switch stop-task.ticket-triage', effect: 'removed' }],
    [RECOVERY_ACTION.CANARY_ABORT, 'canary.percent=0 (was 10)', { name: 'canary stopped', effect: 'placed' }],
    [RECOVERY_ACTION.CANARY_ROLLBACK, 'canary.percent=0 (was 10)', { name: 'canary stopped', effect: 'placed' }],
    [RECOVERY_ACTION.SWITCH_UNSET, 'canary.model=(unset) (was m)', { name: 'canary stopped', effect: 'removed' }],
    [RECOVERY_ACTION.SWITCH_SET, 'canary.percent=5 (was 0)', { name: 'canary stopped', effect: 'removed' }],
    [RECOVERY_ACTION.SWITCH_SET, 'shadow.percent=5', undefined],
    [RECOVERY_ACTION.REDRIVE, 'MAX_RECEIVES_EXCEEDED: 3 moved', undefined],
  ] as const)('%s %s → %j', (kind, detail, expected) => {
    expect(overrideOf({ action: kind, detail })).toEqual(expected);
  });
});

describe('incidentTimeline', () => {
  it('measures detect, mitigate and stable recovery from the given start; stable waits for the last override to go', () => {
    const timeline = incidentTimeline(
      [alarm('model-error-rate', 'OK', 'ALARM', 120), alarm('model-error-rate', 'ALARM', 'OK', 400)],
      [action(RECOVERY_ACTION.SWITCH_SET, 300, 'tier-off.primary=true'), action(RECOVERY_ACTION.SWITCH_UNSET, 900, 'tier-off.primary=(unset) (was true)')],
      { startedAt: at(0) },
    );
    expect(timeline).toMatchObject({
      startFrom: 'given',
      detectedBy: 'model-error-rate',
      timeToDetectSeconds: 120,
      timeToMitigateSeconds: 300,
      timeToStableRecoverySeconds: 900,
      overridesLeft: [],
      alarmsFiring: [],
    });
  });

  it('is not stable while an override stays in place, and says which', () => {
    const timeline = incidentTimeline(
      [alarm('dlq-has-messages', 'OK', 'ALARM', 60), alarm('dlq-has-messages', 'ALARM', 'OK', 200)],
      [action(RECOVERY_ACTION.PAUSE, 90)],
      {
        startedAt: at(0),
      },
    );
    expect(timeline.timeToStableRecoverySeconds).toBeNull();
    expect(timeline.overridesLeft).toEqual(['pause']);
    expect(timeline.timeToMitigateSeconds).toBe(90);
  });

  it('an action before detection is not the mitigation; a second firing restarts the wait for stable', () => {
    const timeline = incidentTimeline(
      [
        alarm('processor-silent', 'OK', 'ALARM', 300),
        alarm('processor-silent', 'ALARM', 'OK', 700),
        alarm('input-age-over-sla', 'OK', 'ALARM', 720),
        alarm('input-age-over-sla', 'ALARM', 'OK', 800),
      ],
      [action(RECOVERY_ACTION.PAUSE, 10), action(RECOVERY_ACTION.RESUME, 600)],
      { startedAt: at(10), timeScale: 0.5 },
    );
    // Seconds of pipeline time: wall seconds ÷ 0.5.
    expect(timeline).toMatchObject({ timeToDetectSeconds: 580, timeToMitigateSeconds: 1180, timeToStableRecoverySeconds: 1580 });
  });

  it('without a given start, measures from the first breach datapoint CloudWatch reports', () => {
    const timeline = incidentTimeline([{ ...alarm('model-error-rate', 'OK', 'ALARM', 180), breachStartedAt: at(60) }], []);
    expect(timeline).toMatchObject({ startFrom: 'breach', startedAt: at(60), timeToDetectSeconds: 120, timeToMitigateSeconds: null });
  });

  it('prefills the post-mortem: timeline rows, the date, the alarms and the three figures', () => {
    const timeline = incidentTimeline(
      [alarm('model-error-rate', 'OK', 'ALARM', 120), alarm('model-error-rate', 'ALARM', 'OK', 400)],
      [action(RECOVERY_ACTION.BREAKER_FORCE, 200, 'sim-primary: OPEN'), action(RECOVERY_ACTION.BREAKER_RELEASE, 500, 'sim-primary: CLOSED')],
      { startedAt: at(0) },
    );
    const markdown = renderTimelinePostMortem(timeline);
    expect(markdown).toContain('2026-12-02, 14:00:00–14:08:20 UTC');
    expect(markdown).toContain('**Alarms:** model-error-rate');
    expect(markdown).toContain('| 14:02:00 | alarm: model-error-rate OK → ALARM |');
    expect(markdown).toContain('| 14:03:20 | action: breaker-force sim-primary: OPEN by oncall (override breaker sim-primary placed) |');
    expect(markdown).toContain('- time to detect: 2 min (model-error-rate)');
    expect(markdown).toContain('- time to mitigate: 3 min 20 s (breaker-force sim-primary: OPEN)');
    expect(markdown).toContain('- time to stable recovery: 8 min 20 s');
    expect(markdown).toContain('| 14:08:20 | stable: every alarm OK, no manual override left |');
    expect(markdown).toContain('## Five whys');
  });
});

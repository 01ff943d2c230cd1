import type { LocalAlarmState } from './alarm-evaluator';

/*
 * The CLI text of the local alarm evaluator: what `pipectl local` prints about the alarms of a run.
 */

/** The lines a human summary prints for the alarms that fired, with their runbook anchors. */
export function firedAlarmLines(states: readonly LocalAlarmState[]): string[] {
  const fired = states.filter((alarm) => alarm.firstFiredAt !== null);
  if (fired.length === 0) return ['  alarms             none fired'];
  return fired.map(
    (alarm) =>
      `  alarm ${alarm.severity.padEnd(6)}      ${alarm.id}: ${alarm.state === 'ALARM' ? 'ALARM' : `fired, now ${alarm.state}`} (after ${alarm.firstFiredAfterSeconds} s)  ${alarm.runbook}`,
  );
}

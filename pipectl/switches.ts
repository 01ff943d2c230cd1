import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CONTROL } from '../lambda/contract';
import { SWITCH } from '../lambda/resilience/runtime-switches';
import { changeSwitch, readSwitches, type StoredSwitches, type SwitchChange } from '../lambda/resilience/switch-writer';
import { scanPrefix } from './control-state';
import { overrideOf } from './incident-timeline';
import { RECOVERY_ACTION, recordRecoveryAttempt } from './recovery-clock';

export { readSwitches, type StoredSwitches, type SwitchChange };

/** The recorded changes of the switches, newest first (at most `limit`). */
export async function switchHistory(client: DynamoDBClient, tableName: string, limit = 20): Promise<SwitchChange[]> {
  const changes = (await scanPrefix(client, tableName, CONTROL.SWITCH_CHANGE_PREFIX)).map(
    ({ [CONTROL.PARTITION_KEY]: _pk, [CONTROL.TTL]: _ttl, ...change }) => change as unknown as SwitchChange,
  );
  return changes.sort((a, b) => b.at - a.at).slice(0, limit);
}

/**
 * Changes a switch and records it as a recovery attempt (the recovery clock): a switch set places a
 * manual override, an unset removes one — except the canary and shadow settings, which are
 * rollouts rather than overrides; a canary aborted (or rolled back) is one until its candidate is
 * withdrawn, promoted or rolled out again (overrideOf in incident-timeline.ts).
 */
export async function changeSwitchAsOperator(
  client: DynamoDBClient,
  tableName: string,
  request: { readonly name: string; readonly value?: string; readonly by: string; readonly reason: string; readonly now?: number },
  action: (typeof RECOVERY_ACTION)[keyof typeof RECOVERY_ACTION] = request.value === undefined ? RECOVERY_ACTION.SWITCH_UNSET : RECOVERY_ACTION.SWITCH_SET,
): Promise<{ change: SwitchChange; recorded: boolean }> {
  const change = await changeSwitch(client, tableName, request);
  const detail = `${change.name}=${change.value ?? '(unset)'}${change.previous !== undefined ? ` (was ${change.previous})` : ''}`;
  // What the recovery clock counts as an override (incident-timeline.ts): a switch set, a canary stopped by hand.
  const override = overrideOf({ action, detail })?.effect ?? 'none';
  const recorded = await recordRecoveryAttempt(client, tableName, { action, at: change.at, by: change.by, reason: change.reason, detail, override });
  return { change, recorded };
}

/** The canary's settings as stored. */
export interface CanaryView {
  readonly percent: number;
  readonly modelId?: string;
  /** The candidate version of a task's prompt, `<task>@<version>`. */
  readonly taskVersion?: string;
  readonly lastChange?: SwitchChange;
}

export function canaryOf(stored: StoredSwitches): CanaryView {
  return {
    percent: Number(stored.values[SWITCH.CANARY_PERCENT] ?? '0'),
    ...(stored.values[SWITCH.CANARY_MODEL] ? { modelId: stored.values[SWITCH.CANARY_MODEL] } : {}),
    ...(stored.values[SWITCH.CANARY_VERSION] ? { taskVersion: stored.values[SWITCH.CANARY_VERSION] } : {}),
    ...(stored.lastChange?.name.startsWith('canary.') ? { lastChange: stored.lastChange } : {}),
  };
}

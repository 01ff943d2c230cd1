import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CANARY_ALARM_ID } from '../contract';
import { RECOVERY_ACTION, recordRecoveryAttempt } from './recovery-clock';
import { SWITCH } from './runtime-switches';
import { changeSwitch, readSwitches, type SwitchChange } from './switch-writer';

/** Who the automated rollback is recorded as. */
export const CANARY_ROLLBACK_ACTOR = 'canary-alarm';

/**
 * The canary alarm's action: `canary.percent` = 0, written as `canary-alarm` and recorded on the
 * recovery clock as an override placed (the canary stays stopped until someone withdraws,
 * promotes or restarts it). Returns the change, or undefined when the canary was at 0% already
 * (a repeated or late alarm event changes nothing). One implementation for both runtimes: the
 * rollback Lambda on AWS (lambda/canary/rollback-handler.ts) and local mode's.
 */
export async function rollBackCanary(client: DynamoDBClient, tableName: string, why: string): Promise<SwitchChange | undefined> {
  const stored = await readSwitches(client, tableName);
  if (Number(stored.values[SWITCH.CANARY_PERCENT] ?? '0') === 0) return undefined;
  const change = await changeSwitch(client, tableName, {
    name: SWITCH.CANARY_PERCENT,
    value: '0',
    by: CANARY_ROLLBACK_ACTOR,
    reason: `${CANARY_ALARM_ID} ${why}: canary rolled back`,
  });
  await recordRecoveryAttempt(client, tableName, {
    action: RECOVERY_ACTION.CANARY_ROLLBACK,
    at: change.at,
    by: change.by,
    reason: change.reason,
    detail: `canary.percent=0 (was ${change.previous ?? 'unset'})`,
    override: 'placed',
  });
  return change;
}

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RECOVERY_ACTION, type RecoveryAction, type RecoveryAttempt, recordRecoveryAttempt } from '../lambda/resilience/recovery-clock';
import { CONTROL } from '../lambda/contract';
import { type BreakerAction, scanPrefix } from './control-state';
import { operatorIdentity } from './operator-identity';
import type { PipelineTarget } from './target';

// The record itself lives with the Lambda code: the canary's rollback action (a Lambda) records its rollback too.
export { RECOVERY_ACTION, type RecoveryAction, type RecoveryAttempt, recordRecoveryAttempt };

/** What recording an on-call action needs of a target. */
type OnCallTarget = Pick<PipelineTarget, 'kind' | 'region' | 'dynamodb' | 'resources'>;

/** Recovery attempts in [from, to), oldest first. */
export async function listRecoveryAttempts(client: DynamoDBClient, tableName: string, from = 0, to = Number.MAX_SAFE_INTEGER): Promise<RecoveryAttempt[]> {
  const items = (await scanPrefix(client, tableName, CONTROL.RECOVERY_PREFIX)) as Array<RecoveryAttempt & Record<string, unknown>>;
  return items
    .filter((item) => item.at >= from && item.at < to)
    .map((item) => ({ action: item.action, at: item.at, by: item.by, reason: item.reason, detail: item.detail, override: item.override }))
    .sort((a, b) => a.at - b.at);
}

/**
 * The one call the on-call commands make after they changed the pipeline: resolves who (see
 * operatorIdentity) and records the attempt. Never throws: the action has happened, and losing
 * its record must not turn it into a failure; returns whether it was recorded.
 */
export async function recordOnCallAction(target: OnCallTarget, attempt: Omit<RecoveryAttempt, 'at' | 'by'> & { readonly by?: string }): Promise<boolean> {
  try {
    const by = attempt.by ?? (await operatorIdentity(target));
    return await recordRecoveryAttempt(target.dynamodb, target.resources.controlTableName, { ...attempt, by, at: Date.now() });
  } catch {
    return false;
  }
}

/*
 * The records of each on-call action, shared by the CLI commands and the console's actions (which
 * run the same pipectl functions), so that an action recorded in one is recorded in the other.
 */

/** `pause` / `resume` (the event source mapping). */
export function recordMappingChange(target: OnCallTarget, enabled: boolean, state: string, by?: string): Promise<boolean> {
  return recordOnCallAction(target, {
    action: enabled ? RECOVERY_ACTION.RESUME : RECOVERY_ACTION.PAUSE,
    override: enabled ? 'removed' : 'placed',
    detail: `event source mapping ${state}`,
    ...(by ? { by } : {}),
  });
}

/** `breaker open|pin-closed` (an override placed) or `close|release` (removed). */
export function recordBreakerChange(target: OnCallTarget, modelId: string, action: BreakerAction, effective: string, by?: string): Promise<boolean> {
  const forced = action.kind === 'open' || action.kind === 'pin-closed';
  return recordOnCallAction(target, {
    action: forced ? RECOVERY_ACTION.BREAKER_FORCE : RECOVERY_ACTION.BREAKER_RELEASE,
    override: forced ? 'placed' : 'removed',
    reason: 'reason' in action ? action.reason : undefined,
    detail: `${modelId}: ${effective}`,
    ...(by ? { by } : {}),
  });
}

/** `dlq redrive` (not a dry run). */
export function recordRedrive(target: OnCallTarget, moved: number, reason: string | undefined, by?: string): Promise<boolean> {
  return recordOnCallAction(target, { action: RECOVERY_ACTION.REDRIVE, override: 'none', reason, detail: `${moved} message(s) moved`, ...(by ? { by } : {}) });
}

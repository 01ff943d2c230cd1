import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { CONTROL } from '../lambda/contract';
import { scanPrefix } from './control-state';
import { operatorIdentity } from './operator-identity';
import type { PipelineTarget } from './target';

/** The on-call actions that change the pipeline: each is a recovery attempt on the recovery clock. */
export const RECOVERY_ACTION = {
  PAUSE: 'pause',
  RESUME: 'resume',
  REDRIVE: 'redrive',
  BREAKER_FORCE: 'breaker-force',
  BREAKER_RELEASE: 'breaker-release',
  SWITCH_SET: 'switch-set',
  SWITCH_UNSET: 'switch-unset',
  CANARY_ABORT: 'canary-abort',
  CANARY_PROMOTE: 'canary-promote',
  /** The canary alarm's automated rollback. */
  CANARY_ROLLBACK: 'canary-rollback',
} as const;
export type RecoveryAction = (typeof RECOVERY_ACTION)[keyof typeof RECOVERY_ACTION];

/** One recovery attempt, as `pipectl incident timeline` reads it. */
export interface RecoveryAttempt {
  readonly action: RecoveryAction;
  /** Epoch ms. */
  readonly at: number;
  readonly by: string;
  readonly reason?: string;
  /** What was changed, e.g. `stop-task.ticket-triage=true` or a model id. */
  readonly detail?: string;
  /**
   * Whether the action leaves a manual override in place (a pause, a forced breaker, a switch set)
   * or removes one (resume, release, unset): time-to-stable-recovery runs until none is left.
   */
  readonly override: 'placed' | 'removed' | 'none';
}

/** Days a recovery attempt is kept. */
const RETENTION_DAYS = 90;

/**
 * Records a recovery attempt in the control table (`recovery#<ms>#<action>`). Never fails the
 * action it records: the action has happened; a lost record is reported on stderr by the caller.
 */
export async function recordRecoveryAttempt(client: DynamoDBClient, tableName: string, attempt: RecoveryAttempt): Promise<boolean> {
  try {
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: marshall(
          {
            [CONTROL.PARTITION_KEY]: `${CONTROL.RECOVERY_PREFIX}${String(attempt.at).padStart(15, '0')}#${attempt.action}`,
            ...attempt,
            [CONTROL.TTL]: Math.floor(attempt.at / 1000) + RETENTION_DAYS * 86_400,
          },
          { removeUndefinedValues: true },
        ),
      }),
    );
    return true;
  } catch {
    return false;
  }
}

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
export async function recordOnCallAction(
  target: Pick<PipelineTarget, 'kind' | 'region' | 'dynamodb' | 'resources'>,
  attempt: Omit<RecoveryAttempt, 'at' | 'by'> & { readonly by?: string },
): Promise<boolean> {
  try {
    const by = attempt.by ?? (await operatorIdentity(target));
    return await recordRecoveryAttempt(target.dynamodb, target.resources.controlTableName, { ...attempt, by, at: Date.now() });
  } catch {
    return false;
  }
}

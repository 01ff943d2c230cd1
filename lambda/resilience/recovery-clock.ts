import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { CONTROL } from '../contract';

/*
 * The recovery clock's record (issue 15): every action that changes the pipeline during an
 * incident — by a person through pipectl or the console, or by the canary's rollback action — is
 * one `recovery#<ms>#<action>` item in the control table. `pipectl incident timeline` reads them
 * (pipectl/recovery-clock.ts, pipectl/incident-timeline.ts).
 */

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

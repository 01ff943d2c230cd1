import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SWITCH } from '../lambda/resilience/runtime-switches';
import { changeSwitch, readSwitches, type SwitchChange } from '../lambda/resilience/switch-writer';
import { CANARY_ALARM_ID } from '../lib/observability/canary-alarms';
import { RECOVERY_ACTION, recordRecoveryAttempt } from '../pipectl/recovery-clock';
import type { LocalAlarmEvaluator } from './alarm-evaluator';

/** Who the automated rollback is recorded as. */
export const CANARY_ROLLBACK_ACTOR = 'canary-alarm';

/** Options of {@link CanaryRollback}. */
export interface CanaryRollbackOptions {
  readonly alarms: Pick<LocalAlarmEvaluator, 'states'>;
  readonly dynamodb: DynamoDBClient;
  readonly controlTableName: string;
  /** How often the alarm's state is looked at (a field read; the table is read only on a transition). @default 250 */
  readonly pollMs?: number;
  /** Told after each rollback. */
  readonly onRollback?: (change: SwitchChange) => void;
}

/**
 * Local mode's alarm action for the canary alarm: when `canary-regression` goes to ALARM, the
 * canary is set to 0% (`canary.percent` = 0, by `canary-alarm`, recorded on the recovery clock),
 * as `pipectl canary watch` does on AWS (an EventBridge rule → Lambda action, unattended, is not built yet). The local alarm
 * evaluator has no alarm actions of its own; this watches its states instead of adding them, so
 * the evaluator stays a faithful copy of CloudWatch's state machine and nothing more.
 */
export class CanaryRollback {
  private timer?: NodeJS.Timeout;
  private lastState = 'INSUFFICIENT_DATA';
  private acting?: Promise<void>;
  readonly rollbacks: SwitchChange[] = [];

  constructor(private readonly options: CanaryRollbackOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), this.options.pollMs ?? 250);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.acting;
  }

  /** Acts on a transition of the canary alarm into ALARM (once per episode). */
  async check(): Promise<void> {
    if (this.acting) return;
    const state = this.options.alarms.states().find((alarm) => alarm.id === CANARY_ALARM_ID)?.state ?? 'INSUFFICIENT_DATA';
    const entered = state === 'ALARM' && this.lastState !== 'ALARM';
    this.lastState = state;
    if (!entered) return;
    this.acting = this.rollBack(state).finally(() => {
      this.acting = undefined;
    });
    await this.acting;
  }

  private async rollBack(reason: string): Promise<void> {
    const { dynamodb, controlTableName } = this.options;
    const stored = await readSwitches(dynamodb, controlTableName);
    if (Number(stored.values[SWITCH.CANARY_PERCENT] ?? '0') === 0) return;
    const change = await changeSwitch(dynamodb, controlTableName, {
      name: SWITCH.CANARY_PERCENT,
      value: '0',
      by: CANARY_ROLLBACK_ACTOR,
      reason: `${CANARY_ALARM_ID} went to ${reason}: canary rolled back`,
    });
    await recordRecoveryAttempt(dynamodb, controlTableName, {
      action: RECOVERY_ACTION.CANARY_ROLLBACK,
      at: change.at,
      by: change.by,
      reason: change.reason,
      detail: `canary.percent=0 (was ${change.previous ?? 'unset'})`,
      // The canary stays stopped until someone withdraws, promotes or restarts it: an override on the recovery clock.
      override: 'placed',
    });
    this.rollbacks.push(change);
    this.options.onRollback?.(change);
  }
}

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { RollbackResult } from '../lambda/canary/rollback-handler';
import { CANARY_ALARM_ID } from '../lambda/contract';
import { CANARY_ROLLBACK_ACTOR } from '../lambda/resilience/canary-rollback';
import { readSwitches, type SwitchChange } from '../lambda/resilience/switch-writer';
import type { LocalAlarmEvaluator } from './alarm-evaluator';
import { ExecutionEnvironment } from './lambda-runtime';
import { functionEnvironment, type ScheduledMonitorsContext } from './scheduled-monitors';
import type { AlarmActionFunctionModel } from './stack-model';

export { CANARY_ROLLBACK_ACTOR };

/** Options of {@link CanaryRollback}. */
export interface CanaryRollbackOptions {
  readonly alarms: Pick<LocalAlarmEvaluator, 'states'>;
  readonly dynamodb: DynamoDBClient;
  readonly controlTableName: string;
  /** What the rollback function's environment is built from (local-pipeline.ts). */
  readonly context: Pick<ScheduledMonitorsContext, 'stack' | 'physical' | 'emulators' | 'timeScale' | 'writeLog'>;
  /** How often the alarm's state is looked at (a field read; the function runs only on a transition). @default 250 */
  readonly pollMs?: number;
  /** Told after each rollback. */
  readonly onRollback?: (change: SwitchChange) => void;
}

/**
 * Local mode's EventBridge rule on the canary alarm: when `canary-regression` goes to ALARM, the
 * rule's target — the bundled rollback Lambda (lambda/canary/rollback-handler.ts, the artifact
 * `cdk deploy` ships) — is invoked with the event EventBridge would deliver, and it sets
 * `canary.percent` to 0 as `canary-alarm`, recorded on the recovery clock. The rule (which alarm,
 * which state) and the function come from the synthesized template (`alarmActionFunctions`). The
 * local alarm evaluator has no alarm events of its own; this watches its states, so the evaluator
 * stays a faithful copy of CloudWatch's state machine and nothing more.
 */
export class CanaryRollback {
  private timer?: NodeJS.Timeout;
  private lastState = 'INSUFFICIENT_DATA';
  private acting?: Promise<void>;
  private readonly action?: { readonly model: AlarmActionFunctionModel; readonly environment: ExecutionEnvironment };
  readonly rollbacks: SwitchChange[] = [];
  /** Every invocation of the rollback function, with what it said. */
  readonly invocations: Array<{ readonly at: number; readonly result: RollbackResult | { readonly error: string } }> = [];

  constructor(private readonly options: CanaryRollbackOptions) {
    const { context } = options;
    const model = context.stack.alarmActionFunctions.find((candidate) => candidate.alarmName.endsWith(CANARY_ALARM_ID));
    if (!model) return;
    this.action = {
      model,
      environment: new ExecutionEnvironment(
        {
          functionName: `${context.stack.stackName}-${model.logicalId}`,
          bundlePath: model.bundlePath,
          handlerExport: model.handlerExport,
          timeoutMs: Math.max(1000, Math.round(model.timeoutSeconds * 1000 * context.timeScale)),
          memoryMb: model.memoryMb,
          environment: functionEnvironment(model, context),
          region: context.emulators.region,
        },
        context.writeLog,
      ),
    };
  }

  start(): void {
    if (this.timer || !this.action) return;
    this.timer = setInterval(() => void this.check(), this.options.pollMs ?? 250);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.acting;
    await this.action?.environment.stop();
  }

  /** Acts on a transition of the canary alarm into a state the rule matches (once per episode). */
  async check(): Promise<void> {
    if (this.acting || !this.action) return;
    const alarm = this.options.alarms.states().find((candidate) => candidate.id === CANARY_ALARM_ID);
    const state = alarm?.state ?? 'INSUFFICIENT_DATA';
    const previous = this.lastState;
    this.lastState = state;
    if (state === previous || !this.action.model.states.includes(state)) return;
    this.acting = this.invoke(alarm?.name ?? this.action.model.alarmName, state, previous, alarm?.reason ?? '').finally(() => {
      this.acting = undefined;
    });
    await this.acting;
  }

  private async invoke(alarmName: string, state: string, previous: string, reason: string): Promise<void> {
    const action = this.action;
    if (!action) return;
    const at = Date.now();
    // The event as EventBridge delivers an alarm's state change (the fields the handler reads, and their neighbours).
    const event = {
      version: '0',
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      time: new Date(at).toISOString(),
      region: this.options.context.emulators.region,
      resources: [`arn:aws:cloudwatch:${this.options.context.emulators.region}:000000000000:alarm:${alarmName}`],
      detail: { alarmName, state: { value: state, reason, timestamp: new Date(at).toISOString() }, previousState: { value: previous } },
    };
    const outcome = await action.environment.invoke(event);
    if (outcome.kind !== 'ok') {
      this.invocations.push({ at, result: { error: outcome.kind === 'error' ? outcome.error.message : 'timed out' } });
      return;
    }
    const result = outcome.result as RollbackResult;
    this.invocations.push({ at, result });
    if (!result.rolledBack) return;
    const change = (await readSwitches(this.options.dynamodb, this.options.controlTableName)).lastChange;
    if (change?.by !== CANARY_ROLLBACK_ACTOR) return;
    this.rollbacks.push(change);
    this.options.onRollback?.(change);
  }
}

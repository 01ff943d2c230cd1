import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { CANARY_ALARM_ID, ENV } from '../contract';
import { withRequestTimeouts } from '../processor/sdk-client-options';
import { rollBackCanary } from '../resilience/canary-rollback';

/**
 * What EventBridge delivers for an alarm's state change (source `aws.cloudwatch`, detail type
 * "CloudWatch Alarm State Change"), as far as the rollback reads it.
 */
export interface AlarmStateChangeEvent {
  readonly 'detail-type'?: string;
  readonly detail?: {
    readonly alarmName?: string;
    readonly state?: { readonly value?: string; readonly reason?: string; readonly timestamp?: string };
    readonly previousState?: { readonly value?: string };
  };
}

/** What one invocation did; also its result, for local mode and the tests. */
export interface RollbackResult {
  readonly rolledBack: boolean;
  readonly detail: string;
}

// Cold start. The endpoint comes from AWS_ENDPOINT_URL_DYNAMODB, which local mode and the tests set.
const tableName = process.env[ENV.CONTROL_TABLE] ?? '';
const logger = new Logger({ persistentKeys: { stage: process.env[ENV.STAGE] ?? 'unknown' } });
const client = new DynamoDBClient(withRequestTimeouts({}));

/**
 * The canary alarm's unattended action (issue 15): an EventBridge rule on `canary-regression`
 * entering ALARM invokes this, and it sets `canary.percent` to 0 (lambda/resilience/canary-rollback.ts,
 * the same code local mode runs). The rule already filters on the alarm and the state; the
 * handler checks again, so a misrouted event changes nothing. A failure throws: Lambda's
 * asynchronous retries (two) try again, and the alarm stays in ALARM for the on-call person.
 */
export const handler = async (event: AlarmStateChangeEvent): Promise<RollbackResult> => {
  const alarmName = event.detail?.alarmName ?? '';
  const state = event.detail?.state?.value;
  if (event['detail-type'] !== 'CloudWatch Alarm State Change' || state !== 'ALARM' || !alarmName.endsWith(CANARY_ALARM_ID)) {
    const detail = `ignored: ${event['detail-type'] ?? 'an event'} for ${alarmName || 'no alarm'} (${state ?? 'no state'}), not ${CANARY_ALARM_ID} entering ALARM`;
    logger.warn(detail);
    return { rolledBack: false, detail };
  }
  const change = await rollBackCanary(client, tableName, `went to ALARM (${alarmName})`);
  if (!change) {
    logger.info('the canary was at 0% already: nothing to roll back', { alarmName });
    return { rolledBack: false, detail: 'the canary was at 0% already' };
  }
  logger.info('canary rolled back to 0%', { alarmName, previousPercent: change.previous, at: change.at });
  return { rolledBack: true, detail: `canary.percent ${change.previous ?? 'unset'} → 0` };
};

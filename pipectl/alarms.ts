import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type AlarmHistoryItem, DescribeAlarmHistoryCommand, paginateDescribeAlarms, type StateValue } from '@aws-sdk/client-cloudwatch';
import { z } from 'zod';
import { COMPOSITE_ALARM_ID } from '../lib/observability/composite-alarm';
import type { PipelineTarget } from './target';

/** An alarm and its state, from CloudWatch or from local mode's evaluator. */
export interface AlarmView {
  readonly name: string;
  readonly state: string;
  readonly reason?: string;
  readonly updatedAt?: number;
  readonly description?: string;
  readonly kind: 'metric' | 'composite';
}

/** Alarms of a target, or why they cannot be read. */
export type AlarmRead = { readonly available: true; readonly alarms: readonly AlarmView[] } | { readonly available: false; readonly reason: string };

/**
 * Every alarm of the target (optionally only those in `state`). A deployed stage's alarms are the
 * CloudWatch alarms named with the stack's `AlarmNamePrefix` output.
 */
export async function readAlarms(target: PipelineTarget, state?: StateValue): Promise<AlarmRead> {
  if (target.kind === 'local') return readLocalAlarms(target, state);
  const prefix = target.resources.alarmNamePrefix;
  if (!target.cloudwatch) return { available: false, reason: 'no CloudWatch client for this target' };
  if (!prefix) return { available: false, reason: 'no alarm name prefix for this target' };
  const alarms: AlarmView[] = [];
  // Every alarm of the prefix, filtered by state here: an empty answer then means "no alarm
  // deployed" (said as such), never a silent "none in ALARM".
  for await (const page of paginateDescribeAlarms({ client: target.cloudwatch }, { AlarmNamePrefix: prefix, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] })) {
    for (const alarm of page.MetricAlarms ?? []) {
      alarms.push({
        name: alarm.AlarmName ?? '',
        state: alarm.StateValue ?? 'INSUFFICIENT_DATA',
        reason: alarm.StateReason,
        updatedAt: alarm.StateUpdatedTimestamp?.getTime(),
        description: alarm.AlarmDescription,
        kind: 'metric',
      });
    }
    for (const alarm of page.CompositeAlarms ?? []) {
      alarms.push({
        name: alarm.AlarmName ?? '',
        state: alarm.StateValue ?? 'INSUFFICIENT_DATA',
        reason: alarm.StateReason,
        updatedAt: alarm.StateUpdatedTimestamp?.getTime(),
        description: alarm.AlarmDescription,
        kind: 'composite',
      });
    }
  }
  if (alarms.length === 0) {
    return { available: false, reason: `no alarm named ${prefix}* exists in ${target.region}: the stage's alarm catalog is not deployed` };
  }
  const matching = state ? alarms.filter((alarm) => alarm.state === state) : alarms;
  return { available: true, alarms: matching.sort((a, b) => a.name.localeCompare(b.name)) };
}

/** State changes of the target's alarms since `since` (epoch ms), newest first. */
export async function alarmHistory(target: PipelineTarget, since: number, alarmName?: string): Promise<AlarmHistoryItem[]> {
  if (!target.cloudwatch || target.kind === 'local') return [];
  const items: AlarmHistoryItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await target.cloudwatch.send(
      new DescribeAlarmHistoryCommand({
        ...(alarmName ? { AlarmName: alarmName } : {}),
        HistoryItemType: 'StateUpdate',
        StartDate: new Date(since),
        EndDate: new Date(),
        MaxRecords: 100,
        ScanBy: 'TimestampDescending',
        NextToken: nextToken,
      }),
    );
    const prefix = target.resources.alarmNamePrefix;
    items.push(...(page.AlarmHistoryItems ?? []).filter((item) => !prefix || (item.AlarmName ?? '').startsWith(prefix)));
    nextToken = page.NextToken;
  } while (nextToken && items.length < 500);
  return items;
}

/** What local mode's alarm evaluator writes (local/alarm-evaluator.ts, `LocalAlarmState`). */
const LocalAlarmsFile = z.object({
  updatedAt: z.string(),
  alarms: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      state: z.string(),
      reason: z.string(),
      firstFiredAt: z.string().nullable(),
      observable: z.boolean(),
    }),
  ),
});

/**
 * A local pipeline's alarm states: the file its evaluator rewrites after every evaluation, next to
 * the processor log (`.local/alarms.json` for `pipectl local --serve`).
 */
async function readLocalAlarms(target: PipelineTarget, state?: StateValue): Promise<AlarmRead> {
  const logFile = target.local?.logFile;
  const file = logFile ? join(dirname(logFile), 'alarms.json') : undefined;
  if (!file || !existsSync(file))
    return { available: false, reason: 'the local pipeline has written no alarm states yet (alarms.json next to its processor log)' };
  const parsed = LocalAlarmsFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) return { available: false, reason: `${file} is not in the shape this pipectl reads: ${parsed.error.issues[0]?.message}` };
  const alarms: AlarmView[] = parsed.data.alarms.map((alarm) => ({
    name: alarm.name,
    state: alarm.state,
    reason: alarm.reason,
    ...(alarm.state === 'ALARM' && alarm.firstFiredAt ? { updatedAt: Date.parse(alarm.firstFiredAt) } : {}),
    kind: alarm.id === COMPOSITE_ALARM_ID ? 'composite' : 'metric',
  }));
  return { available: true, alarms: state ? alarms.filter((alarm) => alarm.state === state) : alarms };
}

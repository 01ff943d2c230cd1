import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { type AlarmRead, readAlarms } from './alarms';
import { type Completions, recentCompletions } from './completions';
import { type BreakerView, type BudgetView, getBudget, listBreakers } from './control-state';
import { getMapping, type MappingState } from './event-source';
import { formatDuration, isoSeconds, table } from './format';
import { inspectQueue } from '../local/queue-inspection';
import { type QueueDepth, queueDepth, queueName } from './queue-inspector';
import type { PipelineTarget } from './target';

export interface QueueStatus extends QueueDepth {
  readonly role: 'input' | 'inputDlq' | 'review' | 'reviewDlq';
  readonly name: string;
  /** Age of the oldest message (ms): CloudWatch's ApproximateAgeOfOldestMessage; undefined locally. */
  readonly oldestAgeMs?: number;
}

/** Everything `pipectl status` shows; `--json` prints it as is. */
export interface StatusReport {
  readonly target: { readonly kind: string; readonly stage: string; readonly region: string; readonly description: string };
  readonly at: number;
  readonly mapping: MappingState | { readonly error: string };
  readonly queues: readonly QueueStatus[];
  readonly alarms: AlarmRead;
  readonly breakers: readonly BreakerView[] | { readonly error: string };
  readonly budget: BudgetView | { readonly error: string };
  /** The last hour's outcomes by serving tier. */
  readonly lastHour: Completions | { readonly unavailable: string } | { readonly error: string };
}

const HOUR_MS = 3_600_000;

const settle = async <T>(promise: Promise<T>): Promise<T | { error: string }> => {
  try {
    return await promise;
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
};

/**
 * Gathers the status screen. Each part is read independently and a part that fails shows its
 * error instead of hiding the others: at 2 AM a partial picture beats none.
 */
export async function gatherStatus(target: PipelineTarget, now = Date.now()): Promise<StatusReport> {
  const { resources } = target;
  const roles = [
    ['input', resources.inputQueueUrl],
    ['inputDlq', resources.inputDlqUrl],
    ['review', resources.reviewQueueUrl],
    ['reviewDlq', resources.reviewDlqUrl],
  ] as const;
  const [mapping, depths, ages, alarms, breakers, budget, lastHour] = await Promise.all([
    settle(getMapping(target)),
    Promise.all(roles.map(([, url]) => queueDepth(target.sqs, url))),
    oldestAges(
      target,
      roles.map(([, url]) => queueName(url)),
      now,
    ).catch(() => new Map<string, number>()),
    readAlarms(target, 'ALARM').catch((error: unknown): AlarmRead => ({ available: false, reason: (error as Error).message })),
    settle(listBreakers(target.dynamodb, resources.controlTableName)),
    settle(getBudget(target.dynamodb, resources.controlTableName, now)),
    settle(recentCompletions(target, HOUR_MS, now)),
  ]);
  return {
    target: { kind: target.kind, stage: target.stage, region: target.region, description: target.description },
    at: now,
    mapping,
    queues: roles.map(([role, url], index) => ({
      role,
      name: queueName(url),
      ...(depths[index] as QueueDepth),
      ...(ages.has(queueName(url)) ? { oldestAgeMs: ages.get(queueName(url)) } : {}),
    })),
    alarms,
    breakers,
    budget,
    lastHour,
  };
}

/**
 * Age of the oldest message per queue name: CloudWatch's ApproximateAgeOfOldestMessage (max over
 * the last 5 minutes) for a deployed stage; locally, fauxqs' inspection endpoint, which reads the
 * SentTimestamps without receiving anything (SQS itself has no API for it).
 */
async function oldestAges(target: PipelineTarget, names: readonly string[], now: number): Promise<Map<string, number>> {
  if (target.kind === 'local' && target.local) {
    const { sqsEndpoint } = target.local;
    const urls = [target.resources.inputQueueUrl, target.resources.inputDlqUrl, target.resources.reviewQueueUrl, target.resources.reviewDlqUrl];
    const snapshots = await Promise.all(urls.map((url) => inspectQueue(sqsEndpoint, url)));
    return new Map(
      snapshots.flatMap((snapshot, index) =>
        snapshot.oldestSentAt === undefined ? [] : [[queueName(urls[index] as string), Math.max(0, now - snapshot.oldestSentAt)] as const],
      ),
    );
  }
  if (!target.cloudwatch) return new Map();
  const { MetricDataResults = [] } = await target.cloudwatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(now - 5 * 60_000),
      EndTime: new Date(now),
      MetricDataQueries: names.map((name, index) => ({
        Id: `q${index}`,
        Label: name,
        MetricStat: {
          Metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage', Dimensions: [{ Name: 'QueueName', Value: name }] },
          Period: 60,
          Stat: 'Maximum',
        },
      })),
    }),
  );
  const ages = new Map<string, number>();
  for (const result of MetricDataResults) {
    const index = Number(result.Id?.slice(1));
    const values = result.Values ?? [];
    if (values.length > 0) ages.set(names[index] as string, Math.max(...values) * 1000);
  }
  return ages;
}

const QUEUE_LABEL: Readonly<Record<QueueStatus['role'], string>> = {
  input: 'input',
  inputDlq: 'input DLQ',
  review: 'human review',
  reviewDlq: 'review DLQ',
};

/** The one-screen rendering. Problems first and loud: a paused processor, alarms, an open breaker, dead letters. */
export function renderStatus(report: StatusReport, commandHint: string): string {
  const lines: string[] = [];
  lines.push(`${report.target.description} — ${isoSeconds(report.at)}`, '');

  if ('error' in report.mapping) {
    lines.push(`processor     ? event source mapping unreadable: ${report.mapping.error}`);
  } else if (report.mapping.paused) {
    lines.push(
      '████ PROCESSOR PAUSED ████',
      `processor     ${report.mapping.state.toUpperCase()} since ${report.mapping.lastModified ? isoSeconds(report.mapping.lastModified) : '?'}: ` +
        'nothing is processed; messages wait in the input queue (nothing is lost).',
      `              resume with: pipectl resume ${commandHint}`,
    );
  } else {
    lines.push(`processor     ${report.mapping.state} (event source mapping ${report.mapping.uuid})`);
  }
  lines.push('');

  lines.push(
    table(
      ['queue', 'visible', 'in flight', 'delayed', 'oldest'],
      report.queues.map((queue) => [
        QUEUE_LABEL[queue.role],
        queue.visible,
        queue.inFlight,
        queue.delayed,
        queue.oldestAgeMs !== undefined ? formatDuration(queue.oldestAgeMs) : queue.visible + queue.inFlight + queue.delayed === 0 ? '-' : 'n/a',
      ]),
    ),
  );
  const dlq = report.queues.find((queue) => queue.role === 'inputDlq');
  if (dlq && dlq.visible + dlq.inFlight > 0) lines.push(`  → ${dlq.visible + dlq.inFlight} dead letter(s): pipectl dlq list ${commandHint}`);
  const review = report.queues.find((queue) => queue.role === 'review');
  if (review && review.visible + review.inFlight > 0)
    lines.push(`  → ${review.visible + review.inFlight} waiting for a human: pipectl review list ${commandHint}`);
  lines.push('');

  if (!report.alarms.available) lines.push(`alarms        n/a: ${report.alarms.reason}`);
  else if (report.alarms.alarms.length === 0) lines.push('alarms        none in ALARM');
  else {
    lines.push(`alarms        ${report.alarms.alarms.length} in ALARM:`);
    for (const alarm of report.alarms.alarms) {
      lines.push(`  ✘ ${alarm.name}${alarm.updatedAt ? ` since ${isoSeconds(alarm.updatedAt)}` : ''}`);
    }
    lines.push(`  → evidence: pipectl triage ${commandHint}; what to do: pipectl runbook <alarm>`);
  }

  if ('error' in report.breakers) lines.push(`breakers      unreadable: ${report.breakers.error}`);
  else if (report.breakers.length === 0) lines.push('breakers      none recorded (every model closed)');
  else {
    lines.push('breakers');
    for (const breaker of report.breakers) {
      const open = breaker.effective.startsWith('open') || breaker.effective.startsWith('half-open');
      lines.push(
        `  ${open ? '✘' : '✔'} ${breaker.modelId}: ${breaker.effective}` +
          `${breaker.state === 'open' && breaker.openUntil ? ` until ${isoSeconds(breaker.openUntil)}` : ''}` +
          `; window ${breaker.failures}/${breaker.calls} failed` +
          `${breaker.lastErrorClass ? `; last error ${breaker.lastErrorClass}` : ''}` +
          `${breaker.forcedReason ? `; forced by ${breaker.forcedBy ?? '?'}: ${breaker.forcedReason}` : ''}`,
      );
    }
  }

  if ('error' in report.budget) lines.push(`budget        unreadable: ${report.budget.error}`);
  else {
    const budget = report.budget;
    const used = budget.usedPercent !== undefined ? `${budget.usedPercent.toFixed(1)}% used` : 'no limit recorded';
    lines.push(
      `budget        hour ${budget.hour}Z: ${used}; ${budget.tokensIn + budget.tokensOut} tokens, $${budget.costUsd.toFixed(4)}, ${budget.calls} call(s)` +
        `${budget.limitTokens > 0 ? `; limit ${budget.limitTokens} tokens` : ''}${budget.limitUsd > 0 ? `; limit $${budget.limitUsd}` : ''}`,
    );
  }
  if ('error' in report.lastHour) lines.push(`last hour     unreadable: ${report.lastHour.error}`);
  else if ('unavailable' in report.lastHour) lines.push(`last hour     n/a: ${report.lastHour.unavailable}`);
  else {
    const hour = report.lastHour;
    lines.push(
      `last hour     ${hour.completed} completed (primary ${hour.byTier.primary}, secondary ${hour.byTier.secondary}, rules ${hour.byTier.rules}); ` +
        `${hour.escalated} to human review; ${hour.deadLettered} dead-lettered  [${hour.source}]`,
    );
  }
  return `${lines.join('\n')}\n`;
}

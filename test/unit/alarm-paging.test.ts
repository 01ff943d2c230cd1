/**
 * Paging as CloudWatch does it, in the local alarm evaluator: an alarm's actions run on a state
 * transition only, so every paging alarm notifies the page topic itself; the evaluator records
 * every notification per topic, so "paged twice" is a state a test can read.
 */
import { describe, expect, it } from 'vitest';
import { METRIC, METRIC_DIMENSION, METRIC_SERVICE, METRICS_NAMESPACE } from '../../lambda/contract';
import { loadStageConfig } from '../../lib/config/stage-load';
import { buildAlarmCatalog } from '../../lib/observability/alarm-catalog';
import type { AlarmCatalog } from '../../lib/observability/alarm-types';
import { LocalAlarmEvaluator } from '../../local/alarm-evaluator';
import { MetricStore } from '../../local/log-sink';

const TIME_SCALE = 0.01;
const catalog: AlarmCatalog = buildAlarmCatalog(loadStageConfig('dev'));

/** A local evaluator on a hand-driven clock; no queues (SQS alarms see no data). */
function harness(options: { scheduledMonitors?: boolean } = {}) {
  const start = Date.now() - 24 * 3_600_000;
  let clock = start;
  const metrics = new MetricStore();
  const evaluator = new LocalAlarmEvaluator({
    catalog,
    metrics,
    timeScale: TIME_SCALE,
    sqsEndpoint: 'http://127.0.0.1:9',
    queueUrls: {},
    now: () => clock,
    scheduledMonitors: options.scheduledMonitors,
  });
  /** Real seconds → the scaled clock. */
  const at = (realSeconds: number) => start + realSeconds * 1000 * TIME_SCALE;
  return {
    evaluator,
    metrics,
    at,
    /** Moves the clock to `realSeconds` and evaluates every period that ended, one tick per scaled second of real time. */
    advanceTo(realSeconds: number) {
      const target = at(realSeconds);
      while (clock < target) {
        clock = Math.min(target, clock + 1000 * TIME_SCALE * 10);
        evaluator.evaluate();
      }
    },
    pipeline(name: string, service: string, value: number, realSeconds: number, extra: Record<string, string> = {}) {
      metrics.record({
        namespace: METRICS_NAMESPACE,
        name,
        dimensions: { [METRIC_DIMENSION.SERVICE]: service, [METRIC_DIMENSION.STAGE]: 'dev', ...extra },
        timestamp: at(realSeconds),
        values: [value],
      });
    },
    state(id: string) {
      return evaluator.states().find((alarm) => alarm.id === id)?.state;
    },
    setClock(realSeconds: number) {
      clock = at(realSeconds);
    },
  };
}

const drift = (h: ReturnType<typeof harness>, value: number, realSeconds: number) =>
  h.pipeline(METRIC.DRIFT_SCORE, METRIC_SERVICE.DRIFT_MONITOR, value, realSeconds, { [METRIC_DIMENSION.FEATURE]: 'max' });

describe('paging', () => {
  it('a second, different paging condition pages while the first is still in ALARM (two incidents, two pages)', () => {
    const h = harness({ scheduledMonitors: false });
    // Incident 1: drift at the paging level, published once by the drift monitor.
    drift(h, 0.9, 10);
    h.advanceTo(1_000);
    expect(h.state('drift-critical')).toBe('ALARM');
    // Incident 2, while drift-critical is still in ALARM: whole invocations fail for minutes.
    for (let second = 1_000; second < 1_300; second += 20) {
      h.setClock(second);
      h.evaluator.recordInvocation({ outcome: 'error' });
    }
    h.advanceTo(1_400);
    expect(h.state('processor-errors')).toBe('ALARM');

    const pages = h.evaluator.notifications('page').filter((notification) => notification.state === 'ALARM');
    expect(pages.map((notification) => notification.alarmId)).toEqual(['drift-critical', 'processor-errors']);
    // Every paging alarm is also a ticket, for the record.
    expect(h.evaluator.notifications('ticket').map((notification) => notification.alarmId)).toEqual(
      expect.arrayContaining(['drift-critical', 'processor-errors']),
    );
  });

  it('notifies the page topic on OK too, so the person paged learns it is over', () => {
    const h = harness({ scheduledMonitors: false });
    for (let second = 0; second < 300; second += 20) {
      h.setClock(second);
      h.evaluator.recordInvocation({ outcome: 'error' });
    }
    h.advanceTo(300);
    for (let second = 300; second < 700; second += 20) {
      h.setClock(second);
      h.evaluator.recordInvocation({ outcome: 'ok' });
    }
    h.advanceTo(700);
    // CloudWatch also runs OK actions on INSUFFICIENT_DATA → OK (the first evaluation); what matters is ALARM, then OK from ALARM.
    const fromAlarmOrInto = h.evaluator.notifications('page').filter((notification) => notification.state === 'ALARM' || notification.from === 'ALARM');
    expect(fromAlarmOrInto.map((notification) => `${notification.alarmId}:${notification.from}→${notification.state}`)).toEqual([
      expect.stringMatching(/^processor-errors:(OK|INSUFFICIENT_DATA)→ALARM$/),
      'processor-errors:ALARM→OK',
    ]);
  });

  it('a drift page does not hold ALARM when quiet traffic stops the drift monitor from publishing', () => {
    const h = harness();
    drift(h, 0.9, 10);
    h.advanceTo(1_000);
    expect(h.state('drift-critical')).toBe('ALARM');
    // No more scores: below the minimum sample the monitor publishes none.
    h.advanceTo(6 * 3_600);
    expect(h.state('drift-critical')).not.toBe('ALARM');
  });
});

describe('scheduled monitors', () => {
  const heartbeat = (h: ReturnType<typeof harness>, realSeconds: number) => h.pipeline(METRIC.MONITOR_HEARTBEAT, METRIC_SERVICE.RECONCILER, 1, realSeconds);

  it('a reconciler that stops running pages through its heartbeat alarm; one that runs does not', () => {
    const h = harness();
    for (let second = 0; second < 3_600; second += 300) heartbeat(h, second + 5);
    h.advanceTo(3_600);
    expect(h.state('reconciler-heartbeat')).toBe('OK');
    // Stopped: no run after 3,600 s.
    h.advanceTo(3_600 + 1_500);
    expect(h.state('reconciler-heartbeat')).toBe('ALARM');
    expect(
      h.evaluator
        .notifications('page')
        .filter((notification) => notification.state === 'ALARM')
        .map((notification) => notification.alarmId),
    ).toContain('reconciler-heartbeat');
  });

  it('the final evaluation of a run that ends mid-period does not page a heartbeat that is not due yet', async () => {
    // Found by the drift-monitor-stopped game day: every run with monitors ended with both
    // heartbeat alarms paging, because the final evaluation judged the current, partial period
    // (no heartbeat in it yet) as a whole one.
    const h = harness();
    const drift = (realSeconds: number) => h.pipeline(METRIC.MONITOR_HEARTBEAT, METRIC_SERVICE.DRIFT_MONITOR, 1, realSeconds);
    for (let second = 0; second < 3_600; second += 300) {
      heartbeat(h, second + 5);
      drift(second + 5);
    }
    // 2 s into a new period of both (600 s and 1,800 s), their next runs due 3 s later.
    h.advanceTo(3_602);
    expect(h.state('reconciler-heartbeat')).toBe('OK');
    await h.evaluator.finish();
    expect(h.state('reconciler-heartbeat')).toBe('OK');
    expect(h.state('drift-monitor-heartbeat')).toBe('OK');
    expect(h.evaluator.notifications('page').filter((notification) => notification.state === 'ALARM')).toEqual([]);
  });

  it('the final evaluation still catches a "more than" alarm breaching in the partial period', async () => {
    const h = harness({ scheduledMonitors: false });
    h.advanceTo(600);
    // Whole invocations fail only in the last, partial minute(s).
    for (let second = 600; second < 700; second += 5) {
      h.setClock(second);
      h.evaluator.recordInvocation({ outcome: 'error' });
    }
    await h.evaluator.finish();
    expect(h.evaluator.states().find((alarm) => alarm.id === 'processor-errors')?.state).toBe('ALARM');
  });

  it('a run without the scheduled monitors reports the heartbeat alarms as not observable instead of paging', () => {
    const h = harness({ scheduledMonitors: false });
    h.advanceTo(3_600);
    const state = h.evaluator.states().find((alarm) => alarm.id === 'drift-monitor-heartbeat');
    expect(state).toMatchObject({ state: 'INSUFFICIENT_DATA', observable: false });
    expect(h.evaluator.notifications('page').filter((notification) => notification.alarmId.endsWith('-heartbeat'))).toEqual([]);
  });
});

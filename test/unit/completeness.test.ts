import { describe, expect, it } from 'vitest';
import { ENV, JOB_STATUS, LEDGER_STATUS, MONITOR_ENV } from '../../lambda/contract';
import { assessJob, type JobRecord } from '../../lambda/monitors/completeness';
import { MonitorConfigError } from '../../lambda/monitors/errors';
import type { JobItem } from '../../lambda/monitors/ledger-reader';
import { readDriftMonitorConfig, readReconcilerConfig } from '../../lambda/monitors/monitor-config';

const NOW = Date.UTC(2026, 10, 23, 12);
const MAX_RECEIVES = 5;
const job = (overrides: Partial<JobRecord> = {}): JobRecord => ({ jobId: 'j', expected: 10, sentAt: NOW - 3_600_000, deadline: NOW - 1, ...overrides });

const item = (key: string, status: JobItem['status'], extra: Partial<JobItem> = {}): JobItem => ({ key, status, ...extra });

describe('assessJob', () => {
  it('counts each ledger status into exactly one outcome', () => {
    // Prepare: 10 expected; 9 ledger items, 1 never arrived
    const items = [
      item('c1', LEDGER_STATUS.COMPLETED),
      item('c2', LEDGER_STATUS.COMPLETED),
      item('c3', LEDGER_STATUS.COMPLETED),
      item('r1', LEDGER_STATUS.IN_REVIEW),
      item('x1', LEDGER_STATUS.REJECTED),
      // Failed on the last allowed receive: the redrive takes it to the DLQ.
      item('f5', LEDGER_STATUS.FAILED, { receiveCount: MAX_RECEIVES }),
      // Failed earlier: still retrying.
      item('f2', LEDGER_STATUS.FAILED, { receiveCount: 2 }),
      // An attempt that died: its lease ended.
      item('s1', LEDGER_STATUS.IN_PROGRESS, { leaseUntil: NOW - 1 }),
      // Being worked on right now.
      item('p1', LEDGER_STATUS.IN_PROGRESS, { leaseUntil: NOW + 10_000 }),
    ];

    // Act
    const result = assessJob(job(), items, { now: NOW, maxReceiveCount: MAX_RECEIVES });

    // Assess: sent 10 = completed 3 + dead-lettered 2 + in review 1 + missing 4 (stuck 1, pending 2, never in the ledger 1)
    expect(result).toMatchObject({
      expected: 10,
      completed: 3,
      deadLettered: 2,
      inReview: 1,
      missing: 4,
      stuck: 1,
      pending: 2,
      notInLedger: 1,
      stuckKeys: ['s1'],
      pendingKeys: ['f2', 'p1'],
      ledgerItems: 9,
      overdue: true,
      status: JOB_STATUS.INCOMPLETE,
    });
  });

  it.each([
    ['complete before the deadline', job({ expected: 2, deadline: NOW + 1 }), [item('a', 'COMPLETED'), item('b', 'IN_REVIEW')], JOB_STATUS.COMPLETE, 0],
    ['open before the deadline', job({ expected: 3, deadline: NOW + 1 }), [item('a', 'COMPLETED')], JOB_STATUS.OPEN, 2],
    ['incomplete at the deadline', job({ expected: 3, deadline: NOW }), [item('a', 'COMPLETED')], JOB_STATUS.INCOMPLETE, 2],
    ['closed by an operator', job({ expected: 3, closedAt: NOW - 5 }), [], JOB_STATUS.CLOSED, 3],
    [
      'compared with the distinct inputs when the producer counted them',
      job({ expected: 5, unique: 2 }),
      [item('a', 'COMPLETED'), item('b', 'REJECTED')],
      JOB_STATUS.COMPLETE,
      0,
    ],
    ['never negative with more ledger items than expected', job({ expected: 1 }), [item('a', 'COMPLETED'), item('b', 'COMPLETED')], JOB_STATUS.COMPLETE, 0],
    ['an empty job', job({ expected: 0 }), [], JOB_STATUS.COMPLETE, 0],
  ] as const)('is %s', (_name, record, items, status, missing) => {
    const result = assessJob(record, items, { now: NOW, maxReceiveCount: MAX_RECEIVES });
    expect(result.status).toBe(status);
    expect(result.missing).toBe(missing);
  });

  it('records at most maxKeysRecorded keys per kind, and still counts them all', () => {
    // Prepare
    const items = Array.from({ length: 7 }, (_, index) => item(`s${index}`, LEDGER_STATUS.IN_PROGRESS, { leaseUntil: 0 }));

    // Act
    const result = assessJob(job({ expected: 7 }), items, { now: NOW, maxReceiveCount: MAX_RECEIVES, maxKeysRecorded: 3 });

    // Assess
    expect(result.stuck).toBe(7);
    expect(result.stuckKeys).toEqual(['s0', 's1', 's2']);
  });

  it('treats a status it does not know as pending, so it is looked at rather than counted as done', () => {
    const result = assessJob(job({ expected: 1 }), [item('q', 'SOMETHING_NEW' as JobItem['status'])], { now: NOW, maxReceiveCount: MAX_RECEIVES });
    expect(result).toMatchObject({ missing: 1, pending: 1, pendingKeys: ['q'] });
  });
});

describe('assessJob at the edges', () => {
  it.each([
    ['a lease ending 1 ms ago: the attempt died (stuck)', NOW - 1, { stuck: 1, pending: 0, stuckKeys: ['k'], pendingKeys: [] }],
    ['a lease ending right now: still live (pending)', NOW, { stuck: 0, pending: 1, stuckKeys: [], pendingKeys: ['k'] }],
    ['a lease ending 1 ms from now: pending', NOW + 1, { stuck: 0, pending: 1, stuckKeys: [], pendingKeys: ['k'] }],
    ['no lease recorded: stuck', undefined, { stuck: 1, pending: 0, stuckKeys: ['k'], pendingKeys: [] }],
  ] as const)('IN_PROGRESS with %s', (_name, leaseUntil, expected) => {
    // Act
    const result = assessJob(job({ expected: 1 }), [item('k', LEDGER_STATUS.IN_PROGRESS, { leaseUntil })], { now: NOW, maxReceiveCount: MAX_RECEIVES });

    // Assess: either way it is missing, not an outcome
    expect(result).toMatchObject({ ...expected, missing: 1, notInLedger: 0 });
  });

  it.each([
    ['on the last allowed receive: dead-lettered', MAX_RECEIVES, { deadLettered: 1, pending: 0, missing: 0, pendingKeys: [] }],
    ['past it: dead-lettered', MAX_RECEIVES + 1, { deadLettered: 1, pending: 0, missing: 0, pendingKeys: [] }],
    ['on the receive before it: pending', MAX_RECEIVES - 1, { deadLettered: 0, pending: 1, missing: 1, pendingKeys: ['k'] }],
    ['with no receive count: pending', undefined, { deadLettered: 0, pending: 1, missing: 1, pendingKeys: ['k'] }],
  ] as const)('FAILED %s', (_name, receiveCount, expected) => {
    const result = assessJob(job({ expected: 1 }), [item('k', LEDGER_STATUS.FAILED, { receiveCount })], { now: NOW, maxReceiveCount: MAX_RECEIVES });
    expect(result).toMatchObject(expected);
  });

  it.each([
    ['FAILED, exactly maxKeysRecorded: all kept', LEDGER_STATUS.FAILED, 3, ['p0', 'p1', 'p2']],
    ['FAILED, one more: the first maxKeysRecorded kept', LEDGER_STATUS.FAILED, 4, ['p0', 'p1', 'p2']],
    ['IN_PROGRESS with a live lease, exactly maxKeysRecorded: all kept', LEDGER_STATUS.IN_PROGRESS, 3, ['p0', 'p1', 'p2']],
    ['IN_PROGRESS with a live lease, one more: the first maxKeysRecorded kept', LEDGER_STATUS.IN_PROGRESS, 4, ['p0', 'p1', 'p2']],
    ['an unknown status, one more: the first maxKeysRecorded kept', 'SOMETHING_NEW' as JobItem['status'], 4, ['p0', 'p1', 'p2']],
  ] as const)('pending keys, %s', (_name, status, count, keys) => {
    // Prepare
    const items = Array.from({ length: count }, (_, index) => item(`p${index}`, status, { receiveCount: 1, leaseUntil: NOW + 1000 }));

    // Act
    const result = assessJob(job({ expected: count }), items, { now: NOW, maxReceiveCount: MAX_RECEIVES, maxKeysRecorded: 3 });

    // Assess
    expect(result.pending).toBe(count);
    expect(result.pendingKeys).toEqual(keys);
  });

  it('keeps up to 100 keys per kind by default', () => {
    const items = Array.from({ length: 101 }, (_, index) => item(`s${index}`, LEDGER_STATUS.IN_PROGRESS, { leaseUntil: 0 }));
    const result = assessJob(job({ expected: 101 }), items, { now: NOW, maxReceiveCount: MAX_RECEIVES });
    expect(result.stuckKeys).toHaveLength(100);
    expect(result.stuck).toBe(101);
  });

  it('reports the job it assessed, and how many ledger items it read', () => {
    const record = job({ jobId: 'job-7', expected: 4, sentAt: NOW - 10, deadline: NOW + 10 });
    const result = assessJob(record, [item('a', LEDGER_STATUS.COMPLETED)], { now: NOW, maxReceiveCount: MAX_RECEIVES });
    expect(result).toMatchObject({ jobId: 'job-7', expected: 4, sentAt: NOW - 10, deadline: NOW + 10, overdue: false, ledgerItems: 1, notInLedger: 3 });
  });

  it('an operator-closed job stays closed even when complete', () => {
    const result = assessJob(job({ expected: 1, closedAt: NOW }), [item('a', LEDGER_STATUS.COMPLETED)], { now: NOW, maxReceiveCount: MAX_RECEIVES });
    expect(result.status).toBe(JOB_STATUS.CLOSED);
  });
});

describe('monitor configuration from the environment', () => {
  const base = { [ENV.STAGE]: 'dev', [ENV.LEDGER_TABLE]: 'ledger', [ENV.CONTROL_TABLE]: 'control' };

  it('reads the reconciler settings, CloudWatch by default', () => {
    expect(readReconcilerConfig({ ...base, [ENV.MAX_RECEIVE_COUNT]: '5' })).toEqual({
      stage: 'dev',
      ledgerTable: 'ledger',
      controlTable: 'control',
      metricsPublisher: 'cloudwatch',
      maxReceiveCount: 5,
      maxKeysRecorded: 100,
    });
  });

  it('names the variable that is missing or wrong', () => {
    expect(() => readReconcilerConfig(base)).toThrow(MonitorConfigError);
    expect(() => readReconcilerConfig(base)).toThrow(ENV.MAX_RECEIVE_COUNT);
    expect(() => readReconcilerConfig({ ...base, [ENV.MAX_RECEIVE_COUNT]: '5', [MONITOR_ENV.METRICS_PUBLISHER]: 'stdout' })).toThrow(
      MONITOR_ENV.METRICS_PUBLISHER,
    );
  });

  const drift = {
    ...base,
    [MONITOR_ENV.DRIFT_WINDOW_SECONDS]: '360',
    [MONITOR_ENV.DRIFT_EPSILON]: '0.0001',
    [MONITOR_ENV.DRIFT_MIN_SAMPLE]: '50',
    [MONITOR_ENV.DRIFT_SMALL_SAMPLE]: '1000',
    [MONITOR_ENV.DRIFT_SIGNIFICANCE]: '0.01',
    [MONITOR_ENV.DRIFT_SAMPLE_SHARDS]: '4',
    [MONITOR_ENV.DRIFT_MAX_ITEMS]: '20000',
  };

  it('reads the drift settings, with the window in milliseconds and no auto-pause by default', () => {
    const config = readDriftMonitorConfig(drift);
    expect(config).toMatchObject({ windowMs: 360_000, sampleShards: 4, maxItems: 20_000, epsilon: 0.0001 });
    expect(config.autoPause).toBeUndefined();
  });

  it('refuses an auto-pause without its threshold and mapping', () => {
    expect(() => readDriftMonitorConfig({ ...drift, [MONITOR_ENV.DRIFT_AUTO_PAUSE]: 'true' })).toThrow(MONITOR_ENV.EVENT_SOURCE_MAPPING_ID);
    expect(
      readDriftMonitorConfig({
        ...drift,
        [MONITOR_ENV.DRIFT_AUTO_PAUSE]: 'true',
        [MONITOR_ENV.DRIFT_AUTO_PAUSE_THRESHOLD]: '0.25',
        [MONITOR_ENV.EVENT_SOURCE_MAPPING_ID]: 'uuid',
      }).autoPause,
    ).toEqual({ threshold: 0.25, eventSourceMappingId: 'uuid' });
  });
});

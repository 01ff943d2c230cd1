import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ALARM_DIMENSIONS, METRIC, METRICS_NAMESPACE } from '../../lambda/contract';
import { BatchMetrics } from '../../lambda/processor/batch-metrics';

/** The EMF documents Powertools writes to stdout while `run` runs. */
function emfDocuments(run: () => void): Array<Record<string, any>> {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    run();
  } finally {
    spy.mockRestore();
  }
  return lines
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line));
}

const metrics = () => new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'processor', defaultDimensions: { stage: 'dev' } });

afterEach(() => vi.restoreAllMocks());

describe('BatchMetrics', () => {
  it('publishes every metric under the alarm dimension set (service, stage) and under its finer set', () => {
    // Prepare
    const batch = new BatchMetrics();
    batch.count(METRIC.MODEL_CALLS, 1, { task: 'ticket-triage', model: 'sim-primary' });
    batch.count(METRIC.MODEL_CALLS, 2, { task: 'ticket-triage', model: 'sim-primary' });
    batch.count(METRIC.MODEL_ERRORS, 1, { task: 'ticket-triage', model: 'sim-primary', errorClass: 'Throttled' });
    batch.observe(METRIC.MODEL_LATENCY, 120, { task: 'ticket-triage', model: 'sim-primary' });
    batch.observe(METRIC.MODEL_LATENCY, 80, { task: 'ticket-triage', model: 'sim-primary' });

    // Act
    const documents = emfDocuments(() => batch.publish(metrics()));

    // Assess: one document per finer set; counts summed, latencies kept per value.
    expect(documents).toHaveLength(2);
    const calls = documents.find((document) => METRIC.MODEL_CALLS in document)!;
    expect(calls._aws.CloudWatchMetrics[0].Dimensions).toEqual([[...ALARM_DIMENSIONS], [...ALARM_DIMENSIONS, 'task', 'model']]);
    expect(calls).toMatchObject({ service: 'processor', stage: 'dev', task: 'ticket-triage', model: 'sim-primary', [METRIC.MODEL_CALLS]: 3 });
    expect(calls[METRIC.MODEL_LATENCY]).toEqual([120, 80]);
    const errors = documents.find((document) => METRIC.MODEL_ERRORS in document)!;
    expect(errors._aws.CloudWatchMetrics[0].Dimensions).toEqual([[...ALARM_DIMENSIONS], [...ALARM_DIMENSIONS, 'task', 'model', 'errorClass']]);
    expect(errors.errorClass).toBe('Throttled');
  });

  it('publishes a metric without finer dimensions under the alarm set only', () => {
    const batch = new BatchMetrics();
    batch.observe(METRIC.BUDGET_USED_PERCENT, 42, {}, MetricUnit.Percent);
    const [document] = emfDocuments(() => batch.publish(metrics()));
    expect(document!._aws.CloudWatchMetrics[0].Dimensions).toEqual([[...ALARM_DIMENSIONS]]);
    expect(document![METRIC.BUDGET_USED_PERCENT]).toBe(42);
  });

  it('splits a distribution of more than 90 values over several documents, keeping the dimensions of each', () => {
    const batch = new BatchMetrics();
    for (let i = 0; i < 200; i += 1) batch.observe(METRIC.RECORD_AGE, i, { task: 't' });
    batch.count(METRIC.RECORDS_RECEIVED, 200, { task: 't' });
    const documents = emfDocuments(() => batch.publish(metrics()));
    expect(documents).toHaveLength(3);
    expect(documents.flatMap((document) => document[METRIC.RECORD_AGE])).toHaveLength(200);
    for (const document of documents) expect(document.task).toBe('t');
    // The count is written once, not once per chunk.
    expect(documents.filter((document) => METRIC.RECORDS_RECEIVED in document)).toHaveLength(1);
  });

  it('writes nothing when nothing was recorded, and starts empty after publishing', () => {
    const batch = new BatchMetrics();
    const instance = metrics();
    expect(emfDocuments(() => batch.publish(instance))).toEqual([]);
    batch.count(METRIC.RECORDS_RECEIVED, 1, { task: 't' });
    expect(emfDocuments(() => batch.publish(instance))).toHaveLength(1);
    expect(emfDocuments(() => batch.publish(instance))).toEqual([]);
  });
});

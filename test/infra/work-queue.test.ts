import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logicalIdOf, type SynthesizedStage, synthStage } from './synth-stage';

const SECONDS_PER_DAY = 86_400;

/** Each WorkQueue of the stack: its construct id and its section of the stage config. */
const QUEUES = [
  { construct: 'inputQueue', configKey: 'inputQueue' },
  { construct: 'reviewQueue', configKey: 'reviewQueue' },
] as const;

const stages: Record<string, SynthesizedStage> = {};

beforeAll(() => {
  for (const stage of ['dev', 'prod']) stages[stage] = synthStage(stage);
});

afterAll(() => {
  for (const synth of Object.values(stages)) synth.dispose();
});

/** Logical ids of one WorkQueue's resources. */
function ids(synth: SynthesizedStage, construct: (typeof QUEUES)[number]['construct']) {
  const workQueue = synth.stack[construct];
  return {
    queue: logicalIdOf(synth, workQueue.queue),
    dlq: logicalIdOf(synth, workQueue.deadLetterQueue),
    key: logicalIdOf(synth, workQueue.encryptionKey),
  };
}

const cases = ['dev', 'prod'].flatMap((stage) => QUEUES.map((queue) => ({ stage, ...queue })));

describe.each(cases)('WorkQueue stack.$construct ($stage)', ({ stage, construct, configKey }) => {
  it('encrypts the queue and its DLQ with its own customer managed key, rotated', () => {
    // Prepare
    const synth = stages[stage]!;
    const { queue, dlq, key } = ids(synth, construct);

    // Assess
    for (const id of [queue, dlq]) {
      expect(synth.templateJson.Resources[id].Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
    }
    expect(synth.templateJson.Resources[key].Properties.EnableKeyRotation).toBe(true);
  });

  it.each(['queue', 'dlq'] as const)('denies any access to the %s that is not over TLS', (which) => {
    // Prepare
    const synth = stages[stage]!;
    const target = ids(synth, construct)[which];

    // Assess
    synth.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: target }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Deny',
            Action: 'sqs:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: { 'Fn::GetAtt': [target, 'Arn'] },
          },
        ]),
      },
    });
  });

  it('redrives to its DLQ after maxReceiveCount receives', () => {
    // Prepare
    const synth = stages[stage]!;
    const { queue, dlq } = ids(synth, construct);

    // Assess
    expect(synth.templateJson.Resources[queue].Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] },
      maxReceiveCount: synth.config[configKey].maxReceiveCount,
    });
  });

  it('keeps dead letters longer than the queue keeps messages', () => {
    // Prepare
    const synth = stages[stage]!;
    const { queue, dlq } = ids(synth, construct);
    const queueRetention = synth.templateJson.Resources[queue].Properties.MessageRetentionPeriod;
    const dlqRetention = synth.templateJson.Resources[dlq].Properties.MessageRetentionPeriod;

    // Assess
    expect(queueRetention).toBe(synth.config[configKey].retentionDays * SECONDS_PER_DAY);
    expect(dlqRetention).toBe(synth.config[configKey].dlqRetentionDays * SECONDS_PER_DAY);
    expect(dlqRetention).toBeGreaterThan(queueRetention);
  });

  it('has a visibility timeout of at least 6 x the processor timeout', () => {
    // Prepare
    const synth = stages[stage]!;
    const { queue } = ids(synth, construct);
    const functionId = logicalIdOf(synth, synth.stack.processor.function);
    const functionTimeout = synth.templateJson.Resources[functionId].Properties.Timeout;

    // Assess
    const visibility = synth.templateJson.Resources[queue].Properties.VisibilityTimeout;
    expect(visibility).toBe(synth.config[configKey].visibilityTimeoutSeconds);
    expect(visibility).toBeGreaterThanOrEqual(6 * functionTimeout);
  });

  it(`is ${stage === 'prod' ? 'retained' : 'deleted'} with the stack`, () => {
    // Prepare
    const synth = stages[stage]!;
    const expected = stage === 'prod' ? 'Retain' : 'Delete';

    // Assess
    for (const id of Object.values(ids(synth, construct))) {
      expect(synth.templateJson.Resources[id]).toMatchObject({ DeletionPolicy: expected, UpdateReplacePolicy: expected });
    }
  });
});

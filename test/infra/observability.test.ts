import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_OUTPUT } from '../../lambda/contract';
import type { AlarmCatalog } from '../../lib/observability/alarm-types';
import { logicalIdOf, type SynthesizedStage, synthStage } from './synth-stage';

const RUNBOOK = readFileSync(join(__dirname, '..', '..', 'RUNBOOK.md'), 'utf8');

type Resource = { Type: string; Properties: Record<string, any> };

function resourcesOfType(synth: SynthesizedStage, type: string): Array<[string, Resource]> {
  return Object.entries(synth.templateJson.Resources as Record<string, Resource>).filter(([, resource]) => resource.Type === type);
}

function logicalIdOfType(synth: SynthesizedStage, type: string, predicate: (resource: Resource) => boolean): string {
  const found = resourcesOfType(synth, type).find(([, resource]) => predicate(resource));
  if (!found) throw new Error(`no ${type} matches`);
  return found[0];
}

const stages: Record<string, SynthesizedStage> = {};

beforeAll(() => {
  stages.dev = synthStage('dev');
  stages.prod = synthStage('prod');
  stages.subscribed = synthStage('dev', {
    overrides: {
      observability: {
        runbookBaseUrl: 'https://git.example.com/pipeline/blob/main/RUNBOOK.md',
        page: { emails: ['oncall@example.com'], httpsEndpoints: ['https://events.pagerduty.com/integration/abc/enqueue'] },
        ticket: { emails: ['team@example.com', 'lead@example.com'] },
        alarms: { modelErrorRatePercent: 42 },
      },
    },
  });
});

afterAll(() => {
  for (const synth of Object.values(stages)) synth.dispose();
});

describe.each(['dev', 'prod'])('alarms of the synthesized %s template', (stage) => {
  it('are exactly the catalog: one metric alarm per entry, and the composite', () => {
    // Prepare
    const synth = stages[stage] as SynthesizedStage;
    const catalog: AlarmCatalog = synth.stack.observability.catalog;

    // Act
    const names = resourcesOfType(synth, 'AWS::CloudWatch::Alarm').map(([, resource]) => resource.Properties.AlarmName as string);
    const composites = resourcesOfType(synth, 'AWS::CloudWatch::CompositeAlarm').map(([, resource]) => resource.Properties.AlarmName as string);

    // Assess
    expect(names.sort()).toEqual(catalog.alarms.map((alarm) => `AiPipeline-${stage}-${alarm.id}`).sort());
    expect(composites).toEqual([`AiPipeline-${stage}-pipeline-unhealthy`]);
  });

  it('each have a runbook section, and a description that links it', () => {
    const synth = stages[stage] as SynthesizedStage;
    const alarms = [...resourcesOfType(synth, 'AWS::CloudWatch::Alarm'), ...resourcesOfType(synth, 'AWS::CloudWatch::CompositeAlarm')];
    expect(alarms.length).toBeGreaterThan(15);
    for (const [logicalId, { Properties }] of alarms) {
      const id = String(Properties.AlarmName).replace(`AiPipeline-${stage}-`, '');
      expect(RUNBOOK, `${logicalId} has no runbook section`).toContain(`<a id="${id}"></a>`);
      expect(Properties.AlarmDescription).toContain(`RUNBOOK.md#${id}`);
    }
  });

  it("carry the catalog's threshold, periods, datapoints and missing-data treatment", () => {
    const synth = stages[stage] as SynthesizedStage;
    for (const alarm of synth.stack.observability.catalog.alarms) {
      const expected: Record<string, unknown> = {
        AlarmName: alarm.name,
        Threshold: alarm.threshold,
        EvaluationPeriods: alarm.evaluationPeriods,
        DatapointsToAlarm: alarm.datapointsToAlarm,
        ComparisonOperator: alarm.comparison,
        TreatMissingData: alarm.treatMissingData,
      };
      // A labelled metric is rendered in the `Metrics` form, one entry with ReturnData; math adds its inputs.
      const stats =
        alarm.signal.kind === 'metric'
          ? [{ Period: alarm.periodSeconds, Stat: alarm.signal.metric.statistic }]
          : Object.values(alarm.signal.metrics).map((query) => ({ Period: alarm.periodSeconds, Stat: query.statistic }));
      expected.Metrics = Match.arrayWith(stats.map((stat) => Match.objectLike({ MetricStat: Match.objectLike(stat) })));
      synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', expected);
    }
  });

  it('read the pipeline metrics under (service, stage) only, e.g. the model error rate', () => {
    const synth = stages[stage] as SynthesizedStage;
    const [, errorRate] = resourcesOfType(synth, 'AWS::CloudWatch::Alarm').find(
      ([, resource]) => resource.Properties.AlarmName === `AiPipeline-${stage}-model-error-rate`,
    )!;
    const metrics = errorRate.Properties.Metrics as Array<Record<string, any>>;
    expect(metrics.find((metric) => metric.ReturnData)?.Expression).toBe(
      'IF(FILL(calls, 0) + FILL(refused, 0) >= 10, 100 * (FILL(errors, 0) + FILL(refused, 0)) / (FILL(calls, 0) + FILL(refused, 0)), 0)',
    );
    for (const id of ['calls', 'errors', 'refused']) {
      const stat = metrics.find((metric) => metric.Id === id)?.MetricStat;
      expect(stat).toMatchObject({
        Period: 60,
        Stat: 'Sum',
        Metric: {
          Namespace: 'ResilientAiPipeline',
          Dimensions: [
            { Name: 'service', Value: 'processor' },
            { Name: 'stage', Value: stage },
          ],
        },
      });
    }
  });

  it("read AWS metrics of the stack's own resources (the DLQ depth, per-operation DynamoDB errors)", () => {
    const synth = stages[stage] as SynthesizedStage;
    const dlq = logicalIdOf(synth, synth.stack.inputQueue.deadLetterQueue);
    synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `AiPipeline-${stage}-dlq-has-messages`,
      Metrics: [
        Match.objectLike({
          ReturnData: true,
          MetricStat: {
            Period: 60,
            Stat: 'Maximum',
            Metric: {
              Namespace: 'AWS/SQS',
              MetricName: 'ApproximateNumberOfMessagesVisible',
              Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
            },
          },
        }),
      ],
    });
    const [, systemErrors] = resourcesOfType(synth, 'AWS::CloudWatch::Alarm').find(
      ([, resource]) => resource.Properties.AlarmName === `AiPipeline-${stage}-dynamodb-system-errors`,
    )!;
    const operations = (systemErrors.Properties.Metrics as Array<Record<string, any>>)
      .filter((metric) => metric.MetricStat)
      .map((metric) => metric.MetricStat.Metric.Dimensions.find((dimension: { Name: string }) => dimension.Name === 'Operation')?.Value)
      .filter((operation) => operation !== undefined);
    // The operations the stack calls: the ledger's Query (monitors), the control table's Scan (reconciler).
    expect(operations.sort()).toEqual(['GetItem', 'GetItem', 'PutItem', 'PutItem', 'Query', 'Scan', 'UpdateItem', 'UpdateItem']);
  });
});

describe('notifications', () => {
  it('page from every paging alarm directly (ALARM and OK), ticket from every alarm; the composite notifies nobody', () => {
    const synth = stages.dev as SynthesizedStage;
    const page = { Ref: logicalIdOf(synth, synth.stack.observability.pageTopic) };
    const ticket = { Ref: logicalIdOf(synth, synth.stack.observability.ticketTopic) };
    const paging = new Set(synth.stack.observability.catalog.alarms.filter((alarm) => alarm.severity === 'page').map((alarm) => alarm.name));
    for (const [, { Properties }] of resourcesOfType(synth, 'AWS::CloudWatch::Alarm')) {
      const expected = paging.has(Properties.AlarmName) ? [page, ticket] : [ticket];
      expect(Properties.AlarmActions).toEqual(expected);
      expect(Properties.OKActions).toEqual(expected);
    }
    const [[, composite]] = resourcesOfType(synth, 'AWS::CloudWatch::CompositeAlarm') as [[string, Resource]];
    expect(composite.Properties.AlarmActions).toBeUndefined();
  });

  it('compose the paging alarms, and only those, into "pipeline unhealthy"', () => {
    const synth = stages.dev as SynthesizedStage;
    const [[, composite]] = resourcesOfType(synth, 'AWS::CloudWatch::CompositeAlarm') as [[string, Resource]];
    const rule = JSON.stringify(composite.Properties.AlarmRule);
    for (const alarm of synth.stack.observability.catalog.alarms) {
      const logicalId = logicalIdOfType(synth, 'AWS::CloudWatch::Alarm', (resource) => resource.Properties.AlarmName === alarm.name);
      expect(rule.includes(`"${logicalId}"`), alarm.id).toBe(alarm.severity === 'page');
    }
    expect(rule).toContain('ALARM(');
    expect(rule).toContain(' OR ');
  });

  it("go to KMS-encrypted, TLS-only topics that CloudWatch may publish to for this stack's alarms only", () => {
    const synth = stages.dev as SynthesizedStage;
    const topics = resourcesOfType(synth, 'AWS::SNS::Topic');
    expect(topics).toHaveLength(2);
    for (const [, topic] of topics) expect(topic.Properties.KmsMasterKeyId).toBeDefined();
    const fromOurAlarms = {
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', Match.arrayWith([':alarm:AiPipeline-dev-*'])] } },
    };
    synth.template.resourcePropertiesCountIs(
      'AWS::SNS::TopicPolicy',
      {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            Match.objectLike({ Effect: 'Allow', Action: 'sns:Publish', Principal: { Service: 'cloudwatch.amazonaws.com' }, Condition: fromOurAlarms }),
          ]),
        },
      },
      2,
    );
    synth.template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Principal: { Service: 'cloudwatch.amazonaws.com' }, Condition: fromOurAlarms }),
        ]),
      },
    });
  });

  it('subscribe nobody by default', () => {
    expect(resourcesOfType(stages.dev as SynthesizedStage, 'AWS::SNS::Subscription')).toEqual([]);
    expect(resourcesOfType(stages.prod as SynthesizedStage, 'AWS::SNS::Subscription')).toEqual([]);
  });

  it("subscribe the stage config's emails and HTTPS endpoints to the right topic", () => {
    const synth = stages.subscribed as SynthesizedStage;
    const topicRef = (topic: 'pageTopic' | 'ticketTopic') => ({ Ref: logicalIdOf(synth, synth.stack.observability[topic]) });
    const subscriptions = resourcesOfType(synth, 'AWS::SNS::Subscription').map(([, { Properties }]) => ({
      Protocol: Properties.Protocol,
      Endpoint: Properties.Endpoint,
      TopicArn: Properties.TopicArn,
    }));
    expect(subscriptions).toEqual(
      expect.arrayContaining([
        { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: topicRef('pageTopic') },
        { Protocol: 'https', Endpoint: 'https://events.pagerduty.com/integration/abc/enqueue', TopicArn: topicRef('pageTopic') },
        { Protocol: 'email', Endpoint: 'team@example.com', TopicArn: topicRef('ticketTopic') },
        { Protocol: 'email', Endpoint: 'lead@example.com', TopicArn: topicRef('ticketTopic') },
      ]),
    );
    expect(subscriptions).toHaveLength(4);
  });

  it('link the configured runbook address and carry the configured thresholds', () => {
    const synth = stages.subscribed as SynthesizedStage;
    synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'AiPipeline-dev-model-error-rate',
      Threshold: 42,
      AlarmDescription: Match.stringLikeRegexp('Runbook: https://git\\.example\\.com/pipeline/blob/main/RUNBOOK\\.md#model-error-rate'),
    });
  });
});

describe('dashboard', () => {
  it('is named after the stack and built from the catalog: every alarm, the runbook link, the graphs', () => {
    const synth = stages.dev as SynthesizedStage;
    const [[, dashboard]] = resourcesOfType(synth, 'AWS::CloudWatch::Dashboard') as [[string, Resource]];
    expect(dashboard.Properties.DashboardName).toBe('AiPipeline-dev');
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const alarm of synth.stack.observability.catalog.alarms) {
      const logicalId = logicalIdOfType(synth, 'AWS::CloudWatch::Alarm', (resource) => resource.Properties.AlarmName === alarm.name);
      expect(body, alarm.id).toContain(logicalId);
      expect(body).toContain(`RUNBOOK.md#${alarm.id}`);
    }
    for (const title of [
      'Records per minute by outcome',
      'Queue depth',
      'Model latency (ms)',
      'Tokens and estimated cost',
      'Fallbacks by tier',
      'Breaker state',
    ]) {
      expect(body).toContain(title);
    }
    expect(body).toContain('ModelLatency');
    expect(body).toContain('p99');
  });
});

describe('stack outputs', () => {
  it('name the topics and the dashboard', () => {
    const synth = stages.dev as SynthesizedStage;
    const outputs = synth.templateJson.Outputs as Record<string, { Value: unknown }>;
    expect(outputs[STACK_OUTPUT.PAGE_TOPIC_ARN]?.Value).toEqual({ Ref: expect.stringMatching(/^ObservabilityPageTopic/) });
    expect(outputs[STACK_OUTPUT.TICKET_TOPIC_ARN]?.Value).toEqual({ Ref: expect.stringMatching(/^ObservabilityTicketTopic/) });
    expect(outputs[STACK_OUTPUT.DASHBOARD_NAME]?.Value).toEqual({ Ref: expect.stringMatching(/^ObservabilityDashboard/) });
  });
});

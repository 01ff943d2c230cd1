import { Aws, Duration, type RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmRule,
  AlarmState,
  AlarmStatusWidget,
  AlarmWidget,
  CompositeAlarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription, UrlSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { SubscriptionProtocol } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { NotificationTargets, StageConfig } from '../config/stage-types';
import { buildAlarmCatalog, runbookUrl } from './alarm-catalog';
import type {
  AlarmCatalog,
  AlarmDefinition,
  AlarmSignal,
  DashboardGraph,
  MetricQuery,
  ResourceRole,
  Severity,
  TreatMissingData as CatalogTreatMissingData,
} from './alarm-types';
import { renderExpression } from './metric-math';
import { alarmDescription } from './runbook';

/** The resources whose AWS-provided metrics the alarms read; the stack passes its constructs' fields. */
export interface ObservedResources {
  readonly inputQueue: IQueue;
  readonly inputDeadLetterQueue: IQueue;
  readonly reviewQueue: IQueue;
  readonly reviewDeadLetterQueue: IQueue;
  readonly processorFunction: IFunction;
  /** The scheduled monitors: their Errors, Throttles (AWS/Lambda) are alarmed. */
  readonly reconcilerFunction: IFunction;
  readonly driftMonitorFunction: IFunction;
  readonly ledgerTable: ITable;
  readonly controlTable: ITable;
}

/** Properties of a {@link PipelineObservability}. */
export interface PipelineObservabilityProps {
  /** The stage config: thresholds, subscriptions, the runbook's address. */
  readonly config: StageConfig;
  readonly resources: ObservedResources;
  /** Applied to the topics' key. */
  readonly removalPolicy: RemovalPolicy;
}

const TREAT_MISSING_DATA: Readonly<Record<CatalogTreatMissingData, TreatMissingData>> = {
  breaching: TreatMissingData.BREACHING,
  notBreaching: TreatMissingData.NOT_BREACHING,
  ignore: TreatMissingData.IGNORE,
  missing: TreatMissingData.MISSING,
};

/**
 * Alarms, notifications and the dashboard, all from the alarm catalog (alarm-catalog.ts):
 * - one CloudWatch alarm per catalog entry, named `<stack>-<id>`, whose description links its
 *   runbook section;
 * - two SNS topics, `page` and `ticket`, encrypted with a customer managed key, TLS only, with the
 *   stage's email and HTTPS subscriptions. Every alarm notifies `ticket` on ALARM and OK; every
 *   paging alarm also notifies `page` (ALARM and OK), so a second incident pages while a first is
 *   still open. The composite "pipeline unhealthy" (ANY paging alarm) has no actions: it is the
 *   dashboard's summary;
 * - the dashboard `<stack>`: the catalog's graphs with the alarms' thresholds, an alarm status
 *   widget, one alarm widget per alarm, and a text widget linking the runbook.
 *
 * The construct only translates: every number, name and text comes from the catalog or the config.
 */
export class PipelineObservability extends Construct {
  /** The catalog these resources were built from. */
  public readonly catalog: AlarmCatalog;
  /** Pages: every paging alarm notifies it, on ALARM and on OK. */
  public readonly pageTopic: Topic;
  /** Tickets: every alarm notifies it. */
  public readonly ticketTopic: Topic;
  /** Encrypts both topics; CloudWatch may use it to publish alarm notifications. */
  public readonly topicKey: Key;
  /** Catalog id → alarm. */
  public readonly alarms: ReadonlyMap<string, Alarm>;
  public readonly compositeAlarm: CompositeAlarm;
  public readonly dashboard: Dashboard;

  public constructor(scope: Construct, id: string, props: PipelineObservabilityProps) {
    super(scope, id);
    const { config, resources } = props;
    const stack = Stack.of(this);
    this.catalog = buildAlarmCatalog(config, { stackName: stack.stackName });
    const catalog = this.catalog;

    // Who may publish: CloudWatch, on behalf of this stack's alarms only (the confused-deputy
    // conditions), on the topics and with their key. Without the key grant an encrypted topic
    // silently drops every alarm notification: the deploy succeeds and nobody is paged.
    const alarmArns = `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:${catalog.alarmNamePrefix}*`;
    const fromOurAlarms = {
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      ArnLike: { 'aws:SourceArn': alarmArns },
    };
    const cloudwatch = new ServicePrincipal('cloudwatch.amazonaws.com');

    this.topicKey = new Key(this, 'TopicKey', {
      description: `Encrypts the ${config.stage} pipeline's page and ticket alarm topics`,
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    // The two actions publishing to an SSE topic needs (as for the processor's SQS sends), no
    // `GenerateDataKey*`. In a key policy, Resource '*' means this key and nothing else.
    this.topicKey.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToEncryptedTopics',
        principals: [cloudwatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: fromOurAlarms,
      }),
    );

    const topic = (name: Severity, targets: NotificationTargets) => {
      const created = new Topic(this, name === 'page' ? 'PageTopic' : 'TicketTopic', {
        displayName: `${stack.stackName} ${name === 'page' ? 'pages' : 'tickets'}`,
        masterKey: this.topicKey,
        enforceSSL: true,
      });
      created.addToResourcePolicy(
        new PolicyStatement({
          sid: 'CloudWatchAlarmsPublish',
          principals: [cloudwatch],
          actions: ['sns:Publish'],
          resources: [created.topicArn],
          conditions: fromOurAlarms,
        }),
      );
      for (const email of targets.emails) created.addSubscription(new EmailSubscription(email));
      for (const url of targets.httpsEndpoints) created.addSubscription(new UrlSubscription(url, { protocol: SubscriptionProtocol.HTTPS }));
      return created;
    };
    this.pageTopic = topic('page', config.observability.page);
    this.ticketTopic = topic('ticket', config.observability.ticket);

    const metricOf = (query: MetricQuery, period: Duration): IMetric => metricFor(query, period, resources);
    const alarms = new Map<string, Alarm>();
    const ticketAction = new SnsAction(this.ticketTopic);
    const pageAction = new SnsAction(this.pageTopic);
    for (const definition of catalog.alarms) {
      const alarm = new Alarm(this, definition.id, {
        alarmName: definition.name,
        alarmDescription: alarmDescription(catalog, definition),
        metric: signalMetric(definition.signal, Duration.seconds(definition.periodSeconds), metricOf),
        threshold: definition.threshold,
        evaluationPeriods: definition.evaluationPeriods,
        datapointsToAlarm: definition.datapointsToAlarm,
        comparisonOperator: ComparisonOperator[comparisonKey(definition)],
        treatMissingData: TREAT_MISSING_DATA[definition.treatMissingData],
      });
      // Each paging alarm notifies the page topic itself. CloudWatch runs an alarm's actions only
      // when the alarm transitions to the action's state ("AlarmActions: the actions to execute
      // when this alarm transitions to the ALARM state from any other state", PutMetricAlarm and
      // PutCompositeAlarm API reference). A composite that pages would stay in ALARM while any
      // child is, so a second, unrelated child going to ALARM would page nobody.
      if (definition.severity === 'page') {
        alarm.addAlarmAction(pageAction);
        alarm.addOkAction(pageAction);
      }
      alarm.addAlarmAction(ticketAction);
      alarm.addOkAction(ticketAction);
      alarms.set(definition.id, alarm);
    }
    this.alarms = alarms;

    const { composite } = catalog;
    this.compositeAlarm = new CompositeAlarm(this, composite.id, {
      compositeAlarmName: composite.name,
      alarmDescription: alarmDescription(catalog, composite),
      alarmRule: AlarmRule.anyOf(
        ...composite.children.map((child) => {
          const alarm = alarms.get(child);
          if (!alarm) throw new Error(`the composite alarm refers to ${child}, which the catalog does not define`);
          return AlarmRule.fromAlarm(alarm, AlarmState.ALARM);
        }),
      ),
    });
    // No actions on the composite: it is the dashboard's one-glance state ("is anything paging?"),
    // and the hook for a future actions suppressor; the children page.

    this.dashboard = this.buildDashboard(catalog, alarms, metricOf);
  }

  private buildDashboard(catalog: AlarmCatalog, alarms: ReadonlyMap<string, Alarm>, metricOf: (query: MetricQuery, period: Duration) => IMetric): Dashboard {
    const period = Duration.minutes(1);
    const dashboard = new Dashboard(this, 'Dashboard', { dashboardName: catalog.stackName, defaultInterval: Duration.hours(3) });
    // CloudFormation accepts Tags on a dashboard (CDK validates them against its schema), but cfn-lint 1.51 (what CI lints the
    // templates with) does not know them yet and reports E3002. The stage is in the dashboard's
    // name anyway; drop this line when the linter catches up.
    Tags.of(dashboard).remove('stage');
    const link = (id: string) => runbookUrl(catalog.runbookBaseUrl, id);
    const index = [catalog.composite, ...catalog.alarms].map((alarm) => `- [${alarm.id}](${link(alarm.id)}) (${alarm.severity}): ${alarm.title}`);
    dashboard.addWidgets(
      new TextWidget({
        width: 12,
        height: 8,
        markdown: [
          `# ${catalog.stackName}`,
          `Runbook: [${catalog.runbookBaseUrl}](${catalog.runbookBaseUrl}) — or \`pipectl runbook <alarm>\`. Every paging alarm pages on its own; **${catalog.composite.id}** shows whether any is in ALARM.`,
          '',
          ...index,
        ].join('\n'),
      }),
      new AlarmStatusWidget({ title: 'Alarms', width: 12, height: 8, alarms: [this.compositeAlarm, ...alarms.values()] }),
    );
    for (const row of catalog.dashboard) {
      dashboard.addWidgets(new TextWidget({ markdown: `## ${row.heading}`, width: 24, height: 1 }));
      dashboard.addWidgets(...row.graphs.map((graph) => graphWidget(graph, period, metricOf)));
    }
    dashboard.addWidgets(new TextWidget({ markdown: '## Alarms (paging first), with their thresholds', width: 24, height: 1 }));
    const ordered = [...catalog.alarms].sort((a, b) => Number(a.severity !== 'page') - Number(b.severity !== 'page'));
    dashboard.addWidgets(
      ...ordered.map(
        (definition) =>
          new AlarmWidget({
            title: `${definition.id} (${definition.severity})`,
            alarm: alarms.get(definition.id) as Alarm,
            width: 6,
            height: 5,
          }),
      ),
    );
    return dashboard;
  }
}

function comparisonKey(definition: AlarmDefinition): keyof typeof ComparisonOperator {
  switch (definition.comparison) {
    case 'GreaterThanThreshold':
      return 'GREATER_THAN_THRESHOLD';
    case 'LessThanThreshold':
      return 'LESS_THAN_THRESHOLD';
    case 'GreaterThanOrEqualToThreshold':
      return 'GREATER_THAN_OR_EQUAL_TO_THRESHOLD';
  }
}

function signalMetric(signal: AlarmSignal, period: Duration, metricOf: (query: MetricQuery, period: Duration) => IMetric): IMetric {
  if (signal.kind === 'metric') return metricOf(signal.metric, period);
  return new MathExpression({
    expression: renderExpression(signal.expression),
    usingMetrics: Object.fromEntries(Object.entries(signal.metrics).map(([id, query]) => [id, metricOf(query, period)])),
    label: signal.label,
    period,
  });
}

/** A catalog metric as CDK sees it: the pipeline's own through `Metric`, AWS's through the resources' metric helpers. */
function metricFor(query: MetricQuery, period: Duration, resources: ObservedResources): IMetric {
  const { source, statistic, label } = query;
  const options = { statistic, period, label };
  if (source.kind === 'pipeline') {
    return new Metric({ namespace: source.namespace, metricName: source.name, dimensionsMap: { ...source.dimensions }, ...options });
  }
  const queues: Partial<Record<ResourceRole, IQueue>> = {
    inputQueue: resources.inputQueue,
    inputDlq: resources.inputDeadLetterQueue,
    reviewQueue: resources.reviewQueue,
    reviewDlq: resources.reviewDeadLetterQueue,
  };
  const functions: Partial<Record<ResourceRole, IFunction>> = {
    processor: resources.processorFunction,
    reconciler: resources.reconcilerFunction,
    driftMonitor: resources.driftMonitorFunction,
  };
  const tables: Partial<Record<ResourceRole, ITable>> = { ledgerTable: resources.ledgerTable, controlTable: resources.controlTable };
  switch (source.namespace) {
    case 'AWS/SQS': {
      const queue = queues[source.resource];
      if (!queue) throw new Error(`no queue for ${source.resource}`);
      return queue.metric(source.name, options);
    }
    case 'AWS/Lambda': {
      const fn = functions[source.resource];
      if (!fn) throw new Error(`no function for ${source.resource}`);
      return fn.metric(source.name, options);
    }
    case 'AWS/DynamoDB': {
      const table = tables[source.resource];
      if (!table) throw new Error(`no table for ${source.resource}`);
      // `metric()` replaces the dimensions it is given, so TableName is passed along with Operation.
      return table.metric(source.name, { ...options, dimensionsMap: { TableName: table.tableName, ...source.extraDimensions } });
    }
  }
}

function graphWidget(graph: DashboardGraph, period: Duration, metricOf: (query: MetricQuery, period: Duration) => IMetric): GraphWidget {
  const left: IMetric[] = graph.left.map((query) => metricOf(query, period));
  if (graph.search) left.push(new MathExpression({ expression: graph.search.expression, label: graph.search.label, usingMetrics: {}, period }));
  return new GraphWidget({
    title: graph.title,
    width: graph.width,
    height: 6,
    left,
    leftAnnotations: graph.thresholds?.map((threshold) => ({ label: threshold.label, value: threshold.value })),
  });
}

import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateEventSourceMappingCommand, CreateFunctionCommand, GetEventSourceMappingCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRIFT_MAX_FEATURE, METRIC, METRIC_SERVICE, METRICS_NAMESPACE, MONITOR_ENV } from '../../lambda/contract';
import { registerJob } from '../../lambda/monitors/completeness';
import { LOCAL_CREDENTIALS, OBSERVER_USER_AGENT } from '../../local/emulators';
import { ExecutionEnvironment } from '../../local/lambda-runtime';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { sendBodies, waitForDrain } from '../../local/run-local';
import type { ScheduledFunctionModel } from '../../local/stack-model';
import { synthesizeLocalStack } from '../../local/stack-model';
import { buildWorkload } from '../../local/workload-generator/ticket-workload';
import { createLambdaRole, EMPTY_ZIP, motoUnavailable, type MotoServer, startMoto } from '../pipectl/moto-server';

/*
 * The monitors' AWS path, with the bundled handlers exactly as deployed: CloudWatch PutMetricData
 * and the drift auto-pause's UpdateEventSourceMapping go to moto_server (a real endpoint over
 * HTTP, not a mock), the ledger and control table are local mode's dynalite. moto_server is
 * preinstalled on these machines, not on users': without it the file is skipped and says why.
 */

const unavailable = motoUnavailable();
if (unavailable) console.warn(`drift-cloudwatch.test.ts skipped: ${unavailable}`);

const REGION = 'us-east-1';

describe.skipIf(unavailable !== undefined)('the monitors against AWS APIs (moto_server)', () => {
  let moto: MotoServer;
  let pipeline: LocalPipeline;
  let cloudwatch: CloudWatchClient;
  let lambda: LambdaClient;
  let mappingUuid: string;
  const missing = 3;

  beforeAll(async () => {
    moto = await startMoto();
    const motoConfig = { region: REGION, endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
    cloudwatch = new CloudWatchClient(motoConfig);
    lambda = new LambdaClient(motoConfig);

    // The processor's mapping, in moto's Lambda: what the auto-pause disables.
    const sqs = new SQSClient(motoConfig);
    await sqs.send(new CreateQueueCommand({ QueueName: 'drift-Input' }));
    sqs.destroy();
    const role = await createLambdaRole(moto, REGION, 'drift-processor');
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'drift-Processor',
        Runtime: 'nodejs22.x',
        Role: role,
        Handler: 'index.handler',
        Code: { ZipFile: EMPTY_ZIP },
      }),
    );
    mappingUuid = (
      await lambda.send(
        new CreateEventSourceMappingCommand({ FunctionName: 'drift-Processor', EventSourceArn: `arn:aws:sqs:${REGION}:123456789012:drift-Input` }),
      )
    ).UUID as string;

    // The data: a shifted workload processed by local mode, and an overdue job with items that never arrived.
    // At real time, so a busy machine cannot time out invocations and shift the serving tiers.
    pipeline = await startLocalPipeline({ stack: synthesizeLocalStack(), timeScale: 1, monitors: { autoStart: false } });
    const bodies = buildWorkload({ count: 200, seed: 8, category: 'account', duplicateRate: 0, badLines: false }).map((line) => line.text);
    await sendBodies(pipeline.sqs, pipeline.resources.inputQueueUrl, bodies);
    expect(await waitForDrain(pipeline, 60_000)).toBe(true);
    const client = new DynamoDBClient({
      region: pipeline.emulators.region,
      endpoint: pipeline.emulators.dynamodbEndpoint,
      credentials: LOCAL_CREDENTIALS,
      customUserAgent: OBSERVER_USER_AGENT,
    });
    await registerJob(client, pipeline.resources.controlTableName, {
      jobId: 'never-sent',
      expected: missing,
      sentAt: Date.now() - 10_000,
      deadline: Date.now() - 1,
    });
    client.destroy();
  }, 180_000);

  afterAll(async () => {
    cloudwatch?.destroy();
    lambda?.destroy();
    await pipeline?.stop();
    await moto?.stop();
  });

  /** Runs a monitor's bundle once with its template environment, aimed at moto for CloudWatch and Lambda. */
  async function invokeOnAws(service: string, extra: Record<string, string> = {}): Promise<Record<string, unknown>> {
    const model = pipeline.stack.scheduledFunctions.find((candidate) => candidate.environment.POWERTOOLS_SERVICE_NAME === service) as ScheduledFunctionModel;
    // Every reference (the tables, the input DLQ the reconciler's witness peeks) resolves to what local mode created.
    const environment = Object.fromEntries(
      Object.entries(model.environment).map(([name, value]) => {
        if (typeof value === 'string') return [name, value];
        const physical = pipeline.physicalIds.get(value.ref);
        if (physical === undefined) throw new Error(`${name} refers to ${value.ref}, which local mode does not create`);
        return [name, physical];
      }),
    );
    const lines: string[] = [];
    const function_ = new ExecutionEnvironment(
      {
        functionName: `drift-${service}`,
        bundlePath: model.bundlePath,
        handlerExport: model.handlerExport,
        timeoutMs: 30_000,
        memoryMb: model.memoryMb,
        region: REGION,
        environment: {
          ...environment,
          // The local window is scaled like every local duration: the whole run is inside it.
          [MONITOR_ENV.DRIFT_WINDOW_SECONDS]: '360',
          AWS_REGION: REGION,
          AWS_ACCESS_KEY_ID: 'testing',
          AWS_SECRET_ACCESS_KEY: 'testing',
          AWS_ENDPOINT_URL_DYNAMODB: pipeline.emulators.dynamodbEndpoint,
          AWS_ENDPOINT_URL_CLOUDWATCH: moto.endpoint,
          AWS_ENDPOINT_URL_LAMBDA: moto.endpoint,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          PATH: process.env.PATH ?? '',
          ...extra,
        },
      },
      (line) => lines.push(line),
    );
    try {
      const result = await function_.invoke({ 'detail-type': 'Scheduled Event', source: 'aws.events' });
      if (result.kind !== 'ok') throw new Error(`${service} failed: ${JSON.stringify(result)}\n${lines.join('\n')}`);
      // CloudWatch publishing, not EMF: no metric document on stdout.
      expect(lines.some((line) => line.includes('"_aws"'))).toBe(false);
      return result.result as Record<string, unknown>;
    } finally {
      await function_.stop();
    }
  }

  async function maximum(name: string, dimensions: Record<string, string>): Promise<number | undefined> {
    const { Datapoints = [] } = await cloudwatch.send(
      new GetMetricStatisticsCommand({
        Namespace: METRICS_NAMESPACE,
        MetricName: name,
        Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
        StartTime: new Date(Date.now() - 600_000),
        EndTime: new Date(Date.now() + 60_000),
        Period: 60,
        Statistics: ['Maximum'],
      }),
    );
    return Datapoints.length === 0 ? undefined : Math.max(...Datapoints.map((point) => point.Maximum as number));
  }

  it('the reconciler puts IncompleteJobItems into CloudWatch under the alarm dimension set', async () => {
    // Act
    const summary = await invokeOnAws(METRIC_SERVICE.RECONCILER);

    // Assess
    expect(summary).toMatchObject({ incompleteJobItems: missing });
    expect(await maximum(METRIC.INCOMPLETE_JOB_ITEMS, { service: METRIC_SERVICE.RECONCILER, stage: 'dev' })).toBe(missing);
    // The heartbeat the reconciler-heartbeat alarm reads.
    expect(await maximum(METRIC.MONITOR_HEARTBEAT, { service: METRIC_SERVICE.RECONCILER, stage: 'dev' })).toBe(1);
  }, 120_000);

  it('the drift monitor puts DriftScore per feature and the maximum, and its opt-in auto-pause disables the processor mapping', async () => {
    // Act
    const summary = await invokeOnAws(METRIC_SERVICE.DRIFT_MONITOR, {
      [MONITOR_ENV.DRIFT_AUTO_PAUSE]: 'true',
      [MONITOR_ENV.DRIFT_AUTO_PAUSE_THRESHOLD]: '0.25',
      [MONITOR_ENV.EVENT_SOURCE_MAPPING_ID]: mappingUuid,
    });
    const mapping = await lambda.send(new GetEventSourceMappingCommand({ UUID: mappingUuid }));

    // Assess
    const maxScore = summary.maxScore as number;
    expect(maxScore).toBeGreaterThan(0.25);
    expect(summary.paused).toBe(true);
    expect(await maximum(METRIC.DRIFT_SCORE, { service: METRIC_SERVICE.DRIFT_MONITOR, stage: 'dev', feature: DRIFT_MAX_FEATURE })).toBeCloseTo(maxScore, 9);
    expect(
      await maximum(METRIC.DRIFT_SCORE, { service: METRIC_SERVICE.DRIFT_MONITOR, stage: 'dev', task: 'ticket-triage', feature: 'category' }),
    ).toBeGreaterThan(0.25);
    expect(mapping.State).toMatch(/^Disabl/);
    expect(await maximum(METRIC.MONITOR_HEARTBEAT, { service: METRIC_SERVICE.DRIFT_MONITOR, stage: 'dev' })).toBe(1);
  }, 120_000);
});

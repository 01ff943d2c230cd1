/**
 * pipectl against a "deployed stage": CloudFormation outputs, CloudWatch alarms and the Lambda
 * event source mapping served by moto_server; the queues and tables those outputs name served by
 * the embedded SQS and DynamoDB emulators. Every client is pointed at them by the standard
 * AWS_ENDPOINT_URL_<SERVICE> variables, so this is the code path a real stage takes.
 */
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, PutMetricAlarmCommand, PutMetricDataCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateEventSourceMappingCommand,
  CreateFunctionCommand,
  GetEventSourceMappingCommand,
  LambdaClient,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { CreateQueueCommand, GetQueueAttributesCommand, PurgeQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTROL, JOB, METRIC, METRICS_NAMESPACE, STACK_OUTPUT } from '../../lambda/contract';
import { LOCAL_CREDENTIALS, startEmulators, type Emulators } from '../../local/emulators';
import { TargetNotFoundError } from '../../pipectl/errors';
import { resolveTarget } from '../../pipectl/target';
import { pipectl } from './cli-harness';
import { createLambdaRole, EMPTY_ZIP, motoUnavailable, startMoto, type MotoServer } from './moto-server';

const skipReason = motoUnavailable();
// A skipped test says why, where CI output shows it.
if (skipReason) console.warn(`pipectl stage-target tests skipped: ${skipReason}`);

const REGION = 'us-east-1';
const ENV_KEYS = [
  'AWS_ENDPOINT_URL_CLOUDFORMATION',
  'AWS_ENDPOINT_URL_CLOUDWATCH',
  'AWS_ENDPOINT_URL_LAMBDA',
  'AWS_ENDPOINT_URL_SQS',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'PIPECTL_STAGE',
  'PIPECTL_LOCAL',
] as const;

describe.skipIf(skipReason !== undefined)('pipectl against a deployed stage (moto_server + emulators)', () => {
  let moto: MotoServer;
  let emulators: Emulators;
  const savedEnv: Record<string, string | undefined> = {};
  let mappingUuid = '';
  let inputQueueUrl = '';
  let lambda: LambdaClient;
  let sqs: SQSClient;
  let dynamodb: DynamoDBClient;

  beforeAll(async () => {
    [moto, emulators] = await Promise.all([startMoto(), startEmulators()]);
    for (const key of ENV_KEYS) savedEnv[key] = process.env[key];
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_CLOUDFORMATION: moto.endpoint,
      AWS_ENDPOINT_URL_CLOUDWATCH: moto.endpoint,
      AWS_ENDPOINT_URL_LAMBDA: moto.endpoint,
      AWS_ENDPOINT_URL_SQS: emulators.sqsEndpoint,
      AWS_ENDPOINT_URL_DYNAMODB: emulators.dynamodbEndpoint,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    });
    delete process.env.PIPECTL_STAGE;
    delete process.env.PIPECTL_LOCAL;

    const motoConfig = { region: REGION, endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
    const localConfig = { region: REGION, credentials: LOCAL_CREDENTIALS };
    sqs = new SQSClient({ ...localConfig, endpoint: emulators.sqsEndpoint, useQueueUrlAsEndpoint: false });
    dynamodb = new DynamoDBClient({ ...localConfig, endpoint: emulators.dynamodbEndpoint });
    lambda = new LambdaClient(motoConfig);

    // The data plane: queues and tables in the emulators, as the stack would create them.
    const url = async (name: string) => (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl as string;
    const [dlq, review, reviewDlq] = await Promise.all([url('ci-InputDlq'), url('ci-Review'), url('ci-ReviewDlq')]);
    inputQueueUrl = await url('ci-Input');
    for (const table of ['ci-Ledger', 'ci-Control']) {
      await dynamodb.send(
        new CreateTableCommand({
          TableName: table,
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    }

    // The control plane in moto: a function and its SQS mapping (moto needs its own queue to map).
    const motoSqs = new SQSClient(motoConfig);
    await motoSqs.send(new CreateQueueCommand({ QueueName: 'ci-Input' }));
    motoSqs.destroy();
    const role = await createLambdaRole(moto, REGION, 'ci-processor');
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'ci-Processor',
        Runtime: 'nodejs22.x',
        Role: role,
        Handler: 'index.handler',
        Code: { ZipFile: EMPTY_ZIP },
        Environment: { Variables: { PRIMARY_MODEL_ID: 'anthropic.claude-test', MODEL_PROVIDER: 'bedrock', LEDGER_TABLE_NAME: 'ci-Ledger' } },
      }),
    );
    const mapping = await lambda.send(
      new CreateEventSourceMappingCommand({ FunctionName: 'ci-Processor', EventSourceArn: `arn:aws:sqs:${REGION}:123456789012:ci-Input`, BatchSize: 10 }),
    );
    mappingUuid = mapping.UUID as string;

    const outputs: Record<string, string> = {
      [STACK_OUTPUT.INPUT_QUEUE_URL]: inputQueueUrl,
      [STACK_OUTPUT.INPUT_DLQ_URL]: dlq,
      [STACK_OUTPUT.REVIEW_QUEUE_URL]: review,
      [STACK_OUTPUT.REVIEW_DLQ_URL]: reviewDlq,
      [STACK_OUTPUT.LEDGER_TABLE_NAME]: 'ci-Ledger',
      [STACK_OUTPUT.CONTROL_TABLE_NAME]: 'ci-Control',
      [STACK_OUTPUT.PROCESSOR_FUNCTION_NAME]: 'ci-Processor',
      [STACK_OUTPUT.PROCESSOR_EVENT_SOURCE_MAPPING_ID]: mappingUuid,
    };
    const template = JSON.stringify({
      Resources: { Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
      Outputs: Object.fromEntries(Object.entries(outputs).map(([key, value]) => [key, { Value: value }])),
    });
    const cloudformation = new CloudFormationClient(motoConfig);
    await cloudformation.send(new CreateStackCommand({ StackName: 'AiPipeline-dev', TemplateBody: template }));
    // A production stage: termination protection on, as createPipelineApp sets for `production: true`.
    await cloudformation.send(new CreateStackCommand({ StackName: 'AiPipeline-prod', TemplateBody: template, EnableTerminationProtection: true }));
    cloudformation.destroy();

    const cloudwatch = new CloudWatchClient(motoConfig);
    for (const name of ['AiPipeline-dev-dlq-has-messages', 'AiPipeline-dev-model-error-rate', 'Someone-else-Alarm']) {
      await cloudwatch.send(
        new PutMetricAlarmCommand({
          AlarmName: name,
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: 'ci-InputDlq' }],
          Statistic: 'Maximum',
          Period: 60,
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          AlarmDescription: `${name} (runbook: RUNBOOK.md)`,
        }),
      );
    }
    await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: 'AiPipeline-dev-dlq-has-messages', StateValue: 'ALARM', StateReason: 'test: 3 dead letters' }));
    await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: 'AiPipeline-dev-model-error-rate', StateValue: 'OK', StateReason: 'test: healthy' }));
    await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: 'Someone-else-Alarm', StateValue: 'ALARM', StateReason: 'not ours' }));
    // The processor's metrics under the alarm dimensions (and tiers under the finer set), as its EMF publishes them.
    const dimensions = [
      { Name: 'service', Value: 'processor' },
      { Name: 'stage', Value: 'dev' },
    ];
    await cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: METRICS_NAMESPACE,
        MetricData: [
          { MetricName: METRIC.RECORDS_COMPLETED, Dimensions: dimensions, Value: 12, Unit: 'Count', Timestamp: new Date(Date.now() - 5 * 60_000) },
          { MetricName: METRIC.RECORDS_DEAD_LETTERED, Dimensions: dimensions, Value: 3, Unit: 'Count', Timestamp: new Date(Date.now() - 5 * 60_000) },
          {
            MetricName: METRIC.FALLBACKS,
            Dimensions: [...dimensions, { Name: 'task', Value: 'ticket-triage' }, { Name: 'tier', Value: 'rules' }],
            Value: 2,
            Unit: 'Count',
            Timestamp: new Date(Date.now() - 5 * 60_000),
          },
        ],
      }),
    );
    cloudwatch.destroy();
  }, 90_000);

  afterAll(async () => {
    for (const key of ENV_KEYS) {
      if (savedEnv[key] === undefined) delete process.env[key];
      else process.env[key] = savedEnv[key];
    }
    lambda?.destroy();
    sqs?.destroy();
    dynamodb?.destroy();
    await Promise.all([moto?.stop(), emulators?.stop()]);
  });

  const mappingState = async () => (await lambda.send(new GetEventSourceMappingCommand({ UUID: mappingUuid }))).State;

  it('resolves the stage from its stack outputs', async () => {
    const target = await resolveTarget({ stage: 'dev' });
    try {
      expect(target).toMatchObject({ kind: 'stage', stage: 'dev', region: REGION, stackName: 'AiPipeline-dev', production: false });
      expect(target.resources).toMatchObject({
        inputQueueUrl,
        ledgerTableName: 'ci-Ledger',
        eventSourceMappingId: mappingUuid,
        alarmNamePrefix: 'AiPipeline-dev-',
      });
    } finally {
      target.destroy();
    }
    const prod = await resolveTarget({ stage: 'prod' });
    expect(prod.production).toBe(true);
    prod.destroy();
  });

  it('names the deployed stages when the stack does not exist', async () => {
    const attempt = resolveTarget({ stage: 'nope' });
    await expect(attempt).rejects.toBeInstanceOf(TargetNotFoundError);
    await expect(attempt).rejects.toThrow(`no stack named AiPipeline-nope in ${REGION}; deployed stages: dev, prod`);
    const run = await pipectl(['status', '--stage', 'nope']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('deployed stages: dev, prod');
  });

  it('asks which pipeline when neither --stage nor --local is given (usage error, exit 2)', async () => {
    const run = await pipectl(['status']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/which pipeline\? Give --stage <name>.*or --local/);
  });

  it('pause without --yes and without a terminal changes nothing and says how to proceed', async () => {
    const run = await pipectl(['pause', '--stage', 'dev']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/nothing done\. Re-run with --yes to confirm/);
    expect(await mappingState()).toBe('Enabled');
  });

  it('pause asks on a terminal; "n" changes nothing', async () => {
    const run = await pipectl(['pause', '--stage', 'dev'], { answers: ['n'] });
    expect(run.code).toBe(2);
    expect(run.asked[0]).toMatch(/pause the processor.*stage dev.*Continue\? \[y\/N\]/s);
    expect(await mappingState()).toBe('Enabled');
  });

  it('on production, only the typed stage name confirms', async () => {
    const wrong = await pipectl(['pause', '--stage', 'prod'], { answers: ['y'] });
    expect(wrong.code).toBe(2);
    expect(wrong.asked[0]).toMatch(/PRODUCTION.*Type the stage name \(prod\)/s);
    expect(await mappingState()).toBe('Enabled');
    // (Both test stacks share one mapping, so resume it right away.)
    const right = await pipectl(['pause', '--stage', 'prod', '--wait', '10s'], { answers: ['prod'] });
    expect(right.code, right.stderr).toBe(0);
    expect(await mappingState()).toBe('Disabled');
    expect((await pipectl(['resume', '--stage', 'prod', '--yes', '--wait', '10s'])).code).toBe(0);
  });

  it('pause --yes disables the mapping, status shows it loudly with the alarms in ALARM, resume enables it', async () => {
    await sqs.send(new PurgeQueueCommand({ QueueUrl: inputQueueUrl }));
    const paused = await pipectl(['pause', '--stage', 'dev', '--yes', '--wait', '10s']);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout.trim()).toBe('Disabled');
    expect(paused.stderr).toMatch(/Messages wait in the input queue.*Resume with: pipectl resume --stage dev/);
    expect(await mappingState()).toBe('Disabled');

    const again = await pipectl(['pause', '--stage', 'dev', '--yes']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already Disabled: nothing to do/);

    const screen = await pipectl(['status', '--stage', 'dev']);
    expect(screen.code, screen.stderr).toBe(0);
    expect(screen.stdout).toContain('PROCESSOR PAUSED');
    expect(screen.stdout).toMatch(/alarms {8}1 in ALARM:\n {2}✘ AiPipeline-dev-dlq-has-messages/);
    expect(screen.stdout).not.toContain('Someone-else-Alarm');

    const json = JSON.parse((await pipectl(['status', '--stage', 'dev', '--json'])).stdout);
    expect(json.mapping).toMatchObject({ paused: true, state: 'Disabled', uuid: mappingUuid });
    expect(json.alarms).toMatchObject({
      available: true,
      alarms: [{ name: 'AiPipeline-dev-dlq-has-messages', state: 'ALARM', reason: 'test: 3 dead letters' }],
    });
    expect(json.queues.map((queue: { role: string }) => queue.role)).toEqual(['input', 'inputDlq', 'review', 'reviewDlq']);

    const resumed = await pipectl(['resume', '--stage', 'dev', '--yes', '--wait', '10s']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(await mappingState()).toBe('Enabled');
    expect((await pipectl(['status', '--stage', 'dev'])).stdout).not.toContain('PAUSED');
  });

  it('send validates every line first: one bad line, nothing sent; --skip-invalid sends the rest and registers the job', async () => {
    await sqs.send(new PurgeQueueCommand({ QueueUrl: inputQueueUrl }));
    const good = (subject: string) => JSON.stringify({ task: 'ticket-triage', input: { subject, body: `About ${subject}` } });
    const stdin = [good('Refund'), '{"task":"ticket-triage","input":{"subject":""}}', good('Login'), '', good('Refund')].join('\n');

    const refused = await pipectl(['send', '-', '--stage', 'dev', '--yes', '--job-id', 'ci-job-1'], { stdin });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/standard input:2: INVALID_INPUT: /);
    expect(refused.stderr).toMatch(/1 of 4 line\(s\) are invalid: nothing was sent.*--skip-invalid/);
    expect(await depth()).toBe(0);

    const sent = await pipectl(['send', '-', '--stage', 'dev', '--yes', '--job-id', 'ci-job-1', '--skip-invalid', '--json'], { stdin });
    expect(sent.code, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ jobId: 'ci-job-1', valid: 3, unique: 2, invalid: 1, sent: 3, alreadyDone: 0 });
    expect(sent.stderr).toContain('1 blank line(s) ignored');
    expect(await depth()).toBe(3);
    const { Item } = await dynamodb.send(new GetItemCommand({ TableName: 'ci-Control', Key: { pk: { S: `${CONTROL.JOB_PREFIX}ci-job-1` } } }));
    expect(Item?.[JOB.EXPECTED]?.N).toBe('3');
    expect(Item?.[JOB.UNIQUE]?.N).toBe('2');
    expect(Item?.[JOB.SOURCE]?.S).toBe('pipectl');
  });

  it('status reads the last hour by tier from CloudWatch', async () => {
    const json = JSON.parse((await pipectl(['status', '--stage', 'dev', '--json'])).stdout);
    expect(json.lastHour).toMatchObject({ source: 'cloudwatch', completed: 12, byTier: { primary: 10, secondary: 0, rules: 2 }, deadLettered: 3 });
    expect((await pipectl(['status', '--stage', 'dev'])).stdout).toMatch(/last hour {5}12 completed \(primary 10, secondary 0, rules 2\)/);
  });

  it('triage collects alarms, history, stack events, configuration and runbook sections into the incident files', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pipectl-triage-'));
    try {
      const run = await pipectl(['triage', '--stage', 'dev', '--since', '1h', '--out', out]);
      expect(run.code, run.stderr).toBe(0);
      const file = run.stdout.trim();
      const evidence = JSON.parse(readFileSync(file.replace(/\.md$/, '.json'), 'utf8'));
      expect(evidence.target).toMatchObject({ kind: 'stage', stage: 'dev', stackName: 'AiPipeline-dev' });
      expect(evidence.alarms.alarms.map((alarm: { name: string; state: string }) => `${alarm.name}=${alarm.state}`).sort()).toEqual([
        'AiPipeline-dev-dlq-has-messages=ALARM',
        'AiPipeline-dev-model-error-rate=OK',
      ]);
      // moto_server 5.2 answers DescribeAlarmHistory with a 500: the gap is recorded, the rest is collected.
      const historyRead = evidence.alarmHistory.some((item: { alarm: string }) => item.alarm === 'AiPipeline-dev-dlq-has-messages');
      expect(historyRead || evidence.gaps.some((gap: string) => gap.startsWith('alarm history: '))).toBe(true);
      expect(evidence.configuration.models).toEqual({ MODEL_PROVIDER: 'bedrock', PRIMARY_MODEL_ID: 'anthropic.claude-test' });
      expect(evidence.configuration.stack.status).toBe('CREATE_COMPLETE');
      expect(
        evidence.stackEvents.some((event: { resource: string; status: string }) => event.resource === 'AiPipeline-dev' && event.status === 'CREATE_COMPLETE'),
      ).toBe(true);
      expect(Object.keys(evidence.runbook)).toEqual(['dlq-has-messages']);
      // Each catalog alarm's signal was asked for; a query moto cannot answer is recorded, not fatal.
      expect(evidence.metrics.length).toBeGreaterThan(10);
      const markdown = readFileSync(file, 'utf8');
      expect(markdown).toContain('### dlq-has-messages: Input DLQ has messages');
      expect(markdown).toMatch(/\*\*Alarms:\*\* AiPipeline-dev-dlq-has-messages/);
      expect(markdown).toMatch(/\| \d{2}:\d{2}:\d{2} \| stack: AiPipeline-dev CREATE_COMPLETE/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('gameday refuses a production stage, and says what works instead on the others', async () => {
    const prod = await pipectl(['gameday', 'model-outage', '--stage', 'prod']);
    expect(prod.code).toBe(1);
    expect(prod.stderr).toMatch(/refusing a game day against stage prod .*: it is a production stage/);
    const dev = await pipectl(['gameday', 'model-outage', '--stage', 'dev']);
    expect(dev.code).toBe(1);
    expect(dev.stderr).toMatch(/not supported yet.*Run it locally: pipectl gameday model-outage/);
  });

  async function depth(): Promise<number> {
    const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: inputQueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    return Number(Attributes.ApproximateNumberOfMessages);
  }
  it('replay --stage configures the chain from the deployed function (GetFunctionConfiguration) and writes nothing', async () => {
    // The function's environment as the stack sets it (the simulated provider: no model account in a test).
    const environment = { PIPELINE_STAGE: 'dev', LEDGER_TABLE_NAME: 'ci-Ledger', CONTROL_TABLE_NAME: 'ci-Control', INPUT_QUEUE_URL: inputQueueUrl };
    const queues = { INPUT_DLQ_URL: inputQueueUrl.replace('ci-Input', 'ci-InputDlq'), REVIEW_QUEUE_URL: inputQueueUrl.replace('ci-Input', 'ci-Review') };
    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'ci-Processor',
        Environment: { Variables: { ...environment, ...queues, MODEL_PROVIDER: 'simulated' } },
      }),
    );
    const scratch = mkdtempSync(join(tmpdir(), 'replay-stage-'));
    try {
      const file = join(scratch, 'inputs.jsonl');
      const ticket = (subject: string) => JSON.stringify({ task: 'ticket-triage', input: { subject, body: `About ${subject}.` } });
      writeFileSync(file, `${ticket('Refund twice')}\n${ticket('Login broken')}\n`);
      const ledgerBefore = (await dynamodb.send(new ScanCommand({ TableName: 'ci-Ledger' }))).Items ?? [];

      const run = await pipectl(['replay', '--file', file, '--stage', 'dev', '--max-cost', '1', '--json']);

      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain('replaying 2 input(s) on sim-primary, at most $1.0000; nothing is written');
      expect(JSON.parse(run.stdout).summary).toMatchObject({ inputs: 2, replayed: 2, compared: 0, modelId: 'sim-primary' });
      expect((await dynamodb.send(new ScanCommand({ TableName: 'ci-Ledger' }))).Items ?? []).toEqual(ledgerBefore);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
      await lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: 'ci-Processor',
          Environment: { Variables: { PRIMARY_MODEL_ID: 'anthropic.claude-test', MODEL_PROVIDER: 'bedrock', LEDGER_TABLE_NAME: 'ci-Ledger' } },
        }),
      );
    }
  });
});

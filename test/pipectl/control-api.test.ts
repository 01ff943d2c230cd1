/**
 * The local control API speaks the Lambda REST API as @aws-sdk/client-lambda calls it: the real
 * SDK client over HTTP, against the server on loopback.
 */
import {
  GetEventSourceMappingCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  ListEventSourceMappingsCommand,
  ResourceNotFoundException,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlApi, type PausableEventSource, startControlApi } from '../../local/control-api';

/** Records what the API asked of the event source; `inFlight` is set by the test. */
class RecordingSource implements PausableEventSource {
  calls: boolean[] = [];
  inFlight = 0;
  setPaused(paused: boolean): void {
    this.calls.push(paused);
  }
}

const UUID = '0c1d2e3f-4a5b-4c6d-a7e8-9f0a1b2c3d4e';
const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:AiPipeline-dev-InputQueue';
let api: ControlApi;
let lambda: LambdaClient;
const source = new RecordingSource();

beforeAll(async () => {
  api = await startControlApi(source, {
    uuid: UUID,
    functionName: 'AiPipeline-dev-Processor',
    region: 'us-east-1',
    queueArn: QUEUE_ARN,
    batchSize: 10,
    maxBatchingWindowSeconds: 1,
    maxConcurrency: 5,
    reportBatchItemFailures: true,
    function: { handler: 'index.handler', timeoutSeconds: 30, memoryMb: 512, codeSha256: 'abc=', environment: { PRIMARY_MODEL_ID: 'sim-primary' } },
  });
  lambda = new LambdaClient({ region: 'us-east-1', endpoint: api.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
});
afterAll(async () => {
  lambda.destroy();
  await api.stop();
});

describe('local control API', () => {
  it('serves GetEventSourceMapping with the template settings', async () => {
    const mapping = await lambda.send(new GetEventSourceMappingCommand({ UUID }));
    expect(mapping).toMatchObject({
      UUID,
      State: 'Enabled',
      EventSourceArn: QUEUE_ARN,
      FunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:AiPipeline-dev-Processor',
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 5 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(mapping.LastModified).toBeInstanceOf(Date);
  });

  it('disables: Disabling while batches are in flight, Disabled after; the poller is paused', async () => {
    source.inFlight = 2;
    const update = await lambda.send(new UpdateEventSourceMappingCommand({ UUID, Enabled: false }));
    expect(update.State).toBe('Disabling');
    expect(source.calls.at(-1)).toBe(true);
    expect((await lambda.send(new GetEventSourceMappingCommand({ UUID }))).State).toBe('Disabling');
    source.inFlight = 0;
    expect((await lambda.send(new GetEventSourceMappingCommand({ UUID }))).State).toBe('Disabled');
    expect(api.enabled).toBe(false);
  });

  it('stays Disabling for the settle time after a disable, even with nothing in flight', async () => {
    const settling = await startControlApi(source, {
      uuid: UUID,
      functionName: 'f',
      region: 'us-east-1',
      queueArn: QUEUE_ARN,
      batchSize: 10,
      maxBatchingWindowSeconds: 0,
      maxConcurrency: 1,
      reportBatchItemFailures: true,
      settleMs: 2000,
    });
    const client = new LambdaClient({ region: 'us-east-1', endpoint: settling.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    try {
      source.inFlight = 0;
      await client.send(new UpdateEventSourceMappingCommand({ UUID, Enabled: false }));
      expect((await client.send(new GetEventSourceMappingCommand({ UUID }))).State).toBe('Disabling');
      await new Promise((resolve) => setTimeout(resolve, 2100));
      expect((await client.send(new GetEventSourceMappingCommand({ UUID }))).State).toBe('Disabled');
    } finally {
      client.destroy();
      await settling.stop();
    }
  });

  it('enables again, and an update that changes nothing does not touch the poller', async () => {
    const update = await lambda.send(new UpdateEventSourceMappingCommand({ UUID, Enabled: true }));
    expect(update.State).toBe('Enabling');
    expect(source.calls.at(-1)).toBe(false);
    const callsBefore = source.calls.length;
    const again = await lambda.send(new UpdateEventSourceMappingCommand({ UUID, Enabled: true }));
    expect(again.State).toBe('Enabled');
    expect(source.calls).toHaveLength(callsBefore);
  });

  it('lists the mapping by function name or ARN, and nothing for another function', async () => {
    const byName = await lambda.send(new ListEventSourceMappingsCommand({ FunctionName: 'AiPipeline-dev-Processor' }));
    expect(byName.EventSourceMappings?.map((mapping) => mapping.UUID)).toEqual([UUID]);
    const byQueue = await lambda.send(new ListEventSourceMappingsCommand({ EventSourceArn: QUEUE_ARN }));
    expect(byQueue.EventSourceMappings).toHaveLength(1);
    const other = await lambda.send(new ListEventSourceMappingsCommand({ FunctionName: 'someone-else' }));
    expect(other.EventSourceMappings).toEqual([]);
  });

  it('answers an unknown mapping with ResourceNotFoundException, as Lambda does', async () => {
    await expect(lambda.send(new GetEventSourceMappingCommand({ UUID: 'nope' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('serves GetFunctionConfiguration with the environment; another function is not found', async () => {
    const fn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'AiPipeline-dev-Processor' }));
    expect(fn).toMatchObject({
      FunctionName: 'AiPipeline-dev-Processor',
      Timeout: 30,
      MemorySize: 512,
      Environment: { Variables: { PRIMARY_MODEL_ID: 'sim-primary' } },
    });
    await expect(lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'other' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('refuses changes it cannot make locally, naming where they come from', async () => {
    await expect(lambda.send(new UpdateEventSourceMappingCommand({ UUID, BatchSize: 5 }))).rejects.toThrow(/local mode changes only Enabled; BatchSize/);
    expect(api.enabled).toBe(true);
  });
});

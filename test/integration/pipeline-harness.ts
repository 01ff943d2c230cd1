import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SendMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { toSqsRecord } from '../../local/event-source-poller';
import type { InvokeResult } from '../../local/lambda-runtime';
import type { LocalPipeline } from '../../local/local-pipeline';

/** Test helpers over a running local pipeline; every call goes to the emulators over HTTP. */
export class PipelineHarness {
  constructor(readonly pipeline: LocalPipeline) {}

  async send(body: string): Promise<void> {
    await this.pipeline.sqs.send(new SendMessageCommand({ QueueUrl: this.pipeline.resources.inputQueueUrl, MessageBody: body }));
  }

  /** Receives up to `count` messages from the input queue, as the event source would. */
  async receive(count: number, queueUrl = this.pipeline.resources.inputQueueUrl): Promise<Message[]> {
    const messages: Message[] = [];
    for (let attempt = 0; attempt < 20 && messages.length < count; attempt += 1) {
      const { Messages = [] } = await this.pipeline.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, count - messages.length),
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      messages.push(...Messages);
    }
    return messages;
  }

  event(messages: readonly Message[]): SQSEvent {
    return { Records: messages.map((message) => toSqsRecord(message, this.pipeline.inputQueueArn, this.pipeline.emulators.region)) };
  }

  /** Invokes the bundled handler in execution environment `index` and expects a batch response. */
  async invoke(messages: readonly Message[], index = 0): Promise<SQSBatchResponse> {
    const result = await this.invokeRaw(messages, index);
    if (result.kind !== 'ok') throw new Error(`invocation did not return: ${JSON.stringify(result)}`);
    return result.result as SQSBatchResponse;
  }

  invokeRaw(messages: readonly Message[], index = 0): Promise<InvokeResult> {
    const environment = this.pipeline.environments[index];
    if (!environment) throw new Error(`no execution environment ${index}`);
    return environment.invoke(this.event(messages));
  }

  async ledgerItems(): Promise<Array<Record<string, any>>> {
    const { Items = [] } = await this.pipeline.dynamodb.send(new ScanCommand({ TableName: this.pipeline.resources.ledgerTableName, ConsistentRead: true }));
    return Items.map((item) => unmarshall(item));
  }

  async ledgerItem(key: string): Promise<Record<string, any> | undefined> {
    const { Item } = await this.pipeline.dynamodb.send(
      new GetItemCommand({ TableName: this.pipeline.resources.ledgerTableName, Key: { pk: { S: key } }, ConsistentRead: true }),
    );
    return Item ? unmarshall(Item) : undefined;
  }

  /** Polls `probe` until it returns a value, or fails after `timeoutMs`. */
  async waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const value = await probe();
      if (value !== undefined) return value;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`condition not met within ${timeoutMs} ms`);
  }
}

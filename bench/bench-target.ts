import type { SQSClient } from '@aws-sdk/client-sqs';
import type { ApiCallCounter } from '../local/emulators';
import type { EventSourcePoller } from '../local/event-source-poller';
import type { ModelSimulator } from '../local/model-simulator/model-simulator';

/** What the benchmark drives and reads: this pipeline or the baseline, on their own emulators. */
export interface BenchTarget {
  readonly name: 'pipeline' | 'baseline';
  /** An observer client: its calls are not counted. */
  readonly sqs: SQSClient;
  readonly inputQueueUrl: string;
  readonly counter: ApiCallCounter;
  readonly simulator: ModelSimulator;
  readonly poller: EventSourcePoller;
  stop(): Promise<void>;
}

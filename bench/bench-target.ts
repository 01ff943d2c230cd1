import type { SQSClient } from '@aws-sdk/client-sqs';
import type { LocalPipeline } from '../local/local-pipeline';
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

/** This pipeline, started in local mode, as the benchmark drives it. */
export function pipelineTarget(pipeline: LocalPipeline): BenchTarget {
  return {
    name: 'pipeline',
    sqs: pipeline.sqs,
    inputQueueUrl: pipeline.resources.inputQueueUrl,
    counter: pipeline.emulators.counter,
    simulator: pipeline.simulator,
    poller: pipeline.poller,
    stop: () => pipeline.stop(),
  };
}

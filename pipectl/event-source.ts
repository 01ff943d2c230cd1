import { type EventSourceMappingConfiguration, GetEventSourceMappingCommand, type LambdaClient, UpdateEventSourceMappingCommand } from '@aws-sdk/client-lambda';
import { OperationFailedError, TargetNotFoundError } from './errors';
import type { PipelineTarget } from './target';
import { awsCallFailed } from './target';

/** The processor's event source mapping, as `status` shows it. */
export interface MappingState {
  readonly uuid: string;
  /** Enabled, Disabled, Enabling, Disabling, Creating, Updating, Deleting. */
  readonly state: string;
  /** True when the processor receives nothing: Disabled or Disabling. */
  readonly paused: boolean;
  readonly lastModified?: number;
  readonly reason?: string;
}

function lambdaOf(target: PipelineTarget): LambdaClient {
  if (!target.lambda) {
    throw new TargetNotFoundError(
      'this local pipeline publishes no Lambda control endpoint (it was started by an older pipectl): restart `pipectl local --serve`',
    );
  }
  return target.lambda;
}

function toState(configuration: EventSourceMappingConfiguration): MappingState {
  const state = configuration.State ?? 'Unknown';
  return {
    uuid: configuration.UUID ?? '',
    state,
    paused: state === 'Disabled' || state === 'Disabling',
    lastModified: configuration.LastModified ? configuration.LastModified.getTime() : undefined,
    reason: configuration.StateTransitionReason,
  };
}

export async function getMapping(target: PipelineTarget): Promise<MappingState> {
  try {
    return toState(await lambdaOf(target).send(new GetEventSourceMappingCommand({ UUID: target.resources.eventSourceMappingId })));
  } catch (error) {
    if (error instanceof TargetNotFoundError) throw error;
    throw awsCallFailed(`reading the event source mapping ${target.resources.eventSourceMappingId}`, error);
  }
}

export interface SetEnabledOptions {
  /** Wait until the mapping reaches Enabled/Disabled, at most this long (0: do not wait). */
  readonly waitMs: number;
  /** Between two reads while waiting. @default 1000 */
  readonly pollMs?: number;
}

/**
 * Enables or disables the processor's event source mapping and waits for the state to settle.
 * Disabling stops new receives; batches in flight finish; messages wait in the queue (their
 * retention period is days), so nothing is lost.
 *
 * @returns the state before and after.
 */
export async function setMappingEnabled(
  target: PipelineTarget,
  enabled: boolean,
  options: SetEnabledOptions,
): Promise<{ readonly before: MappingState; readonly after: MappingState; readonly settled: boolean }> {
  const lambda = lambdaOf(target);
  const before = await getMapping(target);
  const goal = enabled ? 'Enabled' : 'Disabled';
  let after: MappingState;
  try {
    after = toState(await lambda.send(new UpdateEventSourceMappingCommand({ UUID: target.resources.eventSourceMappingId, Enabled: enabled })));
  } catch (error) {
    throw awsCallFailed(`${enabled ? 'enabling' : 'disabling'} the event source mapping ${target.resources.eventSourceMappingId}`, error);
  }
  const deadline = Date.now() + options.waitMs;
  while (after.state !== goal && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
    after = await getMapping(target);
  }
  if (after.state !== goal && options.waitMs > 0 && !/ing$/.test(after.state)) {
    throw new OperationFailedError(`the mapping is ${after.state}, not ${goal}: look at it in the Lambda console (${after.reason ?? 'no reason given'})`);
  }
  return { before, after, settled: after.state === goal };
}

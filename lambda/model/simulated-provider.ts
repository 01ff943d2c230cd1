import { setTimeout as sleep } from 'node:timers/promises';
import { MODEL_ERROR_CLASS, ModelCallError } from '../errors/pipeline-errors';
import type { ModelProvider, ModelRequest, ModelResponse } from './model-provider';
import { simulateAnswer } from './simulated-model';

export interface SimulatedProviderOptions {
  readonly seed: number;
  /** Latency of each call in ms. @default 0 */
  readonly latencyMs?: number;
}

/**
 * In-process simulated model: deterministic by seed, no network, no faults. What a deployed stage
 * with `model.provider: 'simulated'` runs; local mode and the tests use the HTTP simulator
 * (local/model-simulator) through the real OpenAI-compatible provider instead.
 */
export class SimulatedProvider implements ModelProvider {
  readonly name = 'simulated';
  /** Calls made through this instance. */
  calls = 0;
  private readonly seed: number;
  private readonly latencyMs: number;

  constructor(options: SimulatedProviderOptions) {
    this.seed = options.seed;
    this.latencyMs = options.latencyMs ?? 0;
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    this.calls += 1;
    if (request.signal.aborted) throw new ModelCallError(MODEL_ERROR_CLASS.TIMEOUT, 'simulated call aborted by its time budget before it started');
    if (this.latencyMs > 0) {
      try {
        await sleep(this.latencyMs, undefined, { signal: request.signal });
      } catch (error) {
        throw new ModelCallError(MODEL_ERROR_CLASS.TIMEOUT, 'simulated call aborted by its time budget', { cause: error });
      }
    }
    const answer = simulateAnswer(request.prompt, this.seed, request.modelId);
    return { text: answer.text, modelId: request.modelId, tokensIn: answer.tokensIn, tokensOut: answer.tokensOut, finishReason: 'stop' };
  }
}

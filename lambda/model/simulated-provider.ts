import { setTimeout as sleep } from 'node:timers/promises';
import { ModelCallError } from '../processor/errors';
import type { ModelProvider, ModelRequest, ModelResponse } from './model-provider';
import { simulateAnswer } from './simulated-model';

export interface SimulatedProviderOptions {
  readonly seed: number;
  /** Latency of each call in ms. @default 0 */
  readonly latencyMs?: number;
}

/** In-process simulated model: deterministic by seed, no network. Counts its calls. */
export class SimulatedProvider implements ModelProvider {
  readonly name = 'simulated';
  /** Calls made through this instance (the local runner reads it). */
  calls = 0;
  private readonly seed: number;
  private readonly latencyMs: number;

  constructor(options: SimulatedProviderOptions) {
    this.seed = options.seed;
    this.latencyMs = options.latencyMs ?? 0;
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    this.calls += 1;
    if (this.latencyMs > 0) {
      try {
        await sleep(this.latencyMs, undefined, { signal: request.signal });
      } catch (error) {
        throw new ModelCallError('simulated call aborted by its time budget', true, 'Timeout', { cause: error });
      }
    }
    const answer = simulateAnswer(request.prompt, this.seed);
    return { text: answer.text, modelId: request.modelId, tokensIn: answer.tokensIn, tokensOut: answer.tokensOut, finishReason: 'stop' };
  }
}

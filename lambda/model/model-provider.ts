import type { Prompt } from '../tasks/task-definition';

/** One model call, provider-neutral. */
export interface ModelRequest {
  readonly modelId: string;
  readonly prompt: Prompt;
  /** Aborted when the call's time budget ends; a provider must stop waiting when it fires. */
  readonly signal: AbortSignal;
  readonly maxOutputTokens?: number;
}

export interface ModelResponse {
  /** The model's raw text: untrusted until parsed and validated against the task's schema. */
  readonly text: string;
  readonly modelId: string;
  readonly tokensIn: number;
  readonly tokensOut: number;
  /** Why generation stopped: `stop` is a complete answer, `length` a truncated one. */
  readonly finishReason: 'stop' | 'length' | 'other';
}

/**
 * A model provider. Implementations classify their failures by throwing `ModelCallError` with
 * `retryable` set; they never retry themselves (the processor's policy is the one retry layer).
 */
export interface ModelProvider {
  readonly name: string;
  complete(request: ModelRequest): Promise<ModelResponse>;
}

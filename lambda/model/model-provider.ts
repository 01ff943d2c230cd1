import type { Prompt } from '../tasks/task-definition';

/**
 * A second chance for an answer that failed validation: the conversation goes on with the model's
 * own answer and what was wrong with it, and the model is asked again.
 */
export interface RepairTurn {
  /** The model's previous answer, as it came. */
  readonly previousAnswer: string;
  /** Why it was refused (parse or schema error), in words the model can act on. */
  readonly problem: string;
}

/** One model call, provider-neutral. */
export interface ModelRequest {
  readonly modelId: string;
  readonly prompt: Prompt;
  /**
   * Which prompt this is, as `<task>@<version>`: sent as request metadata (the `x-prompt-version`
   * header, Bedrock's `requestMetadata`) so invocation logs and gateways can tell a candidate
   * version's calls from the live one's.
   */
  readonly promptVersion?: string;
  /** Aborted when the call's time budget ends; a provider must stop waiting when it fires. */
  readonly signal: AbortSignal;
  readonly maxOutputTokens?: number;
  /** Set on a repair attempt. */
  readonly repair?: RepairTurn;
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
 * A model provider. Implementations classify every failure by throwing `ModelCallError` (see
 * `MODEL_ERROR_CLASS`); they never retry themselves: the processor's retry policy is the one retry
 * layer, so SDK-level retries are turned off.
 */
export interface ModelProvider {
  readonly name: string;
  complete(request: ModelRequest): Promise<ModelResponse>;
}

/** The user message of a repair attempt, shared by every provider so they ask the same way. */
export function repairInstruction(problem: string): string {
  return `That answer was refused: ${problem}. Answer again with only the JSON object the instructions describe, and nothing else.`;
}

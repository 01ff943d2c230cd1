import { type BedrockRuntimeClient, ConverseCommand, type Message } from '@aws-sdk/client-bedrock-runtime';
import { MODEL_ERROR_CLASS, ModelCallError } from '../errors/pipeline-errors';
import { classifyBedrockError } from './bedrock-errors';
import { type ModelProvider, type ModelRequest, type ModelResponse, repairInstruction } from './model-provider';

export interface BedrockProviderOptions {
  /**
   * Create it with `maxAttempts: 1`: the SDK's own retries would multiply ours (and outlast the
   * time budget we computed); the processor's retry policy is the one retry layer.
   */
  readonly client: BedrockRuntimeClient;
  /** @default 512 */
  readonly maxOutputTokens?: number;
}

/** Converse stop reasons that mean the provider refused the content. */
const FILTERED = new Set(['guardrail_intervened', 'content_filtered']);
/** Converse stop reasons that mean the answer was cut off. */
const TRUNCATED = new Set(['max_tokens', 'model_context_window_exceeded']);

/**
 * Amazon Bedrock through the Converse API: one request shape for every model family. Failures are
 * classified by `classifyBedrockError`; a guardrail or content-filter stop is a non-retryable
 * ContentFiltered error, a `max_tokens` stop a truncated answer (finish reason `length`).
 */
export class BedrockProvider implements ModelProvider {
  readonly name = 'bedrock';
  private readonly maxOutputTokens: number;

  constructor(private readonly options: BedrockProviderOptions) {
    this.maxOutputTokens = options.maxOutputTokens ?? 512;
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    const messages: Message[] = [{ role: 'user', content: [{ text: request.prompt.user }] }];
    if (request.repair) {
      messages.push({ role: 'assistant', content: [{ text: request.repair.previousAnswer || '(empty)' }] });
      messages.push({ role: 'user', content: [{ text: repairInstruction(request.repair.problem) }] });
    }
    let output;
    try {
      output = await this.options.client.send(
        new ConverseCommand({
          modelId: request.modelId,
          system: [{ text: request.prompt.system }],
          messages,
          inferenceConfig: { maxTokens: request.maxOutputTokens ?? this.maxOutputTokens },
          // Shown in Bedrock's model invocation logs (and filterable there): which prompt version asked.
          ...(request.promptVersion ? { requestMetadata: { promptVersion: request.promptVersion } } : {}),
        }),
        { abortSignal: request.signal },
      );
    } catch (error) {
      throw classifyBedrockError(error, request.signal);
    }
    const stopReason = output.stopReason ?? '';
    if (FILTERED.has(stopReason)) {
      throw new ModelCallError(MODEL_ERROR_CLASS.CONTENT_FILTERED, `Bedrock stopped with "${stopReason}"`);
    }
    const text = (output.output?.message?.content ?? []).map((block) => block.text ?? '').join('');
    return {
      text,
      modelId: request.modelId,
      tokensIn: output.usage?.inputTokens ?? 0,
      tokensOut: output.usage?.outputTokens ?? 0,
      finishReason: TRUNCATED.has(stopReason) ? 'length' : stopReason === 'end_turn' || stopReason === 'stop_sequence' ? 'stop' : 'other',
    };
  }
}

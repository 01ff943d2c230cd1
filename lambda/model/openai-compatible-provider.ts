import { MODEL_ERROR_CLASS, ModelCallError } from '../errors/pipeline-errors';
import { classifyFetchFailure, classifyHttpResponse } from './http-errors';
import { type ModelProvider, type ModelRequest, type ModelResponse, repairInstruction } from './model-provider';

/** Where the provider gets its API key: a resolved key, or none (a loopback endpoint such as the local simulator). */
export type ApiKeySource = () => Promise<string | undefined>;

export interface OpenAiCompatibleProviderOptions {
  /** Up to and including the API version, e.g. `https://api.openai.com/v1`; `/chat/completions` is appended. */
  readonly baseUrl: string;
  /** Called per request; cache inside it (see `SecretApiKey`). */
  readonly apiKey: ApiKeySource;
  /** @default 512 */
  readonly maxOutputTokens?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** The parts of a chat-completions response the provider reads. */
interface ChatCompletion {
  readonly model?: string;
  readonly choices?: ReadonlyArray<{ readonly message?: { readonly content?: string | null }; readonly finish_reason?: string | null }>;
  readonly usage?: { readonly prompt_tokens?: number; readonly completion_tokens?: number };
}

/**
 * Any OpenAI-compatible chat-completions endpoint (OpenAI, Azure OpenAI's v1 API, vLLM, a LiteLLM
 * proxy, local mode's simulator) over `fetch`, with no retries of its own: it classifies every
 * failure — HTTP status and error code, Retry-After, socket failure, our own abort — into a
 * `ModelCallError` and lets the processor's retry policy decide.
 */
export class OpenAiCompatibleProvider implements ModelProvider {
  readonly name = 'openai-compatible';
  private readonly url: string;
  private readonly maxOutputTokens: number;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: OpenAiCompatibleProviderOptions) {
    this.url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.maxOutputTokens = options.maxOutputTokens ?? 512;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    const key = await this.options.apiKey();
    const messages = [
      { role: 'system', content: request.prompt.system },
      { role: 'user', content: request.prompt.user },
      ...(request.repair
        ? [
            { role: 'assistant', content: request.repair.previousAnswer },
            { role: 'user', content: repairInstruction(request.repair.problem) },
          ]
        : []),
    ];
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(this.url, {
        method: 'POST',
        // The prompt version goes in a header, not the body: every server ignores a header it does not
        // know, while an unknown body field (`metadata`) is refused by some.
        headers: {
          'content-type': 'application/json',
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(request.promptVersion ? { 'x-prompt-version': request.promptVersion } : {}),
        },
        body: JSON.stringify({
          model: request.modelId,
          messages,
          // Only what every compatible server accepts: `temperature` and `response_format` are refused
          // by some models and servers, and the answer is validated against the schema anyway.
          max_tokens: request.maxOutputTokens ?? this.maxOutputTokens,
        }),
        signal: request.signal,
      });
      // The body is read under the same signal: a server that sends headers and then stalls is cut off too.
      text = await response.text();
    } catch (error) {
      throw classifyFetchFailure(error, request.signal);
    }
    if (!response.ok) throw classifyHttpResponse(response.status, response.headers, text);

    let completion: ChatCompletion;
    try {
      completion = JSON.parse(text) as ChatCompletion;
    } catch (error) {
      throw new ModelCallError(MODEL_ERROR_CLASS.BAD_RESPONSE, 'the endpoint answered 200 with a body that is not JSON', {
        cause: error,
        status: response.status,
      });
    }
    const choice = completion.choices?.[0];
    if (choice?.finish_reason === 'content_filter') {
      throw new ModelCallError(MODEL_ERROR_CLASS.CONTENT_FILTERED, 'the endpoint filtered the answer (finish_reason "content_filter")');
    }
    const content = choice?.message?.content;
    if (typeof content !== 'string') {
      throw new ModelCallError(MODEL_ERROR_CLASS.BAD_RESPONSE, 'the completion has no choices[0].message.content', { status: response.status });
    }
    return {
      text: content,
      modelId: completion.model ?? request.modelId,
      tokensIn: completion.usage?.prompt_tokens ?? 0,
      tokensOut: completion.usage?.completion_tokens ?? 0,
      finishReason: choice?.finish_reason === 'length' ? 'length' : choice?.finish_reason === 'stop' ? 'stop' : 'other',
    };
  }
}

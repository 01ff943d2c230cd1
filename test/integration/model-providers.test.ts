/**
 * The real providers against the model simulator's real socket: the OpenAI-compatible provider
 * over fetch, the Bedrock provider through the AWS SDK's Converse client. Every fault the simulator
 * injects must come out of the provider as the right ModelCallError (or a parsable/unparsable answer).
 */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BedrockProvider } from '../../lambda/model/bedrock-provider';
import type { ModelProvider } from '../../lambda/model/model-provider';
import { OpenAiCompatibleProvider } from '../../lambda/model/openai-compatible-provider';
import { InvalidModelOutputError, MODEL_ERROR_CLASS, ModelCallError } from '../../lambda/errors/pipeline-errors';
import { parseModelOutput } from '../../lambda/processor/model-output';
import { RetryPolicy } from '../../lambda/resilience/retry-policy';
import { ticketTriage, TicketTriage } from '../../lambda/tasks/ticket-triage';
import { parseFaultSpec } from '../../local/model-simulator/fault-spec';
import { startModelSimulator, type ModelSimulator } from '../../local/model-simulator/model-simulator';

const prompt = (n: number) => ticketTriage.buildPrompt({ subject: `Refund request ${n}`, body: 'I was charged twice for order 1182, please refund one.' });
const request = (n: number, signal: AbortSignal = AbortSignal.timeout(5000)) => ({ modelId: 'sim-primary', prompt: prompt(n), signal });

function openAi(simulator: ModelSimulator): ModelProvider {
  return new OpenAiCompatibleProvider({ baseUrl: simulator.url, apiKey: async () => undefined });
}

function bedrock(simulator: ModelSimulator): ModelProvider {
  const client = new BedrockRuntimeClient({
    endpoint: simulator.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  return new BedrockProvider({ client });
}

/** A simulator that answers every call with one fault. */
async function withFault<T>(spec: string, run: (simulator: ModelSimulator) => Promise<T>): Promise<T> {
  const simulator = await startModelSimulator({ seed: 1, faults: parseFaultSpec(spec) });
  try {
    return await run(simulator);
  } finally {
    await simulator.stop();
  }
}

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );

describe.each([
  ['OpenAI-compatible', openAi],
  ['Bedrock Converse', bedrock],
])('the %s provider against the simulator', (_name, providerOf) => {
  it('answers with JSON that passes the task schema, with token counts', async () => {
    await withFault('', async (simulator) => {
      const response = await providerOf(simulator).complete(request(1));
      expect(response.finishReason).toBe('stop');
      expect(response.tokensIn).toBeGreaterThan(0);
      expect(response.tokensOut).toBeGreaterThan(0);
      expect(parseModelOutput(response.text, TicketTriage, response.finishReason)).toMatchObject({ category: 'billing' });
    });
  });

  it.each<[string, string, string, boolean]>([
    ['429 with Retry-After', '429=1:1500', 'Throttled', true],
    ['an exhausted quota', 'quota=1', 'QuotaExhausted', false],
    ['an outage (503)', 'outage=0-60', 'ServiceUnavailable', true],
  ])('classifies %s', async (_case, spec, errorClass, retryable) => {
    await withFault(spec, async (simulator) => {
      const error = await errorOf(providerOf(simulator).complete(request(2)));
      expect(error).toBeInstanceOf(ModelCallError);
      expect(error).toMatchObject({ errorClass, retryable });
    });
  });

  it('stops waiting for a hung call when the signal fires: a retryable Timeout, in time', async () => {
    await withFault('hang=1', async (simulator) => {
      const started = performance.now();
      const error = await errorOf(providerOf(simulator).complete(request(3, AbortSignal.timeout(150))));
      expect(performance.now() - started).toBeLessThan(1500);
      expect(error).toMatchObject({ name: 'ModelCallError', errorClass: 'Timeout', retryable: true });
      expect(simulator.stats().byOutcome.hang).toBe(1);
    });
  });

  it.each<[string, string, string]>([
    ['malformed', 'malformed=1', 'not JSON'],
    ['truncated', 'truncated=1', 'truncated'],
    ['wrong schema', 'schema=1', 'does not match the schema'],
  ])('returns a %s answer that validation refuses', async (_case, spec, reason) => {
    await withFault(spec, async (simulator) => {
      const response = await providerOf(simulator).complete(request(4));
      expect(() => parseModelOutput(response.text, TicketTriage, response.finishReason)).toThrow(InvalidModelOutputError);
      expect(() => parseModelOutput(response.text, TicketTriage, response.finishReason)).toThrow(reason);
    });
  });

  it('names the prompt version in its request metadata: the simulator degrades that version only', async () => {
    await withFault('degrade=ticket-triage@2:1', async (simulator) => {
      const provider = providerOf(simulator);
      const candidate = await provider.complete({ ...request(6), promptVersion: 'ticket-triage@2' });
      expect(() => parseModelOutput(candidate.text, TicketTriage, candidate.finishReason)).toThrow(InvalidModelOutputError);
      const live = await provider.complete({ ...request(6), promptVersion: 'ticket-triage@1' });
      expect(parseModelOutput(live.text, TicketTriage, live.finishReason)).toMatchObject({ category: 'billing' });
    });
  });

  it('sends a repair turn the simulator sees as one', async () => {
    await withFault('', async (simulator) => {
      await providerOf(simulator).complete({ ...request(5), repair: { previousAnswer: '{"category":', problem: 'the answer was truncated' } });
      expect(simulator.stats().repairs).toBe(1);
    });
  });

  it('classifies a refused connection as a retryable Network failure', async () => {
    const simulator = await startModelSimulator();
    const provider = providerOf(simulator);
    await simulator.stop();
    const error = await errorOf(provider.complete(request(6)));
    expect(error).toMatchObject({ name: 'ModelCallError', errorClass: 'Network', retryable: true });
  });
});

describe('the OpenAI-compatible provider', () => {
  it.each<[string, string]>([['500', '5xx=1']])('classifies every simulated 5xx as retryable (%s mix)', async (_name, spec) => {
    await withFault(spec, async (simulator) => {
      const classes = new Set<string>();
      for (let n = 0; n < 24; n += 1) {
        const error = (await errorOf(openAi(simulator).complete(request(100 + n)))) as ModelCallError;
        expect(error.retryable).toBe(true);
        classes.add(error.errorClass);
      }
      // The mix: 500, 502, 503 and 529.
      expect([...classes].sort()).toEqual(['BadGateway', 'Overloaded', 'ServerError', 'ServiceUnavailable']);
    });
  });

  it('sends the API key as a bearer token only when it has one', async () => {
    const seen: Array<string | null> = [];
    const recordingFetch: typeof fetch = async (input, init) => {
      seen.push(new Headers(init?.headers).get('authorization'));
      return fetch(input, init);
    };
    await withFault('', async (simulator) => {
      await new OpenAiCompatibleProvider({ baseUrl: simulator.url, apiKey: async () => 'sk-local-test', fetch: recordingFetch }).complete(request(7));
      await new OpenAiCompatibleProvider({ baseUrl: simulator.url, apiKey: async () => undefined, fetch: recordingFetch }).complete(request(8));
    });
    expect(seen).toEqual(['Bearer sk-local-test', null]);
  });
});

describe('the retry policy over the real provider', () => {
  let simulator: ModelSimulator;
  beforeAll(async () => {
    simulator = await startModelSimulator({ seed: 3, faults: parseFaultSpec('429=0.3:120,5xx=0.2') });
  });
  afterAll(async () => simulator?.stop());

  it('gets every call through 30% 429 (Retry-After 120 ms) and 20% 5xx, never retrying sooner than asked', async () => {
    const provider = openAi(simulator);
    const policy = new RetryPolicy({ maxAttempts: 8, baseDelayMs: 20, maxDelayMs: 200, callTimeoutMs: 2000 });
    let retries = 0;
    let timedOut = 0;
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, n) =>
        policy.execute(({ signal }) => provider.complete({ ...request(200 + n), signal }), {
          deadline: Date.now() + 20_000,
          onRetry: ({ error }) => {
            retries += 1;
            if (error instanceof ModelCallError && error.errorClass === MODEL_ERROR_CLASS.TIMEOUT) timedOut += 1;
          },
        }),
      ),
    );
    expect(answers).toHaveLength(40);
    const stats = simulator.stats();
    // One answer per call; a call the client gave up on at its 2 s timeout (a starved machine: 42
    // answers for 40 calls, in a run beside the full suite) may have been answered after all, then retried.
    expect(stats.byOutcome.ok).toBeGreaterThanOrEqual(40);
    expect(stats.byOutcome.ok).toBeLessThanOrEqual(40 + timedOut);
    expect(retries).toBe(stats.requests - 40);
    expect(stats.byOutcome.throttled).toBeGreaterThan(0);
    expect(stats.retryAfter.honoured).toBe(stats.byOutcome.throttled);
    expect(stats.retryAfter.violations).toBe(0);
  });
});

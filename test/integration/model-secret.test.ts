/**
 * The OpenAI-compatible provider's API key, read from Secrets Manager (moto_server over HTTP) once
 * per execution environment, and sent to the model endpoint (the simulator) as a bearer token.
 * moto_server is a Python tool that users' machines may lack: without it this file is skipped,
 * saying so.
 */
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAiCompatibleProvider } from '../../lambda/model/openai-compatible-provider';
import { extractKey, SecretApiKey } from '../../lambda/model/secret-api-key';
import { DependencyError } from '../../lambda/errors/pipeline-errors';
import { ticketTriage } from '../../lambda/tasks/ticket-triage';
import { startModelSimulator } from '../../local/model-simulator/model-simulator';
import { motoUnavailable, type MotoServer, startMoto } from '../pipectl/moto-server';

const unavailable = motoUnavailable();
if (unavailable)
  process.stdout.write(`model-secret.test.ts skipped: ${unavailable.replace(/: the .*$/, '')}: the Secrets Manager tests of the model API key need it\n`);

describe.skipIf(unavailable !== undefined)('the model API key from Secrets Manager (moto_server)', () => {
  let moto: MotoServer;
  let client: SecretsManagerClient;
  /** Counts GetSecretValue requests that reach the endpoint. */
  let reads = 0;

  beforeAll(async () => {
    moto = await startMoto();
    client = new SecretsManagerClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetSecretValueCommand') reads += 1;
        return next(args);
      },
      { step: 'initialize' },
    );
  }, 60_000);
  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  async function secret(name: string, value: string): Promise<string> {
    const { ARN } = await client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    return ARN as string;
  }

  it('reads the key once, at cold start, and serves every call from memory', async () => {
    const key = new SecretApiKey(client, await secret('model-key-plain', 'sk-test-plain'));
    reads = 0;
    key.prefetch();
    const values = await Promise.all([key.get(), key.get(), key.get()]);
    expect(values).toEqual(['sk-test-plain', 'sk-test-plain', 'sk-test-plain']);
    expect(await key.get()).toBe('sk-test-plain');
    expect(reads).toBe(1);
  });

  it('takes the key from a JSON secret', async () => {
    const key = new SecretApiKey(client, await secret('model-key-json', JSON.stringify({ apiKey: 'sk-test-json', note: 'x' })));
    expect(await key.get()).toBe('sk-test-json');
  });

  it('fails a missing secret as a retryable dependency error, without the key or ARN contents in the message, and tries again next time', async () => {
    const key = new SecretApiKey(client, 'arn:aws:secretsmanager:us-east-1:123456789012:secret:absent-AbCdEf');
    reads = 0;
    const error = await key.get().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DependencyError);
    expect(error).toMatchObject({ dependency: 'secretsmanager', retryable: true });
    expect((error as Error).message).not.toContain('absent-AbCdEf');
    await key.get().catch(() => undefined);
    expect(reads).toBe(2);
  });

  it('sends the key to the model endpoint as a bearer token', async () => {
    const key = new SecretApiKey(client, await secret('model-key-bearer', 'sk-test-bearer'));
    const simulator = await startModelSimulator();
    const seen: Array<string | null> = [];
    try {
      const provider = new OpenAiCompatibleProvider({
        baseUrl: simulator.url,
        apiKey: () => key.get(),
        fetch: async (input, init) => {
          seen.push(new Headers(init?.headers).get('authorization'));
          return fetch(input, init);
        },
      });
      const prompt = ticketTriage.buildPrompt({ subject: 'Login fails', body: 'I cannot log in since the update.' });
      await provider.complete({ modelId: 'sim-primary', prompt, signal: AbortSignal.timeout(5000) });
    } finally {
      await simulator.stop();
    }
    expect(seen).toEqual(['Bearer sk-test-bearer']);
  });
});

describe('extractKey', () => {
  it.each<[string | undefined, string | undefined]>([
    ['sk-abc', 'sk-abc'],
    ['  sk-abc \n', 'sk-abc'],
    ['{"apiKey":"sk-1"}', 'sk-1'],
    ['{"api_key":"sk-2"}', 'sk-2'],
    ['{"OPENAI_API_KEY":"sk-3"}', 'sk-3'],
    ['{"other":"x"}', undefined],
    ['{not json', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%j → %j', (secretString, expected) => {
    expect(extractKey(secretString)).toBe(expected);
  });
});

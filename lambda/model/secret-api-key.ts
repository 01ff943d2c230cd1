import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DependencyError } from '../errors/pipeline-errors';

/** Fields of a JSON secret that may hold the key, in the order they are tried. */
const KEY_FIELDS = ['apiKey', 'api_key', 'key', 'OPENAI_API_KEY'] as const;

/**
 * The API key of an OpenAI-compatible endpoint, read from Secrets Manager once per execution
 * environment: the read starts at cold start (`prefetch`) and every call after that is served
 * from memory. A failed read is not cached, so the next call tries again.
 *
 * The secret is either the bare key or a JSON object with one of `KEY_FIELDS`. The key never goes
 * to the environment, a log line or an error message.
 *
 * Powertools' Parameters utility would do the same caching, but it is not a dependency of this
 * project; one GetSecretValue per cold start needs nothing more than this.
 */
export class SecretApiKey {
  private pending?: Promise<string>;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretArn: string,
  ) {}

  /** Starts the read without waiting for it (call at cold start). */
  prefetch(): void {
    void this.get().catch(() => undefined);
  }

  get(): Promise<string> {
    this.pending ??= this.read().catch((error: unknown) => {
      this.pending = undefined;
      throw error;
    });
    return this.pending;
  }

  private async read(): Promise<string> {
    let secret: string | undefined;
    try {
      const response = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretArn }));
      secret = response.SecretString;
    } catch (error) {
      throw new DependencyError('secretsmanager', `reading the model API key secret failed: ${(error as Error).name}`, { cause: error });
    }
    const key = extractKey(secret);
    if (!key) throw new DependencyError('secretsmanager', 'the model API key secret is empty or holds no apiKey field');
    return key;
  }
}

/** The key in a secret string: the string itself, or a known field of a JSON object. */
export function extractKey(secret: string | undefined): string | undefined {
  const trimmed = secret?.trim();
  if (!trimmed) return undefined;
  if (!trimmed.startsWith('{')) return trimmed;
  try {
    const parsed = JSON.parse(trimmed) as Record<string, unknown>;
    for (const field of KEY_FIELDS) {
      const value = parsed[field];
      if (typeof value === 'string' && value.trim() !== '') return value.trim();
    }
  } catch {
    // Not JSON after all: a key that starts with '{' is not a key any provider issues.
  }
  return undefined;
}

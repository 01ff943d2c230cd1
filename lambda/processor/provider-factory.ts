import { lazyProvider } from '../model/lazy-provider';
import type { ModelProvider } from '../model/model-provider';
import { OpenAiCompatibleProvider } from '../model/openai-compatible-provider';
import { ProviderNotBundledError } from '../model/provider-not-bundled';
import { SimulatedProvider } from '../model/simulated-provider';
import type { RuntimeConfig } from './runtime-config';

/**
 * The model provider a processor configuration names. Shared by the handler and `pipectl replay`
 * (which runs inputs through the processor's own chain with the deployed function's configuration).
 *
 * The Bedrock and Secrets Manager clients are loaded only on the stages that use them, and bundled
 * only for them: each `process.env.PIPELINE_BUNDLE_*` below is a constant the processor's build
 * defines per stage (`BUNDLE_DEFINES` in ../contract.ts), so esbuild drops the
 * branch with the import the stage cannot use, and what remains throws `ProviderNotBundledError`
 * at init. The tests are written out inline because esbuild folds only the literal expression, and
 * as `if … else` because it drops a dead branch, not the code after a `throw`.
 */
export function createProvider(runtime: RuntimeConfig): ModelProvider {
  switch (runtime.modelProvider) {
    case 'simulated':
      return new SimulatedProvider({ seed: runtime.simulatorSeed, latencyMs: runtime.simulatorLatencyMs });
    case 'bedrock':
      if (process.env.PIPELINE_BUNDLE_WITHOUT_BEDROCK !== 'true') return bedrockProvider(runtime);
      else throw new ProviderNotBundledError('bedrock', process.env.PIPELINE_BUNDLE_STAGE_SELECTS);
    case 'openai-compatible': {
      const secretArn = runtime.modelApiKeySecretArn;
      const provider = (apiKey: () => Promise<string | undefined>) =>
        new OpenAiCompatibleProvider({ baseUrl: runtime.modelBaseUrl as string, apiKey, maxOutputTokens: runtime.maxOutputTokens });
      // The config refuses a missing secret unless the endpoint is on loopback (local mode's simulator,
      // which runs every stage's bundle this way: this path needs no SDK and is always bundled).
      if (!secretArn) return provider(async () => undefined);
      if (process.env.PIPELINE_BUNDLE_WITHOUT_SECRETS_MANAGER !== 'true') return secretKeyProvider(secretArn, provider);
      else throw new ProviderNotBundledError('openai-compatible with an API key secret', process.env.PIPELINE_BUNDLE_STAGE_SELECTS);
    }
  }
}

/** Loaded on the first call: the Bedrock runtime client is evaluated only on stages that use it. */
function bedrockProvider(runtime: RuntimeConfig): ModelProvider {
  return lazyProvider('bedrock', async () => {
    const [{ BedrockRuntimeClient }, { BedrockProvider }] = await Promise.all([import('@aws-sdk/client-bedrock-runtime'), import('../model/bedrock-provider')]);
    // maxAttempts 1: no SDK retries under ours (the retry policy is the one retry layer).
    return new BedrockProvider({ client: new BedrockRuntimeClient({ maxAttempts: 1 }), maxOutputTokens: runtime.maxOutputTokens });
  });
}

/** Secrets Manager only with a secret; loaded and the key fetched at init, as before. */
function secretKeyProvider(secretArn: string, provider: (apiKey: () => Promise<string | undefined>) => ModelProvider): ModelProvider {
  return lazyProvider(
    'openai-compatible',
    async () => {
      const [{ SecretsManagerClient }, { SecretApiKey }] = await Promise.all([import('@aws-sdk/client-secrets-manager'), import('../model/secret-api-key')]);
      const key = new SecretApiKey(new SecretsManagerClient({ maxAttempts: 2 }), secretArn);
      key.prefetch();
      return provider(() => key.get());
    },
    { eager: true },
  );
}

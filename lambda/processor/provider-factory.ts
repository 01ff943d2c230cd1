import { lazyProvider } from '../model/lazy-provider';
import type { ModelProvider } from '../model/model-provider';
import { OpenAiCompatibleProvider } from '../model/openai-compatible-provider';
import { SimulatedProvider } from '../model/simulated-provider';
import type { RuntimeConfig } from './runtime-config';

/**
 * The model provider a processor configuration names. Shared by the handler and `pipectl replay`
 * (which runs inputs through the processor's own chain with the deployed function's configuration).
 * The Bedrock and Secrets Manager clients are loaded only on the stages that use them.
 */
export function createProvider(runtime: RuntimeConfig): ModelProvider {
  switch (runtime.modelProvider) {
    case 'simulated':
      return new SimulatedProvider({ seed: runtime.simulatorSeed, latencyMs: runtime.simulatorLatencyMs });
    case 'bedrock':
      // Loaded on the first call: the Bedrock runtime client is evaluated only on stages that use it.
      return lazyProvider('bedrock', async () => {
        const [{ BedrockRuntimeClient }, { BedrockProvider }] = await Promise.all([
          import('@aws-sdk/client-bedrock-runtime'),
          import('../model/bedrock-provider'),
        ]);
        // maxAttempts 1: no SDK retries under ours (the retry policy is the one retry layer).
        return new BedrockProvider({ client: new BedrockRuntimeClient({ maxAttempts: 1 }), maxOutputTokens: runtime.maxOutputTokens });
      });
    case 'openai-compatible': {
      const secretArn = runtime.modelApiKeySecretArn;
      const provider = (apiKey: () => Promise<string | undefined>) =>
        new OpenAiCompatibleProvider({ baseUrl: runtime.modelBaseUrl as string, apiKey, maxOutputTokens: runtime.maxOutputTokens });
      // The config refuses a missing secret unless the endpoint is on loopback (local mode's simulator).
      if (!secretArn) return provider(async () => undefined);
      // Secrets Manager only with a secret; loaded and the key fetched at init, as before.
      return lazyProvider(
        'openai-compatible',
        async () => {
          const [{ SecretsManagerClient }, { SecretApiKey }] = await Promise.all([
            import('@aws-sdk/client-secrets-manager'),
            import('../model/secret-api-key'),
          ]);
          const key = new SecretApiKey(new SecretsManagerClient({ maxAttempts: 2 }), secretArn);
          key.prefetch();
          return provider(() => key.get());
        },
        { eager: true },
      );
    }
  }
}

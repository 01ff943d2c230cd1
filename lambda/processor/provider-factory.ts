import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { BedrockProvider } from '../model/bedrock-provider';
import type { ModelProvider } from '../model/model-provider';
import { OpenAiCompatibleProvider } from '../model/openai-compatible-provider';
import { SecretApiKey } from '../model/secret-api-key';
import { SimulatedProvider } from '../model/simulated-provider';
import type { RuntimeConfig } from './runtime-config';

/**
 * The model provider a processor configuration names. Shared by the handler and `pipectl replay`
 * (which runs inputs through the processor's own chain with the deployed function's configuration).
 */
export function createProvider(runtime: RuntimeConfig): ModelProvider {
  switch (runtime.modelProvider) {
    case 'simulated':
      return new SimulatedProvider({ seed: runtime.simulatorSeed, latencyMs: runtime.simulatorLatencyMs });
    case 'bedrock':
      // maxAttempts 1: no SDK retries under ours (the retry policy is the one retry layer).
      return new BedrockProvider({ client: new BedrockRuntimeClient({ maxAttempts: 1 }), maxOutputTokens: runtime.maxOutputTokens });
    case 'openai-compatible': {
      const secretArn = runtime.modelApiKeySecretArn;
      // The config refuses a missing secret unless the endpoint is on loopback (local mode's simulator).
      const key = secretArn ? new SecretApiKey(new SecretsManagerClient({ maxAttempts: 2 }), secretArn) : undefined;
      key?.prefetch();
      return new OpenAiCompatibleProvider({
        baseUrl: runtime.modelBaseUrl as string,
        apiKey: key ? () => key.get() : async () => undefined,
        maxOutputTokens: runtime.maxOutputTokens,
      });
    }
  }
}

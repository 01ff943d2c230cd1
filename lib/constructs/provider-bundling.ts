import { BUNDLE_DEFINES } from '../../lambda/contract';
import type { ModelConfig } from '../config/stage-types';

/** Which model-provider SDK clients a stage's processor bundle holds (issue 17). */
export interface ProviderBundling {
  /** The Bedrock runtime client: only when `model.provider` is `bedrock`. */
  readonly bedrock: boolean;
  /** The Secrets Manager client (the OpenAI-compatible API key): only for `openai-compatible` with its secret. */
  readonly secretsManager: boolean;
  /** What the config selects, as the error of a provider left out names it. */
  readonly stageSelects: string;
  /** The esbuild `define` that leaves the others out (see lambda/processor/provider-factory.ts). */
  readonly define: Readonly<Record<string, string>>;
}

/**
 * The provider code a stage's processor bundle keeps: the SDK client of the provider its config
 * selects, no other. A stage uses one provider, and the runtime cannot switch to another: the
 * runtime switches, the canary, the shadow run and the candidate model of either all choose a
 * model id, and every one of them calls it through the stage's one provider (handler.ts creates it
 * once and hands it to the chain and the shadow run). The simulated provider and the
 * OpenAI-compatible one without a key need no SDK and are always there: local mode runs every
 * stage's bundle against its simulator through the OpenAI-compatible provider.
 *
 * @example
 * new NodejsFunction(this, 'Default', { bundling: { ...FUNCTION_BUILD.bundling, define: providerBundling(config.model).define } });
 */
export function providerBundling(model: ModelConfig): ProviderBundling {
  const bedrock = model.provider === 'bedrock';
  const secretsManager = model.provider === 'openai-compatible' && Boolean(model.openAiCompatible?.apiKeySecretArn);
  const stageSelects = secretsManager ? 'openai-compatible with an API key secret' : model.provider;
  return {
    bedrock,
    secretsManager,
    stageSelects,
    define: {
      [BUNDLE_DEFINES.WITHOUT_BEDROCK]: JSON.stringify(String(!bedrock)),
      [BUNDLE_DEFINES.WITHOUT_SECRETS_MANAGER]: JSON.stringify(String(!secretsManager)),
      [BUNDLE_DEFINES.STAGE_SELECTS]: JSON.stringify(stageSelects),
    },
  };
}

/**
 * The processor's environment selects a provider whose code the stage's bundle does not hold: the
 * environment was changed by hand, or the bundle was built for another config. Thrown at cold start
 * (the handler creates its provider at init), so the function fails to initialize rather than
 * failing each record. Redeploy the stage with the provider in its config (`model.provider`).
 */
export class ProviderNotBundledError extends Error {
  override readonly name = 'ProviderNotBundledError';

  constructor(
    /** The provider the environment asked for (`bedrock`, `openai-compatible with an API key secret`). */
    readonly provider: string,
    /** What the stage's config selected when the bundle was built; undefined when unknown. */
    readonly stageSelects: string | undefined,
  ) {
    super(
      `model provider ${provider} is not bundled for this stage: its config selects ${stageSelects ?? 'another provider'}. ` +
        'The processor bundle holds only the SDK client of the provider its stage config selects: set the provider in the stage config (model.provider) and deploy, rather than changing MODEL_PROVIDER on the function',
    );
  }
}

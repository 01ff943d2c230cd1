import type { ModelProvider, ModelRequest, ModelResponse } from './model-provider';

/**
 * A provider whose code loads on its first call (or when `load` is started): the processor's bundle
 * holds every provider, but a stage uses one, so the others' SDK clients (Bedrock runtime, Secrets
 * Manager) are never evaluated in its execution environments. esbuild keeps a bundled module behind
 * `import()` unevaluated until the import runs; that is what takes them off the cold start (issue 17).
 */
export function lazyProvider(name: string, load: () => Promise<ModelProvider>, options: { readonly eager?: boolean } = {}): ModelProvider {
  let loading: Promise<ModelProvider> | undefined;
  const provider = () => {
    loading ??= load();
    return loading;
  };
  // Started at init when the provider has work to do before the first call (a secret to fetch).
  if (options.eager) void provider().catch(() => undefined);
  return {
    name,
    complete: async (request: ModelRequest): Promise<ModelResponse> => (await provider()).complete(request),
  };
}

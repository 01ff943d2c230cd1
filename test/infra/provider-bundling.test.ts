/**
 * Issue 17: a stage's processor bundle holds the SDK client of the model provider its config
 * selects and no other. The bundles are the synthesized assets (`cdk synth`'s, through local
 * mode's synth cache); what they contain is read from their source maps. A bundle asked for a
 * provider it lacks must fail at init with an error that says so.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../lambda/contract';
import { ProviderNotBundledError } from '../../lambda/model/provider-not-bundled';
import type { StageConfigOverrides } from '../../lib/config/stage-schema';
import { loadStageConfig } from '../../lib/config/stage-load';
import { STAGES } from '../../lib/config/stages';
import { providerBundling } from '../../lib/constructs/provider-bundling';
import { type LocalStackModel, synthesizeLocalStack } from '../../local/stack-model';

const BEDROCK_CLIENT = '@aws-sdk/client-bedrock-runtime/';
const SECRETS_MANAGER_CLIENT = '@aws-sdk/client-secrets-manager/';
const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pipeline/model-key-AbC123';

/** The source files a bundle was built from, from its source map. */
function bundledSources(stack: LocalStackModel): string[] {
  return (JSON.parse(readFileSync(`${stack.processor.bundlePath}.map`, 'utf8')) as { sources: string[] }).sources;
}

const holds = (sources: readonly string[], prefix: string) => sources.some((source) => source.includes(prefix));

/**
 * Requires the bundle (its init) in a fresh Node with the function's environment, the provider
 * replaced; Refs become placeholder URLs (init builds its clients but sends nothing it awaits).
 */
function initWith(stack: LocalStackModel, environment: Record<string, string>): { status: number | null; stderr: string } {
  const variables: Record<string, string> = { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' };
  for (const [name, value] of Object.entries(stack.processor.environment))
    variables[name] = typeof value === 'string' ? value : `https://placeholder.invalid/${value.ref}`;
  const script = `require(${JSON.stringify(stack.processor.bundlePath)}); process.exit(0);`;
  return spawnSync(process.execPath, ['-e', script], { env: { ...variables, ...environment }, encoding: 'utf8', timeout: 30_000 });
}

const OVERRIDES: Record<string, StageConfigOverrides> = {
  bedrock: { model: { provider: 'bedrock', primaryModelId: 'anthropic.claude-3-5-sonnet-20240620-v1:0', secondaryModelId: '' } },
  'openai-compatible': {
    model: {
      provider: 'openai-compatible',
      primaryModelId: 'gpt-4o',
      secondaryModelId: '',
      openAiCompatible: { baseUrl: 'https://api.openai.com/v1', apiKeySecretArn: SECRET },
    },
  },
};

/** Every stage as its config stands, and dev with each real provider. */
const CASES: Array<[string, string, StageConfigOverrides | undefined]> = [
  ...Object.keys(STAGES).map((stage): [string, string, undefined] => [stage, stage, undefined]),
  ...Object.entries(OVERRIDES).map(([provider, overrides]): [string, string, StageConfigOverrides] => [`dev with ${provider}`, 'dev', overrides]),
];

describe.each(CASES)('the processor bundle of %s', (_label, stage, overrides) => {
  const config = loadStageConfig(stage, overrides);
  const expected = providerBundling(config.model);

  it(`holds the SDK client of the provider its config selects (${config.model.provider}), no other`, () => {
    // Prepare
    const stack = synthesizeLocalStack({ stage, ...(overrides ? { overrides } : {}) });

    // Act
    const sources = bundledSources(stack);

    // Assess
    expect(expected.bedrock).toBe(config.model.provider === 'bedrock');
    expect(expected.secretsManager).toBe(config.model.provider === 'openai-compatible');
    expect(holds(sources, BEDROCK_CLIENT)).toBe(expected.bedrock);
    expect(holds(sources, 'lambda/model/bedrock-provider.ts')).toBe(expected.bedrock);
    expect(holds(sources, SECRETS_MANAGER_CLIENT)).toBe(expected.secretsManager);
    expect(holds(sources, 'lambda/model/secret-api-key.ts')).toBe(expected.secretsManager);
    // The providers that need no SDK are always there: local mode runs every stage's bundle through the OpenAI-compatible one.
    expect(holds(sources, 'lambda/model/openai-compatible-provider.ts')).toBe(true);
    expect(holds(sources, 'lambda/model/simulated-provider.ts')).toBe(true);
  });

  it('initializes with its own provider, and refuses one it does not hold with ProviderNotBundledError at init', () => {
    // Prepare
    const stack = synthesizeLocalStack({ stage, ...(overrides ? { overrides } : {}) });
    const bedrock = { [ENV.MODEL_PROVIDER]: 'bedrock', [ENV.PRIMARY_MODEL_ID]: 'anthropic.claude-3-5-sonnet-20240620-v1:0', [ENV.SECONDARY_MODEL_ID]: '' };

    // Act
    const own = initWith(stack, {});
    const asBedrock = initWith(stack, bedrock);

    // Assess
    expect(own.stderr).not.toContain('ProviderNotBundledError');
    expect(own.status).toBe(0);
    if (expected.bedrock) {
      expect(asBedrock.stderr).not.toContain('ProviderNotBundledError');
      expect(asBedrock.status).toBe(0);
    } else {
      expect(asBedrock.status).not.toBe(0);
      expect(asBedrock.stderr).toContain(
        `ProviderNotBundledError: model provider bedrock is not bundled for this stage: its config selects ${expected.stageSelects}`,
      );
    }
  });
});

describe('ProviderNotBundledError', () => {
  it('names the provider asked for, what the stage config selects, and what to do', () => {
    // Act
    const error = new ProviderNotBundledError('bedrock', 'simulated');

    // Assess
    expect(error.name).toBe('ProviderNotBundledError');
    expect(error.message).toMatch(/^model provider bedrock is not bundled for this stage: its config selects simulated\. /);
    expect(error.message).toContain('set the provider in the stage config (model.provider) and deploy');
  });
});

import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadStageConfig } from './config/stage-load';
import type { StageConfigOverrides } from './config/stage-schema';
import type { StageConfig } from './config/stage-types';
import { DEFAULT_STAGE } from './config/stages';
import { PipelineStack } from './pipeline-stack';

/**
 * Feature flags the app synthesizes with, whoever runs it. The CLI also reads them from cdk.json
 * (where they win), but tests and local mode build the app in-process without the CLI; setting
 * them here keeps the template the same in all three. A test checks that cdk.json agrees.
 */
export const PIPELINE_APP_CONTEXT: Readonly<Record<string, unknown>> = {
  // Template schema findings fail synth instead of scrolling past as warnings.
  '@aws-cdk/core:validateAgainstDefaultRules': true,
  // Any validation warning fails synth, cdk-nag's included. Without it, as soon as the app
  // acknowledges one finding, CDK decides each report's outcome from its errors alone, and
  // cdk-nag's warnings (DDB3: a table without point-in-time recovery…) would no longer fail synth.
  '@aws-cdk/core:strictCfnValidateErrors': true,
  '@aws-cdk/aws-lambda:recognizeLayerVersion': true,
  '@aws-cdk/core:checkSecretUsage': true,
  '@aws-cdk/aws-iam:minimizePolicies': true,
  '@aws-cdk/core:target-partitions': ['aws', 'aws-cn'],
};

/** Options of {@link createPipelineApp}. */
export interface PipelineAppOptions {
  /** The stage to synthesize. @default the `stage` context value (`-c stage=prod`), else 'dev' */
  readonly stage?: string;
  /** Where to write the cloud assembly. @default the CLI's outdir, else a temporary directory */
  readonly outdir?: string;
  /** Extra context, e.g. `{ 'aws:cdk:bundling-stacks': [] }` to skip bundling in tests. */
  readonly context?: Record<string, unknown>;
  /**
   * Values that replace the stage's (e.g. shorter timeouts for local mode); validated like the
   * stage itself.
   * @default - none
   */
  readonly overrides?: StageConfigOverrides;
  /**
   * Check the templates against the CloudFormation schema when synthesizing (CDK's built-in
   * validation plugin, as `cdk synth --no-validation` turns off). Loading the schema takes about
   * two seconds per process, so tests that look at single properties may turn it off.
   * @default true
   */
  readonly cloudFormationValidation?: boolean;
}

/** What {@link createPipelineApp} built. */
export interface PipelineApp {
  /** The app; call `synth()` to get the cloud assembly. */
  readonly app: App;
  /** The stage's only stack, `AiPipeline-<stage>`. */
  readonly stack: PipelineStack;
  /** The validated config the stack was built from. */
  readonly config: StageConfig;
}

/**
 * Builds the CDK app of one stage: the validated stage config, the `AiPipeline-<stage>` stack, and
 * cdk-nag's AwsSolutions checks, which run as a validation plugin when the app synthesizes.
 *
 * @throws {StageConfigError} when the stage is unknown or its config breaks a rule.
 * @example
 * // bin/app.ts: `npx cdk synth -c stage=prod`
 * createPipelineApp();
 * // local mode: synthesize in-process, then read the template and asset metadata
 * const { app, stack } = createPipelineApp({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
 * const template = app.synth().getStackByName(stack.stackName).template;
 */
export function createPipelineApp(options: PipelineAppOptions = {}): PipelineApp {
  const app = new App({
    outdir: options.outdir,
    context: { ...PIPELINE_APP_CONTEXT, ...options.context },
    builtinCloudFormationValidation: options.cloudFormationValidation ?? true,
  });
  const stage = options.stage ?? stringContext(app, 'stage') ?? DEFAULT_STAGE;
  // `-c runbookBaseUrl=https://…`: where a fork publishes RUNBOOK.md, without editing stages.ts.
  const runbookBaseUrl = stringContext(app, 'runbookBaseUrl');
  const overrides = runbookBaseUrl ? { ...options.overrides, observability: { ...options.overrides?.observability, runbookBaseUrl } } : options.overrides;
  const config = loadStageConfig(stage, overrides);

  const stack = new PipelineStack(app, `AiPipeline-${config.stage}`, {
    config,
    description: `Resilient AI pipeline (${config.stage}): SQS input queue, processor Lambda, DynamoDB ledger`,
    // A production stack cannot be deleted by a stray `cdk destroy`; a sandbox can.
    terminationProtection: config.production,
  });

  // cdk-nag 3 is a policy validation plugin, not an Aspect: it runs after the templates are
  // written and its findings go to the cloud assembly's validation-report.json. Any unacknowledged
  // finding, warning or error, fails synth. Acknowledge one on the narrowest construct with its
  // plugin namespace, so the report lists it with its reason:
  //   Validations.of(construct).acknowledge({ id: 'AwsSolutions::AwsSolutions-IAM5[...]', reason })
  // (the stack needs none today; test/infra/cdk-nag.test.ts pins the list).
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

  return { app, stack, config };
}

function stringContext(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined ? undefined : String(value);
}

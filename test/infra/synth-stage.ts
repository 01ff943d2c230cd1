import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, CfnElement, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import type { StageConfigOverrides } from '../../lib/config/stage-schema';
import type { StageConfig } from '../../lib/config/stage-types';
import { createPipelineApp } from '../../lib/pipeline-app';
import type { PipelineStack } from '../../lib/pipeline-stack';

/** Context that skips bundling: the template is all these tests need. */
export const SKIP_BUNDLING: Readonly<Record<string, unknown>> = { 'aws:cdk:bundling-stacks': [] };

/** The parts of the cloud assembly's `validation-report.json` the tests read. */
export interface ValidationReport {
  readonly pluginReports: ReadonlyArray<{
    readonly pluginName: string;
    readonly conclusion: string;
    readonly violations: ReadonlyArray<{
      readonly ruleName: string;
      readonly severity: string;
      readonly violatingConstructs: ReadonlyArray<{ readonly constructPath: string }>;
    }>;
    /** Acknowledged findings; absent when there are none. */
    readonly suppressedViolations?: ReadonlyArray<{ readonly ruleName: string; readonly reason?: string }>;
  }>;
}

/** One `Validations.of(construct).acknowledge(...)` found in the construct tree. */
export interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

/** A stage synthesized the way `cdk synth` would, minus bundling. */
export interface SynthesizedStage {
  readonly app: App;
  readonly stack: PipelineStack;
  readonly config: StageConfig;
  readonly template: Template;
  /** The raw template, for walking Outputs and Metadata. */
  readonly templateJson: { Resources: Record<string, any>; Outputs: Record<string, any> };
  /** What CDK's validation plugins (cdk-nag among them) reported. */
  readonly report: ValidationReport;
  /** Warnings and errors that constructs attached to the stack (deprecations, misconfigurations). */
  readonly messages: ReadonlyArray<{ readonly level: string; readonly id: string; readonly entry: { readonly data?: unknown } }>;
  /** Every acknowledged validation rule in the app. */
  readonly acknowledgements: readonly Acknowledgement[];
  /** Deletes the cloud assembly. */
  dispose(): void;
}

/** Options of {@link synthStage}. */
export interface SynthStageOptions {
  readonly overrides?: StageConfigOverrides;
  /**
   * Run CDK's CloudFormation schema validation too. It costs about two seconds per test file,
   * so it is off except in the test that asserts on the whole validation report.
   * @default false
   */
  readonly cloudFormationValidation?: boolean;
}

/**
 * Synthesizes one stage into a temporary directory with bundling skipped (these tests look at
 * the template, not the code) and cdk-nag enabled, as the real app has it.
 */
export function synthStage(stage: string, options: SynthStageOptions = {}): SynthesizedStage {
  const outdir = mkdtempSync(join(tmpdir(), `pipeline-${stage}-`));
  const dispose = () => rmSync(outdir, { recursive: true, force: true });
  try {
    return synthInto(outdir, stage, options, dispose);
  } catch (error) {
    dispose();
    throw error;
  }
}

function synthInto(outdir: string, stage: string, options: SynthStageOptions, dispose: () => void): SynthesizedStage {
  const { app, stack, config } = createPipelineApp({
    stage,
    outdir,
    overrides: options.overrides,
    cloudFormationValidation: options.cloudFormationValidation ?? false,
    context: SKIP_BUNDLING,
  });
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  const templateJson = artifact.template;
  const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as ValidationReport;
  return {
    app,
    stack,
    config,
    template: Template.fromJSON(templateJson),
    templateJson,
    report,
    messages: artifact.messages,
    acknowledgements: collectAcknowledgements(app),
    dispose,
  };
}

/** The logical id of a construct's CloudFormation resource (the construct itself, or its default child). */
export function logicalIdOf(synth: SynthesizedStage, construct: IConstruct): string {
  const element = CfnElement.isCfnElement(construct) ? construct : construct.node.defaultChild;
  if (!element || !CfnElement.isCfnElement(element)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return synth.stack.resolve(element.logicalId) as string;
}

function collectAcknowledgements(root: IConstruct): Acknowledgement[] {
  return root.node
    .findAll()
    .flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) => Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({ path: construct.node.path, id, reason }))),
    );
}

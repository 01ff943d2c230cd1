import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CfnElement, Stack } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_OUTPUT } from '../../lambda/contract';
import { StageConfigError } from '../../lib/config/stage-load';
import { createPipelineApp, PIPELINE_APP_CONTEXT } from '../../lib/pipeline-app';
import { logicalIdOf, SKIP_BUNDLING, type SynthesizedStage, synthStage } from './synth-stage';

const stages: Record<string, SynthesizedStage> = {};
/** Cloud assembly directories of the apps the tests below build but do not synthesize. */
let scratch: string;

beforeAll(() => {
  for (const stage of ['dev', 'prod']) stages[stage] = synthStage(stage);
  scratch = mkdtempSync(join(tmpdir(), 'pipeline-app-'));
});

afterAll(() => {
  for (const synth of Object.values(stages)) synth.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

/** Options that build the app cheaply: a scratch outdir, no bundling, no schema validation. */
const cheap = (context: Record<string, unknown> = {}) => ({
  outdir: mkdtempSync(join(scratch, 'app-')),
  context: { ...SKIP_BUNDLING, ...context },
  cloudFormationValidation: false,
});

describe.each(['dev', 'prod'])('PipelineStack (%s)', (stage) => {
  it('is named after its stage', () => {
    // Prepare
    const synth = stages[stage]!;

    // Assess
    expect(synth.stack.stackName).toBe(`AiPipeline-${stage}`);
  });

  it('declares exactly the outputs of the contract, under their exact keys', () => {
    // Prepare
    const synth = stages[stage]!;

    // Assess
    expect(Object.keys(synth.templateJson.Outputs).sort()).toEqual(Object.values(STACK_OUTPUT).sort());
  });

  it.each([
    [STACK_OUTPUT.INPUT_QUEUE_URL, 'AWS::SQS::Queue', (s: SynthesizedStage) => s.stack.inputQueue.queue],
    [STACK_OUTPUT.INPUT_DLQ_URL, 'AWS::SQS::Queue', (s: SynthesizedStage) => s.stack.inputQueue.deadLetterQueue],
    [STACK_OUTPUT.REVIEW_QUEUE_URL, 'AWS::SQS::Queue', (s: SynthesizedStage) => s.stack.reviewQueue.queue],
    [STACK_OUTPUT.REVIEW_DLQ_URL, 'AWS::SQS::Queue', (s: SynthesizedStage) => s.stack.reviewQueue.deadLetterQueue],
    [STACK_OUTPUT.LEDGER_TABLE_NAME, 'AWS::DynamoDB::Table', (s: SynthesizedStage) => s.stack.ledger.table],
    [STACK_OUTPUT.PROCESSOR_FUNCTION_NAME, 'AWS::Lambda::Function', (s: SynthesizedStage) => s.stack.processor.function],
  ])('output %s is a plain Ref to the %s it names', (key, type, construct) => {
    // Prepare
    const synth = stages[stage]!;
    const expectedId = logicalIdOf(synth, construct(synth));

    // Act: what local mode does, follow the output to the resource
    const { Ref: referenced } = synth.templateJson.Outputs[key].Value;

    // Assess
    expect(referenced).toBe(expectedId);
    expect(synth.templateJson.Resources[referenced].Type).toBe(type);
  });

  it('tags every taggable resource with the stage from the config', () => {
    // Prepare
    const synth = stages[stage]!;
    const taggable = Object.values(synth.templateJson.Resources).filter((resource: any) => resource.Properties?.Tags);

    // Assess
    expect(taggable.length).toBeGreaterThan(0);
    for (const resource of taggable as any[]) {
      expect(resource.Properties.Tags).toContainEqual({ Key: 'stage', Value: synth.config.stage });
    }
  });

  it('protects the stack from deletion only in production', () => {
    // Prepare
    const synth = stages[stage]!;

    // Assess
    expect(synth.stack.terminationProtection).toBe(synth.config.production);
  });

  it('attaches no warning or error annotation to any construct', () => {
    // Prepare
    const synth = stages[stage]!;

    // Assess
    expect(synth.messages.filter((message) => message.level !== 'info')).toEqual([]);
  });
});

describe('createPipelineApp', () => {
  it.each<[string, { stage?: string; context?: Record<string, unknown> }, string]>([
    ['no stage anywhere', {}, 'dev'],
    ['the stage context', { context: { stage: 'prod' } }, 'prod'],
    ['the stage option over the context', { stage: 'dev', context: { stage: 'prod' } }, 'dev'],
  ])('takes the stage from %s', (_case, options, expected) => {
    // Act
    const { config, stack } = createPipelineApp({ stage: options.stage, ...cheap(options.context) });

    // Assess
    expect(config.stage).toBe(expected);
    expect(Stack.of(stack).stackName).toBe(`AiPipeline-${expected}`);
  });

  it('fails on an unknown stage, listing the valid ones', () => {
    // Act + Assess
    expect(() => createPipelineApp({ stage: 'qa', ...cheap() })).toThrow(StageConfigError);
    expect(() => createPipelineApp({ stage: 'qa', ...cheap() })).toThrow(/valid stages are dev, prod/);
  });

  it('fails on a production stage with fault injection', () => {
    // Act + Assess
    expect(() => createPipelineApp({ stage: 'prod', overrides: { allowFaultInjection: true }, ...cheap() })).toThrow(
      /allowFaultInjection: must be false in a production stage/,
    );
  });

  it('synthesizes in-process with the feature flags the CLI reads from cdk.json', () => {
    // Prepare
    const cdkJson = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8'));

    // Assess: local mode and tests build the app without the CLI, so they must not drift from it
    expect(PIPELINE_APP_CONTEXT).toEqual(cdkJson.context);
  });

  it('records where the processor bundle is when asset metadata is on, as local mode reads it', () => {
    // Prepare
    const { app, stack } = createPipelineApp(cheap({ 'aws:cdk:enable-asset-metadata': true }));

    // Act
    const template = app.synth().getStackByName(stack.stackName).template;

    // Assess
    const functionId = stack.resolve((stack.processor.function.node.defaultChild as CfnElement).logicalId);
    expect(template.Resources[functionId].Metadata).toMatchObject({
      'aws:asset:path': expect.any(String),
      'aws:asset:property': 'Code',
    });
  });
});

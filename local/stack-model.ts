import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STACK_OUTPUT } from '../lambda/contract';
import { createPipelineApp } from '../lib/pipeline-app';
import type { StageConfigOverrides } from '../lib/config/stage-schema';

/**
 * What local mode needs from the synthesized template, read from the template itself (never from
 * the stage config), so local and AWS cannot drift apart: if the stack changes a queue setting,
 * local mode changes with it.
 */
export interface LocalStackModel {
  readonly stackName: string;
  readonly queues: readonly QueueModel[];
  readonly tables: readonly TableModel[];
  readonly processor: FunctionModel;
  readonly eventSource: EventSourceModel;
  /** Functions an EventBridge schedule invokes (the reconciler, the drift monitor), with their rate. */
  readonly scheduledFunctions: readonly ScheduledFunctionModel[];
  /** Functions an EventBridge rule invokes when an alarm changes state (the canary's rollback). */
  readonly alarmActionFunctions: readonly AlarmActionFunctionModel[];
  /** Stack output key → the logical id of the resource whose `Ref` it is. */
  readonly outputs: Readonly<Record<string, string>>;
  /** The synthesized template itself, for what the model does not carry (the roles' policies: test/infra/iam-covers-calls.test.ts). */
  readonly template: StackTemplate;
}

export interface QueueModel {
  readonly logicalId: string;
  readonly visibilityTimeoutSeconds: number;
  readonly messageRetentionSeconds: number;
  readonly redrive?: { readonly deadLetterLogicalId: string; readonly maxReceiveCount: number };
}

export interface TableModel {
  readonly logicalId: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
  /** Every attribute a key schema names, with its type (S, N, B). */
  readonly attributeDefinitions: ReadonlyArray<{ readonly AttributeName: string; readonly AttributeType: string }>;
  /** As in the template: IndexName, KeySchema, Projection. */
  readonly globalSecondaryIndexes: ReadonlyArray<{
    readonly IndexName: string;
    readonly KeySchema: ReadonlyArray<{ readonly AttributeName: string; readonly KeyType: string }>;
    readonly Projection: { readonly ProjectionType?: string; readonly NonKeyAttributes?: readonly string[] };
  }>;
  readonly ttlAttribute?: string;
}

export interface FunctionModel {
  readonly logicalId: string;
  /** Absolute path of the bundled handler, `<asset dir>/index.js`: the file `cdk deploy` zips. */
  readonly bundlePath: string;
  readonly handlerExport: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** Environment variables; values that were a `Ref` are kept as `{ ref: logicalId }`. */
  readonly environment: Readonly<Record<string, string | { readonly ref: string }>>;
}

/** A function invoked by an EventBridge rule with a `rate(...)` schedule. */
export interface ScheduledFunctionModel extends FunctionModel {
  readonly ruleLogicalId: string;
  /** The rule's `rate(...)` in seconds. */
  readonly rateSeconds: number;
}

/** A function invoked by an EventBridge rule on an alarm's state change ("CloudWatch Alarm State Change"). */
export interface AlarmActionFunctionModel extends FunctionModel {
  readonly ruleLogicalId: string;
  /** The alarm's name (its `AlarmName` in the template). */
  readonly alarmName: string;
  /** The states the rule matches (`detail.state.value`). */
  readonly states: readonly string[];
}

export interface EventSourceModel {
  readonly logicalId: string;
  readonly queueLogicalId: string;
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  readonly maxConcurrency: number;
  readonly reportBatchItemFailures: boolean;
}

/** A template as far as this module reads it. */
// biome-ignore lint/suspicious/noExplicitAny: a template's properties are untyped JSON, read field by field and checked where used.
type TemplateProperties = Record<string, any>;

/** A synthesized CloudFormation template, as far as local mode reads it. */
export interface StackTemplate {
  readonly Resources: Record<string, { Type: string; Properties?: TemplateProperties; Metadata?: TemplateProperties }>;
  readonly Outputs?: Record<string, { Value: unknown }>;
}

export interface SynthesizeOptions {
  /** @default 'dev' */
  readonly stage?: string;
  /** Where the cloud assembly goes. @default a new temporary directory */
  readonly outdir?: string;
  /** Stage config overrides (e.g. a provider quota, issue 14), validated like the stage's own. @default none */
  readonly overrides?: StageConfigOverrides;
}

/**
 * Synthesizes the stage in-process, exactly as `cdk synth` would (cdk-nag included, so local mode
 * refuses to run a stack that could not be deployed), bundles the processor, and reads the model.
 */
export function synthesizeLocalStack(options: SynthesizeOptions = {}): LocalStackModel {
  const outdir = options.outdir ?? mkdtempSync(join(tmpdir(), 'pipeline-local-'));
  const { app, stack } = createPipelineApp({
    stage: options.stage ?? 'dev',
    outdir,
    ...(options.overrides ? { overrides: options.overrides } : {}),
    // The asset path metadata tells us where the bundle was written.
    context: { 'aws:cdk:enable-asset-metadata': true },
    // The schema check costs ~2 s and `npm test` runs it on every stage already.
    cloudFormationValidation: false,
  });
  const artifact = app.synth().getStackByName(stack.stackName);
  return readStackModel(stack.stackName, artifact.template as StackTemplate, outdir);
}

/** Reads the resources local mode emulates out of a synthesized template. */
export function readStackModel(stackName: string, template: StackTemplate, assemblyDir: string): LocalStackModel {
  const resources = template.Resources;
  const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
  const refOf = (value: unknown): string | undefined =>
    value && typeof value === 'object' && 'Ref' in value ? String((value as { Ref: unknown }).Ref) : undefined;
  const getAttTarget = (value: unknown): string | undefined => {
    const getAtt = value && typeof value === 'object' ? (value as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'] : undefined;
    return Array.isArray(getAtt) ? String(getAtt[0]) : undefined;
  };

  const queues: QueueModel[] = ofType('AWS::SQS::Queue').map(([logicalId, resource]) => {
    const properties = resource.Properties ?? {};
    const redrivePolicy = properties.RedrivePolicy as { deadLetterTargetArn?: unknown; maxReceiveCount?: number } | undefined;
    const deadLetterLogicalId = redrivePolicy ? getAttTarget(redrivePolicy.deadLetterTargetArn) : undefined;
    if (redrivePolicy && !deadLetterLogicalId) throw new Error(`queue ${logicalId}: its dead-letter target is not a queue of this stack`);
    return {
      logicalId,
      // SQS defaults when the template leaves them out.
      visibilityTimeoutSeconds: Number(properties.VisibilityTimeout ?? 30),
      messageRetentionSeconds: Number(properties.MessageRetentionPeriod ?? 345_600),
      ...(deadLetterLogicalId ? { redrive: { deadLetterLogicalId, maxReceiveCount: Number(redrivePolicy?.maxReceiveCount ?? 10) } } : {}),
    };
  });

  const tables: TableModel[] = ofType('AWS::DynamoDB::Table').map(([logicalId, resource]) => {
    const properties = resource.Properties ?? {};
    const keySchema = (properties.KeySchema ?? []) as Array<{ AttributeName: string; KeyType: string }>;
    const partitionKey = keySchema.find((entry) => entry.KeyType === 'HASH')?.AttributeName;
    if (!partitionKey) throw new Error(`table ${logicalId} has no partition key`);
    return {
      logicalId,
      partitionKey,
      sortKey: keySchema.find((entry) => entry.KeyType === 'RANGE')?.AttributeName,
      attributeDefinitions: properties.AttributeDefinitions ?? [],
      globalSecondaryIndexes: (properties.GlobalSecondaryIndexes ?? []).map((index: TemplateProperties) => ({
        IndexName: index.IndexName,
        KeySchema: index.KeySchema,
        Projection: index.Projection ?? { ProjectionType: 'ALL' },
      })),
      ttlAttribute: properties.TimeToLiveSpecification?.AttributeName,
    };
  });
  if (tables.length === 0) throw new Error(`expected DynamoDB tables in ${stackName}, found none`);

  const mappings = ofType('AWS::Lambda::EventSourceMapping');
  if (mappings.length !== 1) throw new Error(`expected one event source mapping in ${stackName}, found ${mappings.length}`);
  const [mappingLogicalId, mappingResource] = mappings[0] as [string, { Properties?: TemplateProperties }];
  const mapping = mappingResource.Properties ?? {};
  const functionLogicalId = refOf(mapping.FunctionName);
  const queueLogicalId = getAttTarget(mapping.EventSourceArn);
  if (!functionLogicalId || !queueLogicalId) throw new Error('the event source mapping does not name a function and queue of this stack');

  const readFunction = (logicalId: string): FunctionModel => {
    const fn = resources[logicalId];
    if (fn?.Type !== 'AWS::Lambda::Function') throw new Error(`${logicalId} is not a Lambda function`);
    const fnProperties = fn.Properties ?? {};
    const assetPath = fn.Metadata?.['aws:asset:path'] as string | undefined;
    if (!assetPath) throw new Error(`${logicalId} has no aws:asset:path metadata (synthesize with aws:cdk:enable-asset-metadata)`);
    const [handlerFile, handlerExport] = String(fnProperties.Handler ?? 'index.handler').split('.') as [string, string];
    const bundlePath = join(assemblyDir, assetPath, `${handlerFile}.js`);
    if (!existsSync(bundlePath)) throw new Error(`the bundle of ${logicalId} is missing: ${bundlePath}`);

    const environment: Record<string, string | { ref: string }> = {};
    for (const [name, value] of Object.entries((fnProperties.Environment?.Variables ?? {}) as Record<string, unknown>)) {
      const ref = refOf(value);
      if (ref) environment[name] = { ref };
      else if (typeof value === 'string') environment[name] = value;
      else throw new Error(`environment variable ${name} of ${logicalId} is neither a string nor a Ref`);
    }
    return {
      logicalId,
      bundlePath,
      handlerExport,
      timeoutSeconds: Number(fnProperties.Timeout ?? 3),
      memoryMb: Number(fnProperties.MemorySize ?? 128),
      environment,
    };
  };
  const processor = readFunction(functionLogicalId);

  const scheduledFunctions: ScheduledFunctionModel[] = ofType('AWS::Events::Rule').flatMap(([ruleLogicalId, rule]) => {
    const expression = String(rule.Properties?.ScheduleExpression ?? '');
    const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
    if (!rate) return [];
    const unitSeconds = rate[2].startsWith('minute') ? 60 : rate[2].startsWith('hour') ? 3600 : 86_400;
    return ((rule.Properties?.Targets ?? []) as Array<{ Arn?: unknown }>)
      .map((target) => getAttTarget(target.Arn))
      .filter((logicalId): logicalId is string => logicalId !== undefined && resources[logicalId]?.Type === 'AWS::Lambda::Function')
      .map((logicalId) => ({ ...readFunction(logicalId), ruleLogicalId, rateSeconds: Number(rate[1]) * unitSeconds }));
  });

  const alarmActionFunctions: AlarmActionFunctionModel[] = ofType('AWS::Events::Rule').flatMap(([ruleLogicalId, rule]) => {
    const pattern = rule.Properties?.EventPattern as TemplateProperties | undefined;
    if (!((pattern?.['detail-type'] ?? []) as string[]).includes('CloudWatch Alarm State Change')) return [];
    const alarmLogicalId = ((pattern?.resources ?? []) as unknown[]).map(getAttTarget).find((id) => resources[id ?? '']?.Type === 'AWS::CloudWatch::Alarm');
    const alarmName = alarmLogicalId ? resources[alarmLogicalId]?.Properties?.AlarmName : undefined;
    if (typeof alarmName !== 'string') throw new Error(`the alarm rule ${ruleLogicalId} does not name an alarm of this stack by its ARN`);
    const states = ((pattern?.detail?.state?.value ?? []) as string[]).map(String);
    return ((rule.Properties?.Targets ?? []) as Array<{ Arn?: unknown }>)
      .map((target) => getAttTarget(target.Arn))
      .filter((logicalId): logicalId is string => logicalId !== undefined && resources[logicalId]?.Type === 'AWS::Lambda::Function')
      .map((logicalId) => ({ ...readFunction(logicalId), ruleLogicalId, alarmName, states }));
  });

  const outputs: Record<string, string> = {};
  for (const [key, output] of Object.entries(template.Outputs ?? {})) {
    const ref = refOf(output.Value);
    if (ref) outputs[key] = ref;
  }
  for (const key of Object.values(STACK_OUTPUT)) {
    if (!outputs[key]) throw new Error(`the stack has no output ${key} (a plain Ref) that clients rely on`);
  }

  return {
    stackName,
    queues,
    tables,
    processor,
    scheduledFunctions,
    alarmActionFunctions,
    eventSource: {
      logicalId: mappingLogicalId,
      queueLogicalId,
      batchSize: Number(mapping.BatchSize ?? 10),
      maxBatchingWindowSeconds: Number(mapping.MaximumBatchingWindowInSeconds ?? 0),
      maxConcurrency: Number(mapping.ScalingConfig?.MaximumConcurrency ?? 2),
      reportBatchItemFailures: ((mapping.FunctionResponseTypes ?? []) as string[]).includes('ReportBatchItemFailures'),
    },
    outputs,
    template,
  };
}

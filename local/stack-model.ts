import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, sep } from 'node:path';
import { STACK_OUTPUT } from '../lambda/contract';
import { createPipelineApp } from '../lib/pipeline-app';
import { PROJECT_ROOT } from '../lib/project-root';
import type { StageConfigOverrides } from '../lib/config/stage-schema';
import { onceAcrossProcessesSync } from './file-lock';

/**
 * What local mode needs from the synthesized template, read from the template itself (never from
 * the stage config), so local and AWS cannot drift apart: if the stack changes a queue setting,
 * local mode changes with it.
 */
export interface LocalStackModel {
  readonly stackName: string;
  /** The stage config overrides it was synthesized with: the alarms local mode evaluates are built from the same config. */
  readonly overrides?: StageConfigOverrides;
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
  /** Where the cloud assembly goes. @default the synth cache (below), or a new temporary directory when it is off */
  readonly outdir?: string;
  /** Stage config overrides (e.g. a provider quota, issue 14), validated like the stage's own. @default none */
  readonly overrides?: StageConfigOverrides;
}

/**
 * Synthesizes the stage in-process, exactly as `cdk synth` would (cdk-nag included, so local mode
 * refuses to run a stack that could not be deployed), bundles the functions, and reads the model.
 *
 * Synthesized stacks are kept between runs in `node_modules/.cache/pipeline-synth/<key>`, where the
 * key hashes everything a synth reads: the stage and overrides asked for, every file under lambda/
 * and lib/ (the handlers the bundles are built from, the stack, the stage configs), package.json,
 * package-lock.json and tsconfig.json (the bundler and its dependencies). A synth costs ~3 s of
 * CPU (aws-cdk-lib and four esbuild bundles), and the test suite paid it about forty times a run
 * for the same bytes. The cached directory is the cloud assembly itself: the bundles local mode
 * runs are still the files `cdk deploy` would zip from these sources. `PIPELINE_SYNTH_CACHE=off`
 * (or an explicit `outdir`) synthesizes afresh.
 */
export function synthesizeLocalStack(options: SynthesizeOptions = {}): LocalStackModel {
  const stage = options.stage ?? 'dev';
  if (options.outdir || process.env.PIPELINE_SYNTH_CACHE === 'off')
    return synthesizeInto(options.outdir ?? mkdtempSync(join(tmpdir(), 'pipeline-local-')), options);
  const cached = join(SYNTH_CACHE_DIR, synthKey(stage, options.overrides));
  mkdirSync(SYNTH_CACHE_DIR, { recursive: true });
  // One synth per key at a time: test files that start at once with a cold cache (a clean clone)
  // wait for the first one's assembly rather than each synthesizing it (three of the suite's nine
  // cold synths were such repeats, ~6 s of CPU each). Synthesized beside the cache entry, then
  // moved in whole, so a reader never sees half an assembly.
  return onceAcrossProcessesSync(
    `${cached}${LOCK_SUFFIX}`,
    () => readCached(cached, options.overrides),
    () => {
      const partial = mkdtempSync(`${cached}.partial-`);
      const model = synthesizeInto(partial, options);
      writeFileSync(join(partial, CACHE_MARKER), JSON.stringify({ stackName: model.stackName }));
      try {
        renameSync(partial, cached);
      } catch {
        rmSync(partial, { recursive: true, force: true });
      }
      pruneSynthCache();
      return readCached(cached, options.overrides) ?? model;
    },
  );
}

/** Where synthesized stacks are kept (see synthesizeLocalStack). */
export const SYNTH_CACHE_DIR = join(PROJECT_ROOT, 'node_modules', '.cache', 'pipeline-synth');
/** Written last into a cached assembly: its stack name, and the proof the synth finished. */
const CACHE_MARKER = 'local-stack.json';
/** Beside a cache entry while one process synthesizes it (local/file-lock.ts). */
const LOCK_SUFFIX = '.lock';
/** Cached assemblies kept (each ~25 MB: four bundles and their source maps); the oldest go first. */
const CACHE_ENTRIES_KEPT = 12;
/**
 * An assembly used more recently than this is never pruned, however many there are: a running
 * pipeline starts execution environments from it for as long as it runs, and marks it in use
 * (`holdCachedStack`) every `IN_USE_TOUCH_MS`.
 */
const CACHE_IN_USE_MS = 30 * 60_000;
const IN_USE_TOUCH_MS = 5 * 60_000;

/**
 * Marks the cached assembly a pipeline runs from as in use until the returned function is called,
 * so no concurrent synth prunes it (found by `pipectl gameday --all` beside a test run: a drill's
 * bundle was deleted under it). Does nothing for a stack outside the cache.
 */
export function holdCachedStack(stack: LocalStackModel): () => void {
  const relativePath = relative(SYNTH_CACHE_DIR, stack.processor.bundlePath);
  if (relativePath.startsWith('..') || isAbsolute(relativePath)) return () => undefined;
  const marker = join(SYNTH_CACHE_DIR, relativePath.split(sep)[0] as string, CACHE_MARKER);
  const touch = () => {
    const now = new Date();
    try {
      utimesSync(marker, now, now);
    } catch {
      // Pruned by an older version of this code, or removed by hand: nothing to hold.
    }
  };
  touch();
  const timer = setInterval(touch, IN_USE_TOUCH_MS);
  timer.unref();
  return () => clearInterval(timer);
}

function synthesizeInto(outdir: string, options: SynthesizeOptions): LocalStackModel {
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
  return withOverrides(readStackModel(stack.stackName, artifact.template as StackTemplate, outdir), options.overrides);
}

function withOverrides(model: LocalStackModel, overrides: StageConfigOverrides | undefined): LocalStackModel {
  return overrides ? { ...model, overrides } : model;
}

/** A cached assembly; the key covers `overrides`, so they are the ones it was synthesized with. */
function readCached(dir: string, overrides: StageConfigOverrides | undefined): LocalStackModel | undefined {
  const marker = join(dir, CACHE_MARKER);
  if (!existsSync(marker)) return undefined;
  const { stackName } = JSON.parse(readFileSync(marker, 'utf8')) as { stackName: string };
  const template = JSON.parse(readFileSync(join(dir, `${stackName}.template.json`), 'utf8')) as StackTemplate;
  // Touched, so pruning keeps what is in use.
  const now = new Date();
  utimesSync(marker, now, now);
  return withOverrides(readStackModel(stackName, template, dir), overrides);
}

/** The cache key: the options and every input file's path and bytes. */
function synthKey(stage: string, overrides: StageConfigOverrides | undefined): string {
  const hash = createHash('sha256')
    .update(JSON.stringify({ stage, overrides: overrides ?? null }))
    .update('\0');
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.push(path);
    }
  };
  walk(join(PROJECT_ROOT, 'lambda'));
  walk(join(PROJECT_ROOT, 'lib'));
  for (const file of ['package.json', 'package-lock.json', 'tsconfig.json', 'cdk.json']) files.push(join(PROJECT_ROOT, file));
  for (const file of files) {
    if (!existsSync(file)) continue;
    hash.update(relative(PROJECT_ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 32);
}

/** Keeps the most recently used cached assemblies; removes the rest and abandoned partial ones older than an hour. */
function pruneSynthCache(): void {
  try {
    const entries = readdirSync(SYNTH_CACHE_DIR)
      .filter((name) => !name.endsWith(LOCK_SUFFIX))
      .map((name) => {
        const path = join(SYNTH_CACHE_DIR, name);
        const marker = join(path, CACHE_MARKER);
        return { path, partial: name.includes('.partial-'), usedAt: statSync(existsSync(marker) ? marker : path).mtimeMs };
      });
    for (const path of cacheEntriesToPrune(entries, Date.now())) rmSync(path, { recursive: true, force: true });
  } catch {
    // Pruning is housekeeping: a concurrent prune or a vanished entry is not this synth's failure.
  }
}

/**
 * Which cache entries go: the complete ones beyond the newest `CACHE_ENTRIES_KEPT` that nobody
 * has used for `CACHE_IN_USE_MS` (a running pipeline marks its own), and partial ones left by a
 * synth that died over an hour ago.
 */
export function cacheEntriesToPrune(entries: readonly { readonly path: string; readonly partial: boolean; readonly usedAt: number }[], now: number): string[] {
  const complete = entries.filter((entry) => !entry.partial).sort((a, b) => b.usedAt - a.usedAt);
  return [
    ...complete.slice(CACHE_ENTRIES_KEPT).filter((entry) => now - entry.usedAt > CACHE_IN_USE_MS),
    ...entries.filter((entry) => entry.partial && now - entry.usedAt > 3_600_000),
  ].map((entry) => entry.path);
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

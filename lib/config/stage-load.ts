import type { z } from 'zod';
import { DEFAULT_STAGE, STAGES } from './stages';
import { type StageConfigInput, type StageConfigOverrides, StageConfigSchema } from './stage-schema';
import type { StageConfig } from './stage-types';

/*
 * Loading a stage: the stage's values from stages.ts, merged with overrides, validated by the
 * schema of stage-schema.ts into the `StageConfig` of stage-types.ts.
 */

// The stages of stages.ts are type-checked here rather than there, so that stages.ts imports
// nothing from this module (no import cycle, not even a type-only one). On an identifier TypeScript
// checks the types but not excess keys; an unknown key is refused when the stage is loaded (the
// schema is strict; test/infra/stage-config.test.ts loads every stage).
STAGES satisfies Record<string, StageConfigInput>;

/** A stage config that does not validate. `issues` holds one line per problem, each naming its key. */
export class StageConfigError extends Error {
  public readonly stage: string;
  public readonly issues: readonly string[];

  public constructor(stage: string, issues: readonly string[]) {
    super(`invalid stage config "${stage}":\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
    this.name = 'StageConfigError';
    this.stage = stage;
    this.issues = issues;
  }
}

/**
 * Returns the validated config of a stage: the stage's values from `STAGES`, then `overrides`,
 * then the defaults for anything neither sets.
 *
 * @throws {StageConfigError} when the stage is unknown or a value breaks a rule; the message
 *   names each bad key and, where there is a fixed set, the valid values.
 * @example
 * const config = loadStageConfig('prod');
 * const fast = loadStageConfig('dev', { processor: { timeoutSeconds: 10 } });
 */
export function loadStageConfig(name: string, overrides: StageConfigOverrides = {}): StageConfig {
  if (!Object.hasOwn(STAGES, name)) {
    throw new StageConfigError(name, [`unknown stage "${name}": valid stages are ${Object.keys(STAGES).join(', ')} (default: ${DEFAULT_STAGE})`]);
  }
  const input = mergeOverrides({ ...STAGES[name as keyof typeof STAGES], stage: name }, overrides);
  // reportInput puts the rejected value into each issue, so the message can quote it.
  const result = StageConfigSchema.safeParse(input, { reportInput: true });
  if (!result.success) {
    throw new StageConfigError(name, result.error.issues.map(describeIssue));
  }
  // The assignment makes the compiler check that the schema's output is a StageConfig.
  const config: StageConfig = result.data;
  return config;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    const where = key === '' ? 'stage config' : key;
    return `${where}: unknown key(s) ${issue.keys.join(', ')}; valid keys are ${validKeysAt(issue.path).join(', ')}`;
  }
  if (issue.code === 'invalid_value') {
    const valid = issue.values.map((value) => JSON.stringify(value)).join(', ');
    return `${key}: ${JSON.stringify(issue.input)} is not valid; valid values are ${valid}`;
  }
  return `${key}: ${issue.message}`;
}

type SchemaDef = { innerType?: z.core.$ZodType; shape?: Record<string, z.core.$ZodType> };

/** The object shape under a schema, looking through wrappers such as `.default()` and `.prefault()`. */
function objectShape(schema: z.core.$ZodType): Record<string, z.core.$ZodType> | undefined {
  let def = schema._zod.def as SchemaDef;
  while (def.innerType) def = def.innerType._zod.def as SchemaDef;
  return def.shape;
}

/** The keys the schema accepts at `path`, to list them when a key is misspelt. */
function validKeysAt(path: readonly PropertyKey[]): string[] {
  let shape = objectShape(StageConfigSchema);
  for (const segment of path) {
    const child = shape?.[String(segment)];
    shape = child ? objectShape(child) : undefined;
  }
  return Object.keys(shape ?? {});
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mergeOverrides(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? mergeOverrides(current, value) : value;
  }
  return merged;
}

import type { TierName } from '../contract';
import type { RuntimeConfig } from './runtime-config';

/** How one task goes down the fallback chain. */
export interface TaskPolicy {
  /** Tiers in the order they are tried; `human` is always the end of the chain, listed or not. */
  readonly tiers: readonly TierName[];
  /** A result whose `confidence` is below this goes on down the chain (0: never). */
  readonly minConfidence: number;
}

const DEFAULT_TIERS: readonly TierName[] = ['primary', 'secondary', 'rules', 'human'];

/**
 * The policy of a task: the stage's `TASK_POLICIES` entry for it, else the whole chain and the
 * stage's `MIN_CONFIDENCE`. Kept in the stage config rather than in the task definition, so an
 * operator can route one task differently (e.g. straight to rules during an incident) without a
 * code change.
 */
export function policyFor(task: string, config: Pick<RuntimeConfig, 'taskPolicies' | 'minConfidence'>): TaskPolicy {
  const configured = config.taskPolicies[task];
  return {
    tiers: configured?.tiers ?? DEFAULT_TIERS,
    minConfidence: configured?.minConfidence ?? config.minConfidence,
  };
}

/** The `confidence` a result reports (a number in [0, 1]), if its schema has one. */
export function confidenceOf(result: unknown): number | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const value = (result as { confidence?: unknown }).confidence;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

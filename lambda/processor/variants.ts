import { createHash } from 'node:crypto';
import { METRIC, TIER, type TierName, VARIANT, type VariantName } from '../contract';
import { NO_SWITCHES, type RuntimeSwitches, type SwitchSet } from '../resilience/runtime-switches';
import type { BatchMetrics } from './batch-metrics';
import type { TierNote } from './tier-note';

/*
 * Where the runtime switches meet a record: which variant serves it (the canary split), which
 * tiers it may use (tier off, force rules), and whether its task is stopped. The fallback chain
 * and the record protocol call these at one place each, so the switches' logic stays here.
 */

/** Hash buckets of the canary split: percentages are honoured to 1/100 of a percent. */
const BUCKETS = 10_000;

/**
 * The variant of a key under a canary of `percent` %. The split is by a hash of the key (salted,
 * so it is independent of the ledger's shard digit): a key always lands on the same variant, and
 * raising the percentage only moves keys from baseline to canary, never back (bucket < percent).
 */
export function variantOf(key: string, percent: number): VariantName {
  if (!(percent > 0)) return VARIANT.BASELINE;
  if (percent >= 100) return VARIANT.CANARY;
  return canaryBucket(key) < percent * (BUCKETS / 100) ? VARIANT.CANARY : VARIANT.BASELINE;
}

/** The key's bucket in [0, BUCKETS). */
export function canaryBucket(key: string): number {
  return createHash('sha256').update(`canary#${key}`).digest().readUInt32BE(0) % BUCKETS;
}

/** How one record is routed through the chain, under the switches in force. */
export interface Route {
  readonly variant: VariantName;
  /** The tiers the record may use, in the policy's order (switched-off tiers removed). */
  readonly tiers: readonly TierName[];
  /**
   * The version of the task's prompt the model tiers use: a canary key of the task the canary's
   * `canary.version` names gets that candidate version; otherwise undefined (the task's current one).
   */
  readonly promptVersion?: string;
  /** The model of a model tier: the canary's candidate replaces the primary for canary keys. */
  modelFor(tier: TierName, configured: { readonly primaryModelId: string; readonly secondaryModelId?: string }): string | undefined;
  /** Why tiers were skipped (recorded with the record's other notes). */
  readonly notes: readonly TierNote[];
}

/**
 * The route of a record of `task` with `key`, given the policy's tiers and the switches.
 * `force-rules.<task>` keeps only rules and human; `tier-off.<tier>` drops that model tier.
 */
export function routeRecord(switches: SwitchSet | undefined, task: string, key: string, policyTiers: readonly TierName[]): Route {
  const set = switches ?? NO_SWITCHES;
  const notes: TierNote[] = [];
  const tiers = policyTiers.filter((tier) => {
    const model = tier === TIER.PRIMARY || tier === TIER.SECONDARY;
    if (model && set.forceRules.has(task)) {
      notes.push({ tier, reason: `runtime switch force-rules.${task}` });
      return false;
    }
    if (model && set.tiersOff.has(tier)) {
      notes.push({ tier, reason: `runtime switch tier-off.${tier}` });
      return false;
    }
    return true;
  });
  const variant = variantOf(key, set.canary.percent);
  const candidate = set.canary.modelId;
  const version = set.canary.taskVersion;
  return {
    variant,
    tiers,
    notes,
    ...(variant === VARIANT.CANARY && version?.task === task ? { promptVersion: version.version } : {}),
    modelFor: (tier, configured) => {
      if (tier === TIER.PRIMARY) return variant === VARIANT.CANARY && candidate ? candidate : configured.primaryModelId;
      if (tier === TIER.SECONDARY) return configured.secondaryModelId;
      return undefined;
    },
  };
}

/** Whether `stop-task.<task>` is set: the record goes back on the queue untouched. */
export function taskStopped(switches: RuntimeSwitches | undefined, task: string): boolean {
  return switches?.current().stoppedTasks.has(task) ?? false;
}

/** What one served record contributes to its variant's metrics. */
export interface VariantSample {
  readonly variant: VariantName;
  readonly tier: string;
  /** Model latency of the serving tier (ms); only for model tiers. */
  readonly latencyMs: number;
  readonly notes: readonly TierNote[];
}

/** The error class a tier's note carries when the model's answer failed validation after its repair. */
const INVALID_OUTPUT = 'InvalidModelOutputError';

/**
 * Counts a served record under its variant (dimension `variant`, besides the `service`+`stage`
 * set every metric has): records, fallbacks (served below the primary tier, review included),
 * validation failures (a model answer still invalid after its repair) and the serving model's
 * latency. The canary alarm compares these between the variants. Only while a canary runs: with
 * none, there is nothing to compare and the happy path publishes nothing more.
 */
export function recordVariantMetrics(metrics: BatchMetrics, switches: RuntimeSwitches | undefined, sample: VariantSample): void {
  if (!switches || switches.current().canary.percent <= 0) return;
  const dimensions = { variant: sample.variant };
  metrics.count(METRIC.VARIANT_RECORDS, 1, dimensions);
  metrics.count(METRIC.VARIANT_FALLBACKS, sample.tier === TIER.PRIMARY ? 0 : 1, dimensions);
  const invalid = sample.notes.some((note) => note.errorClass === INVALID_OUTPUT);
  metrics.count(METRIC.VARIANT_VALIDATION_FAILURES, invalid ? 1 : 0, dimensions);
  if (sample.tier === TIER.PRIMARY || sample.tier === TIER.SECONDARY) metrics.observe(METRIC.VARIANT_LATENCY, sample.latencyMs, dimensions);
}

import type * as z from '../shared/zod-mini';

/** What a task's `features` function sees: one record as it completes. */
export interface FeatureObservation<I = unknown, O = unknown> {
  /** The input after the task's schema. */
  readonly input: I;
  /** The validated result. */
  readonly output: O;
  /** The tier that served it: primary, secondary, rules or human. */
  readonly tier: string;
}

/** A chat prompt, provider-neutral. */
export interface Prompt {
  readonly system: string;
  readonly user: string;
}

/**
 * A candidate version of a task: a changed prompt, tried on a share of keys (canary) or beside the
 * current version (shadow, replay) before it replaces it. The schemas stay the task's: a candidate
 * that needs a different output schema is a new task, since its results are not comparable.
 */
export interface CandidateVersion<I = unknown> {
  /** What changed against the current version, in a line (`pipectl canary status` prints it). */
  readonly summary: string;
  buildPrompt(input: I): Prompt;
}

/**
 * A task type is a plug-in: everything the pipeline needs to know about one kind of work.
 *
 * To add one, write a module that exports a `TaskDefinition` and list it in `registry.ts`.
 *
 * @example
 * export const summariseEmail: TaskDefinition<EmailInput, EmailSummary> = {
 *   name: 'summarise-email',
 *   version: '1',
 *   inputSchema: EmailInput,
 *   outputSchema: EmailSummary,
 *   buildPrompt: (input) => ({ system: '…', user: `<email>${JSON.stringify(input)}</email>` }),
 * };
 */
export interface TaskDefinition<I = unknown, O = unknown> {
  /** Stable name producers put in `task`. */
  readonly name: string;
  /**
   * Part of the idempotency key: bump it when the prompt or schema changes meaning, so inputs
   * processed under the old version are processed again under the new one.
   */
  readonly version: string;
  readonly inputSchema: z.ZodMiniType<I>;
  /** Model output is untrusted input: it is stored only after it passes this schema. */
  readonly outputSchema: z.ZodMiniType<O>;
  buildPrompt(input: I): Prompt;
  /**
   * Versions of this task that are not live yet, by version: `canary.version`, `shadow.version`
   * and `pipectl replay --task-version` name one as `<task>@<version>`. The idempotency key keeps
   * the current `version` whichever prompt served a key, so a rolled-back canary leaves no key
   * behind. To promote a candidate: make its prompt `buildPrompt`, bump `version`, deploy.
   */
  readonly candidateVersions?: Readonly<Record<string, CandidateVersion<I>>>;
  /** A deterministic classifier that needs no model: the last automatic tier of the fallback chain. */
  readonly rules?: (input: I) => O;
  /**
   * The features the drift monitor watches, as bin labels: computed when a record completes and
   * stored on its ledger item (`features`), then counted per bin and compared with a baseline.
   * Keep each feature to a few labels (buckets, deciles, enum values — at most ~20): every label
   * is a bin, and free text would make every item its own bin.
   */
  readonly features?: (observation: FeatureObservation<I, O>) => Readonly<Record<string, string>>;
  /**
   * Features whose labels have an order (length buckets, deciles, priorities), with their labels
   * in that order. In small samples these are tested with Kolmogorov-Smirnov, which sees a shift
   * toward one end; the others with chi-squared.
   */
  readonly orderedFeatures?: Readonly<Record<string, readonly string[]>>;
}

/** A task definition with its generic parameters erased, as the registry holds it. */
// biome-ignore lint/suspicious/noExplicitAny: erasing both parameters needs `any` (a task's input type appears in and out, so `unknown` would not accept a concrete task).
export type AnyTaskDefinition = TaskDefinition<any, any>;

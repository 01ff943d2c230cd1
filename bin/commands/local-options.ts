/** The options of `pipectl local`, shared by the command (local.ts) and its lazily loaded run (local-run.ts). */

export interface LocalOptions {
  readonly messages?: number;
  readonly input?: string;
  readonly duplicates?: number;
  readonly agentEdits?: number;
  readonly faults?: string;
  readonly seed?: number;
  readonly report?: string;
  readonly serve?: boolean;
  readonly console?: boolean;
  readonly stage: string;
  readonly timeScale: number;
  readonly progress: boolean;
  readonly json?: boolean;
  readonly pacing: PacingOption;
  readonly chart?: string;
  /** `--drift-reference`: the reference workload's file, or false for none. @default the scheduled monitors' (examples/tickets.jsonl) */
  readonly driftReference?: string | false;
  /** A shadow candidate: a model id, or a task version `<task>@<version>` (asked of the primary model). */
  readonly shadow?: { readonly candidate: string; readonly percent: number };
}

/**
 * What the processor is told about the simulated provider's quota (issue 14): `quota` — the
 * quota of `--faults rpm=N,tpm=N`, as an operator would configure the account's quota in the stage
 * config; `adaptive` — nothing, it learns a rate from the 429s; `off` — no pacing at all.
 */
export const PACING_OPTIONS = ['quota', 'adaptive', 'off'] as const;
export type PacingOption = (typeof PACING_OPTIONS)[number];

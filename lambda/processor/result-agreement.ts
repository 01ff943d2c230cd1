import { confidenceOf } from './task-policy';

/*
 * How two results of the same input compare: what `pipectl replay` prints per input, and what the
 * shadow run counts as agreement between the primary and the candidate.
 */

/** The fields whose equality is "agreement" (ticket-triage's decision; other tasks compare what they have of them). */
const DECISION_FIELDS = ['category', 'priority'] as const;

export interface ResultComparison {
  /** Top-level fields that differ, with both values. */
  readonly changes: ReadonlyArray<{ readonly field: string; readonly stored: unknown; readonly replayed: unknown }>;
  /** Same category and priority (undefined: nothing to compare against). */
  readonly agrees?: boolean;
  /** Second confidence − first. */
  readonly confidenceShift?: number;
}

/** Field-by-field comparison of two results (top level; nested values compared as JSON). */
export function compareResults(stored: unknown, replayed: unknown): ResultComparison {
  if (!isRecord(stored)) return { changes: [] };
  if (!isRecord(replayed)) return { changes: [{ field: '(result)', stored, replayed: undefined }], agrees: false };
  const fields = [...new Set([...Object.keys(stored), ...Object.keys(replayed)])].sort();
  const changes = fields
    .filter((field) => JSON.stringify(stored[field]) !== JSON.stringify(replayed[field]))
    .map((field) => ({ field, stored: stored[field], replayed: replayed[field] }));
  const decisive = DECISION_FIELDS.filter((field) => field in stored || field in replayed);
  const agrees = decisive.length > 0 ? decisive.every((field) => stored[field] === replayed[field]) : changes.length === 0;
  const before = confidenceOf(stored);
  const after = confidenceOf(replayed);
  return { changes, agrees, ...(before !== undefined && after !== undefined ? { confidenceShift: Math.round((after - before) * 1000) / 1000 } : {}) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

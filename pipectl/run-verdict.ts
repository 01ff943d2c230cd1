import type { LocalRunReport } from '../local/report';

/** What a run's verdict reads of its report. */
export type VerdictFacts = Pick<LocalRunReport, 'invariantHolds' | 'invariantViolations' | 'unique' | 'completed' | 'deadLettered' | 'inReview'> & {
  /** Messages still on the input queue when the report was read (`details.inputQueueDepth`): the run stopped before it finished. */
  readonly inputQueueDepth: number;
};

/**
 * The summary's last word. A run that stopped waiting before its queue emptied (its drain bound, on
 * a slow machine) is not finished: its violations are the keys not processed yet, so it says that
 * first rather than calling the invariant broken (it cannot hold until they are processed).
 */
export function verdict(report: VerdictFacts): string {
  if (report.invariantHolds)
    return `  ✔ invariant holds: ${report.unique} unique = ${report.completed} completed + ${report.deadLettered} dead-lettered + ${report.inReview} in review`;
  const violations = report.invariantViolations.map((violation) => `      - ${violation}`).join('\n');
  const queued = report.inputQueueDepth;
  return queued > 0
    ? `  ✘ NOT FINISHED: ${queued} message(s) still on the input queue when the run stopped waiting for it to drain; the invariant cannot hold until they are processed:\n${violations}`
    : `  ✘ INVARIANT BROKEN:\n${violations}`;
}

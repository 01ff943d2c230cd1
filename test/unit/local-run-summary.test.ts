/** `pipectl local`'s summary (bin/commands/local-run.ts): what its dead-lettered line counts, and its last word. */
import { describe, expect, it } from 'vitest';
import { formatReasons } from '../../bin/commands/local-run';
import { verdict } from '../../pipectl/run-verdict';

describe("the summary's DLQ reasons", () => {
  it('counts DLQ messages, not keys, and says so: under faults a dead-lettered key can have several', () => {
    // Found in a loaded `pipectl local --messages 40 --faults …` run: "dead-lettered 4 (0 rejected
    // as bad input: MAX_RECEIVES_EXCEEDED 16)" read as sixteen keys out of receives.
    expect(formatReasons({ MAX_RECEIVES_EXCEEDED: 16 })).toBe('; 16 DLQ messages: MAX_RECEIVES_EXCEEDED 16');
    expect(formatReasons({ NOT_JSON: 2, MAX_RECEIVES_EXCEEDED: 1 })).toBe('; 3 DLQ messages: NOT_JSON 2, MAX_RECEIVES_EXCEEDED 1');
    expect(formatReasons({ NOT_JSON: 1 })).toBe('; 1 DLQ message: NOT_JSON 1');
    expect(formatReasons({})).toBe('');
  });
});

describe("the summary's verdict", () => {
  const report = { unique: 10, completed: 7, deadLettered: 1, inReview: 0 };
  const violations = [
    '2 sent key(s) are neither completed, dead-lettered nor in review: a (none), b (FAILED)',
    'unique 10 ≠ completed 7 + dead-lettered 1 + in review 0',
  ];

  it('says the invariant holds with its sum', () => {
    expect(verdict({ ...report, completed: 9, invariantHolds: true, invariantViolations: [], inputQueueDepth: 0 })).toBe(
      '  ✔ invariant holds: 10 unique = 9 completed + 1 dead-lettered + 0 in review',
    );
  });

  it('calls a run that stopped with messages still queued not finished, not a broken invariant', () => {
    // A contended full run's 2,000 messages reached their drain bound with 401 still queued, and
    // the summary said INVARIANT BROKEN for keys that were only not processed yet.
    const text = verdict({
      ...report,
      invariantHolds: false,
      invariantViolations: [...violations, '2 message(s) are still on the input queue'],
      inputQueueDepth: 2,
    });
    expect(text).toMatch(/^ {2}✘ NOT FINISHED: 2 message\(s\) still on the input queue/);
    expect(text).not.toContain('INVARIANT BROKEN');
    expect(text).toContain('      - 2 message(s) are still on the input queue');
  });

  it('calls a finished run that lost or doubled a key a broken invariant, with every violation', () => {
    const text = verdict({ ...report, invariantHolds: false, invariantViolations: violations, inputQueueDepth: 0 });
    expect(text.split('\n')).toEqual(['  ✘ INVARIANT BROKEN:', ...violations.map((violation) => `      - ${violation}`)]);
  });
});

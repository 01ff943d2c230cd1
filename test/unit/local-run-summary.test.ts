/** `pipectl local`'s summary (bin/commands/local-run.ts): what its dead-lettered line counts. */
import { describe, expect, it } from 'vitest';
import { formatReasons } from '../../bin/commands/local-run';

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

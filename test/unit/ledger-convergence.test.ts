/**
 * The reconciler's convergence rule (completeness.ts `convergenceOf`): which unsettled ledger items
 * belong to a message SQS has redriven behind the ledger's back, at the exact edges.
 */
import { describe, expect, it } from 'vitest';
import { LEDGER_STATUS } from '../../lambda/contract';
import { assessJob, convergenceOf, DEFAULT_ABANDON_AFTER_MS } from '../../lambda/monitors/completeness';

const NOW = Date.UTC(2026, 11, 2, 12);
const MAX = 5;

describe('convergenceOf', () => {
  it.each<[string, Parameters<typeof convergenceOf>[0], ReturnType<typeof convergenceOf>]>([
    [
      'IN_PROGRESS on the last receive, lease ended 1 ms ago',
      { status: LEDGER_STATUS.IN_PROGRESS, leaseUntil: NOW - 1, receiveCount: MAX, updatedAt: NOW - 60_000 },
      'out-of-receives',
    ],
    [
      'IN_PROGRESS on the last receive, lease ends exactly now (still live)',
      { status: LEDGER_STATUS.IN_PROGRESS, leaseUntil: NOW, receiveCount: MAX, updatedAt: NOW - 60_000 },
      undefined,
    ],
    [
      'IN_PROGRESS past the last receive (observed by a later copy)',
      { status: LEDGER_STATUS.IN_PROGRESS, leaseUntil: NOW - 1, receiveCount: MAX + 1, updatedAt: NOW - 60_000 },
      'out-of-receives',
    ],
    [
      'IN_PROGRESS one receive before the last, lease ended: its message comes back',
      { status: LEDGER_STATUS.IN_PROGRESS, leaseUntil: NOW - 1, receiveCount: MAX - 1, updatedAt: NOW - 60_000 },
      undefined,
    ],
    ['FAILED on the last receive', { status: LEDGER_STATUS.FAILED, receiveCount: MAX, updatedAt: NOW - 1 }, 'out-of-receives'],
    [
      'FAILED earlier, written just under the abandon time ago',
      { status: LEDGER_STATUS.FAILED, receiveCount: 2, updatedAt: NOW - DEFAULT_ABANDON_AFTER_MS },
      undefined,
    ],
    [
      'FAILED earlier, written just over the abandon time ago',
      { status: LEDGER_STATUS.FAILED, receiveCount: 2, updatedAt: NOW - DEFAULT_ABANDON_AFTER_MS - 1 },
      'abandoned',
    ],
    [
      'IN_PROGRESS earlier, lease ended, not written for over the abandon time',
      { status: LEDGER_STATUS.IN_PROGRESS, leaseUntil: NOW - 1, receiveCount: 1, updatedAt: NOW - DEFAULT_ABANDON_AFTER_MS - 1 },
      'abandoned',
    ],
    [
      'FAILED on an earlier receive, its message seen in the DLQ (later receives died before writing)',
      { status: LEDGER_STATUS.FAILED, receiveCount: 2, updatedAt: NOW - 60_000, inDeadLetterQueue: true },
      'in-dlq',
    ],
    [
      'IN_PROGRESS on an earlier receive, lease ended, its message seen in the DLQ',
      { status: LEDGER_STATUS.IN_PROGRESS, leaseUntil: NOW - 1, receiveCount: 1, updatedAt: NOW - 60_000, inDeadLetterQueue: true },
      'in-dlq',
    ],
    [
      'IN_PROGRESS with a live lease, a copy of its input in the DLQ: the live attempt settles it',
      { status: LEDGER_STATUS.IN_PROGRESS, leaseUntil: NOW + 1, receiveCount: 1, updatedAt: NOW - 60_000, inDeadLetterQueue: true },
      undefined,
    ],
    [
      'COMPLETED with a copy in the DLQ (a settled copy)',
      { status: LEDGER_STATUS.COMPLETED, receiveCount: 1, updatedAt: 0, inDeadLetterQueue: true },
      undefined,
    ],
    ['COMPLETED, however old', { status: LEDGER_STATUS.COMPLETED, receiveCount: MAX, updatedAt: 0 }, undefined],
    ['DEAD_LETTERED already', { status: LEDGER_STATUS.DEAD_LETTERED, receiveCount: MAX, updatedAt: 0 }, undefined],
  ])('%s → %s', (_name, item, expected) => {
    expect(convergenceOf(item, NOW, { maxReceiveCount: MAX })).toBe(expected);
  });

  it('a DEAD_LETTERED item counts as dead-lettered in its job, so the job is complete', () => {
    const job = { jobId: 'j', expected: 2, sentAt: NOW - 1000, deadline: NOW - 1 };
    const assessment = assessJob(
      job,
      [
        { key: 'a', status: LEDGER_STATUS.COMPLETED },
        { key: 'b', status: LEDGER_STATUS.DEAD_LETTERED, receiveCount: MAX },
      ],
      { now: NOW, maxReceiveCount: MAX },
    );
    expect(assessment).toMatchObject({ completed: 1, deadLettered: 1, missing: 0, stuck: 0, pending: 0, status: 'complete' });
  });
});

import { LEDGER_STATUS } from '../lambda/contract';
import type { JobRecord } from './job-registry';
import { scanLedgerByJob } from './ledger-reader';
import { jobIdOfBody, keyOfMessage, peekMessages } from './queue-inspector';
import type { PipelineTarget } from './target';

/** Where a job's messages are: `sent = completed + dead-lettered + in review` once `pending` is 0. */
export interface JobProgress {
  readonly jobId: string;
  /** Messages sent (duplicates included), as registered. */
  readonly sent: number;
  /** Distinct inputs among them (as registered; else the sent count). */
  readonly unique: number;
  readonly completed: number;
  readonly deadLettered: number;
  readonly inReview: number;
  /** unique − (completed + dead-lettered + in review): queued, in flight, retrying, or lost. */
  readonly pending: number;
  readonly sentAt: number;
  readonly deadline?: number;
  readonly overdue: boolean;
  readonly complete: boolean;
}

/**
 * Progress of jobs, from the ledger (items carry the `jobId` their message named) and the DLQ
 * (dead letters carry their body, whose envelope names the job).
 *
 * A key counts once per job however often it was sent; an input that another job completed
 * first is recorded under that job (the ledger keeps the first claimer's jobId), so it shows as
 * pending here — `pipectl send` skips such inputs and says so.
 */
export async function jobProgress(target: PipelineTarget, jobs: readonly JobRecord[], now = Date.now()): Promise<JobProgress[]> {
  const deadLetterKeys = await deadLetterKeysByJob(target);
  const results: JobProgress[] = [];
  for (const job of jobs) {
    const items = await scanLedgerByJob(target.dynamodb, target.resources.ledgerTableName, job.jobId);
    const completed = new Set<string>();
    const inReview = new Set<string>();
    for (const item of items) {
      if (item.status === LEDGER_STATUS.COMPLETED) completed.add(item.pk);
      else if (item.status === LEDGER_STATUS.IN_REVIEW) inReview.add(item.pk);
    }
    const deadLettered = [...(deadLetterKeys.get(job.jobId) ?? [])].filter((key) => !completed.has(key) && !inReview.has(key)).length;
    const unique = job.unique ?? job.expected;
    const pending = Math.max(0, unique - completed.size - inReview.size - deadLettered);
    results.push({
      jobId: job.jobId,
      sent: job.expected,
      unique,
      completed: completed.size,
      deadLettered,
      inReview: inReview.size,
      pending,
      sentAt: job.sentAt,
      ...(job.deadline !== undefined ? { deadline: job.deadline } : {}),
      overdue: pending > 0 && job.deadline !== undefined && now > job.deadline,
      complete: pending === 0,
    });
  }
  return results;
}

/** The DLQ's keys per job id (read, then made visible again). */
async function deadLetterKeysByJob(target: PipelineTarget): Promise<Map<string, Set<string>>> {
  const peeked = await peekMessages(target.sqs, target.resources.inputDlqUrl, { limit: 10_000 });
  try {
    const byJob = new Map<string, Set<string>>();
    for (const message of peeked.messages) {
      const jobId = jobIdOfBody(message.Body);
      if (!jobId) continue;
      const keys = byJob.get(jobId) ?? new Set<string>();
      keys.add(keyOfMessage(message));
      byJob.set(jobId, keys);
    }
    return byJob;
  } finally {
    await peeked.release();
  }
}

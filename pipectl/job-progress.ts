import { assessJob, type JobCompleteness, type JobRecord, listJobs, readJob } from '../lambda/monitors/completeness';
import { readJobItems } from '../lambda/monitors/ledger-reader';
import { OperationFailedError } from './errors';
import type { PipelineTarget } from './target';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';

/** A job's completeness as the reconciler computes it, with how many messages were sent. */
export type JobProgress = JobCompleteness & {
  /** Messages sent (duplicates included), as registered. */
  readonly sent: number;
  /** Read capacity this assessment cost (the `byJob` index, 16 shards). */
  readonly readUnits: number;
};

/**
 * The input queue's maxReceiveCount, from its redrive policy: a FAILED item received that often
 * is on its way to the DLQ (the reconciler's rule; lambda/monitors/completeness.ts).
 */
async function maxReceiveCount(target: PipelineTarget): Promise<number> {
  const { Attributes = {} } = await target.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: target.resources.inputQueueUrl, AttributeNames: ['RedrivePolicy'] }),
  );
  const policy = Attributes.RedrivePolicy ? (JSON.parse(Attributes.RedrivePolicy) as { maxReceiveCount?: unknown }) : {};
  const count = Number(policy.maxReceiveCount);
  if (!Number.isInteger(count) || count < 1)
    throw new OperationFailedError(`the input queue has no redrive policy with a maxReceiveCount (${Attributes.RedrivePolicy ?? 'none'})`);
  return count;
}

/**
 * Progress of jobs with the reconciler's own code (`assessJob` over the ledger's `byJob` index),
 * so `pipectl jobs` and the IncompleteJobItems metric always agree:
 * `expected = completed + dead-lettered + in review + missing`.
 */
export async function jobProgress(target: PipelineTarget, jobs: readonly JobRecord[], now = Date.now()): Promise<JobProgress[]> {
  const maxReceives = await maxReceiveCount(target);
  const results: JobProgress[] = [];
  for (const job of jobs) {
    const { items, readUnits } = await readJobItems(target.dynamodb, target.resources.ledgerTableName, job.jobId);
    results.push({ ...assessJob(job, items, { now, maxReceiveCount: maxReceives }), sent: job.expected, readUnits });
  }
  return results;
}

/** One registered job, or undefined. */
export function findJob(target: PipelineTarget, jobId: string): Promise<JobRecord | undefined> {
  return readJob(target.dynamodb, target.resources.controlTableName, jobId);
}

/** Registered jobs, most recently sent first. */
export async function recentJobs(target: PipelineTarget, limit: number): Promise<JobRecord[]> {
  const jobs = await listJobs(target.dynamodb, target.resources.controlTableName);
  return jobs.sort((a, b) => b.sentAt - a.sentAt).slice(0, limit);
}

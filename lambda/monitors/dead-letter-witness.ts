import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { MESSAGE_ATTRIBUTE } from '../contract';
import { keyOfMessageBody } from '../processor/message-parser';
import { peekMessages } from '../shared/queue-peek';
import type { DeadLetterWitness } from './completeness';

/** How long the messages read stay hidden before the witness releases them (the release is immediate unless the run dies). */
const HIDE_SECONDS = 30;

/** An unchanged DLQ is swept again after this long anyway (a redrive out and an arrival in can leave the depth as it was). */
export const RESWEEP_AFTER_MS = 3_600_000;

/**
 * The input queue's DLQ as the reconciler's witness: the keys of the messages in it, read without
 * consuming them (each is received once, then made visible again; the DLQ has no redrive policy,
 * so the receive count it adds changes nothing). At most `limit` messages: a DLQ deeper than that
 * leaves the rest to the age rule (`abandoned`) of completeness.ts `convergenceOf`.
 *
 * While the read is under way (a second or so per thousand messages) those messages are hidden
 * from `pipectl dlq`; an operator's redrive at that moment skips them and says so by its counts.
 */
export function deadLetterWitness(sqs: SQSClient, dlq: { readonly url: string; readonly limit: number }): DeadLetterWitness {
  // Per execution environment: a cold start sweeps once more, which costs a read and changes nothing.
  let lastSwept: { depth: number; at: number } | undefined;
  return {
    async sweepDue(now) {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: dlq.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
      );
      const depth = Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
      const due = depth > 0 && (lastSwept === undefined || lastSwept.depth !== depth || now - lastSwept.at >= RESWEEP_AFTER_MS);
      return { due, depth };
    },
    markSwept(depth, now) {
      lastSwept = { depth, at: now };
    },
    async keysInDeadLetterQueue() {
      const peeked = await peekMessages(sqs, dlq.url, { limit: dlq.limit, visibilitySeconds: HIDE_SECONDS });
      try {
        const keys = new Set<string>();
        for (const message of peeked.messages) {
          keys.add(message.MessageAttributes?.[MESSAGE_ATTRIBUTE.INPUT_HASH]?.StringValue ?? keyOfMessageBody(message.Body ?? ''));
        }
        return keys;
      } finally {
        await peeked.release();
      }
    },
  };
}

/**
 * The fallback chain of the bundled processor, invocation by invocation, on the emulators and the
 * model simulator: confidence routing, task policies, repair, the loop guard, the last receive,
 * queue-level backoff and the budget. Each case starts its own pipeline with the settings it needs.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { ENV, LEDGER_STATUS, METRIC } from '../../lambda/contract';
import { inputKey } from '../../lambda/processor/input-key';
import { type LocalPipeline, startLocalPipeline } from '../../local/local-pipeline';
import { synthesizeLocalStack } from '../../local/stack-model';
import { PipelineHarness } from './pipeline-harness';

const stack = synthesizeLocalStack();
let pipeline: LocalPipeline | undefined;
afterEach(async () => {
  await pipeline?.stop();
  pipeline = undefined;
});

/**
 * Half speed (a 15 s invocation): these cases drive one invocation at a time and assert what it
 * did, which a starved CPU must not turn into a timeout.
 */
const TIME_SCALE = 0.5;

async function start(environment: Record<string, string>, faults = ''): Promise<PipelineHarness> {
  // No scheduled monitors: these cases invoke the handler by hand and read the ledger and queues.
  // (With them, each case's own environment would cost a drift reference run on a cold cache:
  // 300 messages through a pipeline of its own, ~10 s of CPU, seven times.)
  pipeline = await startLocalPipeline({ stack, autoStart: false, environment, faults, timeScale: TIME_SCALE, monitors: false });
  return new PipelineHarness(pipeline);
}

let n = 0;
/** A fresh ticket (its own key) and its message body. */
function ticket(subject = 'Charged twice for my order'): { input: Record<string, string>; body: string; key: string } {
  n += 1;
  const input = { subject: `${subject} #${n}`, body: 'My card was charged twice for invoice 5512, please refund the second charge.' };
  return { input, body: JSON.stringify({ task: 'ticket-triage', input }), key: inputKey('ticket-triage', '1', input) };
}

/** Sends one message and invokes the handler with it, as the event source would. */
async function processOne(harness: PipelineHarness, body: string) {
  await harness.send(body);
  const messages = await harness.receive(1);
  return { message: messages[0]!, response: await harness.invoke(messages) };
}

const metric = (name: string) => pipeline!.logs.total(name);

describe('the fallback chain', () => {
  it('routes low confidence down every tier to a human, with the reason of each tier in the review message', async () => {
    const harness = await start({ [ENV.TASK_POLICIES]: JSON.stringify({ 'ticket-triage': { minConfidence: 1 } }) });
    const { body, key } = ticket();
    const { response } = await processOne(harness, body);
    expect(response.batchItemFailures).toEqual([]);

    expect(await harness.ledgerItem(key)).toMatchObject({ status: LEDGER_STATUS.IN_REVIEW });
    const [review] = await harness.receive(1, pipeline!.resources.reviewQueueUrl);
    const escalated = JSON.parse(review!.Body!);
    expect(escalated).toMatchObject({ key, task: 'ticket-triage', modelCalls: 2 });
    expect(escalated.reasonsByTier.map((note: { tier: string }) => note.tier)).toEqual(['primary', 'secondary', 'rules']);
    for (const note of escalated.reasonsByTier) expect(note.reason).toMatch(/confidence .* is below 1/);
    expect(metric(METRIC.FALLBACKS)).toBe(1);
  });

  it('follows a task policy: rules first, no model call', async () => {
    const harness = await start({ [ENV.TASK_POLICIES]: JSON.stringify({ 'ticket-triage': { tiers: ['rules', 'human'] } }) });
    const { body, key } = ticket();
    await processOne(harness, body);
    expect(await harness.ledgerItem(key)).toMatchObject({ status: LEDGER_STATUS.COMPLETED, tier: 'rules', modelId: 'rules' });
    expect(pipeline!.simulator.stats().requests).toBe(0);
  });

  it('repairs an invalid answer once per model, then falls to the rules; the served tier is stored', async () => {
    const harness = await start({}, 'malformed=1');
    const { body, key } = ticket();
    await processOne(harness, body);
    const item = await harness.ledgerItem(key);
    expect(item).toMatchObject({ status: LEDGER_STATUS.COMPLETED, tier: 'rules', modelCalls: 4 });
    const stats = pipeline!.simulator.stats();
    expect(stats.byModel).toEqual({ 'sim-primary': 2, 'sim-secondary': 2 });
    expect(stats.repairs).toBe(2);
    expect(metric(METRIC.VALIDATION_FAILURES)).toBe(4);
  });

  it('stops at the call cap (the loop guard) and sends the record to a human, not round again', async () => {
    const harness = await start({ [ENV.MODEL_CALLS_PER_RECEIVE]: '1' }, 'malformed=1');
    const { body, key } = ticket();
    const { response } = await processOne(harness, body);
    expect(response.batchItemFailures).toEqual([]);
    expect(await harness.ledgerItem(key)).toMatchObject({ status: LEDGER_STATUS.IN_REVIEW });
    expect(pipeline!.simulator.stats().requests).toBe(1);
    const [review] = await harness.receive(1, pipeline!.resources.reviewQueueUrl);
    expect(JSON.parse(review!.Body!).reasons.join(' ')).toMatch(/call cap/);
  });
});

describe('transient model failures', () => {
  it('go back to the queue with a backoff delay, the failure kept in the ledger', async () => {
    const harness = await start({ [ENV.SECONDARY_MODEL_ID]: '' }, '5xx=1');
    const { body, key } = ticket();
    const { message, response } = await processOne(harness, body);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: message.MessageId }]);
    expect(await harness.ledgerItem(key)).toMatchObject({
      status: LEDGER_STATUS.FAILED,
      lastErrorClass: expect.stringMatching(/ServerError|BadGateway|ServiceUnavailable|Overloaded/),
    });
    // Hidden for the queue-level backoff (2.5–5 s at this time scale), not back at once.
    const { Attributes } = await pipeline!.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: pipeline!.resources.inputQueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(Attributes).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '1' });
    expect(metric(METRIC.MODEL_RETRIES)).toBeGreaterThan(0);
    expect(metric(METRIC.RECORDS_FAILED)).toBe(1);
  });

  it('are settled by the rules on the last receive instead of going to the DLQ', async () => {
    const harness = await start({ [ENV.MAX_RECEIVE_COUNT]: '1' }, '5xx=1');
    const { body, key } = ticket();
    const { response } = await processOne(harness, body);
    expect(response.batchItemFailures).toEqual([]);
    expect(await harness.ledgerItem(key)).toMatchObject({ status: LEDGER_STATUS.COMPLETED, tier: 'rules' });
  });
});

describe('the hourly budget', () => {
  it('once spent, skips the models: the next records are settled by the rules', async () => {
    const harness = await start({ [ENV.BUDGET_TOKENS_PER_HOUR]: '50' });
    const first = ticket();
    await processOne(harness, first.body);
    expect(await harness.ledgerItem(first.key)).toMatchObject({ tier: 'primary' });

    // The same execution environment knows the hour's total from its own ADD.
    const second = ticket();
    await processOne(harness, second.body);
    expect(await harness.ledgerItem(second.key)).toMatchObject({ status: LEDGER_STATUS.COMPLETED, tier: 'rules' });
    expect(metric(METRIC.BUDGET_EXHAUSTED)).toBe(1);
    expect(pipeline!.simulator.stats().requests).toBe(1);
  });
});

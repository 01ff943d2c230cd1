/**
 * Rate limited vs outage in the bundled processor, invocation by invocation, on the emulators and
 * the model simulator (issue 14): a 429 sends the record back to the queue — not to the secondary
 * — while receives remain, and never opens the breaker; the limiter defers what it has no token
 * for; an outage (5xx) still falls back.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { BREAKER_STATE, CONTROL, ENV, LEDGER_STATUS, METRIC, QUOTA_ENV } from '../../lambda/contract';
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

/** Half speed, as the other invocation-by-invocation tests: a starved CPU must not turn into a timeout. */
const TIME_SCALE = 0.5;

async function start(environment: Record<string, string>, faults = ''): Promise<PipelineHarness> {
  pipeline = await startLocalPipeline({ stack, autoStart: false, environment, faults, timeScale: TIME_SCALE, monitors: false });
  return new PipelineHarness(pipeline);
}

let n = 0;
function ticket(): { body: string; key: string } {
  n += 1;
  const input = { subject: `Charged twice #${n}`, body: 'My card was charged twice for invoice 5512, please refund the second charge.' };
  return { body: JSON.stringify({ task: 'ticket-triage', input }), key: inputKey('ticket-triage', '1', input) };
}

async function processOne(harness: PipelineHarness, body: string) {
  await harness.send(body);
  const messages = await harness.receive(1);
  return { message: messages[0]!, response: await harness.invoke(messages) };
}

const metric = (name: string) => pipeline!.logs.total(name);

/** No pacing in the processor: what the provider's 429 alone does. One token per (scaled) minute. */
const UNPACED = { [QUOTA_ENV.RATE_PACING]: 'off' };

describe('a 429 (rate limited)', () => {
  it('sends the record back to the queue, not to the secondary, while receives remain; the breaker stays closed', async () => {
    const harness = await start({ ...UNPACED, [ENV.BREAKER_FAILURE_THRESHOLD]: '1' }, 'rpm=1');
    const first = ticket();
    await processOne(harness, first.body);
    expect(await harness.ledgerItem(first.key)).toMatchObject({ status: LEDGER_STATUS.COMPLETED, tier: 'primary' });

    const second = ticket();
    const { message, response } = await processOne(harness, second.body);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: message.MessageId }]);
    expect(await harness.ledgerItem(second.key)).toMatchObject({ status: LEDGER_STATUS.FAILED });
    const stats = pipeline!.simulator.stats();
    expect(stats.byOutcome['rate-limited']).toBeGreaterThanOrEqual(1);
    expect(stats.byModel['sim-secondary']).toBeUndefined();
    expect(metric(METRIC.FALLBACKS)).toBe(0);
    // A breaker that trips on one failure did not trip.
    expect(metric(METRIC.BREAKER_OPEN)).toBe(0);
    // The shared state agrees: no breaker item says open (an absent item is closed).
    const { Item } = await pipeline!.dynamodb.send(
      new GetItemCommand({ TableName: pipeline!.resources.controlTableName, Key: { pk: { S: `${CONTROL.BREAKER_PREFIX}sim-primary` } }, ConsistentRead: true }),
    );
    expect(Item?.state?.S ?? BREAKER_STATE.CLOSED).toBe(BREAKER_STATE.CLOSED);
  });

  it('on the last receive, falls back to the secondary (which has its own quota)', async () => {
    const harness = await start({ ...UNPACED, [ENV.MAX_RECEIVE_COUNT]: '1' }, 'rpm=1');
    await processOne(harness, ticket().body);
    const second = ticket();
    const { response } = await processOne(harness, second.body);
    expect(response.batchItemFailures).toEqual([]);
    expect(await harness.ledgerItem(second.key)).toMatchObject({ status: LEDGER_STATUS.COMPLETED, tier: 'secondary' });
  });
});

describe('the limiter (a configured quota)', () => {
  it('defers a record it has no token for: back to the queue, no model call, a QuotaDeferrals count', async () => {
    // An hour-long quota window: however slowly a loaded machine runs the two records, the second
    // cannot find a fresh window (asserting on state, not on how fast the first one finished).
    const harness = await start(
      { [QUOTA_ENV.MODEL_QUOTAS]: JSON.stringify({ 'sim-primary': { rpm: 1 }, 'sim-secondary': { rpm: 1 } }), [QUOTA_ENV.QUOTA_WINDOW_MS]: '3600000' },
      'rpm=1',
    );
    await processOne(harness, ticket().body);
    const second = ticket();
    const { message, response } = await processOne(harness, second.body);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: message.MessageId }]);
    const stats = pipeline!.simulator.stats();
    // One call in all: the limiter refused the second before the provider could.
    expect(stats.requests).toBe(1);
    expect(stats.byOutcome['rate-limited']).toBe(0);
    expect(metric(METRIC.QUOTA_DEFERRALS)).toBe(1);
    expect(await harness.ledgerItem(second.key)).toMatchObject({ status: LEDGER_STATUS.FAILED });
  });
});

describe('an outage (5xx)', () => {
  it('still falls back to the secondary', async () => {
    const harness = await start(UNPACED, '5xx=1');
    await processOne(harness, ticket().body);
    const stats = pipeline!.simulator.stats();
    expect(stats.byModel['sim-secondary']).toBeGreaterThan(0);
    expect(metric(METRIC.FALLBACKS) + metric(METRIC.RECORDS_FAILED)).toBeGreaterThan(0);
  });
});

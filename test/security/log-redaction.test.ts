/**
 * Raw input never reaches the logs unless the stage allows it: records carrying an email address,
 * a phone number and a card number — valid, malformed, schema-violating and hostile — go through
 * the bundled processor, and no line of its log (Powertools logs and EMF alike) contains any of them.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalPipeline, type LocalPipeline } from '../../local/local-pipeline';
import { sendBodies, waitForDrain } from '../../local/run-local';
import { synthesizeLocalStack } from '../../local/stack-model';
import { ENV } from '../../lambda/contract';

const EMAIL = 'jane.doe.private@example.org';
const PHONE = '+1 415-555-0172';
const CARD = '4111 1111 1111 1111';
const SECRETS = [EMAIL, PHONE, CARD, CARD.replaceAll(' ', ''), '415-555-0172', '4111111111111111'];
const pii = `Please call me on ${PHONE} or write to ${EMAIL}; my card ${CARD} was charged twice.`;

const BODIES = {
  valid: JSON.stringify({ task: 'ticket-triage', input: { subject: 'Double charge', body: pii, customerTier: 'pro' } }),
  notJson: `task=ticket-triage&body=${pii}`,
  truncatedJson: `{"task":"ticket-triage","input":{"subject":"x","body":"${pii}`,
  invalidInput: JSON.stringify({ task: 'ticket-triage', input: { subject: 'Double charge', body: pii, customerTier: CARD } }),
  unknownTask: JSON.stringify({ task: `refund ${CARD}`, input: { body: pii } }),
  hostileKey: `{"task":"ticket-triage","input":{"subject":"x","body":"${pii}","__proto__":{"card":"${CARD}"}}}`,
  extraEnvelopeKey: JSON.stringify({ task: 'ticket-triage', input: { subject: 'x', body: 'y' }, [EMAIL]: CARD }),
};

describe('log redaction', () => {
  let pipeline: LocalPipeline;
  let dir: string;
  let lines: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'log-redaction-'));
    // DEBUG, the most the processor ever logs: plain successes' record lines too (sampled otherwise).
    pipeline = await startLocalPipeline({
      stack: synthesizeLocalStack(),
      logFile: join(dir, 'processor.log'),
      monitors: false,
      environment: { [ENV.POWERTOOLS_LOG_LEVEL]: 'DEBUG' },
    });
    await sendBodies(pipeline.sqs, pipeline.resources.inputQueueUrl, Object.values(BODIES));
    expect(await waitForDrain(pipeline, 60_000)).toBe(true);
    await pipeline.stop();
    lines = readFileSync(join(dir, 'processor.log'), 'utf8').split('\n').filter(Boolean);
  });
  afterAll(async () => {
    await pipeline?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logged one record line per message (the check below is not vacuous)', () => {
    const records = lines.filter((line) => line.includes('"message":"record"'));
    expect(records.length).toBeGreaterThanOrEqual(Object.keys(BODIES).length);
    expect(lines.some((line) => line.includes('"_aws"'))).toBe(true);
  });

  it.each(SECRETS)('no log line contains %s', (secret) => {
    expect(lines.filter((line) => line.includes(secret))).toEqual([]);
  });
});

/** What of a producer's names may appear in a rejection detail (logs, DLQ attributes). */
import { describe, expect, it } from 'vitest';
import { RejectedInputError } from '../../lambda/errors/pipeline-errors';
import { parseMessage, safeName } from '../../lambda/processor/message-parser';

describe('safeName', () => {
  it.each([
    ['subject', '"subject"'],
    ['customer_tier', '"customer_tier"'],
    ['ticket-triage', '"ticket-triage"'],
    ['jane.doe@example.org', '<20 characters, not shown>'],
    ['4111111111111111', '<16 characters, not shown>'],
    ['order12345', '<10 characters, not shown>'],
    ['+1 415-555-0172', '<15 characters, not shown>'],
    ['a'.repeat(65), '<65 characters, not shown>'],
    ['', '<0 characters, not shown>'],
  ])('%j → %s', (name, expected) => {
    expect(safeName(name)).toBe(expected);
  });
});

describe('rejection details never echo the message', () => {
  const card = '4111111111111111';
  it.each([
    ['an unknown task', JSON.stringify({ task: card, input: {} })],
    ['an unknown envelope key', JSON.stringify({ task: 'ticket-triage', input: { subject: 'a', body: 'b' }, [card]: 1 })],
    ['an unknown input key', JSON.stringify({ task: 'ticket-triage', input: { subject: 'a', body: 'b', [card]: 1 } })],
    ['a hostile key under a card-number key', `{"task":"ticket-triage","input":{"${card}":{"__proto__":{}}}}`],
    ['a bad enum value', JSON.stringify({ task: 'ticket-triage', input: { subject: 'a', body: 'b', customerTier: card } })],
    ['not JSON', `card=${card}`],
    ['not JSON, short', `${card.slice(0, 6)}x`],
    ['truncated JSON', `{"task":"${card}`],
  ])('%s', (_name, body) => {
    let error: unknown;
    try {
      parseMessage(body);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(RejectedInputError);
    // Not even a fragment: the first six digits would already identify the card's issuer.
    expect((error as RejectedInputError).detail).not.toContain(card.slice(0, 6));
    expect((error as RejectedInputError).message).not.toContain(card.slice(0, 6));
    expect((error as RejectedInputError).detail).not.toMatch(/card|4111/);
  });
});

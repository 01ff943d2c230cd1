import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { InvalidModelOutputError } from '../../lambda/errors/pipeline-errors';
import { parseModelOutput } from '../../lambda/processor/model-output';
import { TicketTriage } from '../../lambda/tasks/ticket-triage';

const ANSWER = { category: 'billing', priority: 'high', confidence: 0.8, summary: 'Customer asks for a refund.' };
const JSON_TEXT = JSON.stringify(ANSWER);
const PRETTY = JSON.stringify(ANSWER, null, 2);

/** The error parseModelOutput throws; fails the test when the text is accepted. */
function failureOf(text: string, finishReason = 'stop'): InvalidModelOutputError {
  try {
    parseModelOutput(text, TicketTriage, finishReason);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidModelOutputError);
    return error as InvalidModelOutputError;
  }
  throw new Error(`expected InvalidModelOutputError, but the output was accepted: ${text.slice(0, 120)}`);
}

describe('parseModelOutput: accepted answers', () => {
  it.each<[string, string]>([
    ['plain JSON', JSON_TEXT],
    ['plain JSON with surrounding whitespace', `\n\n  ${PRETTY}\n  `],
    ['a ```json fenced block', `\`\`\`json\n${PRETTY}\n\`\`\``],
    ['a ```JSON fenced block (language tag in any case)', `\`\`\`JSON\n${JSON_TEXT}\n\`\`\``],
    ['a fenced block with no language tag', `\`\`\`\n${JSON_TEXT}\n\`\`\``],
    ['a fenced block with whitespace around it', `  \n\`\`\`json\n${JSON_TEXT}\n\`\`\`\n\n`],
    ['a fenced block on one line', `\`\`\`json ${JSON_TEXT}\`\`\``],
    ['a fenced block with CRLF line ends', `\`\`\`json\r\n${JSON_TEXT}\r\n\`\`\``],
  ])('%s', (_name, text) => {
    expect(parseModelOutput(text, TicketTriage, 'stop')).toEqual(ANSWER);
  });

  it('returns what the schema returns (its transforms applied), not the raw document', () => {
    const schema = z.object({ n: z.coerce.number(), tag: z.string().transform((s) => s.toUpperCase()) });
    expect(parseModelOutput('{"n":"5","tag":"ok"}', schema, 'stop')).toEqual({ n: 5, tag: 'OK' });
  });

  it('does not treat finish reason "other" as truncation: the schema decides', () => {
    expect(parseModelOutput(JSON_TEXT, TicketTriage, 'other')).toEqual(ANSWER);
  });
});

describe('parseModelOutput: rejected answers', () => {
  it.each<[string, string]>([
    ['valid JSON', JSON_TEXT],
    ['a valid fenced block', `\`\`\`json\n${JSON_TEXT}\n\`\`\``],
    ['cut-off JSON', JSON_TEXT.slice(0, 30)],
  ])('finish reason "length" is truncation, whatever the text: %s', (_name, text) => {
    expect(failureOf(text, 'length').message).toMatch(/truncated/);
  });

  it.each<[string, string]>([
    ['empty text', ''],
    ['cut-off JSON with finish reason "stop"', JSON_TEXT.slice(0, 30)],
    ['prose', 'The ticket is about billing, priority high.'],
    ['prose before the JSON', `Sure! ${JSON_TEXT}`],
    // Only a fence that is the whole text is unwrapped; a fence inside prose is not searched for.
    ['prose before a fenced block', `Here is the answer:\n\`\`\`json\n${JSON_TEXT}\n\`\`\``],
    ['a fence with another language tag', `\`\`\`js\n${JSON_TEXT}\n\`\`\``],
    ['an unclosed fence', `\`\`\`json\n${JSON_TEXT}\n`],
    ['single-quoted pseudo-JSON', "{'category':'billing'}"],
    ['two JSON documents', `${JSON_TEXT}\n${JSON_TEXT}`],
  ])('not JSON: %s', (_name, text) => {
    expect(failureOf(text).message).toMatch(/not JSON/);
  });

  it('quotes at most 80 characters of a long non-JSON answer', () => {
    const error = failureOf(`nonsense ${'x'.repeat(10_000)}`);
    expect(error.message.length).toBeLessThan(200);
  });

  it.each<[string, unknown, string]>([
    ['missing summary', { ...ANSWER, summary: undefined }, 'summary'],
    ['empty summary', { ...ANSWER, summary: '' }, 'summary'],
    ['summary over 280 characters', { ...ANSWER, summary: 's'.repeat(281) }, 'summary'],
    ['confidence above 1', { ...ANSWER, confidence: 1.5 }, 'confidence'],
    ['confidence below 0', { ...ANSWER, confidence: -0.1 }, 'confidence'],
    ['confidence as a string', { ...ANSWER, confidence: '0.8' }, 'confidence'],
    ['unknown category', { ...ANSWER, category: 'sales' }, 'category'],
    ['unknown priority', { ...ANSWER, priority: 'critical' }, 'priority'],
    ['an extra key (strict schema)', { ...ANSWER, reasoning: 'because' }, 'reasoning'],
    ['an array of answers', [ANSWER], '(root)'],
    ['null', null, '(root)'],
    ['a bare string', 'billing', '(root)'],
    ['the simulator\'s "no task input" error object', { error: 'the simulator found no task input in the prompt' }, 'category'],
  ])('schema violation: %s', (_name, document, mentions) => {
    const error = failureOf(JSON.stringify(document));
    expect(error.message).toMatch(/does not match the schema/);
    expect(error.message).toContain(mentions);
  });

  it('is a non-retryable InvalidModelOutputError', () => {
    const error = failureOf('nope');
    expect(error.name).toBe('InvalidModelOutputError');
    expect(error.retryable).toBe(false);
  });
});

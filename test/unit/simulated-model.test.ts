import { describe, expect, it } from 'vitest';
import { generateTickets } from '../../local/workload-generator/ticket-generator';
import { estimateTokens, simulateAnswer } from '../../lambda/model/simulated-model';
import { SimulatedProvider } from '../../lambda/model/simulated-provider';
import { InvalidModelOutputError, ModelCallError } from '../../lambda/errors/pipeline-errors';
import { parseModelOutput } from '../../lambda/processor/model-output';
import { classifyTicketByRules, ticketTriage, TicketTriage, type TicketInput } from '../../lambda/tasks/ticket-triage';

const TICKET: TicketInput = { subject: 'Charged twice', body: 'My card was charged twice for the same invoice.', customerTier: 'pro' };
const prompt = (input: TicketInput) => ticketTriage.buildPrompt(input);
/** The simulated answer, validated the way the processor validates any model output. */
const answerOf = (input: TicketInput, seed: number): TicketTriage => parseModelOutput(simulateAnswer(prompt(input), seed).text, TicketTriage, 'stop');

describe('simulateAnswer', () => {
  const tickets = generateTickets(500, 5).map((ticket) => ticket.input);

  it('is deterministic: the same prompt and seed give the same answer', () => {
    expect(simulateAnswer(prompt(TICKET), 42)).toEqual(simulateAnswer(prompt(TICKET), 42));
    for (const ticket of tickets.slice(0, 50)) expect(answerOf(ticket, 7)).toEqual(answerOf(ticket, 7));
  });

  it('passes the ticket-triage output schema for 500 generated tickets', () => {
    for (const ticket of tickets) {
      const { text } = simulateAnswer(prompt(ticket), 3);
      expect(TicketTriage.safeParse(JSON.parse(text)).success, text).toBe(true);
    }
  });

  it('agrees with the rules on category, priority and summary; only the confidence varies with the seed', () => {
    for (const ticket of tickets.slice(0, 100)) {
      const rules = classifyTicketByRules(ticket);
      for (const seed of [1, 2]) {
        const answer = answerOf(ticket, seed);
        expect(answer).toMatchObject({ category: rules.category, priority: rules.priority, summary: rules.summary });
        // Lifted by 0.0–0.3 over the rules' confidence, capped at 0.99.
        expect(answer.confidence).toBeGreaterThanOrEqual(rules.confidence);
        expect(answer.confidence).toBeLessThanOrEqual(Math.min(0.99, rules.confidence + 0.3) + 1e-9);
      }
    }
  });

  it('different seeds give different confidences for some tickets', () => {
    const differing = tickets.filter((ticket) => answerOf(ticket, 1).confidence !== answerOf(ticket, 2).confidence);
    expect(differing.length).toBeGreaterThan(tickets.length / 2);
  });

  it('different tickets under one seed get their own random stream, not one shared confidence lift', () => {
    const lifts = tickets.slice(0, 100).map((ticket) => Math.round((answerOf(ticket, 9).confidence - classifyTicketByRules(ticket).confidence) * 100));
    expect(new Set(lifts).size).toBeGreaterThan(10);
  });

  it("gives each model id its own stream: a secondary model is not the primary's echo", () => {
    const differing = tickets
      .slice(0, 100)
      .filter((ticket) => simulateAnswer(prompt(ticket), 9, 'sim-primary').text !== simulateAnswer(prompt(ticket), 9, 'sim-secondary').text);
    expect(differing.length).toBeGreaterThan(30);
    // Only the confidence differs: both models agree with the rules on the rest.
    for (const ticket of tickets.slice(0, 20)) {
      const { confidence: _a, ...primary } = JSON.parse(simulateAnswer(prompt(ticket), 9, 'sim-primary').text);
      const { confidence: _b, ...secondary } = JSON.parse(simulateAnswer(prompt(ticket), 9, 'sim-secondary').text);
      expect(secondary).toEqual(primary);
    }
  });

  it('counts tokens as about four characters each', () => {
    const p = prompt(TICKET);
    const answer = simulateAnswer(p, 42);
    expect(answer.tokensIn).toBe(Math.ceil(p.system.length / 4) + Math.ceil(p.user.length / 4));
    expect(answer.tokensOut).toBe(Math.ceil(answer.text.length / 4));
  });

  it.each<[string, string]>([
    ['no data block', 'Please triage: my card was charged twice.'],
    ['a data block that is not JSON', '<ticket>{subject: oops}</ticket>'],
    ['a data block the task schema refuses', '<ticket>{"title":"x"}</ticket>'],
    ['mismatched tags', '<ticket>{"subject":"s","body":"b"}</tickets>'],
  ])('answers with an error object that fails the schema when the prompt has %s', (_name, user) => {
    const { text } = simulateAnswer({ system: 'triage', user }, 42);
    expect(JSON.parse(text)).toHaveProperty('error');
    expect(() => parseModelOutput(text, TicketTriage, 'stop')).toThrow(InvalidModelOutputError);
  });
});

describe('estimateTokens', () => {
  it.each<[string, number]>([
    ['', 1],
    ['abc', 1],
    ['abcd', 1],
    ['abcde', 2],
    ['x'.repeat(400), 100],
  ])('%j → %i', (text, tokens) => {
    expect(estimateTokens(text)).toBe(tokens);
  });
});

describe('SimulatedProvider', () => {
  const request = (signal: AbortSignal = new AbortController().signal) => ({ modelId: 'sim-primary', prompt: prompt(TICKET), signal });

  it('answers with the simulated model for its seed, echoing the model id, finish reason "stop"', async () => {
    const response = await new SimulatedProvider({ seed: 42 }).complete(request());
    const expected = simulateAnswer(prompt(TICKET), 42, 'sim-primary');
    expect(response).toEqual({ text: expected.text, modelId: 'sim-primary', tokensIn: expected.tokensIn, tokensOut: expected.tokensOut, finishReason: 'stop' });
    expect(TicketTriage.safeParse(JSON.parse(response.text)).success).toBe(true);
  });

  it('two providers with the same seed give the same answer', async () => {
    const [a, b] = await Promise.all([new SimulatedProvider({ seed: 5 }).complete(request()), new SimulatedProvider({ seed: 5 }).complete(request())]);
    expect(a).toEqual(b);
  });

  it('counts its calls', async () => {
    const provider = new SimulatedProvider({ seed: 1 });
    await provider.complete(request());
    await provider.complete(request());
    expect(provider.calls).toBe(2);
    expect(provider.name).toBe('simulated');
  });

  it('waits its latency when not aborted', async () => {
    const started = performance.now();
    await new SimulatedProvider({ seed: 1, latencyMs: 40 }).complete(request());
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
  });

  it('stops waiting when the signal fires mid-call: a retryable Timeout ModelCallError', async () => {
    const provider = new SimulatedProvider({ seed: 1, latencyMs: 10_000 });
    const started = performance.now();
    const error = await provider.complete(request(AbortSignal.timeout(30))).catch((caught: unknown) => caught);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(error).toBeInstanceOf(ModelCallError);
    expect(error).toMatchObject({ retryable: true, errorClass: 'Timeout' });
    expect((error as ModelCallError).cause).toBeInstanceOf(Error);
    expect(provider.calls).toBe(1);
  });

  it('does not start waiting at all when the signal has already fired', async () => {
    const controller = new AbortController();
    controller.abort();
    const started = performance.now();
    await expect(new SimulatedProvider({ seed: 1, latencyMs: 10_000 }).complete(request(controller.signal))).rejects.toMatchObject({
      name: 'ModelCallError',
      errorClass: 'Timeout',
    });
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

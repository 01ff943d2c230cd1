/**
 * The simulator's quota over its real socket (loopback, bounded): what goes over `rpm` is a 429
 * with Retry-After, which the real provider turns into a Throttled ModelCallError carrying it.
 */
import { describe, expect, it } from 'vitest';
import { ModelCallError, MODEL_ERROR_CLASS } from '../../lambda/errors/pipeline-errors';
import { OpenAiCompatibleProvider } from '../../lambda/model/openai-compatible-provider';
import { ticketTriage } from '../../lambda/tasks/ticket-triage';
import { parseFaultSpec } from '../../local/model-simulator/fault-spec';
import { startModelSimulator } from '../../local/model-simulator/model-simulator';

const prompt = (n: number) => ticketTriage.buildPrompt({ subject: `Refund request ${n}`, body: 'I was charged twice for order 1182.' });

describe('simulator quota', () => {
  it('accepts rpm calls per window per model, refuses the rest with 429 + Retry-After', async () => {
    // A long window: nothing refills during the test, so the counts do not depend on timing.
    const simulator = await startModelSimulator({ seed: 1, faults: { ...parseFaultSpec('rpm=10'), quotaWindowMs: 600_000 } });
    try {
      const provider = new OpenAiCompatibleProvider({ baseUrl: simulator.url, apiKey: async () => undefined });
      const outcomes = [];
      for (let n = 0; n < 15; n += 1) {
        outcomes.push(
          await provider.complete({ modelId: 'sim-primary', prompt: prompt(n), signal: AbortSignal.timeout(5000) }).then(
            () => 'ok',
            (error: unknown) => error,
          ),
        );
      }
      // The secondary has its own bucket.
      await provider.complete({ modelId: 'sim-secondary', prompt: prompt(99), signal: AbortSignal.timeout(5000) });
      const refused = outcomes.filter((outcome): outcome is ModelCallError => outcome instanceof ModelCallError);
      expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(10);
      expect(refused).toHaveLength(5);
      for (const error of refused) {
        expect(error.errorClass).toBe(MODEL_ERROR_CLASS.THROTTLED);
        // One token per 60 s: the next one is tens of seconds away.
        expect(error.retryAfterMs).toBeGreaterThan(1000);
      }
      const stats = simulator.stats();
      expect(stats.byOutcome['rate-limited']).toBe(5);
      expect(stats.quota?.series['sim-primary']).toEqual([{ window: 0, accepted: 10, refused: 5 }]);
      expect(stats.quota?.series['sim-secondary']).toEqual([{ window: 0, accepted: 1, refused: 0 }]);
    } finally {
      await simulator.stop();
    }
  });

  it('slows calls down while more than burst-latency concurrency are in flight', async () => {
    const simulator = await startModelSimulator({ seed: 1, faults: parseFaultSpec('base=200,burst-latency=50@2') });
    try {
      const provider = new OpenAiCompatibleProvider({ baseUrl: simulator.url, apiKey: async () => undefined });
      await Promise.all(
        Array.from({ length: 6 }, (_, n) => provider.complete({ modelId: 'sim-primary', prompt: prompt(n), signal: AbortSignal.timeout(5000) })),
      );
      const stats = simulator.stats();
      expect(stats.maxInFlight).toBeGreaterThan(2);
      expect(stats.burstSlowed).toBeGreaterThan(0);
      expect(stats.burstSlowed).toBeLessThanOrEqual(4);
    } finally {
      await simulator.stop();
    }
  });
});

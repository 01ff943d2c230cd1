/**
 * Chaos: `timeout=0.4` — invocations overrun their timeout — on the whole local pipeline, as in infra-faults.test.ts (its
 * header and notes), in a file of its own: whole batches come back only after their visibility
 * timeout, so this run is long, and it runs beside the others.
 */
import { describe, it } from 'vitest';
import { chaos, expectInjectedAndSafe } from './infra-chaos';

describe('chaos: the infrastructure misbehaves, nothing is lost or duplicated', { timeout: 420_000 }, () => {
  it('timeout=0.4: invocations overrun their timeout and are killed, every input settles once', async () => {
    // Drawn per invocation, each lane from its own seeded stream: with the stage's seed the first
    // invocations of two of the five lanes draw a timeout. Only invocations that start in the first
    // 250 s (50 s at the time scale) draw: the first receive of every message and the second of
    // those that timed out (a 6 s timeout, then a 36 s visibility timeout), so a message may time
    // out twice, not again and again (a third timeout in a row took a run from ~80 s to ~150 s).
    const run = await chaos('timeout', 'timeout=0.4/0-250');
    expectInjectedAndSafe(run, 'timeout');
  });
});

/**
 * Chaos: `timeout=0.4` — invocations overrun their timeout — on the whole local pipeline, as in infra-faults.test.ts (its
 * header and notes), in a file of its own: whole batches come back only after their visibility
 * timeout, so this run is long, and it runs beside the others.
 */
import { describe, it } from 'vitest';
import { chaos, expectInjectedAndSafe } from './infra-chaos';

describe('chaos: the infrastructure misbehaves, nothing is lost or duplicated', { timeout: 420_000 }, () => {
  it('timeout=0.4: invocations overrun their timeout and are killed, every input settles once', async () => {
    // Drawn per invocation and a run has only about ten: at 0.4 the chance of drawing none is < 1%.
    const run = await chaos('timeout', 'timeout=0.4');
    expectInjectedAndSafe(run, 'timeout');
  });
});

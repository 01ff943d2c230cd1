/**
 * Chaos: `crash=0.3` — environments die mid-invocation — on the whole local pipeline, as in infra-faults.test.ts (its
 * header and notes), in a file of its own: whole batches come back only after their visibility
 * timeout, so this run is long, and it runs beside the others.
 */
import { describe, it } from 'vitest';
import { chaos, expectInjectedAndSafe } from './infra-chaos';

describe('chaos: the infrastructure misbehaves, nothing is lost or duplicated', { timeout: 420_000 }, () => {
  it('crash=0.3: environments die mid-invocation, batches come back, every input settles once', async () => {
    // As in the timeout run: only invocations that start in the first 250 s (50 s at the time scale)
    // draw, so a message's batch may crash on its first and second receive, not again and again.
    const run = await chaos('crash', 'crash=0.3/0-250');
    expectInjectedAndSafe(run, 'crash');
  });
});

/**
 * A fault's `/FROM-TO` window over the simulator's real socket (loopback): the window counts from
 * the simulator's first request, the calls inside it get the fault and the calls after it are
 * answered again, which is what a game-day drill measures recovery from.
 */
import { describe, expect, it } from 'vitest';
import { modelFaultWindow, parseFaultSpec } from '../../local/model-simulator/fault-spec';
import { startModelSimulator } from '../../local/model-simulator/model-simulator';

async function statusOfCall(url: string, n: number): Promise<number> {
  const response = await fetch(`${url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'sim-primary', messages: [{ role: 'user', content: `Refund request ${n}: charged twice.` }] }),
    signal: AbortSignal.timeout(5000),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Waits until `ms` have passed on the simulator's clock (since its first request). */
async function untilClock(firstRequestAt: number, ms: number): Promise<void> {
  const wait = firstRequestAt + ms - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

describe('simulator fault windows', () => {
  it('5xx=1/0.3s-1s: OK before the window, 5xx inside it, OK again after it', async () => {
    // Prepare: margins of 150 ms or more around each bound, so a slow machine does not move a call across one.
    const faults = parseFaultSpec('5xx=1/0.3s-1s');
    const simulator = await startModelSimulator({ seed: 1, faults });
    try {
      expect(simulator.firstRequestAt()).toBeUndefined();
      expect(modelFaultWindow(faults)).toEqual({ fromMs: 300, toMs: 1000 });

      // Act: one call starts the clock; the others run inside and after the window.
      const before = await statusOfCall(simulator.url, 0);
      const firstRequestAt = simulator.firstRequestAt() as number;
      expect(firstRequestAt).toBeGreaterThan(0);
      await untilClock(firstRequestAt, 450);
      const inside = await statusOfCall(simulator.url, 1);
      await untilClock(firstRequestAt, 1150);
      const after = [await statusOfCall(simulator.url, 2), await statusOfCall(simulator.url, 3)];

      // Assess: the simulator counts only what it injected.
      expect(before).toBe(200);
      expect([500, 502, 503, 529]).toContain(inside);
      expect(after).toEqual([200, 200]);
      expect(simulator.stats().byOutcome).toMatchObject({ ok: 3, 'server-error': 1 });
    } finally {
      await simulator.stop();
    }
  });

  it('endOutage(): an outage that outlasts the test answers 503 until it is ended, then OK; its window says where it ended', async () => {
    // Prepare: an outage from the first request on, far longer than the test.
    const simulator = await startModelSimulator({ seed: 1, faults: parseFaultSpec('outage=0-100000') });
    try {
      // Act
      const during = [await statusOfCall(simulator.url, 0), await statusOfCall(simulator.url, 1)];
      simulator.endOutage();
      const after = [await statusOfCall(simulator.url, 2), await statusOfCall(simulator.url, 3)];

      // Assess
      expect(during).toEqual([503, 503]);
      expect(after).toEqual([200, 200]);
      expect(simulator.stats().byOutcome).toMatchObject({ ok: 2, outage: 2 });
      const window = modelFaultWindow(simulator.faults);
      expect(window?.fromMs).toBe(0);
      expect(window?.toMs).toBeLessThan(100_000_000);
    } finally {
      await simulator.stop();
    }
  });
});

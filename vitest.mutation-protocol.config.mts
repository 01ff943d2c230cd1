import { defineConfig } from 'vitest/config';

/**
 * The test run Stryker repeats for each mutant of the per-record protocol
 * (`npm run mutation:protocol`, stryker.protocol.config.mjs): the crash-point exploration and the
 * protocol's unit cases, on the in-memory ledger and the simulated queue (no emulator). Kept apart
 * from vitest.mutation.config.mts: nearly every crash-point test covers the parser, the key, the
 * config and the breaker, so in the main run each of their mutants would also re-run ~180 of
 * these tests (about 5 s a mutant on two cores).
 */
export default defineConfig({
  test: {
    include: ['test/crash-points/crash-points.test.ts', 'test/unit/record-protocol.test.ts', 'test/unit/ledger-transitions.test.ts'],
    testTimeout: 10_000,
  },
});

import { defineConfig } from 'vitest/config';

/**
 * The test run Stryker repeats for every mutant (`npm run mutation`, scope in stryker.config.mjs):
 * the unit tests of the mutated modules, which need no emulator, no network and no synthesized
 * stack. Unit files that test nothing in scope (the workload generator, ticket triage, the
 * simulated model, the alarm catalog, ...) are left out: a "static" mutant (one in a module-level
 * constant, such as a zod schema) re-runs every included file, and those files would only add time.
 * Not used by `npm test`, which runs vitest.config.mts.
 */
export default defineConfig({
  test: {
    include: [
      'test/unit/alarm-evaluator.test.ts',
      'test/unit/alarm-missing-data.test.ts',
      'test/unit/breaker-state.test.ts',
      'test/unit/budget.test.ts',
      'test/unit/canonical-json.test.ts',
      'test/unit/completeness.test.ts',
      'test/unit/drift-statistics.test.ts',
      'test/unit/errors.test.ts',
      'test/unit/input-key.test.ts',
      'test/unit/ledger-convergence.test.ts',
      'test/unit/ledger-transitions.test.ts',
      'test/unit/message-parser.test.ts',
      'test/unit/model-errors.test.ts',
      'test/unit/retry-policy.test.ts',
      'test/unit/runtime-config.test.ts',
      'test/unit/shared-breaker.test.ts',
      'test/unit/task-policy.test.ts',
    ],
    testTimeout: 10_000,
  },
});

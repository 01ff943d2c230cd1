import { defineConfig } from 'vitest/config';

/**
 * Files that run the whole local pipeline (emulators, execution environments, the model simulator)
 * on a scaled clock. Most of their wall time is that clock — visibility timeouts, alarm periods,
 * quota windows — not CPU (a canary rollback run: 25 s of CPU in 120 s), so they run as a second
 * group with more files at once than there are cores; the CPU-bound files run first, two at a time.
 */
const SCENARIOS = [
  'test/chaos/**/*.test.ts',
  'test/console/console-browser.test.ts',
  'test/console/local-console.test.ts',
  'test/infra/observability-local.test.ts',
  'test/integration/canary-rollback.test.ts',
  'test/integration/drift-monitor.test.ts',
  'test/integration/entity-loops-local.test.ts',
  'test/integration/local-run.test.ts',
  'test/integration/pipectl-local.test.ts',
  'test/integration/runtime-switches.test.ts',
  'test/pipectl/cli.test.ts',
  'test/pipectl/local-commands.test.ts',
];

const common = {
  // Integration tests synthesize the stack (bundling the processor) and run it on emulators.
  testTimeout: 60_000,
  hookTimeout: 60_000,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...common,
          name: 'fast',
          include: ['test/**/*.test.ts'],
          exclude: SCENARIOS,
          // Two cores.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...common,
          name: 'scenarios',
          include: SCENARIOS,
          maxWorkers: 4,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});

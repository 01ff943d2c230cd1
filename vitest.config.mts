import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that run the whole local pipeline (emulators, execution environments, the model simulator)
 * on a scaled clock. Most of their wall time is that clock — visibility timeouts, alarm periods,
 * quota windows — not CPU (a canary rollback run: 25 s of CPU in 120 s). So the projects share
 * one pool of five workers on two cores (vitest shares a pool only between projects with the same
 * `maxWorkers` and `groupOrder`): the long scenario files start first and wait on their clocks
 * while the CPU-bound files fill the cores. The project names label the output. None of them
 * isolates its files (below): a fresh module graph per file was about a second of CPU per file.
 */
const SCENARIOS = [
  'test/chaos/**/*.test.ts',
  'test/console/console-browser.test.ts',
  'test/console/local-console.test.ts',
  'test/infra/iam-covers-calls.test.ts',
  'test/infra/observability-local.test.ts',
  'test/integration/canary-rollback.test.ts',
  'test/integration/drift-monitor.test.ts',
  'test/integration/entity-loops-local.test.ts',
  'test/integration/local-run.test.ts',
  'test/integration/pipectl-local.test.ts',
  'test/integration/runtime-switches.test.ts',
  'test/integration/shadow-run.test.ts',
  'test/pipectl/cli.test.ts',
  'test/pipectl/incident-timeline.test.ts',
  'test/pipectl/local-commands.test.ts',
];

/**
 * Files that start no emulator, server or pipeline and restore what they stub: the unit tests
 * (docs/testing.md) and the template tests of test/infra (those that run a local pipeline are
 * SCENARIOS, which take precedence).
 */
const SHARED_MODULES = ['test/unit/**/*.test.ts', 'test/infra/**/*.test.ts'];

/**
 * The longest files of each group, longest first (their wall time in two full runs on two cores
 * shared with another engineer's runs, load 10-25, 2026-12-03): started first, they are not what
 * the run waits for at its end. Without a cache (a clean clone, as in CI) vitest has no durations
 * and would start them in path order.
 */
const LONGEST_FIRST = [
  'test/chaos/quota-pacing.test.ts', // 84 s
  'test/chaos/infra-faults-timeout.test.ts', // 84 s
  'test/chaos/infra-faults-crash.test.ts', // 80-85 s
  'test/integration/canary-rollback.test.ts', // 88 s
  'test/integration/shadow-run.test.ts', // 55-89 s
  'test/chaos/infra-faults.test.ts', // 87-99 s
  'test/pipectl/local-commands.test.ts', // 87-108 s
  'test/integration/pipectl-local.test.ts', // 69-73 s: five child pipelines side by side
  'test/pipectl/incident-timeline.test.ts', // 72-75 s
  'test/integration/local-run.test.ts', // 68 s
  'test/integration/processor.test.ts', // 38-91 s (fast group)
  'test/integration/model-chain.test.ts', // 60-119 s (fast group)
  'test/infra/observability-local.test.ts', // 70 s
  'test/chaos/quota-outage.test.ts', // 49 s
];

/** vitest's order (failed first, then longer first when it has a cache), with LONGEST_FIRST ahead within each group. */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const index = LONGEST_FIRST.findIndex((path) => spec.moduleId.endsWith(path));
      return index === -1 ? LONGEST_FIRST.length : index;
    };
    // Array.prototype.sort is stable: files outside the list keep vitest's order.
    return [...sorted].sort((a, b) => a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder || rank(a) - rank(b));
  }
}

const common = {
  // Integration tests synthesize the stack (bundling the processor) and run it on emulators.
  testTimeout: 60_000,
  hookTimeout: 60_000,
};

export default defineConfig({
  test: {
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        test: {
          ...common,
          name: 'shared-modules',
          include: SHARED_MODULES,
          exclude: SCENARIOS,
          // One module graph per worker rather than per file: these files start nothing and restore
          // what they stub (vi.unstubAllEnvs, mockRestore), so they can share it; re-importing the
          // modules (aws-cdk-lib above all) for each of them was about half their CPU time
          // (2026-12-03: test/unit 16.5 s instead of 31.5 s, test/infra 40 s instead of ~70 s).
          isolate: false,
          maxWorkers: 5,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...common,
          name: 'fast',
          include: ['test/**/*.test.ts'],
          exclude: [...SCENARIOS, ...SHARED_MODULES],
          // Without isolation too: re-importing the modules (the AWS SDK, local mode, the emulators)
          // in a fresh module graph per file cost about a second of CPU per file (18 of these
          // files, 2026-12-03: 32 s of CPU isolated, 14 s not). These files stop what they start
          // (pipelines, servers) in their own hooks, their helpers (pipeline-harness, cli-harness,
          // local-serve, moto-server) register no hooks and keep no state at import, and the one
          // that changes the environment (stage-target) restores it.
          isolate: false,
          maxWorkers: 5,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...common,
          name: 'scenarios',
          include: SCENARIOS,
          // Without isolation, as 'fast': each file stops the pipelines, servers and child processes it
          // starts in its own hooks; the shared chaos helpers (model-chaos, infra-chaos, quota-run)
          // register no hooks and keep a scratch directory per run, not per module.
          isolate: false,
          maxWorkers: 5,
          sequence: { groupOrder: 0 },
        },
      },
    ],
  },
});

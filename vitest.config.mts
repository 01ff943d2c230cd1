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
 * The longest files, longest first (their wall time in a cold full run, 2026-12-03, load median
 * 12.7, mostly the suite's own; most of it is waiting on scaled clocks): started
 * first, they are not what the run waits for at its end. The CPU-bound template files at the end
 * (cold synths and bundles, cfn-lint) go first in their project: left in path order they were the run's tail.
 * Without a cache (a clean clone, as in CI) vitest has no durations and would start them in path
 * order.
 */
const LONGEST_FIRST = [
  'test/chaos/quota-outage.test.ts', // 170 s
  'test/integration/local-run.test.ts', // 159 s: the 2,000-message run
  'test/infra/observability-local.test.ts', // 148 s
  'test/chaos/quota-pacing.test.ts', // 94-133 s
  'test/pipectl/cli.test.ts', // 90 s: a whole game day
  'test/chaos/infra-faults-crash.test.ts', // 83-110 s
  'test/chaos/infra-faults-timeout.test.ts', // 76-103 s
  'test/integration/canary-rollback.test.ts', // 71-100 s
  'test/chaos/model-faults-breaker.test.ts', // 69 s
  'test/pipectl/incident-timeline.test.ts', // 65 s
  'test/chaos/infra-faults.test.ts', // 58 s
  'test/integration/pipectl-local.test.ts', // 58 s: child pipelines side by side
  'test/console/local-console.test.ts', // 52 s
  'test/chaos/model-faults.test.ts', // 49 s
  'test/pipectl/local-commands.test.ts', // 46 s
  'test/infra/provider-bundling.test.ts', // 32 s, CPU: four cold synths
  'test/chaos/model-faults-timing.test.ts', // 35 s
  'test/infra/cfn-lint.test.ts', // CPU: cfn-lint over every stage
  'test/infra/cdk-nag.test.ts', // CPU
];

/**
 * The projects in the order their files are handed out: the scenarios first (they wait on their
 * clocks), the short unit files last (they fill the gaps at the end).
 */
const PROJECT_ORDER = ['scenarios', 'fast', 'shared-modules'] as const;
const [SCENARIOS_PROJECT, FAST_PROJECT, SHARED_MODULES_PROJECT] = PROJECT_ORDER;

/**
 * vitest's order (failed first, then longer first when it has a cache), one project after another
 * (PROJECT_ORDER), with LONGEST_FIRST ahead within each. One project at a time because vitest
 * keeps a finished worker for the next file only when that file, the head of the queue, is of the
 * same project (it cannot share a module graph between projects); otherwise it ends the worker and
 * starts a new one, which imports everything again. With the projects interleaved (LONGEST_FIRST
 * mixed scenario and template files) a full run started 23 workers for 127 files.
 */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const index = LONGEST_FIRST.findIndex((path) => spec.moduleId.endsWith(path));
      return index === -1 ? LONGEST_FIRST.length : index;
    };
    const project = (spec: TestSpecification) => (PROJECT_ORDER as readonly string[]).indexOf(spec.project.name);
    // Array.prototype.sort is stable: files outside the list keep vitest's order.
    return [...sorted].sort(
      (a, b) => a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder || project(a) - project(b) || rank(a) - rank(b),
    );
  }
}

const common = {
  // Integration tests synthesize the stack (bundling the processor) and run it on emulators.
  testTimeout: 60_000,
  hookTimeout: 60_000,
  // `VITEST_CPU_PER_FILE=/tmp/cpu.jsonl npx vitest run`: each file's CPU seconds, its worker's and its
  // child processes' (test/support/cpu-per-file.ts); vitest itself reports only wall time.
  ...(process.env.VITEST_CPU_PER_FILE ? { setupFiles: ['test/support/cpu-per-file.ts'] } : {}),
};

export default defineConfig({
  test: {
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        test: {
          ...common,
          name: SHARED_MODULES_PROJECT,
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
          name: FAST_PROJECT,
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
          name: SCENARIOS_PROJECT,
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

// @ts-check
/**
 * Mutation testing of the per-record protocol: `npm run mutation:protocol` (not part of `npm test`,
 * nor of `npm run mutation`'s score; about 45 minutes on a shared two-core machine). The tests are
 * the crash-point exploration and the protocol's unit cases (vitest.mutation-protocol.config.mts).
 * Figures and what survives: docs/testing.md.
 */
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  vitest: { configFile: 'vitest.mutation-protocol.config.mts' },
  mutate: [
    'lambda/processor/record-protocol.ts',
    'lambda/processor/fallback-chain.ts',
    'lambda/processor/batch-processor.ts',
    'lambda/processor/visibility-changes.ts',
  ],
  incrementalFile: 'reports/mutation-protocol/stryker-incremental.json',
  htmlReporter: { fileName: 'reports/mutation-protocol/index.html' },
  jsonReporter: { fileName: 'reports/mutation-protocol/mutation.json' },
};

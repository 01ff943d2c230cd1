import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests synthesize the stack (bundling the processor) and run it on emulators.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: the integration files each start emulators and five execution environments.
    maxWorkers: 2,
  },
});

/**
 * A function that cannot initialise fails its invocation, as on Lambda; it does not reject the
 * invoke and take local mode down (found by `pipectl gameday --all`: a bundle removed from the
 * synth cache under a running pipeline crashed the whole process with an unhandled rejection).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExecutionEnvironment } from '../../local/lambda-runtime';

const scratch = mkdtempSync(join(tmpdir(), 'lambda-init-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const environmentFor = (bundlePath: string) =>
  new ExecutionEnvironment(
    { functionName: 'init-test', bundlePath, handlerExport: 'handler', timeoutMs: 5_000, memoryMb: 128, environment: {}, region: 'us-east-1' },
    () => undefined,
  );

describe('an execution environment whose handler cannot initialise', () => {
  it('fails the invocation with Runtime.InitError when the bundle is gone', async () => {
    const environment = environmentFor(join(scratch, 'missing', 'index.js'));
    try {
      const result = await environment.invoke({ Records: [] });
      expect(result).toMatchObject({ kind: 'error', error: { name: 'Runtime.InitError', message: expect.stringContaining('Cannot find module') } });
    } finally {
      await environment.stop();
    }
  });

  it('fails the invocation when the handler throws at init, and tries again on the next one', async () => {
    const bundlePath = join(scratch, 'throws.js');
    writeFileSync(bundlePath, "throw new Error('boom at init');\n");
    const environment = environmentFor(bundlePath);
    try {
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const result = await environment.invoke({ Records: [] });
        expect(result).toMatchObject({ kind: 'error', error: { name: 'Runtime.InitError', message: expect.stringContaining('boom at init') } });
      }
    } finally {
      await environment.stop();
    }
  });
});

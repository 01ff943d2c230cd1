/**
 * local/file-lock.ts: work several processes ask for at once is done by one of them. The async form
 * is also covered through the drift reference cache (drift-reference-cache.test.ts); the
 * synchronous one, which the synth cache uses, is driven here by separate processes, as test files
 * in parallel drive it.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { onceAcrossProcessesSync } from '../../local/file-lock';
import { PROJECT_ROOT } from '../../lib/project-root';
import { scratchDirs } from '../support/scratch-dirs';

const run = promisify(execFile);

const scratch = scratchDirs('file-lock-');

/**
 * A process that asks for `result` through the lock: producing it appends a line to `log`, takes
 * 500 ms (a synth takes seconds) and writes the result; it prints what it got.
 */
const CHILD = `
const { appendFileSync, existsSync, readFileSync, writeFileSync } = require('node:fs');
const { onceAcrossProcessesSync } = require('./local/file-lock.ts');
const [result, log] = process.argv.slice(-2);
const got = onceAcrossProcessesSync(result + '.lock', () => (existsSync(result) ? readFileSync(result, 'utf8') : undefined), () => {
  appendFileSync(log, process.pid + '\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
  writeFileSync(result, 'assembly');
  return 'assembly';
});
process.stdout.write(got);
`;

describe('onceAcrossProcessesSync', () => {
  it('produces once when several processes ask at the same time; the others wait and read its result', async () => {
    const dir = scratch();
    const [result, log] = [join(dir, 'result'), join(dir, 'producers')];
    const child = () => run(process.execPath, ['--import', 'tsx', '--input-type=commonjs', '-e', CHILD, result, log], { cwd: PROJECT_ROOT, timeout: 120_000 });
    const outputs = await Promise.all([child(), child(), child()]);
    expect(outputs.map((output) => output.stdout)).toEqual(['assembly', 'assembly', 'assembly']);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(existsSync(`${result}.lock`)).toBe(false);
  }, 150_000);

  it('returns what is there without the lock, takes over a dead or aged lock, and releases its own when producing throws', () => {
    const dir = scratch();
    const cachedOnly = join(dir, 'cached');
    writeFileSync(`${cachedOnly}.lock`, String(process.ppid)); // held by a live process, but the result is there
    expect(
      onceAcrossProcessesSync(
        `${cachedOnly}.lock`,
        () => 'there',
        () => 'produced',
      ),
    ).toBe('there');

    // A lock whose process is gone (a pid above the kernel's pid_max).
    const dead = join(dir, 'dead');
    writeFileSync(`${dead}.lock`, '99999999');
    expect(
      onceAcrossProcessesSync(
        `${dead}.lock`,
        () => undefined,
        () => 'produced',
      ),
    ).toBe('produced');
    expect(existsSync(`${dead}.lock`)).toBe(false);

    // A live process's lock older than five minutes.
    const aged = join(dir, 'aged');
    writeFileSync(`${aged}.lock`, String(process.ppid));
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(`${aged}.lock`, old, old);
    expect(
      onceAcrossProcessesSync(
        `${aged}.lock`,
        () => undefined,
        () => 'produced',
      ),
    ).toBe('produced');

    const failing = join(dir, 'failing');
    expect(() =>
      onceAcrossProcessesSync(
        `${failing}.lock`,
        () => undefined,
        () => {
          throw new Error('synth failed');
        },
      ),
    ).toThrow('synth failed');
    expect(existsSync(`${failing}.lock`)).toBe(false);
  });
});

/**
 * pipectl starts without loading what only its commands need (issue 17): the modules evaluated
 * before an action runs reach no CDK, AWS SDK, zod or emulator, in the bundle that bin/pipectl.js
 * runs. Speed itself is measured by bench/cli-startup.ts, not asserted here.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCli, NOT_AT_START_UP } from '../../scripts/build-cli';

const ROOT = join(__dirname, '..', '..');

describe('pipectl start-up', () => {
  it('evaluates commander and the command definitions only; each command loads its implementation when it runs', async () => {
    const { metafile, startUp } = await buildCli({ write: false });
    expect(startUp.filter((path) => NOT_AT_START_UP.test(path))).toEqual([]);
    expect(startUp).toContain('commander');
    // The heavy parts are in the bundle all the same, behind import().
    expect(Object.keys(metafile.inputs)).toEqual(expect.arrayContaining(['pipectl/status.ts', 'bin/commands/local-run.ts']));
    expect(startUp).not.toContain('pipectl/status.ts');
    expect(startUp).not.toContain('bin/commands/local-run.ts');
  });

  it.each([[['--help']], [['status', '--help']]])('bin/pipectl.js %j prints the usage (bundle or source)', (args) => {
    const run = spawnSync(process.execPath, ['bin/pipectl.js', ...args], { cwd: ROOT, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Usage: pipectl /);
  });
});

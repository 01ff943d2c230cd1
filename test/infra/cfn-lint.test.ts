/** cfn-lint over every stage's synthesized template: zero errors (warnings are printed, not failed). */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGES } from '../../lib/config/stages';
import { synthStage } from './synth-stage';

/**
 * cfn-lint's path, found on PATH without running it: `cfn-lint --version` costs a Python start
 * (1.4 s of CPU), and one run over every template costs less than a run per template (two
 * templates, 2026-12-03: 3.9 s of CPU in one run, 2.7 s each apart).
 */
function onPath(command: string): string | undefined {
  for (const directory of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(directory, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

const cfnLint = onPath('cfn-lint');
if (!cfnLint) {
  // A skipped test says why, where CI output shows it.
  console.warn('cfn-lint tests skipped: cfn-lint is not on PATH on this machine; pip install cfn-lint to run them');
}

const stages = Object.keys(STAGES);

describe.skipIf(!cfnLint)('cfn-lint', () => {
  const directory = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
  const templateFile = (stage: string) => join(directory, `lint-${stage}.template.json`);
  const brokenFile = join(directory, 'broken.template.json');
  let run: { status: number | null; stdout: string; stderr: string };
  const errorsOf = (file: string) => run.stdout.split('\n').filter((line) => line.startsWith(`${file}:`) && /:E\d{4}:/.test(line));

  beforeAll(() => {
    for (const stage of stages) {
      const synth = synthStage(stage);
      try {
        writeFileSync(templateFile(stage), JSON.stringify(synth.templateJson));
      } finally {
        synth.dispose();
      }
    }
    // With a template cfn-lint must reject, linted in the same run: the last case below.
    writeFileSync(brokenFile, JSON.stringify({ Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: { NoSuchProperty: 1 } } } }));
    run = spawnSync(cfnLint as string, ['--format', 'parseable', ...stages.map(templateFile), brokenFile], { encoding: 'utf8' });
  }, 180_000);
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it.each(stages)('finds no errors in the %s template', (stage) => {
    // Exit bits: 2 errors, 4 warnings, 8 informational, for all the files at once; anything else (1, 32) is a crash.
    expect(run.status, run.stderr).not.toBeNull();
    expect((run.status as number) & ~(2 | 4 | 8), run.stderr).toBe(0);
    // Parseable lines start with the file's path: file:line:column:line:column:rule:message.
    const findings = run.stdout.split('\n').filter((line) => line.startsWith(`${templateFile(stage)}:`));
    const errors = errorsOf(templateFile(stage));
    if (findings.length > errors.length) console.info(`cfn-lint ${stage} warnings:\n${findings.filter((line) => !errors.includes(line)).join('\n')}`);
    expect(errors).toEqual([]);
  });

  it('reports the errors of a template it must reject, under that file: the cases above read the same run', () => {
    // Without this, a run that linted nothing, or output this file does not parse, would pass them.
    expect(errorsOf(brokenFile)).not.toEqual([]);
  });
});

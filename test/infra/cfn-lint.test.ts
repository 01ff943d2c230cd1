/** cfn-lint over every stage's synthesized template: zero errors (warnings are printed, not failed). */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STAGES } from '../../lib/config/stages';
import { synthStage } from './synth-stage';

const probe = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const available = probe.status === 0;
if (!available) {
  // A skipped test says why, where CI output shows it.
  console.warn(
    `cfn-lint tests skipped: cfn-lint is not installed on this machine (${probe.error?.message ?? probe.stderr.trim()}); pip install cfn-lint to run them`,
  );
}

describe.skipIf(!available)('cfn-lint', () => {
  it.each(Object.keys(STAGES))('finds no errors in the %s template', (stage) => {
    const synth = synthStage(stage);
    try {
      const file = join(synth.app.outdir, `lint-${stage}.template.json`);
      writeFileSync(file, JSON.stringify(synth.templateJson));
      const result = spawnSync('cfn-lint', ['--format', 'parseable', file], { encoding: 'utf8' });
      const findings = result.stdout.split('\n').filter(Boolean);
      const errors = findings.filter((line) => /:E\d{4}:/.test(line));
      if (findings.length > errors.length) console.info(`cfn-lint ${stage} warnings:\n${findings.filter((line) => !errors.includes(line)).join('\n')}`);
      expect(errors).toEqual([]);
      // Exit bit 2 means errors, 4 warnings, 8 informational; anything else (1, 32) is a crash.
      expect(result.status, result.stderr).not.toBeNull();
      expect((result.status as number) & ~(4 | 8)).toBe(0);
    } finally {
      synth.dispose();
    }
  });
});

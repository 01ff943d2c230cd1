/**
 * The stage config is loaded by pipectl, which must not pull in aws-cdk-lib (issue 18): the config
 * modules import no CDK, and the retention values they list are the ones CDK (and CloudWatch
 * Logs) accept.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { LOG_RETENTION_DAYS } from '../../lib/config/stage-types';

describe('lib/config is CDK-free', () => {
  const configDir = join(__dirname, '..', '..', 'lib', 'config');
  const configFiles = readdirSync(configDir).filter((name) => name.endsWith('.ts'));

  it('covers the types, schema and load modules of the stage config', () => {
    expect(configFiles).toEqual(expect.arrayContaining(['stage-types.ts', 'stage-schema.ts', 'stage-load.ts', 'stages.ts']));
  });

  it.each(configFiles)('%s imports nothing from aws-cdk-lib', (file) => {
    const source = readFileSync(join(configDir, file), 'utf8');
    expect(source).not.toMatch(/from 'aws-cdk-lib/);
  });

  it('lists exactly the retention periods CDK accepts, "never expire" excluded', () => {
    const cdk = Object.values(RetentionDays).filter((value): value is number => typeof value === 'number' && value !== RetentionDays.INFINITE);
    expect([...LOG_RETENTION_DAYS].sort((a, b) => a - b)).toEqual(cdk.sort((a, b) => a - b));
  });
});

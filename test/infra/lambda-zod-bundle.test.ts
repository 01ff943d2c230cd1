/**
 * Issue 17: the Lambda bundles hold zod/mini's core, not the classic API nor zod's other locales
 * (the classic `import { z } from 'zod'` put ~455 KB of zod into each bundle, 264 KB of it
 * locales). zod/mini has no messages of its own; lambda/shared/zod-mini.ts registers English, so a
 * bundle with no classic zod in it still explains a bad environment in words (the unit tests run
 * with classic zod loaded, which registers English for them, so only a bundle can show this).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../lambda/contract';
import { synthesizeLocalStack } from '../../local/stack-model';

const stack = synthesizeLocalStack({ stage: 'dev' });
const FUNCTIONS = [stack.processor, ...stack.scheduledFunctions, ...stack.alarmActionFunctions].map((fn): [string, string] => [fn.logicalId, fn.bundlePath]);

/** The zod files a bundle was built from, from its source map. */
function zodSources(bundlePath: string): string[] {
  const { sources } = JSON.parse(readFileSync(`${bundlePath}.map`, 'utf8')) as { sources: string[] };
  return sources.filter((source) => source.includes('node_modules/zod/'));
}

describe.each(FUNCTIONS)('the %s bundle', (_logicalId, bundlePath) => {
  it('holds no classic zod API and no locale but English', () => {
    // Act
    const sources = zodSources(bundlePath);

    // Assess
    expect(sources.filter((source) => source.includes('zod/v4/classic/'))).toEqual([]);
    expect(sources.filter((source) => source.includes('zod/v4/locales/') && !source.endsWith('zod/v4/locales/en.js'))).toEqual([]);
  });
});

describe('the processor bundle', () => {
  it('fails its cold start on a bad environment with zod English messages, as the unit tests expect', () => {
    // Prepare
    const variables: Record<string, string> = { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1' };
    for (const [name, value] of Object.entries(stack.processor.environment))
      variables[name] = typeof value === 'string' ? value : `https://placeholder.invalid/${value.ref}`;
    variables[ENV.RECORD_CONCURRENCY] = '0';
    variables[ENV.LOG_RAW_INPUT] = 'yes';

    // Act
    const result = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(stack.processor.bundlePath)})`], {
      env: variables,
      encoding: 'utf8',
      timeout: 30_000,
    });

    // Assess
    expect(zodSources(stack.processor.bundlePath).some((source) => source.includes('zod/v4/classic/'))).toBe(false);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(
      `processor configuration is invalid: ${ENV.RECORD_CONCURRENCY}: Too small: expected number to be >=1; ${ENV.LOG_RAW_INPUT}: Invalid option: expected one of "true"|"false"`,
    );
  });
});

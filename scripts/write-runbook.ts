/**
 * `npm run runbook`: writes RUNBOOK.md and docs/POSTMORTEM_TEMPLATE.md from the alarm catalog.
 * `npm run runbook -- --check` writes nothing and exits 1 when either file is out of date (for CI;
 * test/unit/runbook.test.ts checks the same).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { POSTMORTEM_TEMPLATE } from '../lib/observability/postmortem-template';
import { renderRunbook } from '../lib/observability/runbook';
import { catalogsOfAllStages } from '../lib/observability/stage-catalogs';

const ROOT = join(__dirname, '..');

/** The generated files and their contents. */
export function generatedFiles(): ReadonlyArray<{ readonly path: string; readonly content: string }> {
  return [
    { path: join(ROOT, 'RUNBOOK.md'), content: renderRunbook(catalogsOfAllStages()) },
    { path: join(ROOT, 'docs', 'POSTMORTEM_TEMPLATE.md'), content: POSTMORTEM_TEMPLATE },
  ];
}

function current(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  let stale = 0;
  for (const { path, content } of generatedFiles()) {
    const name = relative(process.cwd(), path);
    if (current(path) === content) {
      process.stdout.write(`${name}: up to date\n`);
    } else if (check) {
      stale += 1;
      process.stderr.write(`${name}: out of date with the alarm catalog; run \`npm run runbook\` and commit it\n`);
    } else {
      writeFileSync(path, content);
      process.stdout.write(`${name}: written\n`);
    }
  }
  return stale === 0 ? 0 : 1;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

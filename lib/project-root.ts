import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The repository's root: the nearest directory at or above `from` that holds `cdk.json`.
 * Searched for, not computed as `__dirname/../..`, because the same modules run from source (tsx,
 * vitest) and from pipectl's prebuilt bundle in `dist/`, where `__dirname` is another directory.
 */
export function findProjectRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'cdk.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no cdk.json at or above ${from}: cannot find the project root`);
  }
}

/** The repository's root (see findProjectRoot). */
export const PROJECT_ROOT = findProjectRoot();

/** The committed demo workload `npm start` sends: a few hundred tickets, some re-sent, a few malformed. */
export const DEFAULT_INPUT = join(PROJECT_ROOT, 'examples', 'tickets.jsonl');

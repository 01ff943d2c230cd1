import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * docs/code-map.md maps each step of DESIGN.md's data flow to the file or folder that implements
 * it. A file moves, the map rots: every path it names must exist, and the README and the
 * architecture page must link it.
 */

const ROOT = join(__dirname, '..', '..');
const codeMap = readFileSync(join(ROOT, 'docs', 'code-map.md'), 'utf8');
const TOP_LEVEL = /^(bin|lib|lambda|local|pipectl|scripts|bench|examples|test|docs)\/|^RUNBOOK\.md$/;
const paths = [...new Set([...codeMap.matchAll(/`([^`\s]+)`/g)].map((match) => match[1] ?? '').filter((text) => TOP_LEVEL.test(text)))];

describe('docs/code-map.md', () => {
  it('names the places of the data flow (more than the nine processor steps)', () => {
    expect(paths.length).toBeGreaterThan(20);
    for (const step of [1, 2, 3, 4, 5, 6, 7, 8, 9]) expect(codeMap).toMatch(new RegExp(`^\\| ${step} `, 'm'));
  });

  it.each(paths)('names %s, which exists', (path) => {
    expect(existsSync(join(ROOT, path))).toBe(true);
  });

  it.each(['README.md', join('docs', 'architecture.md')])('is linked from %s', (file) => {
    expect(readFileSync(join(ROOT, file), 'utf8')).toMatch(/\]\((docs\/)?code-map\.md\)/);
  });
});

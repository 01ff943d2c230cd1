/**
 * The synth cache (local/stack-model.ts) never removes an assembly a running pipeline starts its
 * execution environments from (found by `pipectl gameday --all` beside a test run: a drill's
 * bundle was pruned under it, and the next cold start failed).
 */
import { statSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheEntriesToPrune, holdCachedStack, SYNTH_CACHE_DIR, synthesizeLocalStack } from '../../local/stack-model';

const MINUTE = 60_000;

describe('pruning the synth cache', () => {
  const now = Date.UTC(2026, 11, 3, 12);
  const entry = (name: string, minutesAgo: number, partial = false) => ({ path: name, partial, usedAt: now - minutesAgo * MINUTE });

  it('keeps the twelve most recently used, and any used in the last 30 minutes beyond them', () => {
    const entries = [
      ...Array.from({ length: 12 }, (_, index) => entry(`recent-${index}`, index)),
      entry('in-use', 25),
      entry('idle', 31),
      entry('old', 24 * 60),
    ];
    expect(cacheEntriesToPrune(entries, now).sort()).toEqual(['idle', 'old']);
  });

  it('keeps everything while there are twelve or fewer, and drops partial synths older than an hour', () => {
    const entries = [entry('a', 24 * 60), entry('b.partial-1', 61, true), entry('c.partial-2', 59, true)];
    expect(cacheEntriesToPrune(entries, now)).toEqual(['b.partial-1']);
  });
});

const cacheOff = process.env.PIPELINE_SYNTH_CACHE === 'off';
if (cacheOff) console.log('holdCachedStack test skipped: PIPELINE_SYNTH_CACHE=off, so no stack comes from the cache');

describe.skipIf(cacheOff)('holdCachedStack', () => {
  it("marks a cached assembly as used now, so a concurrent synth's prune passes it by", () => {
    const stack = synthesizeLocalStack();
    const entryDir = dirname(dirname(stack.processor.bundlePath));
    expect(dirname(entryDir)).toBe(SYNTH_CACHE_DIR);
    const marker = join(entryDir, 'local-stack.json');
    const longAgo = new Date(Date.now() - 24 * 60 * MINUTE);
    utimesSync(marker, longAgo, longAgo);
    const release = holdCachedStack(stack);
    try {
      expect(Date.now() - statSync(marker).mtimeMs).toBeLessThan(60 * MINUTE);
    } finally {
      release();
    }
  });
});

/** Local mode's drift reference cache (local/drift-reference.ts): one computation per key, even when pipelines start at once. */
import { existsSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../lambda/contract';
import type { DriftBaseline } from '../../lambda/monitors/baseline-store';
import { answerSettings, computedOnce } from '../../local/drift-reference';
import { scratchDirs } from '../support/scratch-dirs';

const scratch = scratchDirs('drift-reference-cache-');

const baseline = (task: string) => ({ task }) as unknown as DriftBaseline;

describe('computedOnce', () => {
  it('computes once when several callers ask at the same time; the others read its file', async () => {
    const file = join(scratch(), 'nested', 'key.json');
    let computations = 0;
    const compute = async () => {
      computations += 1;
      await sleep(300);
      return [baseline('ticket-triage')];
    };
    const results = await Promise.all([computedOnce(file, compute), computedOnce(file, compute), computedOnce(file, compute)]);
    expect(computations).toBe(1);
    for (const result of results) expect(result).toEqual([baseline('ticket-triage')]);
    expect(existsSync(`${file}.lock`)).toBe(false);
    // Cached: no computation at all now.
    expect(await computedOnce(file, compute)).toEqual([baseline('ticket-triage')]);
    expect(computations).toBe(1);
  });

  it('takes over a lock left by a process that died, and releases its own when the computation fails', async () => {
    // A lock whose process is gone (a pid no process has: above the kernel's pid_max).
    const file = join(scratch(), 'key.json');
    writeFileSync(`${file}.lock`, '99999999');
    expect(await computedOnce(file, async () => [baseline('a')])).toEqual([baseline('a')]);

    // A lock of a live process, but older than five minutes: taken over too.
    const aged = join(scratch(), 'aged.json');
    writeFileSync(`${aged}.lock`, String(process.ppid));
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(`${aged}.lock`, old, old);
    expect(await computedOnce(aged, async () => [baseline('b')])).toEqual([baseline('b')]);

    // A fresh lock of a live process is waited for: its file appears, nothing is computed here.
    const waited = join(scratch(), 'waited.json');
    writeFileSync(`${waited}.lock`, String(process.ppid));
    let computed = false;
    const pending = computedOnce(waited, async () => {
      computed = true;
      return [];
    });
    await sleep(400);
    writeFileSync(waited, JSON.stringify([baseline('c')]));
    rmSync(`${waited}.lock`);
    expect(await pending).toEqual([baseline('c')]);
    expect(computed).toBe(false);

    const other = join(scratch(), 'failing.json');
    await expect(
      computedOnce(other, async () => {
        throw new Error('the reference run did not drain');
      }),
    ).rejects.toThrow('did not drain');
    expect(existsSync(`${other}.lock`)).toBe(false);
    expect(existsSync(other)).toBe(false);
  });
});

describe('answerSettings', () => {
  it('leaves out what changes logging or switch polling, keeps what changes answers, in a stable order', () => {
    const settings = answerSettings({
      [ENV.SWITCH_REFRESH_MS]: '500',
      [ENV.POWERTOOLS_LOG_LEVEL]: 'DEBUG',
      [ENV.POWERTOOLS_LOGGER_SAMPLE_RATE]: '1',
      [ENV.SHADOW_PERCENT]: '100',
      [ENV.PRIMARY_MODEL_ID]: 'sim-primary',
    });
    expect(settings).toEqual([
      [ENV.PRIMARY_MODEL_ID, 'sim-primary'],
      [ENV.SHADOW_PERCENT, '100'],
    ]);
  });
});

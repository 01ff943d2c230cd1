import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/*
 * Work that several processes may ask for at once (test files in parallel) done by one of them:
 * the others wait for its result instead of each redoing it. Local mode's drift reference runs
 * (drift-reference.ts) and its synthesized stacks (stack-model.ts) use it. The lock is a file
 * created exclusively beside the result, holding the owner's pid.
 *
 * Hand-written: proper-lockfile's `lockSync` refuses to wait (its retries are async only), and a
 * synth is synchronous; what the waiters wait for is the result, which a lock library does not
 * know about.
 */

/** A lock older than this belongs to a process that died holding it: taken over. */
export const LOCK_STALE_MS = 5 * 60_000;

/** How often a waiter looks again. */
const POLL_MS = 250;

/**
 * Whether a lock is left by a process that no longer runs (killed mid-run: Ctrl-C, a CI timeout),
 * or is older than LOCK_STALE_MS. A lock released between the calls is not stale: look again.
 */
export function lockIsStale(lock: string): boolean {
  try {
    const pid = Number(readFileSync(lock, 'utf8'));
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0); // signal 0: only asks whether the process exists
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true;
      }
    }
    return Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS;
  } catch {
    return false;
  }
}

/** Takes the lock ('taken'), or finds it held ('held'), or removes a stale one ('stale': try again now). */
function tryLock(lock: string): 'taken' | 'held' | 'stale' {
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return 'taken';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    if (!lockIsStale(lock)) return 'held';
    rmSync(lock, { force: true });
    return 'stale';
  }
}

/** One look: the result if it is there, else the lock taken (produce now) or held by another (wait). */
function lookOrLock<T>(lock: string, cached: () => T | undefined): { readonly hit: T } | 'taken' | 'held' {
  for (;;) {
    const hit = cached();
    if (hit !== undefined) return { hit };
    const attempt = tryLock(lock);
    if (attempt !== 'stale') return attempt;
  }
}

/**
 * `cached()` when it has the result; otherwise `produce()`, by one caller at a time: the others
 * wait until `cached()` has it. `produce` must leave its result where `cached` finds it.
 */
export async function onceAcrossProcesses<T>(lock: string, cached: () => T | undefined, produce: () => Promise<T>): Promise<T> {
  for (;;) {
    const look = lookOrLock(lock, cached);
    if (look === 'held') {
      await sleep(POLL_MS);
      continue;
    }
    if (look !== 'taken') return look.hit;
    try {
      // The owner before us may have finished between our look and our lock.
      return cached() ?? (await produce());
    } finally {
      rmSync(lock, { force: true });
    }
  }
}

/** {@link onceAcrossProcesses} for synchronous work: the waiter's thread sleeps between looks. */
export function onceAcrossProcessesSync<T>(lock: string, cached: () => T | undefined, produce: () => T): T {
  for (;;) {
    const look = lookOrLock(lock, cached);
    if (look === 'held') {
      sleepSync(POLL_MS);
      continue;
    }
    if (look !== 'taken') return look.hit;
    try {
      return cached() ?? produce();
    } finally {
      rmSync(lock, { force: true });
    }
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

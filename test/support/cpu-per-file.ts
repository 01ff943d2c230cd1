/**
 * A setup file, only when `VITEST_CPU_PER_FILE=<file.jsonl>` is set (vitest.config.mts): appends
 * one line per test file with the CPU seconds its worker process spent from before the file was
 * imported to its last hook — the worker threads of the local pipeline's execution environments
 * and the in-process emulators included — and those of the child processes it waited for (a
 * `pipectl local` child, cfn-lint, esbuild; Linux only, from /proc/self/stat). Vitest's JSON
 * reporter has only wall time, which for a file that waits on a scaled clock says little about
 * what it costs the machine. A worker runs one file at a time, so the figures do not mix files;
 * a child started by an earlier file and reaped during this one counts here.
 *
 *   rm -f /tmp/cpu.jsonl; VITEST_CPU_PER_FILE=/tmp/cpu.jsonl npx vitest run
 *   jq -s -r 'sort_by(-(.cpuSeconds + .childrenSeconds))[] | "\(.cpuSeconds)\t\(.childrenSeconds)\t\(.wallSeconds)\t\(.file)"' /tmp/cpu.jsonl
 *   jq -s 'map(.pid) | unique | length' /tmp/cpu.jsonl      # worker processes vitest started
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { afterAll, expect } from 'vitest';

/** Seconds of CPU of the reaped child processes (utime + stime of the dead, waited-for children). */
function childrenSeconds(): number {
  try {
    // Fields after "pid (comm) ": state is index 0, cutime 13, cstime 14 (proc(5)); clock ticks of 1/100 s.
    const fields = (readFileSync('/proc/self/stat', 'utf8').split(') ')[1] ?? '').split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return 0;
  }
}

const output = process.env.VITEST_CPU_PER_FILE;
if (output) {
  const cpu = process.cpuUsage();
  const children = childrenSeconds();
  const started = Date.now();
  afterAll(() => {
    const used = process.cpuUsage(cpu);
    const line = {
      file: expect.getState().testPath,
      cpuSeconds: Math.round((used.user + used.system) / 10_000) / 100,
      childrenSeconds: Math.round((childrenSeconds() - children) * 100) / 100,
      wallSeconds: Math.round((Date.now() - started) / 10) / 100,
      // The worker process and when the file started (epoch ms): how many workers vitest started, and the run's timeline.
      pid: process.pid,
      startedAt: started,
    };
    appendFileSync(output, `${JSON.stringify(line)}\n`);
  });
}

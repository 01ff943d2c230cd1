/**
 * How long `npx pipectl --help` and `npx pipectl status --help` take, next to the yardstick
 * `npx --no-install tsc --version` (what npx itself costs, plus a small program): the target is at
 * most 300 ms more than the yardstick (issue 17). A benchmark, not a test: it prints medians.
 *
 *   npx tsx bench/cli-startup.ts                    # 11 rounds in this checkout
 *   npx tsx bench/cli-startup.ts --cwd /tmp/before  # another checkout (e.g. `git archive main`)
 *
 * The commands run interleaved, one of each per round, so a busy moment of a shared machine
 * weighs on all of them alike; the median of each is reported.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Command } from 'commander';

/** The commands timed, each as the shell would run it from the checkout. */
export const STARTUP_COMMANDS: ReadonlyArray<{ readonly name: string; readonly argv: readonly string[] }> = [
  { name: 'npx --no-install tsc --version (yardstick)', argv: ['npx', '--no-install', 'tsc', '--version'] },
  { name: 'npx pipectl --help', argv: ['npx', 'pipectl', '--help'] },
  { name: 'npx pipectl status --help', argv: ['npx', 'pipectl', 'status', '--help'] },
];

export interface StartupFigures {
  readonly runs: number;
  /** Median wall time per command, ms, in the order of STARTUP_COMMANDS. */
  readonly medianMs: Readonly<Record<string, number>>;
  /** Each pipectl command's median minus the yardstick's, ms. */
  readonly overYardstickMs: Readonly<Record<string, number>>;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Times each command `runs` times (interleaved) in `cwd`; a command that fails stops the run. */
export function measureStartup(cwd: string, runs: number): StartupFigures {
  const samples = new Map<string, number[]>(STARTUP_COMMANDS.map((command) => [command.name, []]));
  for (let round = 0; round < runs + 1; round++) {
    for (const command of STARTUP_COMMANDS) {
      const started = process.hrtime.bigint();
      const result = spawnSync(command.argv[0] as string, command.argv.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (result.status !== 0) throw new Error(`${command.name} in ${cwd} exited ${result.status}: ${result.stderr}`);
      // Round 0 warms npx's and the OS's caches; it is not counted.
      if (round > 0) samples.get(command.name)?.push(ms);
    }
  }
  const medianMs = Object.fromEntries([...samples].map(([name, values]) => [name, Math.round(median(values))]));
  const yardstick = medianMs[STARTUP_COMMANDS[0]?.name as string] as number;
  const overYardstickMs = Object.fromEntries(STARTUP_COMMANDS.slice(1).map((command) => [command.name, (medianMs[command.name] as number) - yardstick]));
  return { runs, medianMs, overYardstickMs };
}

/** The figures as markdown table rows: command, median, over the yardstick. */
export function startupTable(figures: StartupFigures): string {
  const rows = STARTUP_COMMANDS.map((command) => {
    const over = figures.overYardstickMs[command.name];
    return `| ${command.name} | ${figures.medianMs[command.name]} | ${over === undefined ? '—' : `+${over}`} |`;
  });
  return [`| command (median of ${figures.runs}) | ms | over the yardstick, ms |`, '| --- | ---: | ---: |', ...rows].join('\n');
}

if (require.main === module) {
  const options = new Command()
    .option('--cwd <dir>', 'the checkout to run in', join(__dirname, '..'))
    .option('--runs <n>', 'rounds counted (one more warms up)', (value) => Number.parseInt(value, 10), 11)
    .option('--json', 'print the figures as JSON')
    .parse()
    .opts<{ cwd: string; runs: number; json?: boolean }>();
  const figures = measureStartup(options.cwd, options.runs);
  process.stdout.write(options.json ? `${JSON.stringify(figures, null, 2)}\n` : `${startupTable(figures)}\n`);
}

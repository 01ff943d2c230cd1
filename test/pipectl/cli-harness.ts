import type { CliIo } from '../../pipectl/cli-io';
import { runPipectl } from '../../bin/commands/program';

/** What one in-process pipectl run printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The questions it asked. */
  readonly asked: readonly string[];
}

export interface CliRunOptions {
  /** Answers to give, in order, when it asks; a terminal is simulated when given. */
  readonly answers?: readonly string[];
  /** Standard input (for `send -`). */
  readonly stdin?: string;
}

/**
 * Runs the real pipectl command line in-process (commander, the command, the SDK clients over
 * HTTP), with its output captured. Without `answers` it behaves as in a pipe: no terminal, so a
 * state change without --yes is refused.
 */
export async function pipectl(args: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const asked: string[] = [];
  const answers = [...(options.answers ?? [])];
  const io: CliIo = {
    out: (text) => void (stdout += text),
    err: (text) => void (stderr += text),
    interactive: options.answers !== undefined,
    async ask(question) {
      asked.push(question);
      return answers.shift() ?? '';
    },
    readStdin: async () => options.stdin ?? '',
  };
  const code = await runPipectl(['node', 'pipectl', ...args], io);
  return { code, stdout, stderr, asked };
}

import { createInterface } from 'node:readline/promises';
import { NotConfirmedError } from './errors';

/**
 * Where a command writes and how it asks. Commands never touch `process.stdout` directly, so the
 * tests run them in-process and read exactly what a user would see.
 */
export interface CliIo {
  /** Results: what a script pipes on (`--json` output, a job id). */
  out(text: string): void;
  /** Progress, warnings and explanations for the human. */
  err(text: string): void;
  /** A person is at a terminal: prompts and progress bars make sense. */
  readonly interactive: boolean;
  /** The stream a progress bar draws on (stderr), when interactive. */
  readonly progressStream?: NodeJS.WritableStream;
  /** Asks a question on the terminal and returns the answer line. */
  ask(question: string): Promise<string>;
  /** All of standard input (for `send -`). */
  readStdin(): Promise<string>;
}

/** The process's own streams. */
export function processIo(): CliIo {
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    interactive,
    progressStream: interactive ? process.stderr : undefined,
    async ask(question) {
      const prompt = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await prompt.question(question);
      } finally {
        prompt.close();
      }
    },
    async readStdin() {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

export interface ConfirmRequest {
  /** What will happen, e.g. "pause the processor's event source mapping". */
  readonly action: string;
  /** Whose: the target's description. */
  readonly target: string;
  /** The stage name a person must type for a production target. */
  readonly stage: string;
  readonly production: boolean;
  /** `--yes` was given. */
  readonly yes: boolean;
  /** How to see it first, when the command has one (e.g. "--dry-run"). */
  readonly preview?: string;
}

/**
 * The guard in front of every state change: `--yes`, or a person answering on a terminal (typing
 * the stage name for production, so a paste meant for dev cannot act on prod). Without a terminal
 * and without `--yes` nothing happens and the error says how to proceed.
 */
export async function confirm(io: CliIo, request: ConfirmRequest): Promise<void> {
  if (request.yes) return;
  const preview = request.preview ? ` (or ${request.preview} to see what it would do)` : '';
  if (!io.interactive) {
    throw new NotConfirmedError(`this would ${request.action} on ${request.target}: nothing done. Re-run with --yes to confirm${preview}.`);
  }
  if (request.production) {
    const answer = await io.ask(`This will ${request.action} on ${request.target} — PRODUCTION.\nType the stage name (${request.stage}) to confirm: `);
    if (answer.trim() !== request.stage) throw new NotConfirmedError(`not confirmed ("${answer.trim()}" ≠ "${request.stage}"): nothing done.`);
    return;
  }
  const answer = await io.ask(`This will ${request.action} on ${request.target}. Continue? [y/N] `);
  if (!/^y(es)?$/i.test(answer.trim())) throw new NotConfirmedError('not confirmed: nothing done.');
}

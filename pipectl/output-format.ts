import { type Command, Option } from 'commander';
import type { CliIo } from './cli-io';

/**
 * `--output` as aws-cli and kubectl spell it:
 * - `table` (the default): the human-readable rendering of each command;
 * - `json`: the command's JSON (what `--json` printed, which stays as an alias);
 * - `text`: the same JSON flattened to tab-separated lines for `cut`, `awk` and `grep`
 *   (one line per scalar: `path<TAB>value`; a list of records prints one line per record).
 */
export const OUTPUT_FORMATS = ['table', 'json', 'text'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/**
 * `--output` for a program: `io` is what commands write to (it turns their JSON into text lines
 * when `--output text` was asked for); `install`, called once every command is registered, gives
 * each command that has `--json` an `--output <format>` option. Commands keep one switch
 * (`flags.json`): a pre-action hook sets it for `json` and `text`.
 */
export function outputOption(io: CliIo): { readonly io: CliIo; install(program: Command): void } {
  let format: OutputFormat = 'table';
  return {
    io: {
      ...io,
      out(text: string) {
        io.out(format === 'text' ? jsonToText(text) : text);
      },
    },
    install(program: Command) {
      for (const command of allCommands(program)) {
        const json = command.options.find((option) => option.long === '--json');
        if (!json) continue;
        json.description = `${json.description} (same as --output json)`;
        command.addOption(new Option('--output <format>', 'table (default, for people), json, or text (tab-separated, for scripts)').choices(OUTPUT_FORMATS));
      }
      program.hook('preAction', (_program, action) => {
        const options = action.opts<{ output?: OutputFormat; json?: boolean }>();
        format = options.output ?? (options.json ? 'json' : 'table');
        if (format !== 'table') action.setOptionValue('json', true);
      });
    },
  };
}

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

/**
 * Flattens a command's JSON output into tab-separated lines; text that is not JSON (a message, a
 * path) passes through unchanged.
 */
export function jsonToText(output: string): string {
  let value: unknown;
  try {
    value = JSON.parse(output);
  } catch {
    return output;
  }
  const lines: string[] = [];
  if (Array.isArray(value) && value.every((item) => item !== null && typeof item === 'object' && !Array.isArray(item))) {
    for (const record of value)
      lines.push(
        flatten(record, '')
          .map(([, leaf]) => leaf)
          .join('\t'),
      );
  } else {
    for (const [path, leaf] of flatten(value, '')) lines.push(path === '' ? leaf : `${path}\t${leaf}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function flatten(value: unknown, path: string): Array<[string, string]> {
  if (value === null || typeof value !== 'object') return [[path, value === null ? '' : String(value).replace(/[\t\n]/g, ' ')]];
  const entries: Array<[string, unknown]> = Array.isArray(value) ? value.map((item, index) => [String(index), item]) : Object.entries(value);
  return entries.flatMap(([key, item]) => flatten(item, path === '' ? key : `${path}.${key}`));
}

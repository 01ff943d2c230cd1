/**
 * Writes a ticket workload as JSON Lines: one SQS message body per line.
 *
 *   npx tsx examples/write-tickets.ts                      # regenerate examples/tickets.jsonl
 *   npx tsx examples/write-tickets.ts --only billing --count 500 --out /tmp/billing.jsonl
 *
 * Options:
 *   --out <path>       where to write (default: examples/tickets.jsonl)
 *   --count <n>        total lines (default 300)
 *   --seed <n>         random seed (default 1)
 *   --only <category>  make every ticket this category: a shifted workload for drift experiments
 *   --share <0..1>     with --only, the fraction of tickets of that category (default 1)
 *   --clean            no duplicates and no bad lines
 *
 * The defaults reproduce the committed file byte for byte; a unit test checks that they do.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TICKET_CATEGORIES } from '../lambda/tasks/ticket-triage';
import type { TicketCategory } from '../local/workload-generator/ticket-generator';
import {
  BAD_LINE_KINDS,
  buildWorkload,
  DEFAULT_WORKLOAD,
  renderWorkload,
  type WorkloadLineKind,
  type WorkloadOptions,
} from '../local/workload-generator/ticket-workload';

function fail(message: string): never {
  process.stderr.write(`write-tickets: ${message}\n`);
  process.exit(2);
}

function parseNumber(name: string, text: string | undefined, check: (value: number) => boolean): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || !check(value)) fail(`--${name} ${JSON.stringify(text)} is not valid`);
  return value;
}

function isCategory(text: string): text is TicketCategory {
  return (TICKET_CATEGORIES as readonly string[]).includes(text);
}

function readArguments() {
  try {
    return parseArgs({
      options: {
        out: { type: 'string' },
        count: { type: 'string' },
        seed: { type: 'string' },
        only: { type: 'string' },
        share: { type: 'string' },
        clean: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    return fail(`${(error as Error).message}\nusage: write-tickets [--out path] [--count n] [--seed n] [--only category [--share 0..1]] [--clean]`);
  }
}

const values = readArguments();

if (values.only !== undefined && !isCategory(values.only)) {
  fail(`--only must be one of ${TICKET_CATEGORIES.join(', ')}`);
}
if (values.share !== undefined && values.only === undefined) fail('--share needs --only');

const options: WorkloadOptions = {
  count: parseNumber('count', values.count, (n) => Number.isInteger(n) && n > 0) ?? DEFAULT_WORKLOAD.count,
  seed: parseNumber('seed', values.seed, Number.isInteger) ?? DEFAULT_WORKLOAD.seed,
  ...(values.only === undefined ? {} : { category: values.only as TicketCategory }),
  ...(values.share === undefined ? {} : { share: parseNumber('share', values.share, (n) => n >= 0 && n <= 1) }),
  ...(values.clean ? { duplicateRate: 0, badLines: false } : {}),
};

let lines;
try {
  lines = buildWorkload(options);
} catch (error) {
  fail((error as Error).message);
}
const out = values.out ?? fileURLToPath(new URL('tickets.jsonl', import.meta.url));
writeFileSync(out, renderWorkload(lines));

const kinds: readonly WorkloadLineKind[] = ['valid', 'duplicate-exact', 'duplicate-reordered', ...BAD_LINE_KINDS];
const summary = kinds
  .map((kind) => [kind, lines.filter((line) => line.kind === kind).length] as const)
  .filter(([, n]) => n > 0)
  .map(([kind, n]) => `${kind} ${n}`)
  .join(', ');
process.stdout.write(`wrote ${lines.length} lines to ${out} (${summary})\n`);

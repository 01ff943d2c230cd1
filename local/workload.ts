import { readFileSync } from 'node:fs';
import { seededRandom } from '../lambda/shared/seeded-random';
import { buildWorkload, DEFAULT_WORKLOAD, restyledJson } from '../local/workload-generator/ticket-workload';

import { DEFAULT_INPUT } from '../lib/project-root';

export { DEFAULT_INPUT };

export interface WorkloadSpec {
  /** One message body per line, exactly what a producer sends. */
  readonly input?: string;
  /** How many messages to send. */
  readonly messages?: number;
  /** Fraction of the messages that re-send an earlier one (half byte-identical, half restyled). */
  readonly duplicates?: number;
  readonly seed?: number;
  /** Fraction of the messages that are agents' small edits of earlier tickets, plus two loopers (issue 16); generated workloads only. */
  readonly agentEdits?: number;
}

/**
 * The message bodies a local run sends, in order.
 *
 * - No flags: `examples/tickets.jsonl` as committed.
 * - `--input FILE`: that file's non-empty lines (`--messages N` takes the first N); with
 *   `--duplicates F`, a fraction F of the N messages re-send earlier lines instead.
 * - `--messages`, `--duplicates` or `--seed` without `--input`: a generated workload of that size
 *   (the same generator that wrote tickets.jsonl, so it has the same few malformed lines).
 */
export function buildBodies(spec: WorkloadSpec): string[] {
  if (spec.duplicates !== undefined && !(spec.duplicates >= 0 && spec.duplicates < 1)) {
    throw new RangeError(`--duplicates must be a fraction in [0, 1), got ${spec.duplicates}`);
  }
  if (spec.messages !== undefined && !(Number.isInteger(spec.messages) && spec.messages >= 1)) {
    throw new RangeError(`--messages must be a positive integer, got ${spec.messages}`);
  }
  if (spec.agentEdits !== undefined && !(spec.agentEdits >= 0 && spec.agentEdits < 1)) {
    throw new RangeError(`--agent-edits must be a fraction in [0, 1), got ${spec.agentEdits}`);
  }
  if (spec.agentEdits !== undefined && spec.input) throw new RangeError('--agent-edits generates its workload: it cannot be combined with --input');
  const generated = !spec.input && (spec.messages !== undefined || spec.duplicates !== undefined || spec.seed !== undefined || spec.agentEdits !== undefined);
  if (generated) {
    const count = spec.messages ?? DEFAULT_WORKLOAD.count;
    return buildWorkload({
      count,
      seed: spec.seed ?? DEFAULT_WORKLOAD.seed,
      duplicateRate: spec.duplicates ?? DEFAULT_WORKLOAD.duplicateRate,
      // Small runs (a smoke test of 5 messages) have no room for the nine malformed lines.
      badLines: count >= 100,
      agentEdits: spec.agentEdits,
    }).map((line) => line.text);
  }

  const file = spec.input ?? DEFAULT_INPUT;
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line) => line.trim().length > 0);
  const count = spec.messages ?? lines.length;
  if (count > lines.length && !spec.duplicates) {
    throw new RangeError(`${file} has ${lines.length} messages; --messages ${count} needs more (or use --duplicates to re-send)`);
  }
  if (!spec.duplicates) return lines.slice(0, count);

  const random = seededRandom(spec.seed ?? DEFAULT_WORKLOAD.seed);
  const resends = Math.round(count * spec.duplicates);
  const originals = lines.slice(0, count - resends);
  const bodies = [...originals];
  for (let i = 0; i < resends; i += 1) {
    const source = originals[Math.floor(random() * originals.length)] as string;
    bodies.splice(bodies.length - Math.floor(random() * 10), 0, i % 2 === 0 ? source : restyle(source));
  }
  return bodies;
}

/** The same message, formatted differently (reversed key order, escaped non-ASCII); bad JSON stays as is. */
function restyle(body: string): string {
  try {
    return restyledJson(JSON.parse(body));
  } catch {
    return body;
  }
}

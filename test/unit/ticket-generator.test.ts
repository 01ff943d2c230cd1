import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { generateTicket, generateTickets } from '../../local/workload-generator/ticket-generator';
import { BAD_LINE_KINDS, buildWorkload, renderWorkload, type WorkloadLineKind } from '../../local/workload-generator/ticket-workload';
import { seededRandom } from '../../lambda/shared/seeded-random';
import { findTask } from '../../lambda/tasks/registry';
import { TICKET_CATEGORIES, TICKET_PRIORITIES, TicketInput } from '../../lambda/tasks/ticket-triage';

describe('generateTickets', () => {
  it('gives the same tickets for the same seed', () => {
    expect(generateTickets(300, 5)).toEqual(generateTickets(300, 5));
    // generateTicket is a pure function of the stream it draws from.
    const a = seededRandom(11);
    const b = seededRandom(11);
    expect(generateTicket(a)).toEqual(generateTicket(b));
  });

  it('gives different tickets for a different seed', () => {
    const first = generateTickets(100, 1).map((t) => JSON.stringify(t.input));
    const second = new Set(generateTickets(100, 2).map((t) => JSON.stringify(t.input)));
    expect(first.filter((text) => second.has(text)).length).toBeLessThan(3);
  });

  it('makes inputs that all pass TicketInput (5,000 tickets over 5 seeds)', () => {
    const failures = [1, 2, 3, 4, 5].flatMap((seed) => generateTickets(1_000, seed)).filter((ticket) => !TicketInput.safeParse(ticket.input).success);
    expect(failures).toEqual([]);
  });

  it('makes 50,000 tickets that are almost all distinct (measured 0.99946 for seed 1)', () => {
    const tickets = generateTickets(50_000, 1);
    const distinct = new Set(tickets.map((t) => `${t.input.subject}\u0000${t.input.body}\u0000${t.input.customerTier}`)).size;
    expect(distinct / tickets.length).toBeGreaterThanOrEqual(0.999);
  });

  it('covers every category and priority, with varied length, tier and script', () => {
    const tickets = generateTickets(2_000, 3);
    expect(new Set(tickets.map((t) => t.expected.category))).toEqual(new Set(TICKET_CATEGORIES));
    expect(new Set(tickets.map((t) => t.expected.priority))).toEqual(new Set(TICKET_PRIORITIES));
    const lengths = tickets.map((t) => t.input.body.length);
    expect(Math.min(...lengths)).toBeLessThan(60);
    expect(Math.max(...lengths)).toBeGreaterThan(1_000);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(1_500);
    expect(tickets.filter((t) => t.input.body.includes('\n\n')).length).toBeGreaterThan(1_000);
    const untiered = tickets.filter((t) => t.input.customerTier === undefined).length;
    expect(untiered).toBeGreaterThan(150);
    expect(untiered).toBeLessThan(500);
    expect(tickets.some((t) => /\p{Extended_Pictographic}/u.test(t.input.body))).toBe(true);
    expect(tickets.some((t) => /\p{Script=Han}|\p{Script=Hiragana}|\p{Script=Hangul}/u.test(t.input.body))).toBe(true);
    expect(tickets.some((t) => /[À-ž]/.test(t.input.body))).toBe(true);
    const ambiguous = tickets.filter((t) => t.alsoMentions !== undefined).length / tickets.length;
    expect(ambiguous).toBeGreaterThan(0.1);
    expect(ambiguous).toBeLessThan(0.2);
  });

  it.each([
    ['billing', 1, 500, 500],
    ['shipping', 0.7, 300, 400],
  ] as const)('over-represents %s with share %s (drift workloads)', (category, share, atLeast, atMost) => {
    const count = generateTickets(500, 8, { category, share }).filter((t) => t.expected.category === category).length;
    expect(count).toBeGreaterThanOrEqual(atLeast);
    expect(count).toBeLessThanOrEqual(atMost);
  });
});

/**
 * The producer contract, restated here instead of imported from the processor: the committed
 * file must be judged by what producers are told, not by whatever the parser currently does.
 */
const Envelope = z.strictObject({
  task: z.string(),
  input: z.unknown(),
  jobId: z.string().min(1).optional(),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
});

type Verdict = 'ok' | 'not-json' | 'bad-envelope' | 'unknown-task' | 'bad-input';

function judge(line: string): Verdict {
  let document: unknown;
  try {
    document = JSON.parse(line);
  } catch {
    return 'not-json';
  }
  const envelope = Envelope.safeParse(document);
  if (!envelope.success) return 'bad-envelope';
  const task = findTask(envelope.data.task);
  if (!task) return 'unknown-task';
  return task.inputSchema.safeParse(envelope.data.input).success ? 'ok' : 'bad-input';
}

/** Canonical JSON (sorted keys, no whitespace): what the idempotency key hashes. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(record[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

describe('examples/tickets.jsonl', () => {
  const fileText = readFileSync(new URL('../../examples/tickets.jsonl', import.meta.url), 'utf8');
  const workload = buildWorkload();
  const fileLines = fileText.split('\n').slice(0, -1);

  it('is exactly what write-tickets.ts produces with its defaults (regenerate with `npx tsx examples/write-tickets.ts`)', () => {
    expect(fileText).toBe(renderWorkload(workload));
    expect(fileLines).toHaveLength(300);
  });

  it('holds 273 first sends, 9 exact and 9 restyled re-sends, and one line per bad kind', () => {
    const count = (kind: WorkloadLineKind): number => workload.filter((line) => line.kind === kind).length;
    expect(count('valid')).toBe(273);
    expect(count('duplicate-exact')).toBe(9);
    expect(count('duplicate-reordered')).toBe(9);
    for (const kind of BAD_LINE_KINDS) expect(count(kind)).toBe(1);
  });

  it('keeps every line a single line of at most 4 KB', () => {
    for (const line of fileLines) {
      expect(line).not.toMatch(/[\r\n]/);
      expect(Buffer.byteLength(line, 'utf8')).toBeLessThanOrEqual(4_096);
    }
  });

  it.each<[string, Verdict]>([
    ['not-json', 'not-json'],
    ['truncated-json', 'not-json'],
    ['unknown-task', 'unknown-task'],
    ['missing-subject', 'bad-input'],
    ['body-not-string', 'bad-input'],
    ['unknown-top-level-key', 'bad-envelope'],
    ['proto-key-in-input', 'bad-input'],
    ['constructor-key-in-input', 'bad-input'],
    ['tier-not-in-enum', 'bad-input'],
  ])('its %s line is really bad: %s', (kind, verdict) => {
    const line = workload.find((l) => l.kind === kind)!;
    expect(judge(line.text)).toBe(verdict);
  });

  it('has every other line pass the envelope and TicketInput', () => {
    const good = workload.filter((line) => !(BAD_LINE_KINDS as readonly string[]).includes(line.kind));
    expect(good).toHaveLength(291);
    expect(good.filter((line) => judge(line.text) !== 'ok')).toEqual([]);
  });

  it('gives every re-send the canonical form of an earlier line, and first sends distinct ones', () => {
    const seen = new Map<string, string>(); // canonical form → the raw text of its first send
    for (const line of workload) {
      if ((BAD_LINE_KINDS as readonly string[]).includes(line.kind)) continue;
      const form = canonical(JSON.parse(line.text));
      const first = seen.get(form);
      if (line.kind === 'valid') {
        expect(first).toBeUndefined();
        seen.set(form, line.text);
      } else {
        expect(first).toBeDefined();
        // Exact re-sends repeat the bytes; restyled ones differ in bytes but not in content.
        if (line.kind === 'duplicate-exact') expect(line.text).toBe(first);
        else expect(line.text).not.toBe(first);
      }
    }
  });

  it('carries a jobId and metadata on some messages, a customerTier on most', () => {
    const parsed = workload.filter((l) => l.kind === 'valid').map((l) => JSON.parse(l.text) as Record<string, unknown>);
    const withJob = parsed.filter((m) => m.jobId === 'demo-job-1').length;
    const withMetadata = parsed.filter((m) => m.metadata !== undefined).length;
    const withTier = parsed.filter((m) => (m.input as TicketInput).customerTier !== undefined).length;
    expect(withJob).toBeGreaterThan(30);
    expect(withJob).toBeLessThan(150);
    expect(withMetadata).toBeGreaterThan(50);
    expect(withTier / parsed.length).toBeGreaterThan(0.7);
  });
});

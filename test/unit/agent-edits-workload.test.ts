/** The workload generator's agent edits and loopers (issue 16). */
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../lambda/processor/message-parser';
import { signatureOf, similarity, textOf } from '../../lambda/resilience/text-similarity';
import { buildWorkload } from '../../local/workload-generator/ticket-workload';

const parsed = (text: string) => parseMessage(text);

describe('a workload with 5% agent edits', () => {
  const lines = buildWorkload({ count: 400, seed: 7, agentEdits: 0.05 });
  const edits = lines.filter((line) => line.kind === 'agent-edit');
  const looperEdits = lines.filter((line) => line.kind === 'looper-edit');
  const firstIndexOf = (entityId: string) => lines.findIndex((line) => line.kind === 'valid' && parsed(line.text).entityId === entityId);

  it('keeps the total, makes 5% of the lines agent edits, and names an entity on every valid ticket', () => {
    expect(lines).toHaveLength(400);
    expect(edits).toHaveLength(20);
    for (const line of lines.filter((candidate) => candidate.kind === 'valid')) expect(parsed(line.text).entityId).toMatch(/^ticket-\d{5}$/);
  });

  it('places each edit after the ticket it edits, with a different input and mostly the same text', () => {
    for (const edit of edits) {
      const message = parsed(edit.text);
      const at = firstIndexOf(message.entityId as string);
      expect(at).toBeGreaterThanOrEqual(0);
      expect(at).toBeLessThan(lines.indexOf(edit));
      const original = parsed((lines[at] as { text: string }).text);
      expect(message.key).not.toBe(original.key);
      expect(similarity(signatureOf(textOf(message.input)), signatureOf(textOf(original.input)))).toBeGreaterThan(0.3);
    }
  });

  it('edits each ticket at most once, and has two loopers rewritten eight times with new content', () => {
    const edited = edits.map((edit) => parsed(edit.text).entityId);
    expect(new Set(edited).size).toBe(edited.length);
    const byLooper = new Map<string, number>();
    for (const line of looperEdits) byLooper.set(parsed(line.text).entityId as string, (byLooper.get(parsed(line.text).entityId as string) ?? 0) + 1);
    expect([...byLooper.values()]).toEqual([8, 8]);
    for (const entityId of byLooper.keys()) expect(edited).not.toContain(entityId);
  });

  it('is the same for the same seed, and adds no entity when agent edits are off', () => {
    expect(buildWorkload({ count: 400, seed: 7, agentEdits: 0.05 })).toEqual(lines);
    const plain = buildWorkload({ count: 400, seed: 7 });
    expect(plain.some((line) => line.text.includes('"entityId"'))).toBe(false);
  });

  it('refuses a count too small for its edits and loopers', () => {
    expect(() => buildWorkload({ count: 20, seed: 1, agentEdits: 0.5, badLines: false })).toThrow(RangeError);
  });
});

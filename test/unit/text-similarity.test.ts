/**
 * The small-edit rule's measure (MinHash of word bigrams) on realistic agent edits versus new
 * content, and the precision and recall docs/entity-loops.md reports.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jaccard, SIGNATURE_SIZE, signatureBytes, signatureFromBytes, signatureOf, similarity, textOf } from '../../lambda/resilience/text-similarity';
import { labelledPairs, SMALL_EDIT_KINDS } from '../../local/workload-generator/agent-edits';
import { smallEditScores } from '../../local/workload-generator/small-edit-scores';

/** The stage default of `entityLoops.reuseThreshold` (lib/config/stage-types.ts). */
const THRESHOLD = 0.6;

describe('text normalization and signatures', () => {
  it('ignores case, punctuation and spacing, and the order of the input keys', () => {
    const a = signatureOf(textOf({ subject: 'Refund, please!', body: 'I was charged   twice.' }));
    const b = signatureOf(textOf({ body: 'i WAS charged twice', subject: 'refund please' }));
    expect(similarity(a, b)).toBe(1);
  });

  it('tells different words apart', () => {
    expect(similarity(signatureOf('the invoice is wrong'), signatureOf('the parcel never arrived'))).toBeLessThan(0.2);
  });

  it('round-trips a signature through its stored bytes, and refuses bytes of the wrong length', () => {
    const signature = signatureOf('my order 4411 arrived broken');
    expect(signatureFromBytes(signatureBytes(signature))).toEqual(signature);
    expect(signatureFromBytes(new Uint8Array(SIGNATURE_SIZE * 4 - 1))).toBeUndefined();
  });

  it('estimates the exact Jaccard similarity within 0.15 (property: any two texts over a small vocabulary)', () => {
    const words = fc.array(fc.constantFrom('refund', 'invoice', 'login', 'parcel', 'broken', 'charged', 'twice', 'please', 'order', 'late'), {
      minLength: 2,
      maxLength: 40,
    });
    fc.assert(
      fc.property(words, words, (left, right) => {
        const a = left.join(' ');
        const b = right.join(' ');
        expect(Math.abs(similarity(signatureOf(a), signatureOf(b)) - jaccard(a, b))).toBeLessThanOrEqual(0.15);
      }),
      { numRuns: 200 },
    );
  });

  it('is symmetric and 1 on the same text (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 300 }), (a, b) => {
        expect(similarity(signatureOf(a), signatureOf(b))).toBe(similarity(signatureOf(b), signatureOf(a)));
        expect(similarity(signatureOf(a), signatureOf(a))).toBe(1);
      }),
      { numRuns: 100 },
    );
  });
});

describe('the small-edit rule on a labelled set of agent edits and new content', () => {
  const pairs = labelledPairs(1000, 16);

  it('holds both classes in equal numbers, every small-edit kind represented', () => {
    expect(pairs.filter((pair) => pair.smallEdit)).toHaveLength(500);
    for (const kind of SMALL_EDIT_KINDS) expect(pairs.some((pair) => pair.kind === kind)).toBe(true);
  });

  it(`at the default threshold ${THRESHOLD}: precision ≥ 0.99 (a wrong reuse is the costly mistake) and recall ≥ 0.9`, () => {
    const scores = smallEditScores(pairs, THRESHOLD);
    expect(scores.precision).toBeGreaterThanOrEqual(0.99);
    expect(scores.recall).toBeGreaterThanOrEqual(0.9);
  });

  it.each(SMALL_EDIT_KINDS)('reuses most %s edits (recall ≥ 0.8 within the kind)', (kind) => {
    const scores = smallEditScores(
      pairs.filter((pair) => pair.kind === kind || !pair.smallEdit),
      THRESHOLD,
    );
    expect(scores.recall).toBeGreaterThanOrEqual(0.8);
  });

  it('trades recall for precision as the threshold rises', () => {
    const low = smallEditScores(pairs, 0.3);
    const high = smallEditScores(pairs, 0.8);
    expect(high.recall).toBeLessThan(low.recall);
    expect(high.precision).toBeGreaterThanOrEqual(low.precision);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecentKeys } from '../../lambda/processor/recent-keys';

const present = (recent: RecentKeys, keys: readonly string[]): string[] => keys.filter((key) => recent.has(key));

describe('RecentKeys', () => {
  it('knows nothing when new', () => {
    expect(new RecentKeys(3).has('a')).toBe(false);
  });

  it('remembers what was added, up to its capacity', () => {
    const recent = new RecentKeys(3);
    for (const key of ['a', 'b', 'c']) recent.add(key);
    expect(present(recent, ['a', 'b', 'c'])).toEqual(['a', 'b', 'c']);
  });

  it('forgets the oldest key when one more is added', () => {
    const recent = new RecentKeys(3);
    for (const key of ['a', 'b', 'c', 'd']) recent.add(key);
    expect(present(recent, ['a', 'b', 'c', 'd'])).toEqual(['b', 'c', 'd']);
  });

  it('adding a known key again makes it the most recent, so another key goes first', () => {
    const recent = new RecentKeys(3);
    for (const key of ['a', 'b', 'c', 'a', 'd']) recent.add(key);
    expect(present(recent, ['a', 'b', 'c', 'd'])).toEqual(['a', 'c', 'd']);
  });

  it('adding a known key again does not evict anything', () => {
    const recent = new RecentKeys(2);
    for (const key of ['a', 'b', 'b', 'a', 'b']) recent.add(key);
    expect(present(recent, ['a', 'b'])).toEqual(['a', 'b']);
  });

  it('recency counts adds (a key reaching a terminal state), not lookups', () => {
    const recent = new RecentKeys(2);
    recent.add('a');
    recent.add('b');
    expect(recent.has('a')).toBe(true);
    recent.add('c');
    expect(present(recent, ['a', 'b', 'c'])).toEqual(['b', 'c']);
  });

  it('with capacity 1 holds only the last key', () => {
    const recent = new RecentKeys(1);
    recent.add('a');
    recent.add('b');
    expect(present(recent, ['a', 'b'])).toEqual(['b']);
  });

  it('with capacity 0 holds nothing', () => {
    const recent = new RecentKeys(0);
    recent.add('a');
    expect(recent.has('a')).toBe(false);
  });

  it('stays bounded over 100,000 distinct keys: only the last `capacity` are known', () => {
    const recent = new RecentKeys(10);
    const keys = Array.from({ length: 100_000 }, (_, i) => `key-${i}`);
    for (const key of keys) recent.add(key);
    expect(present(recent, keys)).toEqual(keys.slice(-10));
  });

  it('behaves as a least-recently-added cache for any sequence of adds and lookups', () => {
    const operation = fc.record({ add: fc.boolean(), key: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g') });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(operation, { maxLength: 60 }), (capacity, operations) => {
        const recent = new RecentKeys(capacity);
        const model: string[] = []; // oldest first
        for (const { add, key } of operations) {
          if (add) {
            recent.add(key);
            const index = model.indexOf(key);
            if (index >= 0) model.splice(index, 1);
            model.push(key);
            if (model.length > capacity) model.shift();
          } else {
            expect(recent.has(key)).toBe(model.includes(key));
          }
        }
        expect(present(recent, ['a', 'b', 'c', 'd', 'e', 'f', 'g']).sort()).toEqual([...model].sort());
      }),
      { seed: 41, numRuns: 500 },
    );
  });
});

/**
 * Keys this execution environment saw reach a terminal state, most recent kept. A terminal key
 * never changes again, so a duplicate that lands on the same warm instance is skipped with no
 * DynamoDB request at all. Bounded, so memory stays flat.
 */
export class RecentKeys {
  private readonly keys = new Set<string>();

  constructor(private readonly capacity: number) {}

  has(key: string): boolean {
    return this.keys.has(key);
  }

  add(key: string): void {
    this.keys.delete(key);
    this.keys.add(key);
    if (this.keys.size > this.capacity) {
      const oldest = this.keys.values().next().value as string;
      this.keys.delete(oldest);
    }
  }
}

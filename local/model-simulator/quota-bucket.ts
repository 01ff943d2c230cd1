/**
 * A provider's quota as the simulator enforces it: one token bucket per model and per dimension
 * (requests, tokens), refilled continuously at `perWindow / windowMs`, holding at most `perWindow`.
 * What arrives with no token left is refused and told when the next token comes (Retry-After).
 *
 * The tokens-per-minute bucket is charged after the answer (its size is known only then), so it can
 * go into debt; a request that arrives while it is in debt is refused, as OpenAI does.
 */
export class QuotaBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    /** Tokens the bucket holds when full and refills per window. */
    readonly perWindow: number,
    readonly windowMs: number,
    now: number,
  ) {
    if (!(perWindow > 0) || !(windowMs > 0)) throw new RangeError(`a quota needs perWindow > 0 and windowMs > 0, got ${perWindow} per ${windowMs} ms`);
    this.tokens = perWindow;
    this.updatedAt = now;
  }

  /** Takes `amount` if the bucket holds that much: `{ ok: true }`; else how long until it will. */
  take(amount: number, now: number): { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number } {
    this.refill(now);
    if (this.tokens >= amount) {
      this.tokens -= amount;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: this.msUntil(amount) };
  }

  /** Whether the bucket is out of debt (a tokens-per-minute bucket admits a request only then). */
  check(now: number): { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number } {
    this.refill(now);
    return this.tokens > 0 ? { ok: true } : { ok: false, retryAfterMs: this.msUntil(Number.MIN_VALUE) };
  }

  /** Charges `amount` unconditionally (may go into debt). */
  charge(amount: number, now: number): void {
    this.refill(now);
    this.tokens -= amount;
  }

  private msUntil(amount: number): number {
    return Math.max(1, Math.ceil(((amount - this.tokens) * this.windowMs) / this.perWindow));
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.updatedAt);
    this.tokens = Math.min(this.perWindow, this.tokens + (elapsed * this.perWindow) / this.windowMs);
    this.updatedAt = now;
  }
}

/** Calls of one model in one quota window: how many the provider accepted and refused. */
export interface QuotaWindowCount {
  /** Index of the window since the simulator's first request (0 = the first minute). */
  readonly window: number;
  readonly accepted: number;
  readonly refused: number;
}

/** Counts accepted and refused calls per model and per quota window (the report's call-rate series). */
export class QuotaSeries {
  private readonly counts = new Map<string, Map<number, { accepted: number; refused: number }>>();

  constructor(readonly windowMs: number) {}

  add(model: string, sinceFirstRequestMs: number, accepted: boolean): void {
    const window = Math.floor(sinceFirstRequestMs / this.windowMs);
    let byWindow = this.counts.get(model);
    if (!byWindow) {
      byWindow = new Map();
      this.counts.set(model, byWindow);
    }
    const count = byWindow.get(window) ?? { accepted: 0, refused: 0 };
    if (accepted) count.accepted += 1;
    else count.refused += 1;
    byWindow.set(window, count);
  }

  /** Per model, every window from the first to the last with a call (empty windows as zeros). */
  toJSON(): Record<string, QuotaWindowCount[]> {
    const out: Record<string, QuotaWindowCount[]> = {};
    for (const [model, byWindow] of this.counts) {
      const last = Math.max(...byWindow.keys());
      out[model] = Array.from({ length: last + 1 }, (_, window) => ({ window, ...(byWindow.get(window) ?? { accepted: 0, refused: 0 }) }));
    }
    return out;
  }
}

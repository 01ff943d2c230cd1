import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { BUDGET, CONTROL } from '../contract';
import { DependencyError } from '../errors/pipeline-errors';

/** The stage's hourly limits; 0 means no limit. */
export interface BudgetLimits {
  readonly tokensPerHour: number;
  readonly usdPerHour: number;
}

/** Prices of one model, for the cost estimate. */
export interface ModelPrice {
  readonly inputUsdPerMillionTokens: number;
  readonly outputUsdPerMillionTokens: number;
}

/** Spend as counted in the hour's item. */
export interface BudgetTotals {
  readonly hour: string;
  readonly tokensIn: number;
  readonly tokensOut: number;
  readonly costUsd: number;
  readonly calls: number;
}

/** Items outlive their hour by a week, for `pipectl status` and post-mortems. */
const BUDGET_ITEM_TTL_SECONDS = 7 * 86_400;

/** The UTC hour of `now`, as the budget item names it: `2026-11-23T14`. */
export function hourOf(now: number): string {
  return new Date(now).toISOString().slice(0, 13);
}

/** Ms until the next UTC hour starts. */
export function msUntilNextHour(now: number): number {
  return 3_600_000 - (now % 3_600_000);
}

/** Estimated cost of a call in US dollars; a model without a price costs nothing (and is counted in tokens). */
export function estimateCostUsd(price: ModelPrice | undefined, tokensIn: number, tokensOut: number): number {
  if (!price) return 0;
  return (tokensIn * price.inputUsdPerMillionTokens + tokensOut * price.outputUsdPerMillionTokens) / 1_000_000;
}

/** Percent of the hour's budget used (the larger of tokens and cost); 0 when there is no limit. */
export function usedPercent(totals: Pick<BudgetTotals, 'tokensIn' | 'tokensOut' | 'costUsd'>, limits: BudgetLimits): number {
  const byTokens = limits.tokensPerHour > 0 ? ((totals.tokensIn + totals.tokensOut) / limits.tokensPerHour) * 100 : 0;
  const byCost = limits.usdPerHour > 0 ? (totals.costUsd / limits.usdPerHour) * 100 : 0;
  return Math.max(byTokens, byCost);
}

/** How long an instance may hold spend before its ADD, in the processor (handler.ts). */
export const BUDGET_FLUSH_DELAY_MS = 10_000;

/** Pending spend is written once it reaches this share of an hourly limit, whatever its age. */
export const BUDGET_FLUSH_SHARE = 0.01;

/** When `flush` writes (the processor's amortization). */
export interface BudgetFlushOptions {
  /** Spend may wait in memory this long after the first unflushed call. @default 0: every flush writes */
  readonly maxDelayMs?: number;
  /** ... or until it reaches this share of a limit (or the total reaches the limit). @default BUDGET_FLUSH_SHARE */
  readonly maxPendingShare?: number;
}

/**
 * The stage's token and cost budget per UTC hour, shared by every instance through one control-table
 * item per hour (`budget#<yyyy-mm-ddThh>`, shape: `BUDGET` in lambda/contract.ts).
 *
 * Spend is gathered in memory and counted with one atomic ADD (`flush`), whose answer (ALL_NEW) is
 * the hour's total so far: that is what later batches check against the limits, so checking costs
 * no read. The processor flushes after every batch, but with `maxDelayMs` the ADD is made only when
 * the pending spend is `maxDelayMs` old, reaches `maxPendingShare` of a limit, takes the total to the
 * limit, or belongs to an earlier hour (it is written to the hour it was spent in). So:
 *
 * - staleness: the shared total lags each instance's spend by at most `maxDelayMs` (10 s);
 * - overspend: after the limit is crossed, each instance may spend what it holds unflushed —
 *   at most `maxPendingShare` (1%) of the limit — plus one batch; with N instances (the event
 *   source's maxConcurrency), at most N % of the limit plus N batches. An instance that is frozen
 *   or retired with spend pending loses it from the count (the same bound, once per instance).
 *
 * A new instance knows nothing until its first flush.
 */
export class HourlyBudget {
  private totals?: BudgetTotals;
  private pending = { tokensIn: 0, tokensOut: 0, costUsd: 0, calls: 0 };
  /** When the first unflushed call was recorded, and its hour (what the pending spend is counted in). */
  private pendingSince = 0;
  private pendingHour = '';
  private readonly maxDelayMs: number;
  private readonly maxPendingShare: number;
  /** DynamoDB writes this instance made. */
  writes = 0;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    readonly limits: BudgetLimits,
    private readonly now: () => number = Date.now,
    options: BudgetFlushOptions = {},
  ) {
    this.maxDelayMs = options.maxDelayMs ?? 0;
    this.maxPendingShare = options.maxPendingShare ?? BUDGET_FLUSH_SHARE;
  }

  get limited(): boolean {
    return this.limits.tokensPerHour > 0 || this.limits.usdPerHour > 0;
  }

  /** Percent used this hour: the last total counted plus what this instance has not flushed yet. */
  usedPercent(): number {
    const hour = hourOf(this.now());
    const counted = this.totals?.hour === hour ? this.totals : { tokensIn: 0, tokensOut: 0, costUsd: 0 };
    return usedPercent(
      {
        tokensIn: counted.tokensIn + this.pending.tokensIn,
        tokensOut: counted.tokensOut + this.pending.tokensOut,
        costUsd: counted.costUsd + this.pending.costUsd,
      },
      this.limits,
    );
  }

  exhausted(): boolean {
    return this.limited && this.usedPercent() >= 100;
  }

  record(tokensIn: number, tokensOut: number, costUsd: number): void {
    if (this.pending.calls === 0) {
      this.pendingSince = this.now();
      this.pendingHour = hourOf(this.pendingSince);
    }
    this.pending.tokensIn += tokensIn;
    this.pending.tokensOut += tokensOut;
    this.pending.costUsd += costUsd;
    this.pending.calls += 1;
  }

  /** One atomic ADD of what this batch spent; nothing when it spent nothing. Returns the hour's totals. */
  /** Whether the pending spend is due for its ADD (see the class comment). */
  private due(now: number): boolean {
    if (now - this.pendingSince >= this.maxDelayMs || hourOf(now) !== this.pendingHour) return true;
    if (!this.limited) return false;
    const pendingShare = usedPercent(this.pending, this.limits) / 100;
    return pendingShare >= this.maxPendingShare || this.usedPercent() >= 100;
  }

  async flush(): Promise<BudgetTotals | undefined> {
    const spent = this.pending;
    if (spent.calls === 0) return this.totals;
    const now = this.now();
    if (!this.due(now)) return this.totals;
    this.pending = { tokensIn: 0, tokensOut: 0, costUsd: 0, calls: 0 };
    const hour = this.pendingHour || hourOf(now);
    this.writes += 1;
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [CONTROL.PARTITION_KEY]: { S: `${CONTROL.BUDGET_PREFIX}${hour}` } },
          UpdateExpression:
            'ADD #tokensIn :tokensIn, #tokensOut :tokensOut, #costUsd :costUsd, #calls :calls ' +
            'SET #limitTokens = :limitTokens, #limitUsd = :limitUsd, #updatedAt = :now, #expiresAt = :expiresAt',
          ExpressionAttributeNames: {
            '#tokensIn': BUDGET.TOKENS_IN,
            '#tokensOut': BUDGET.TOKENS_OUT,
            '#costUsd': BUDGET.COST_USD,
            '#calls': BUDGET.CALLS,
            '#limitTokens': BUDGET.LIMIT_TOKENS,
            '#limitUsd': BUDGET.LIMIT_USD,
            '#updatedAt': BUDGET.UPDATED_AT,
            '#expiresAt': CONTROL.TTL,
          },
          ExpressionAttributeValues: {
            ':tokensIn': { N: String(spent.tokensIn) },
            ':tokensOut': { N: String(spent.tokensOut) },
            // DynamoDB numbers are exact decimals: micro-dollar rounding keeps the sum readable.
            ':costUsd': { N: spent.costUsd.toFixed(6) },
            ':calls': { N: String(spent.calls) },
            ':limitTokens': { N: String(this.limits.tokensPerHour) },
            ':limitUsd': { N: String(this.limits.usdPerHour) },
            ':now': { N: String(now) },
            ':expiresAt': { N: String(Math.floor(now / 1000) + BUDGET_ITEM_TTL_SECONDS) },
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const item = Attributes ? unmarshall(Attributes) : {};
      this.totals = {
        hour,
        tokensIn: Number(item[BUDGET.TOKENS_IN] ?? 0),
        tokensOut: Number(item[BUDGET.TOKENS_OUT] ?? 0),
        costUsd: Number(item[BUDGET.COST_USD] ?? 0),
        calls: Number(item[BUDGET.CALLS] ?? 0),
      };
      return this.totals;
    } catch (error) {
      // Not counted: give it back, so the next flush tries again.
      this.pending.tokensIn += spent.tokensIn;
      this.pending.tokensOut += spent.tokensOut;
      this.pending.costUsd += spent.costUsd;
      this.pending.calls += spent.calls;
      throw new DependencyError('dynamodb', `counting the model budget failed: ${(error as Error).message}`, { cause: error });
    }
  }
}

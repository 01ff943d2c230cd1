import { LEDGER, SHADOW_VARIANT, VARIANT } from '../lambda/contract';
import { estimateCostUsd, type ModelPrice } from '../lambda/resilience/budget';

/** One variant's side of the shadow comparison, over the records sampled for the shadow. */
export interface ShadowVariantFigures {
  readonly modelId: string;
  readonly records: number;
  /** Share of its answers with the baseline's category and priority (the baseline agrees with itself). */
  readonly agreementPercent: number | null;
  /** Answers missing (errors, invalid after the repair). */
  readonly errors: number;
  readonly meanLatencyMs: number | null;
  readonly costUsd: number;
}

/** The shadow run of a local run: baseline and shadow side by side over the same sampled records. */
export interface ShadowReport {
  readonly sampled: number;
  readonly byVariant: Readonly<Record<typeof VARIANT.BASELINE | typeof SHADOW_VARIANT, ShadowVariantFigures>>;
}

interface ShadowAttribute {
  readonly modelId?: string;
  readonly promptVersion?: string;
  readonly result?: unknown;
  readonly agrees?: boolean;
  readonly latencyMs?: number;
  readonly costUsd?: number;
}

const mean = (values: readonly number[]) => (values.length === 0 ? null : Math.round(values.reduce((a, b) => a + b, 0) / values.length));
const round = (value: number) => Math.round(value * 1e6) / 1e6;

/** From the ledger's items with a `shadow` attribute; undefined when no record was sampled. */
export function shadowReport(ledger: readonly Record<string, unknown>[], prices: Readonly<Record<string, ModelPrice>>): ShadowReport | undefined {
  const sampled = ledger.filter((item) => typeof item[LEDGER.SHADOW] === 'object' && item[LEDGER.SHADOW] !== null);
  if (sampled.length === 0) return undefined;
  const shadows = sampled.map((item) => item[LEDGER.SHADOW] as ShadowAttribute);
  const answered = shadows.filter((shadow) => shadow.result !== undefined);
  const baselineModels = [...new Set(sampled.map((item) => String(item.modelId)))];
  return {
    sampled: sampled.length,
    byVariant: {
      [VARIANT.BASELINE]: {
        modelId: baselineModels.join(', '),
        records: sampled.length,
        agreementPercent: 100,
        errors: 0,
        meanLatencyMs: mean(sampled.map((item) => Number(item.modelLatencyMs ?? 0))),
        costUsd: round(
          sampled.reduce((sum, item) => sum + estimateCostUsd(prices[String(item.modelId)], Number(item.tokensIn ?? 0), Number(item.tokensOut ?? 0)), 0),
        ),
      },
      [SHADOW_VARIANT]: {
        // A task-version candidate reads "ticket-triage@2 on sim-primary".
        modelId: [...new Set(shadows.map((shadow) => (shadow.promptVersion ? `${shadow.promptVersion} on ` : '') + (shadow.modelId ?? '?')))].join(', '),
        records: sampled.length,
        agreementPercent: Math.round((shadows.filter((shadow) => shadow.agrees).length / sampled.length) * 1000) / 10,
        errors: sampled.length - answered.length,
        meanLatencyMs: mean(answered.map((shadow) => Number(shadow.latencyMs ?? 0))),
        costUsd: round(shadows.reduce((sum, shadow) => sum + Number(shadow.costUsd ?? 0), 0)),
      },
    },
  };
}

/** The summary's lines for it. */
export function shadowLines(report: ShadowReport | undefined): string[] {
  if (!report) return [];
  return [
    `  shadow run         ${report.sampled} record(s) sampled; agreement with the baseline's category and priority:`,
    ...Object.entries(report.byVariant).map(
      ([variant, figures]) =>
        `    ${variant.padEnd(9)} ${figures.modelId.padEnd(16)} agreement ${figures.agreementPercent === null ? '—' : `${figures.agreementPercent}%`}, ` +
        `${figures.errors} error(s), mean latency ${figures.meanLatencyMs ?? '—'} ms, cost $${figures.costUsd.toFixed(6)}`,
    ),
  ];
}

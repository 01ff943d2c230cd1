import type { QuotaWindowCount } from './quota-bucket';

/** The simulator's quota stats as the report carries them (`details.model.quota`). */
export interface QuotaStats {
  readonly rpm?: number;
  readonly tpm?: number;
  readonly windowMs: number;
  readonly series: Readonly<Record<string, readonly QuotaWindowCount[]>>;
}

/** How a run's calls compared with the quota over its busy period. */
export interface QuotaRunSummary {
  readonly rpm: number;
  /** Windows (minutes of the quota) counted: the first and the last are ramps and left out. */
  readonly busyWindows: number;
  /** Accepted calls per window, every model, over the busy windows. */
  readonly acceptedPerWindow: readonly number[];
  readonly meanPerWindow: number;
  /** The largest deviation of one busy window from the quota, as a fraction of it (0.1 = ±10%). */
  readonly maxDeviation: number;
  /** Calls the provider refused (429) over all calls, whole run. */
  readonly refusedShare: number;
  readonly accepted: number;
  readonly refused: number;
}

/** Sums the models' series per window. */
function perWindow(stats: QuotaStats): Array<{ window: number; accepted: number; refused: number }> {
  const length = Math.max(0, ...Object.values(stats.series).map((series) => series.length));
  return Array.from({ length }, (_, window) => {
    let accepted = 0;
    let refused = 0;
    for (const series of Object.values(stats.series)) {
      accepted += series[window]?.accepted ?? 0;
      refused += series[window]?.refused ?? 0;
    }
    return { window, accepted, refused };
  });
}

/**
 * Calls per quota window against the RPM. The busy period is every window but the first and
 * the last: the run starts and ends inside them, so they are partial by construction.
 */
export function summarizeQuotaRun(stats: QuotaStats): QuotaRunSummary | undefined {
  if (stats.rpm === undefined) return undefined;
  const windows = perWindow(stats);
  const busy = windows.slice(1, -1);
  const accepted = windows.reduce((total, w) => total + w.accepted, 0);
  const refused = windows.reduce((total, w) => total + w.refused, 0);
  const acceptedPerWindow = busy.map((w) => w.accepted);
  const meanPerWindow = acceptedPerWindow.length > 0 ? acceptedPerWindow.reduce((a, b) => a + b, 0) / acceptedPerWindow.length : 0;
  const rpm = stats.rpm;
  return {
    rpm,
    busyWindows: busy.length,
    acceptedPerWindow,
    meanPerWindow,
    maxDeviation: acceptedPerWindow.length > 0 ? Math.max(...acceptedPerWindow.map((n) => Math.abs(n - rpm) / rpm)) : Number.NaN,
    refusedShare: accepted + refused > 0 ? refused / (accepted + refused) : 0,
    accepted,
    refused,
  };
}

/**
 * An SVG line chart of calls per quota window against the quota: accepted calls per model,
 * refused calls (429), the quota as a dashed line and its ±10% band. Plain SVG, no library: it is
 * a few dozen elements, and the README embeds it as a file.
 */
export function renderQuotaChart(runs: ReadonlyArray<{ readonly label: string; readonly stats: QuotaStats }>, title: string): string {
  const width = 760;
  const height = 360;
  const margin = { left: 60, right: 20, top: 40, bottom: 50 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const rpm = runs.find((run) => run.stats.rpm !== undefined)?.stats.rpm ?? 0;
  const series = runs.map((run) => ({ label: run.label, windows: perWindow(run.stats) }));
  const maxWindows = Math.max(2, ...series.map((s) => s.windows.length));
  const maxY = Math.max(rpm * 1.3, ...series.flatMap((s) => s.windows.map((w) => Math.max(w.accepted, w.refused)))) || 1;
  const x = (window: number) => margin.left + ((window + 0.5) / maxWindows) * plotW;
  const y = (value: number) => margin.top + plotH - (value / maxY) * plotH;
  const colours = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`);
  // The ±10% band and the quota.
  parts.push(`<rect x="${margin.left}" y="${y(rpm * 1.1)}" width="${plotW}" height="${y(rpm * 0.9) - y(rpm * 1.1)}" fill="#eeeeee"/>`);
  parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y(rpm)}" y2="${y(rpm)}" stroke="black" stroke-dasharray="6 4"/>`);
  parts.push(`<text x="${margin.left + plotW - 4}" y="${y(rpm) - 6}" text-anchor="end">quota ${rpm} calls/min (±10% shaded)</text>`);
  // Axes.
  parts.push(`<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="black"/>`);
  parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${margin.top + plotH}" y2="${margin.top + plotH}" stroke="black"/>`);
  for (let tick = 0; tick <= 4; tick += 1) {
    const value = Math.round((maxY * tick) / 4);
    parts.push(`<text x="${margin.left - 6}" y="${y(value) + 4}" text-anchor="end">${value}</text>`);
  }
  for (let window = 0; window < maxWindows; window += 1) {
    parts.push(`<text x="${x(window)}" y="${margin.top + plotH + 16}" text-anchor="middle">${window + 1}</text>`);
  }
  parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 12}" text-anchor="middle">minute of the run (quota windows, simulated time)</text>`);
  parts.push(`<text x="14" y="${margin.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 14 ${margin.top + plotH / 2})">calls per minute</text>`);
  series.forEach((s, index) => {
    const colour = colours[index % colours.length] as string;
    const line = (pick: (w: { accepted: number; refused: number }) => number, dash: string) =>
      `<polyline fill="none" stroke="${colour}" stroke-width="2" ${dash} points="${s.windows.map((w) => `${x(w.window).toFixed(1)},${y(pick(w)).toFixed(1)}`).join(' ')}"/>`;
    parts.push(line((w) => w.accepted, ''));
    parts.push(line((w) => w.refused, 'stroke-dasharray="2 3"'));
    const legendY = margin.top + 14 + index * 30;
    parts.push(`<line x1="${margin.left + 10}" x2="${margin.left + 30}" y1="${legendY}" y2="${legendY}" stroke="${colour}" stroke-width="2"/>`);
    parts.push(`<text x="${margin.left + 36}" y="${legendY + 4}">${escapeXml(s.label)}: calls accepted</text>`);
    parts.push(
      `<line x1="${margin.left + 10}" x2="${margin.left + 30}" y1="${legendY + 14}" y2="${legendY + 14}" stroke="${colour}" stroke-width="2" stroke-dasharray="2 3"/>`,
    );
    parts.push(`<text x="${margin.left + 36}" y="${legendY + 18}">${escapeXml(s.label)}: refused with 429</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

import { escapeHtml } from './html';
import type { ChartData } from './metric-series';

/** Line colours, chosen to stay apart for the common colour-vision deficiencies (Okabe–Ito). */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];

const WIDTH = 480;
const HEIGHT = 170;
const PAD = { left: 44, right: 8, top: 8, bottom: 20 };

function shortNumber(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (magnitude >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  if (magnitude >= 10 || value === 0) return value.toFixed(0);
  return value.toPrecision(2);
}

function clock(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(11, 19);
}

/**
 * One dashboard graph as inline SVG: a line per metric, the alarm thresholds dashed, the time
 * axis in UTC. No chart library: a polyline per series is all a glance at a trend needs, and the
 * page stays one server-rendered document.
 */
export function renderChartSvg(chart: ChartData): string {
  const innerWidth = WIDTH - PAD.left - PAD.right;
  const innerHeight = HEIGHT - PAD.top - PAD.bottom;
  const values = chart.series.flatMap((series) => series.points.map(([, value]) => value));
  // Thresholds far above the data would flatten it; they are drawn only when within twice the data's range.
  const dataMax = Math.max(0, ...values);
  const visibleThresholds = chart.thresholds.filter((threshold) => values.length > 0 && threshold.value <= Math.max(dataMax * 2, 1));
  const yMax = Math.max(1, dataMax, ...visibleThresholds.map((threshold) => threshold.value)) * 1.05;
  const span = Math.max(1, chart.toMs - chart.fromMs);
  const x = (at: number) => PAD.left + ((at - chart.fromMs) / span) * innerWidth;
  const y = (value: number) => PAD.top + innerHeight - (value / yMax) * innerHeight;
  const parts: string[] = [];
  parts.push(
    `<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeHtml(chart.title)}" xmlns="http://www.w3.org/2000/svg">`,
    `<rect x="${PAD.left}" y="${PAD.top}" width="${innerWidth}" height="${innerHeight}" class="plot"/>`,
  );
  for (const fraction of [0, 0.5, 1]) {
    const value = yMax * fraction;
    parts.push(
      `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${y(value).toFixed(1)}" y2="${y(value).toFixed(1)}" class="grid"/>`,
      `<text x="${PAD.left - 4}" y="${(y(value) + 3).toFixed(1)}" class="axis" text-anchor="end">${shortNumber(value)}</text>`,
    );
  }
  parts.push(
    `<text x="${PAD.left}" y="${HEIGHT - 5}" class="axis">${clock(chart.fromMs)}</text>`,
    `<text x="${WIDTH - PAD.right}" y="${HEIGHT - 5}" class="axis" text-anchor="end">${clock(chart.toMs)} UTC</text>`,
  );
  for (const threshold of visibleThresholds) {
    parts.push(
      `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${y(threshold.value).toFixed(1)}" y2="${y(threshold.value).toFixed(1)}" class="threshold"><title>${escapeHtml(threshold.label)}: ${threshold.value}</title></line>`,
    );
  }
  chart.series.forEach((series, index) => {
    if (series.points.length === 0) return;
    const colour = PALETTE[index % PALETTE.length];
    const coordinates = series.points.map(([at, value]) => `${x(at).toFixed(1)},${y(value).toFixed(1)}`).join(' ');
    parts.push(
      series.points.length === 1
        ? `<circle cx="${coordinates.split(',')[0]}" cy="${coordinates.split(',')[1]}" r="2.5" fill="${colour}"><title>${escapeHtml(series.label)}</title></circle>`
        : `<polyline points="${coordinates}" fill="none" stroke="${colour}" stroke-width="1.6"><title>${escapeHtml(series.label)}</title></polyline>`,
    );
  });
  if (values.length === 0) {
    parts.push(`<text x="${PAD.left + innerWidth / 2}" y="${PAD.top + innerHeight / 2}" class="empty" text-anchor="middle">no data in this window</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

/** The legend under a chart: each series' colour, label and latest value. */
export function renderLegend(chart: ChartData): string {
  const items = chart.series.map((series, index) => {
    const latest = series.points.at(-1)?.[1];
    return `<li><span class="swatch" data-colour="${index % PALETTE.length}"></span>${escapeHtml(series.label)}${latest === undefined ? '' : ` <b>${escapeHtml(shortNumber(latest))}</b>`}</li>`;
  });
  const thresholds = chart.thresholds.map(
    (threshold) => `<li><span class="swatch dashed"></span>${escapeHtml(threshold.label)} <b>${escapeHtml(String(threshold.value))}</b></li>`,
  );
  return `<ul class="legend">${[...items, ...thresholds].join('')}</ul>`;
}

/** The palette as CSS rules for the legend swatches (the CSP allows no inline style attributes). */
export function paletteCss(): string {
  return PALETTE.map((colour, index) => `.swatch[data-colour="${index}"]{background:${colour}}`).join('\n');
}

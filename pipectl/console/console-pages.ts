import { LEDGER_STATUS } from '../../lambda/contract';
import { runbookUrl } from '../../lib/observability/alarm-catalog';
import type { AlarmCatalog } from '../../lib/observability/alarm-types';
import type { BreakerView } from '../control-state';
import type { DeadLetterGroup } from '../dlq';
import type { MappingState } from '../event-source';
import { formatDuration, isoSeconds } from '../format';
import type { LedgerItem } from '../ledger-reader';
import type { ReviewItem } from '../review';
import type { StatusReport } from '../status';
import { alarmIdOf } from '../triage';
import type { ActionOutcome } from './console-actions';
import type { GameDayTimeline } from './gameday-timeline';
import { html, type SafeHtml, trusted } from './html';
import type { ChartRow } from './metric-series';
import type { FormField } from './review-form';
import { renderChartSvg, renderLegend } from './svg-chart';

/** What every page knows about the console run. */
export interface PageContext {
  /** The form token every POST must carry. */
  readonly csrf: string;
  readonly targetDescription: string;
  readonly production: boolean;
  readonly catalog: AlarmCatalog;
  /** How often the overview's live part refreshes. */
  readonly refreshMs: number;
}

const NAV = [
  ['/', 'Overview'],
  ['/review', 'Human review'],
  ['/dlq', 'Dead letters'],
  ['/controls', 'Controls'],
  ['/gameday', 'Game day'],
] as const;

/** The frame of every page: navigation, the target named loudly (production in red), the content. */
export function layout(context: PageContext, path: string, title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · pipectl console</title>
<link rel="stylesheet" href="/console.css">
<script src="/console.js" defer></script>
</head>
<body>
<header class="${context.production ? 'production' : ''}">
  <strong>pipectl console</strong>
  <span class="target">${context.production ? 'PRODUCTION · ' : ''}${context.targetDescription}</span>
  <nav>${NAV.map(([href, label]) => html`<a href="${href}" class="${href === path ? 'active' : ''}">${label}</a>`)}</nav>
</header>
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>
`.value;
}

/** Hidden fields every action form carries. */
function actionFields(context: PageContext, action: string): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${context.csrf}"><input type="hidden" name="action" value="${action}">`;
}

/** Model latency percentiles of the recent window (ms), from the catalog's latency graph. */
export interface LatencySummary {
  readonly windowMs: number;
  readonly values: ReadonlyArray<{ readonly label: string; readonly value: number | undefined }>;
}

/** The overview's data: the status `pipectl status` gathers, and the dashboard's charts. */
export interface OverviewData {
  readonly status: StatusReport;
  readonly charts: readonly ChartRow[];
  readonly latency: LatencySummary;
}

const QUEUE_LABEL: Readonly<Record<string, string>> = { input: 'input', inputDlq: 'input DLQ', review: 'human review', reviewDlq: 'review DLQ' };

/** The overview page: the live part is refreshed in place by console.js. */
export function overviewPage(context: PageContext, data: OverviewData): string {
  return layout(
    context,
    '/',
    'Overview',
    html`<p class="hint">Read-only. Refreshes every ${context.refreshMs / 1000} s (<span id="refresh-state">live</span>).</p>
<div id="live" data-fragment="/fragments/overview" data-interval="${context.refreshMs}">${liveOverview(context, data)}</div>`,
  );
}

/** The part of the overview that refreshes: status cards, alarms, charts. */
export function liveOverview(context: PageContext, data: OverviewData): SafeHtml {
  const { status } = data;
  return html`<section class="cards" data-at="${status.at}">
  ${processorCard(status)}
  ${queuesCard(status)}
  ${throughputCard(status)}
  ${latencyCard(data.latency)}
  ${breakerCard(status)}
  ${budgetCard(status)}
</section>
${alarmsSection(context, status)}
${data.charts.map(
  (row) =>
    html`<section class="chart-row"><h2>${row.heading}</h2><div class="charts">${row.charts.map(
      (chart) =>
        html`<figure class="chart-box w${chart.width}" data-chart="${chart.title}"><figcaption>${chart.title}</figcaption>${trusted(renderChartSvg(chart))}${trusted(
          renderLegend(chart),
        )}${chart.notes.map((note) => html`<p class="note">${note}</p>`)}</figure>`,
    )}</div></section>`,
)}
<p class="hint">as of ${isoSeconds(status.at)}</p>`;
}

function processorCard(status: StatusReport): SafeHtml {
  const mapping = status.mapping;
  if ('error' in mapping) return html`<div class="card bad"><h3>Processor</h3><p>unreadable: ${mapping.error}</p></div>`;
  return html`<div class="card ${mapping.paused ? 'bad' : 'ok'}" id="processor-card"><h3>Processor</h3><p class="big">${mapping.paused ? 'PAUSED' : mapping.state}</p>
<p>${mapping.paused ? 'nothing is processed; messages wait in the input queue' : `event source mapping ${mapping.uuid}`}</p></div>`;
}

function queuesCard(status: StatusReport): SafeHtml {
  return html`<div class="card wide"><h3>Queues</h3><table id="queues"><thead><tr><th>queue</th><th>visible</th><th>in flight</th><th>delayed</th><th>oldest</th></tr></thead><tbody>
${status.queues.map((queue) => {
  const waiting = queue.visible + queue.inFlight + queue.delayed;
  const alert = (queue.role === 'inputDlq' || queue.role === 'reviewDlq') && waiting > 0;
  return html`<tr data-queue="${queue.role}" class="${alert ? 'bad' : ''}"><td>${QUEUE_LABEL[queue.role] ?? queue.role}</td><td class="num">${queue.visible}</td><td class="num">${queue.inFlight}</td><td class="num">${queue.delayed}</td><td class="num">${
    queue.oldestAgeMs !== undefined ? formatDuration(queue.oldestAgeMs) : waiting === 0 ? '-' : 'n/a'
  }</td></tr>`;
})}
</tbody></table></div>`;
}

function throughputCard(status: StatusReport): SafeHtml {
  const hour = status.lastHour;
  if ('error' in hour) return html`<div class="card"><h3>Last hour by tier</h3><p>unreadable: ${hour.error}</p></div>`;
  if ('unavailable' in hour) return html`<div class="card"><h3>Last hour by tier</h3><p>n/a: ${hour.unavailable}</p></div>`;
  const rows: Array<[string, number]> = [
    ['primary', hour.byTier.primary],
    ['secondary', hour.byTier.secondary],
    ['rules', hour.byTier.rules],
    ['human review', hour.escalated],
    ['dead-lettered', hour.deadLettered],
  ];
  const max = Math.max(1, ...rows.map(([, value]) => value));
  return html`<div class="card" id="throughput"><h3>Last hour by tier</h3><p class="big">${hour.completed} completed</p>
<table>${rows.map(
    ([label, value]) =>
      html`<tr data-tier="${label}"><td>${label}</td><td class="num">${value}</td><td class="bar">${trusted(
        `<svg viewBox="0 0 100 8" class="bar"><rect width="${((value / max) * 100).toFixed(1)}" height="8"/></svg>`,
      )}</td></tr>`,
  )}</table><p class="note">source: ${hour.source}</p></div>`;
}

function latencyCard(latency: LatencySummary): SafeHtml {
  return html`<div class="card" id="latency"><h3>Model latency</h3><table>${latency.values.map(
    (entry) => html`<tr><td>${entry.label}</td><td class="num">${entry.value === undefined ? '-' : `${Math.round(entry.value)} ms`}</td></tr>`,
  )}</table><p class="note">last ${formatDuration(latency.windowMs)}</p></div>`;
}

function breakerCard(status: StatusReport): SafeHtml {
  const breakers = status.breakers;
  if ('error' in breakers) return html`<div class="card bad"><h3>Breakers</h3><p>unreadable: ${breakers.error}</p></div>`;
  const open = breakers.filter((breaker) => /^(open|half-open)/.test(breaker.effective));
  return html`<div class="card ${open.length > 0 ? 'bad' : 'ok'}" id="breakers"><h3>Breakers</h3>${
    breakers.length === 0
      ? html`<p>none recorded: every model closed</p>`
      : html`<table>${breakers.map(
          (breaker) => html`<tr><td>${breaker.modelId}</td><td>${breaker.effective}</td><td class="num">${breaker.failures}/${breaker.calls}</td></tr>`,
        )}</table>`
  }</div>`;
}

function budgetCard(status: StatusReport): SafeHtml {
  const budget = status.budget;
  if ('error' in budget) return html`<div class="card bad"><h3>Budget</h3><p>unreadable: ${budget.error}</p></div>`;
  const used = budget.usedPercent;
  return html`<div class="card ${used !== undefined && used >= 80 ? 'bad' : 'ok'}" id="budget"><h3>Budget (hour ${budget.hour}Z)</h3>
<p class="big">${used !== undefined ? `${used.toFixed(1)}%` : 'no limit'}</p>
<p>${budget.tokensIn + budget.tokensOut} tokens · $${budget.costUsd.toFixed(4)} · ${budget.calls} call(s)</p></div>`;
}

function alarmsSection(context: PageContext, status: StatusReport): SafeHtml {
  const alarms = status.alarms;
  if (!alarms.available) return html`<section id="alarms"><h2>Alarms in ALARM</h2><p class="note">n/a: ${alarms.reason}</p></section>`;
  if (alarms.alarms.length === 0) return html`<section id="alarms"><h2>Alarms in ALARM</h2><p class="ok-text">none</p></section>`;
  return html`<section id="alarms"><h2>Alarms in ALARM</h2><ul class="alarms">${alarms.alarms.map((alarm) => {
    const id = alarmIdOf(context.catalog, alarm.name);
    return html`<li class="bad"><strong>${alarm.name}</strong>${alarm.updatedAt ? ` since ${isoSeconds(alarm.updatedAt)}` : ''}
${id ? html` · <a href="${runbookUrl(context.catalog.runbookBaseUrl, id)}" rel="noreferrer" target="_blank">runbook: ${id}</a> · <code>pipectl runbook ${id}</code>` : ''}
${alarm.reason ? html`<div class="note">${alarm.reason}</div>` : ''}</li>`;
  })}</ul></section>`;
}

/** The review backlog: what waits for a person, oldest first. */
export function reviewListPage(context: PageContext, items: readonly ReviewItem[], truncated: boolean, now = Date.now()): string {
  const body =
    items.length === 0
      ? html`<p id="review-empty">Nothing waits for review.</p>`
      : html`<p>${items.length}${truncated ? '+' : ''} record(s) wait for a person, oldest first. Read-only until you resolve one.</p>
<table id="review-list"><thead><tr><th>key</th><th>task</th><th>waiting</th><th>why</th></tr></thead><tbody>${items.map(
          (item) =>
            html`<tr data-key="${item.key}"><td><a href="/review/item?key=${encodeURIComponent(item.key)}"><code>${item.key.slice(0, 16)}…</code></a></td><td>${item.task ?? '?'}</td><td>${
              item.since ? formatDuration(now - item.since) : '?'
            }</td><td>${item.reasons.join('; ') || '(no reason recorded)'}</td></tr>`,
        )}</tbody></table>`;
  return layout(context, '/review', 'Human review', body);
}

/** A reason as the processor writes it, `tier (model): why`, split for the table of tiers tried. */
function splitReason(reason: string): { tier: string; model?: string; why: string } {
  const match = /^([a-z-]+)(?: \(([^)]*)\))?: (.*)$/s.exec(reason);
  return match ? { tier: match[1] as string, model: match[2], why: match[3] as string } : { tier: '?', why: reason };
}

/** One record in review: its input, the notes of every tier tried, and the schema-checked form. */
export function reviewItemPage(
  context: PageContext,
  key: string,
  item: ReviewItem | undefined,
  ledger: LedgerItem | undefined,
  fields: readonly FormField[] | undefined,
  previous?: { readonly form: URLSearchParams; readonly error: string },
): string {
  if (!item && !ledger)
    return layout(context, '/review', 'Review item', html`<p>No record ${key} in review or in the ledger. <a href="/review">Back to the backlog</a></p>`);
  const reasons = item?.reasons ?? (Array.isArray(ledger?.reviewReasons) ? (ledger.reviewReasons as unknown[]).map(String) : []);
  const inReview = ledger?.status === LEDGER_STATUS.IN_REVIEW || item !== undefined;
  const value = (name: string) => previous?.form.get(`field.${name}`) ?? '';
  const body = html`<p><a href="/review">← backlog</a></p>
<dl class="facts"><dt>key</dt><dd><code>${key}</code></dd><dt>task</dt><dd>${item?.task ?? String(ledger?.task ?? '?')} v${item?.taskVersion ?? String(ledger?.taskVersion ?? '?')}</dd>
<dt>ledger</dt><dd id="ledger-status">${String(ledger?.status ?? '(no item)')}</dd>${item?.jobId ? html`<dt>job</dt><dd>${item.jobId}</dd>` : ''}</dl>
<h2>Input</h2>
<pre id="review-input">${item?.input === undefined ? '(not on the review message)' : JSON.stringify(item.input, null, 2)}</pre>
<h2>Tiers tried and the model's notes</h2>
${
  reasons.length === 0
    ? html`<p>(no notes recorded)</p>`
    : html`<table id="tiers"><thead><tr><th>tier</th><th>model</th><th>note</th></tr></thead><tbody>${reasons.map((reason) => {
        const part = splitReason(reason);
        return html`<tr><td>${part.tier}</td><td>${part.model ?? ''}</td><td>${part.why}</td></tr>`;
      })}</tbody></table>`
}
<h2>Resolve</h2>
${previous ? html`<p class="error" id="form-error">${previous.error}</p>` : ''}
${
  !inReview
    ? html`<p>This record is not in review any more (${String(ledger?.status)}).</p>`
    : !fields
      ? html`<p>This console does not know the task ${item?.task ?? String(ledger?.task)}: resolve it with <code>pipectl review resolve</code>.</p>`
      : html`<form method="post" action="/action" id="resolve-form">${actionFields(context, 'resolve')}<input type="hidden" name="key" value="${key}">
${fields.map((field) => html`<label>${field.name}${field.required ? ' *' : ''} ${formField(field, value(field.name))}</label>`)}
<p class="hint">Checked against the ${item?.task ?? String(ledger?.task)} output schema before anything is written; you confirm on the next page.</p>
<button type="submit">Resolve…</button></form>`
}`;
  return layout(context, '/review', 'Review item', body);
}

function formField(field: FormField, value: string): SafeHtml {
  const name = `field.${field.name}`;
  switch (field.kind) {
    case 'select':
      return html`<select name="${name}" ${trusted(field.required ? 'required' : '')}><option value="">—</option>${(field.options ?? []).map(
        (option) => html`<option value="${option}" ${trusted(option === value ? 'selected' : '')}>${option}</option>`,
      )}</select>`;
    case 'number':
    case 'integer':
      return html`<input type="number" name="${name}" value="${value}" step="${field.kind === 'integer' ? '1' : 'any'}" ${trusted(
        [field.min !== undefined ? `min="${field.min}"` : '', field.max !== undefined ? `max="${field.max}"` : '', field.required ? 'required' : ''].join(' '),
      )}>`;
    case 'checkbox':
      return html`<input type="checkbox" name="${name}" ${trusted(value === 'on' ? 'checked' : '')}>`;
    case 'textarea':
    case 'text':
    case 'json': {
      const limits = trusted(
        [
          field.minLength !== undefined ? `minlength="${field.minLength}"` : '',
          field.maxLength !== undefined ? `maxlength="${field.maxLength}"` : '',
          field.required ? 'required' : '',
        ].join(' '),
      );
      return field.kind === 'text'
        ? html`<input type="text" name="${name}" value="${value}" ${limits}>`
        : html`<textarea name="${name}" rows="3" ${limits}>${value}</textarea>`;
    }
  }
}

/** The DLQ grouped by failure reason, with a dry-run redrive per group and for all. */
export function dlqPage(context: PageContext, groups: readonly DeadLetterGroup[], total: number, truncated: boolean, now = Date.now()): string {
  const redriveForm = (reason: string | undefined, dryRun: boolean, label: string) =>
    html`<form method="post" action="/action" class="inline">${actionFields(context, 'redrive')}${reason ? html`<input type="hidden" name="reason" value="${reason}">` : ''}${
      dryRun ? html`<input type="hidden" name="dryRun" value="1">` : ''
    }<button type="submit" class="${dryRun ? '' : 'danger'}" data-redrive="${reason ?? 'all'}${dryRun ? ':dry-run' : ''}">${label}</button></form>`;
  const body =
    total === 0
      ? html`<p id="dlq-empty">The DLQ is empty.</p>`
      : html`<p>${total}${truncated ? '+' : ''} dead letter(s). Reading them changes nothing (they are made visible again at once).</p>
<p>${redriveForm(undefined, true, 'Dry run: redrive all')} ${redriveForm(undefined, false, 'Redrive all…')}</p>
${groups.map(
  (group) => html`<section class="dlq-group" data-reason="${group.failureClass}"><h2>${group.failureClass} <span class="count">${group.count}</span> ${
    group.badInput ? html`<span class="tag">bad input: fix the producer, not the pipeline</span>` : ''
  }</h2>
<p>tasks: ${group.tasks.join(', ')} · oldest ${group.oldest ? `${formatDuration(now - group.oldest)} ago` : '?'}${
    Object.keys(group.lastErrors).length > 0
      ? ` · last errors: ${Object.entries(group.lastErrors)
          .map(([name, count]) => `${name} ${count}`)
          .join(', ')}`
      : ''
  }</p>
<table><thead><tr><th>message</th><th>key</th><th>detail</th></tr></thead><tbody>${group.samples.map(
    (sample) =>
      html`<tr><td><code>${sample.messageId}</code></td><td><code>${sample.key.slice(0, 16)}…</code></td><td>${sample.detail ?? '(no detail)'}</td></tr>`,
  )}</tbody></table>
<p>${redriveForm(group.failureClass, true, `Dry run: redrive ${group.failureClass}`)} ${redriveForm(group.failureClass, false, `Redrive ${group.failureClass}…`)}</p></section>`,
)}`;
  return layout(context, '/dlq', 'Dead letters', body);
}

/** Pause/resume and the breakers, each an action behind a confirmation. */
export function controlsPage(
  context: PageContext,
  mapping: MappingState | { readonly error: string },
  breakers: readonly BreakerView[] | { readonly error: string },
): string {
  const mappingPart =
    'error' in mapping
      ? html`<p class="error">event source mapping unreadable: ${mapping.error}</p>`
      : html`<p>The processor is <strong id="mapping-state">${mapping.state}</strong>.</p>
<form method="post" action="/action" class="inline">${actionFields(context, mapping.paused ? 'resume' : 'pause')}<button type="submit" class="${mapping.paused ? '' : 'danger'}">${
          mapping.paused ? 'Resume the processor…' : 'Pause the processor…'
        }</button></form>`;
  const breakerPart =
    'error' in breakers
      ? html`<p class="error">breakers unreadable: ${breakers.error}</p>`
      : breakers.length === 0
        ? html`<p>No breaker recorded: every model is closed (none has failed yet).</p>`
        : html`<table><thead><tr><th>model</th><th>effective</th><th>window failed/calls</th><th>override</th><th>force</th></tr></thead><tbody>${breakers.map(
            (breaker) => html`<tr><td>${breaker.modelId}</td><td>${breaker.effective}</td><td class="num">${breaker.failures}/${breaker.calls}</td><td>${
              breaker.forced ? `${breaker.forced} by ${breaker.forcedBy ?? '?'}: ${breaker.forcedReason ?? ''}` : '-'
            }</td><td><form method="post" action="/action" class="inline">${actionFields(context, 'breaker')}<input type="hidden" name="model" value="${breaker.modelId}">
<select name="operation"><option value="open">open (needs a reason)</option><option value="close">close</option><option value="pin-closed">pin closed (needs a reason)</option><option value="release">release override</option></select>
<input type="text" name="reason" placeholder="reason" maxlength="200"><button type="submit">Apply…</button></form></td></tr>`,
          )}</tbody></table>`;
  return layout(
    context,
    '/controls',
    'Controls',
    html`<h2>Processor</h2>${mappingPart}<h2>Circuit breakers</h2>${breakerPart}
<p class="hint">Runtime switches (tier off, force rules, canary) have no pipectl command yet; they will appear here when they do.</p>`,
  );
}

/** The confirmation page: the CLI's question, the person's answer, and every field of the action carried over. */
export function confirmPage(context: PageContext, outcome: Extract<ActionOutcome, { kind: 'confirm' }>, form: URLSearchParams): string {
  // The terminal's prompt ends with how to answer; the buttons say that here.
  const question = outcome.question.replace(/\s*Continue\? \[y\/N\]\s*$/, '').replace(/\s*Type the stage name \([^)]*\) to confirm:\s*$/, '');
  const carried = [...form.entries()].filter(([name]) => name !== 'confirm' && name !== 'csrf');
  const body = html`<form method="post" action="/action" id="confirm-form" class="${outcome.production ? 'production' : ''}">
<input type="hidden" name="csrf" value="${context.csrf}">
${carried.map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
<p class="question" id="confirm-question">${question}</p>
${
  outcome.production
    ? html`<label>Type the stage name (<code>${outcome.stage}</code>) to confirm: <input type="text" name="confirm" autocomplete="off" required></label><button type="submit" class="danger">Confirm</button>`
    : html`<input type="hidden" name="confirm" value="y"><button type="submit" class="danger" id="confirm-yes">Yes, do it</button>`
}
<a href="${backOf(form)}" id="confirm-cancel" class="button">Cancel</a>
</form>`;
  return layout(context, '', 'Confirm', body);
}

/** Where an action's page came from: where Cancel and Back lead. */
export function backOf(form: URLSearchParams): string {
  switch (form.get('action')) {
    case 'resolve':
      return `/review/item?key=${encodeURIComponent(form.get('key') ?? '')}`;
    case 'redrive':
      return '/dlq';
    default:
      return '/controls';
  }
}

/** What an action did. */
export function resultPage(context: PageContext, message: string, back: string): string {
  return layout(context, '', 'Done', html`<p id="action-result">${message}</p><p><a href="${back}">Back</a></p>`);
}

/** An action or a page that failed: its message, as the CLI would print it. */
export function errorPage(context: PageContext, title: string, message: string, back = '/'): string {
  return layout(context, '', title, html`<p class="error" id="error-message">${message}</p><p><a href="${back}">Back</a></p>`);
}

/** The game day: the fault window, detection, events and recovery on one time axis (pipeline seconds). */
export function gamedayPage(context: PageContext, timeline: GameDayTimeline | { readonly missing: string }): string {
  if ('missing' in timeline) return layout(context, '/gameday', 'Game day', html`<p id="gameday-missing">${timeline.missing}</p>`);
  const width = 900;
  const pad = 20;
  const x = (seconds: number) => pad + (seconds / timeline.endSeconds) * (width - 2 * pad);
  const svg: string[] = [`<svg viewBox="0 0 ${width} 70" class="timeline" role="img" aria-label="game day timeline" xmlns="http://www.w3.org/2000/svg">`];
  svg.push(`<line x1="${pad}" x2="${width - pad}" y1="40" y2="40" class="axis-line"/>`);
  if (timeline.fault) {
    const to = timeline.fault.to ?? timeline.endSeconds;
    svg.push(
      `<rect x="${x(timeline.fault.from).toFixed(1)}" y="22" width="${Math.max(1, x(to) - x(timeline.fault.from)).toFixed(1)}" height="36" class="fault-window"><title>fault window</title></rect>`,
    );
  }
  const marker = (seconds: number | undefined, cls: string, label: string) => {
    if (seconds === undefined) return;
    svg.push(
      `<line x1="${x(seconds).toFixed(1)}" x2="${x(seconds).toFixed(1)}" y1="14" y2="62" class="${cls}"/><text x="${x(seconds).toFixed(1)}" y="11" class="marker-label" text-anchor="middle">${label}</text>`,
    );
  };
  marker(timeline.detectedAt, 'detection', 'detected');
  marker(timeline.recoveredAt, 'recovery', 'recovered');
  svg.push(
    `<text x="${pad}" y="68" class="axis">0 s</text><text x="${width - pad}" y="68" class="axis" text-anchor="end">${timeline.endSeconds} s</text></svg>`,
  );
  const body = html`<p>Scenario <strong>${timeline.scenario}</strong> (faults <code>${timeline.faults}</code>, time ×${timeline.timeScale}) —
<strong class="${timeline.passed ? 'ok-text' : 'bad-text'}">${timeline.passed ? 'passed' : 'failed'}</strong>. From <code>${timeline.file}</code>.</p>
<dl class="facts" id="gameday-facts"><dt>fault window</dt><dd>${timeline.fault ? `${timeline.fault.from} s → ${timeline.fault.to ?? '?'} s` : 'not recorded'}</dd>
<dt>detection</dt><dd>${timeline.timeToDetectSeconds === null ? 'NOT DETECTED' : `${timeline.timeToDetectSeconds} s after the fault began (${timeline.detectedBy ?? '?'})`}</dd>
<dt>recovery</dt><dd>${timeline.timeToRecoverSeconds === null ? 'NOT RECOVERED' : `${timeline.timeToRecoverSeconds} s after the fault ended`}</dd>
${timeline.outcome ? html`<dt>messages</dt><dd>${timeline.outcome}</dd>` : ''}</dl>
${trusted(svg.join(''))}
<table id="gameday-events"><thead><tr><th>pipeline time</th><th>what</th><th>event</th></tr></thead><tbody>${timeline.entries.map(
    (entry) => html`<tr class="${entry.kind}"><td class="num">${entry.virtualSeconds} s</td><td>${entry.kind}</td><td>${entry.text}</td></tr>`,
  )}</tbody></table>`;
  return layout(context, '/gameday', 'Game day', body);
}

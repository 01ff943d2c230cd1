import { paletteCss } from './svg-chart';

/**
 * The console's only script: refreshes the overview's live part in place. Served from the console
 * itself (`script-src 'self'`; no inline script anywhere), a few lines of DOM, no framework: one
 * fetch of a server-rendered fragment on a timer is all "live" needs here.
 */
export const CONSOLE_JS = `'use strict';
(function () {
  var live = document.getElementById('live');
  if (!live) return;
  var state = document.getElementById('refresh-state');
  var url = live.getAttribute('data-fragment');
  var interval = Number(live.getAttribute('data-interval')) || 5000;
  var refreshes = 0;
  function refresh() {
    if (document.hidden) return schedule();
    fetch(url, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.text();
      })
      .then(function (text) {
        live.innerHTML = text;
        refreshes += 1;
        live.setAttribute('data-refreshes', String(refreshes));
        if (state) state.textContent = 'live, updated ' + new Date().toISOString().slice(11, 19) + ' UTC';
      })
      .catch(function (error) {
        if (state) state.textContent = 'refresh failed (' + error.message + '): retrying';
      })
      .then(schedule);
  }
  function schedule() {
    setTimeout(refresh, interval);
  }
  schedule();
})();
`;

/** The stylesheet (served, not inline: the CSP allows styles from the console only). */
export const CONSOLE_CSS = `
:root { --bad: #b3261e; --ok: #1b6e3a; --muted: #5f6368; --line: #dadce0; --bg: #f8f9fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #202124; background: var(--bg); }
header { display: flex; gap: 16px; align-items: center; padding: 10px 20px; background: #202124; color: #fff; flex-wrap: wrap; }
header.production { background: var(--bad); }
header .target { color: #e8eaed; font-size: 13px; }
header nav { margin-left: auto; display: flex; gap: 4px; }
header nav a { color: #e8eaed; text-decoration: none; padding: 4px 10px; border-radius: 4px; }
header nav a.active, header nav a:hover { background: rgba(255,255,255,0.15); color: #fff; }
main { padding: 12px 20px 40px; max-width: 1400px; margin: 0 auto; }
h1 { font-size: 20px; margin: 8px 0; }
h2 { font-size: 15px; margin: 18px 0 8px; }
h3 { font-size: 12px; margin: 0 0 6px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.hint, .note { color: var(--muted); font-size: 12px; margin: 4px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 10px; }
.card { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card.wide { grid-column: span 2; }
.card.ok { border-left-color: var(--ok); }
.card.bad { border-left-color: var(--bad); }
.card .big { font-size: 22px; font-weight: 600; margin: 2px 0; }
.card p { margin: 2px 0; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; font-size: 12px; color: var(--muted); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.bar { width: 40%; }
svg.bar { width: 100%; height: 8px; } svg.bar rect { fill: #0072B2; }
tr.bad td, li.bad { color: var(--bad); }
.ok-text { color: var(--ok); } .bad-text { color: var(--bad); }
ul.alarms { list-style: none; padding: 0; } ul.alarms li { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--bad); padding: 6px 10px; margin: 4px 0; border-radius: 4px; }
.charts { display: grid; grid-template-columns: repeat(24, 1fr); gap: 10px; }
.chart-box { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px; grid-column: span 8; }
.chart-box.w6 { grid-column: span 6; } .chart-box.w8 { grid-column: span 8; } .chart-box.w12 { grid-column: span 12; } .chart-box.w24 { grid-column: span 24; }
@media (max-width: 900px) { .chart-box, .chart-box.w6, .chart-box.w8, .chart-box.w12 { grid-column: span 24; } .card.wide { grid-column: span 1; } }
figcaption { font-weight: 600; font-size: 13px; margin-bottom: 4px; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart .plot { fill: #fff; stroke: var(--line); }
svg.chart .grid { stroke: #eee; }
svg.chart .threshold { stroke: var(--bad); stroke-dasharray: 4 3; }
svg.chart .axis, svg .axis { font-size: 10px; fill: var(--muted); }
svg.chart .empty { font-size: 12px; fill: var(--muted); }
ul.legend { list-style: none; padding: 0; margin: 4px 0 0; display: flex; flex-wrap: wrap; gap: 2px 12px; font-size: 12px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
.swatch.dashed { background: repeating-linear-gradient(90deg, var(--bad) 0 4px, transparent 4px 7px); height: 2px; vertical-align: 3px; }
pre { background: #fff; border: 1px solid var(--line); padding: 10px; overflow: auto; max-height: 320px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; } dl.facts dt { color: var(--muted); }
form label { display: block; margin: 8px 0; font-weight: 600; }
form label input[type=text], form label input[type=number], form label select, form label textarea { display: block; width: 100%; max-width: 520px; padding: 5px; font: inherit; font-weight: normal; }
form.inline { display: inline; }
button, a.button { font: inherit; padding: 5px 12px; border-radius: 4px; border: 1px solid #9aa0a6; background: #fff; cursor: pointer; color: #202124; text-decoration: none; display: inline-block; }
button.danger { border-color: var(--bad); color: var(--bad); }
#confirm-form { background: #fff; border: 1px solid var(--line); border-left: 4px solid #e37400; padding: 14px; border-radius: 6px; max-width: 760px; }
#confirm-form.production { border-left-color: var(--bad); }
.question { font-size: 16px; }
.error { color: var(--bad); font-weight: 600; }
.tag { font-size: 11px; font-weight: normal; background: #fce8e6; color: var(--bad); padding: 1px 6px; border-radius: 8px; }
.count { color: var(--muted); font-weight: normal; }
svg.timeline { width: 100%; height: auto; background: #fff; border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; }
svg.timeline .axis-line { stroke: #9aa0a6; } svg.timeline .fault-window { fill: rgba(179,38,30,0.15); stroke: var(--bad); }
svg.timeline .detection { stroke: #e37400; stroke-width: 2; } svg.timeline .recovery { stroke: var(--ok); stroke-width: 2; }
svg.timeline .marker-label { font-size: 10px; fill: #202124; }
tr.fault td { color: var(--bad); } tr.detection td { color: #e37400; font-weight: 600; } tr.recovery td { color: var(--ok); font-weight: 600; }
${paletteCss()}
`;

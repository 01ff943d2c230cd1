import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { POSTMORTEM_TEMPLATE } from '../lib/observability/postmortem-template';
import { formatDuration, isoSeconds, table, truncate } from './format';
import { renderStatus } from './status';
import type { IncidentEvidence, TimelineEvent } from './triage';

/** `incident-2026-11-23T14-05-09Z`: sortable, and safe in every file system. */
export function incidentBaseName(at: number): string {
  return `incident-${isoSeconds(at).replace(/:/g, '-')}`;
}

/** Writes `<dir>/incident-<time>.md` and `.json`; returns their paths. */
export function writeIncidentFiles(evidence: IncidentEvidence, directory: string, commandHint: string): { markdown: string; json: string } {
  mkdirSync(directory, { recursive: true });
  const base = join(directory, incidentBaseName(evidence.generatedAt));
  const markdown = `${base}.md`;
  const json = `${base}.json`;
  writeFileSync(json, `${JSON.stringify(evidence, null, 2)}\n`);
  writeFileSync(markdown, renderIncident(evidence, commandHint));
  return { markdown, json };
}

const hhmm = (at: number) => isoSeconds(at).slice(11, 19);

/** The incident file: the evidence first, then the post-mortem template with its timeline prefilled. */
export function renderIncident(evidence: IncidentEvidence, commandHint: string): string {
  const lines: string[] = [];
  const window = `${isoSeconds(evidence.since)} – ${isoSeconds(evidence.generatedAt)} (${formatDuration(evidence.generatedAt - evidence.since)})`;
  lines.push(`# Incident evidence: ${evidence.target.description}`, '');
  lines.push(
    `Collected by \`pipectl triage${evidence.focusAlarm ? ` --alarm ${evidence.focusAlarm}` : ''}\` at ${isoSeconds(evidence.generatedAt)}; window ${window}.`,
  );
  lines.push('Nothing was changed to collect it. The same data is in the .json file next to this one.', '');
  if (evidence.gaps.length > 0) {
    lines.push('> **Not collected:**', ...evidence.gaps.map((gap) => `> - ${gap}`), '');
  }

  lines.push('## Status now', '', '```', renderStatus(evidence.status, commandHint).trimEnd(), '```', '');

  lines.push('## Alarms', '');
  if (!evidence.alarms.available) lines.push(`Not available: ${evidence.alarms.reason}`, '');
  else {
    lines.push('| alarm | state | since | reason |', '| --- | --- | --- | --- |');
    const ordered = [...evidence.alarms.alarms].sort((a, b) => Number(b.state === 'ALARM') - Number(a.state === 'ALARM') || a.name.localeCompare(b.name));
    for (const alarm of ordered) {
      lines.push(
        `| ${alarm.state === 'ALARM' ? `**${alarm.name}**` : alarm.name} | ${alarm.state} | ${alarm.updatedAt ? isoSeconds(alarm.updatedAt) : ''} | ${truncate(alarm.reason ?? '', 120).replace(/\|/g, '\\|')} |`,
      );
    }
    lines.push('');
  }
  if (evidence.alarmHistory.length > 0) {
    lines.push('State changes in the window (newest first):', '');
    for (const item of evidence.alarmHistory.slice(0, 50)) lines.push(`- ${isoSeconds(item.at)} ${item.alarm}: ${item.summary}`);
    lines.push('');
  }

  lines.push('## Key metrics over the window', '');
  if ('unavailable' in evidence.metrics) lines.push(`Not available: ${evidence.metrics.unavailable}`, '');
  else {
    lines.push("Each alarm's own signal, queried as the alarm evaluates it.", '');
    lines.push('| alarm | signal | latest | max | threshold |', '| --- | --- | --- | --- | --- |');
    for (const series of evidence.metrics) {
      const value = (number?: number) => (number === undefined ? '-' : Number.isInteger(number) ? String(number) : number.toFixed(3));
      const breached = series.max !== undefined && series.max >= series.threshold;
      lines.push(
        `| ${breached ? `**${series.alarmId}**` : series.alarmId} | ${series.label} | ${series.error ? `error: ${truncate(series.error, 60)}` : value(series.latest)} | ${value(series.max)} | ${series.threshold} ${series.unit} |`,
      );
    }
    lines.push('');
  }
  if (evidence.localMetricTotals) {
    lines.push('Processor metrics in the window (sums of the EMF lines in the local processor log):', '', '```');
    lines.push(
      table(
        ['metric', 'sum'],
        Object.entries(evidence.localMetricTotals).map(([name, value]) => [name, Math.round(value * 1000) / 1000]),
      ),
      '```',
      '',
    );
  }

  lines.push('## Dead letters', '');
  const { deadLetters } = evidence;
  if (deadLetters.total === 0) lines.push('The input DLQ is empty.', '');
  else {
    lines.push(
      `${deadLetters.total}${deadLetters.truncated ? '+' : ''} message(s), by failure reason (bodies left out: they may hold customer data; \`pipectl dlq show <id>\` prints one):`,
      '',
    );
    lines.push('| reason | count | kind | tasks |', '| --- | --- | --- | --- |');
    for (const group of deadLetters.groups)
      lines.push(`| ${group.failureClass} | ${group.count} | ${group.badInput ? 'bad input' : 'failed'} | ${group.tasks.join(', ')} |`);
    lines.push('');
    for (const group of deadLetters.groups) {
      lines.push(`### ${group.failureClass}`, '', '```json', JSON.stringify(group.samples, null, 2), '```', '');
    }
  }

  lines.push('## Models and configuration', '');
  const { configuration } = evidence;
  if (configuration.error) lines.push(`Partly unavailable: ${configuration.error}`, '');
  for (const [name, value] of Object.entries(configuration.models)) lines.push(`- \`${name}\` = \`${truncate(value, 200)}\``);
  lines.push(`- tasks: ${configuration.tasks.map((task) => `${task.name}@${task.version}`).join(', ')}`);
  if (configuration.function) {
    lines.push(
      `- function ${configuration.function.name} ${configuration.function.version ?? ''}, code ${configuration.function.codeSha256 ?? '?'}, last modified ${configuration.function.lastModified ?? '?'}`,
    );
  }
  if (configuration.stack)
    lines.push(
      `- stack ${configuration.stack.status ?? '?'}, last updated ${configuration.stack.lastUpdated ? isoSeconds(configuration.stack.lastUpdated) : '?'}`,
    );
  lines.push('');

  lines.push('## Recent stack events', '');
  if (evidence.stackEvents.length === 0) lines.push(evidence.target.kind === 'local' ? 'Local mode has no CloudFormation stack.' : 'None in the window.', '');
  else {
    for (const event of evidence.stackEvents.slice(0, 40))
      lines.push(`- ${isoSeconds(event.at)} ${event.resource} ${event.status}${event.reason ? `: ${event.reason}` : ''}`);
    lines.push('');
  }

  lines.push('## Runbook', '');
  const sections = Object.entries(evidence.runbook);
  if (sections.length === 0) lines.push('No alarm is in ALARM (and none was named with --alarm).', '');
  for (const [, section] of sections) lines.push(section.replace(/^## /m, '### ').trimEnd(), '');

  lines.push('---', '', prefilledPostMortem(evidence));
  return `${lines.join('\n')}\n`;
}

/**
 * The post-mortem template with what triage knows filled in: the date, the alarms, and the
 * timeline. Anchored on the template's own lines; if the template changes shape, the timeline is
 * appended instead of lost.
 */
export function prefilledPostMortem(evidence: IncidentEvidence): string {
  const alarmsInAlarm = evidence.alarms.available ? evidence.alarms.alarms.filter((alarm) => alarm.state === 'ALARM').map((alarm) => alarm.name) : [];
  const firstAlarms = [
    ...new Set(
      [...evidence.alarmHistory]
        .reverse()
        .filter((item) => /to ALARM/i.test(item.summary))
        .map((item) => item.alarm),
    ),
  ];
  const alarmNames = [...new Set([...firstAlarms, ...alarmsInAlarm])];
  const rows = evidence.timeline.map((event: TimelineEvent) => `| ${hhmm(event.at)} | ${event.source}: ${event.event.replace(/\|/g, '\\|')} |`);
  let text = POSTMORTEM_TEMPLATE;
  text = text.replace('<YYYY-MM-DD>, <start>–<end> UTC', `${isoSeconds(evidence.since).slice(0, 10)}, ${hhmm(evidence.since)}–<end> UTC`);
  if (alarmNames.length > 0) text = text.replace(/<alarm names, first one first>/, alarmNames.join(', '));
  return fillPostMortemTimeline(text, rows, 'pipectl triage');
}

/**
 * Puts `rows` (`| hh:mm:ss | event |`) into the post-mortem template's timeline table, keeping the
 * template's rows for what only a human knows (page acknowledged, bleeding stopped, recovered).
 * Anchored on the template's own lines; if the template changes shape, the rows are appended
 * under a heading naming `source` instead of lost.
 */
export function fillPostMortemTimeline(
  text: string,
  rows: readonly string[],
  source: string,
  keep: RegExp = /acknowledged|bleeding stopped|recovered/,
): string {
  const timelineHeader = '| time | event |\n| --- | --- |\n';
  const start = text.indexOf(timelineHeader);
  if (start < 0) return `${text.trimEnd()}\n\n## Timeline from ${source} (UTC)\n\n${timelineHeader}${rows.join('\n')}\n`;
  const bodyStart = start + timelineHeader.length;
  const end = text.indexOf('\n\n', bodyStart);
  const placeholders = text.slice(bodyStart, end < 0 ? undefined : end);
  const kept = placeholders.split('\n').filter((row) => keep.test(row));
  return `${text.slice(0, bodyStart)}${[...rows, ...kept].join('\n')}${end < 0 ? '\n' : text.slice(end)}`;
}

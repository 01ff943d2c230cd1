import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alarmConsoleLinks } from '../../lib/observability/console-links';
import { POSTMORTEM_TEMPLATE } from '../../lib/observability/postmortem-template';
import { alarmIds, renderAlarmSection, renderRunbook } from '../../lib/observability/runbook';
import { catalogsOfAllStages } from '../../lib/observability/stage-catalogs';

const ROOT = join(__dirname, '..', '..');
const catalogs = catalogsOfAllStages();
const committed = readFileSync(join(ROOT, 'RUNBOOK.md'), 'utf8');
const ids = [...new Set(catalogs.flatMap(alarmIds))];

/** The text of one alarm's section in the committed runbook. */
function sectionOf(id: string): string {
  const start = committed.indexOf(`<a id="${id}"></a>`);
  if (start < 0) throw new Error(`RUNBOOK.md has no anchor for ${id}`);
  const next = committed.indexOf('<a id="', start + 1);
  return committed.slice(start, next < 0 ? undefined : next);
}

/** The subcommands `pipectl` has (issue 5) plus `drift` (issue 6); the runbook may name no other. */
const PIPECTL_COMMANDS = new Set([
  'status',
  'triage',
  'dlq',
  'pause',
  'resume',
  'breaker',
  'review',
  'jobs',
  'runbook',
  'gameday',
  'drift',
  'send',
  'local',
  'canary',
  'switch',
]);

describe('RUNBOOK.md', () => {
  it('is what `npm run runbook` writes from the alarm catalog (regenerate and commit it when this fails)', () => {
    expect(committed).toBe(renderRunbook(catalogs));
  });

  it('ships the post-mortem template as docs/POSTMORTEM_TEMPLATE.md too', () => {
    expect(readFileSync(join(ROOT, 'docs', 'POSTMORTEM_TEMPLATE.md'), 'utf8')).toBe(POSTMORTEM_TEMPLATE);
  });

  it('opens with the five-step recovery checklist, before any alarm section', () => {
    const checklist = committed.indexOf('## Five-step recovery checklist');
    const firstSection = committed.indexOf('<a id="');
    expect(checklist).toBeGreaterThan(0);
    expect(checklist).toBeLessThan(firstSection);
    const steps = committed.slice(checklist, firstSection);
    for (const [number, step] of [
      [1, 'Stop the bleeding'],
      [2, 'Isolate the failure mode'],
      [3, 'Roll back to the last known-good state'],
      [4, 'Reproduce the seam minimally'],
      [5, 'Document before declaring fixed'],
    ] as const) {
      expect(steps).toContain(`${number}. **${step}.**`);
    }
  });

  it('ends with the post-mortem template, with every part the issue asks for', () => {
    const template = committed.slice(committed.indexOf('## Post-mortem template'));
    expect(template).toContain(POSTMORTEM_TEMPLATE.trimEnd());
    for (const part of [
      '# Post-mortem:',
      '**Status:**',
      '**Authors:**',
      '## Summary',
      '## Impact',
      '## Timeline',
      '## Five whys',
      '## Trigger',
      '## Resolution',
      '## Action items',
    ]) {
      expect(POSTMORTEM_TEMPLATE).toContain(part);
    }
    expect(POSTMORTEM_TEMPLATE).toMatch(/\| action \|.*\| owner \| due date \|/);
  });

  it.each(ids)('has a full section for %s', (id) => {
    // Prepare
    const section = sectionOf(id);

    // Assess: the heading, every part in action-first order (TL;DR, first five minutes, diagnosis,
    // fix, verify, escalate, then the background), and a pipectl command in the first five minutes.
    expect(section).toContain(`## ${id}: `);
    const parts = [
      '**TL;DR:**',
      '**1. First five minutes (stop the bleeding).**',
      '**2. Diagnosis: data, infrastructure or model drift?**',
      '- *Data:*',
      '- *Infrastructure:*',
      '- *Model drift:*',
      '**3. Fix (safe, reversible).**',
      'When NOT to automate the fix:',
      '**4. Verify recovery.**',
      '**5. Escalate.**',
      '### Background',
      '**What it means.**',
      '**User impact.**',
    ];
    const positions = parts.map((part) => section.indexOf(part));
    for (const [index, part] of parts.entries()) expect(positions[index], part).toBeGreaterThan(-1);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    const firstFive = section.slice(section.indexOf('**1. First five minutes'), section.indexOf('**2. Diagnosis'));
    expect(firstFive).toMatch(/`pipectl [a-z]+/);
    expect(section).toBe(`${renderAlarmSection(catalogs, id).trimEnd()}\n\n`);
  });

  it('names only pipectl commands that exist', () => {
    const used = [...committed.matchAll(/pipectl ([a-z]+)/g)].map((match) => match[1] as string);
    expect(used.length).toBeGreaterThan(50);
    expect(used.filter((command) => !PIPECTL_COMMANDS.has(command))).toEqual([]);
  });

  it('lists per-stage thresholds in each alarm section', () => {
    const section = sectionOf('input-age-over-sla');
    expect(section).toContain('| dev | ≥ 900 s | 2 of 3 periods of 60 s | notBreaching |');
    expect(section).toContain('| prod | ≥ 600 s | 2 of 3 periods of 60 s | notBreaching |');
  });
  it.each(ids)('links %s in the console of every stage, and names its escalation owner', (id) => {
    const section = sectionOf(id);
    for (const catalog of catalogs) {
      const alarm = catalog.alarms.find((candidate) => candidate.id === id) ?? (catalog.composite.id === id ? catalog.composite : undefined);
      if (!alarm) continue;
      const links = alarmConsoleLinks(catalog, alarm);
      expect(section).toContain(`**Console (${catalog.stage}, ${catalog.region}):**`);
      for (const url of [links.alarm, links.dashboard, links.logsInsights]) expect(section).toContain(`](${url})`);
      expect(section).toContain(`\`${links.logGroupPrefix}\``);
    }
    const owners = section.slice(section.indexOf('**5. Escalate.**'), section.indexOf('### Background'));
    expect(owners).toContain('**Owner:** dev: the pipeline owners (no `observability.escalation.owner` set); prod: ai-pipeline-oncall');
  });
});

describe('renderAlarmSection', () => {
  it('finds an alarm by its full CloudWatch name as well as by its id', () => {
    expect(renderAlarmSection(catalogs, 'AiPipeline-prod-dlq-has-messages')).toBe(renderAlarmSection(catalogs, 'dlq-has-messages'));
  });

  it('refuses an unknown alarm, listing the ones there are', () => {
    expect(() => renderAlarmSection(catalogs, 'no-such-alarm')).toThrow(/no alarm "no-such-alarm"; the alarms are: pipeline-unhealthy, input-age-over-sla/);
  });
});

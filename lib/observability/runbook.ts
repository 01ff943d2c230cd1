import { runbookUrl } from './alarm-catalog';
import { COMPOSITE_ALARM_ID } from './composite-alarm';
import { alarmConsoleLinks } from './console-links';
import type { AlarmCatalog, AlarmDefinition, ComparisonOperator, CompositeAlarmDefinition, MetricQuery, ResourceRole, RunbookText } from './alarm-types';
import { renderExpression } from './metric-math';
import { POSTMORTEM_TEMPLATE } from './postmortem-template';

/*
 * RUNBOOK.md, rendered from the alarm catalogs of every stage. Pure string building: the script
 * (scripts/write-runbook.ts) writes the file, a test checks the committed file equals this
 * output, and `pipectl runbook [ALARM]` prints one section.
 */

const COMPARISON_SYMBOL: Readonly<Record<ComparisonOperator, string>> = {
  GreaterThanOrEqualToThreshold: '≥',
  GreaterThanThreshold: '>',
  LessThanThreshold: '<',
};

const RESOURCE_LABEL: Readonly<Record<ResourceRole, string>> = {
  inputQueue: 'input queue',
  inputDlq: 'input DLQ',
  reviewQueue: 'human-review queue',
  reviewDlq: 'human-review DLQ',
  processor: 'processor function',
  reconciler: 'reconciler function',
  driftMonitor: 'drift monitor function',
  ledgerTable: 'ledger table',
  controlTable: 'control table',
};

/** The longest AlarmDescription CloudWatch accepts. */
export const ALARM_DESCRIPTION_MAX = 1024;

/**
 * The AlarmDescription of an alarm: what it means, the condition, and its runbook link, so the
 * notification alone tells the on-call engineer where to go.
 */
export function alarmDescription(catalog: AlarmCatalog, alarm: AlarmDefinition | CompositeAlarmDefinition): string {
  const condition = 'signal' in alarm ? ` Alarm: ${shortCondition(alarm)}.` : '';
  const text = `[${alarm.severity}] ${alarm.title}. ${alarm.summary}${condition} Runbook: ${runbookUrl(catalog.runbookBaseUrl, alarm.id)} (or: pipectl runbook ${alarm.id})`;
  if (text.length > ALARM_DESCRIPTION_MAX)
    throw new Error(`the description of ${alarm.id} is ${text.length} characters; CloudWatch accepts ${ALARM_DESCRIPTION_MAX}`);
  return text;
}

function shortCondition(alarm: AlarmDefinition): string {
  return `${COMPARISON_SYMBOL[alarm.comparison]} ${alarm.threshold} ${alarm.thresholdUnit} in ${alarm.datapointsToAlarm} of ${alarm.evaluationPeriods} periods of ${alarm.periodSeconds} s`;
}

/** Finds an alarm (or the composite) by catalog id or full alarm name. */
export function findAlarm(catalog: AlarmCatalog, idOrName: string): AlarmDefinition | CompositeAlarmDefinition | undefined {
  const all = [...catalog.alarms, catalog.composite];
  return all.find((alarm) => alarm.id === idOrName || alarm.name === idOrName);
}

/** Every id in runbook order: the composite first, then the alarms as the catalog lists them. */
export function alarmIds(catalog: AlarmCatalog): string[] {
  return [catalog.composite.id, ...catalog.alarms.map((alarm) => alarm.id)];
}

/**
 * One alarm's runbook section, as RUNBOOK.md has it: `catalogs` holds one catalog per stage (their
 * thresholds differ; the texts do not).
 *
 * @throws {Error} when no catalog has an alarm with that id or name; the message lists the ids.
 * @example
 * const catalogs = Object.keys(STAGES).map((stage) => buildAlarmCatalog(loadStageConfig(stage)));
 * process.stdout.write(renderAlarmSection(catalogs, 'dlq-has-messages'));
 */
export function renderAlarmSection(catalogs: readonly AlarmCatalog[], idOrName: string): string {
  const first = catalogs[0];
  if (!first) throw new Error('no catalog given');
  const catalog = catalogs.find((candidate) => findAlarm(candidate, idOrName)) ?? first;
  const alarm = findAlarm(catalog, idOrName);
  if (!alarm) throw new Error(`no alarm "${idOrName}"; the alarms are: ${alarmIds(first).join(', ')}`);
  // Action first: a person arriving from the page reads what to do before why the alarm exists.
  const lines: string[] = [`<a id="${alarm.id}"></a>`, '', `## ${alarm.id}: ${alarm.title}`, ''];
  const [firstStep] = alarm.runbook.firstFiveMinutes;
  if (firstStep) lines.push(`**TL;DR:** ${firstStep}`, '');
  lines.push(`**Severity:** ${alarm.severity} · **Alarm name:** \`AiPipeline-<stage>-${alarm.id}\``, '');
  lines.push(alarm.summary, '');
  lines.push(...renderConsoleLinks(catalogs, alarm.id));
  lines.push(...renderActions(alarm.runbook, escalationOwners(catalogs)), '', '### Background', '');
  if ('signal' in alarm) lines.push(...renderCondition(catalogs, alarm));
  else lines.push(...renderComposite(catalogs));
  lines.push(`**What it means.** ${alarm.runbook.meaning}`, '', `**User impact.** ${alarm.runbook.impact}`);
  return `${withStageFlags(lines.join('\n'))}\n`;
}

function renderCondition(catalogs: readonly AlarmCatalog[], alarm: AlarmDefinition): string[] {
  const lines: string[] = [];
  const { signal } = alarm;
  const symbol = COMPARISON_SYMBOL[alarm.comparison];
  if (signal.kind === 'metric') {
    lines.push(`**Condition:** ${describeQuery(signal.metric)} ${symbol} the threshold.`, '');
  } else {
    lines.push(`**Condition:** \`${renderExpression(signal.expression)}\` ${symbol} the threshold, where`, '');
    for (const [id, query] of Object.entries(signal.metrics)) lines.push(`- \`${id}\` = ${describeQuery(query)}`);
    lines.push('');
  }
  lines.push('| stage | threshold | alarm when breaching | missing data |', '| --- | --- | --- | --- |');
  for (const catalog of catalogs) {
    const own = catalog.alarms.find((candidate) => candidate.id === alarm.id);
    if (!own) continue;
    lines.push(
      `| ${catalog.stage} | ${symbol} ${own.threshold} ${own.thresholdUnit} | ${own.datapointsToAlarm} of ${own.evaluationPeriods} periods of ${own.periodSeconds} s | ${own.treatMissingData} |`,
    );
  }
  lines.push('', `**Why these settings:** ${alarm.rationale}`, '');
  return lines;
}

function renderComposite(catalogs: readonly AlarmCatalog[]): string[] {
  const children = new Set(catalogs.flatMap((catalog) => catalog.composite.children));
  return [
    `**Rule:** ANY of ${[...children].map((id) => `[${id}](#${id})`).join(', ')} in ALARM. It has no actions: each of those alarms notifies the \`page\` topic itself.`,
    '',
  ];
}

function describeQuery(query: MetricQuery): string {
  const { source } = query;
  if (source.kind === 'pipeline') {
    const dimensions = Object.entries(source.dimensions)
      .map(([name, value]) => (name === 'stage' ? 'stage=<stage>' : `${name}=${value}`))
      .join(', ');
    return `${query.statistic} of \`${source.name}\` (${source.namespace}; ${dimensions})`;
  }
  const extra = Object.entries(source.extraDimensions ?? {})
    .map(([name, value]) => `, ${name}=${value}`)
    .join('');
  return `${query.statistic} of \`${source.name}\` (${source.namespace}, ${RESOURCE_LABEL[source.resource]}${extra})`;
}

/**
 * Every `pipectl …` command of a runbook text carries `--stage <stage>`: a person arriving from the
 * alarm's link skips the preamble, so a command must not rely on an exported PIPECTL_STAGE.
 * (`pipectl runbook --stage prod` prints them with the stage filled in.)
 */
export function withStageFlags(text: string): string {
  return text.replace(/`pipectl ([^`]*)`/g, (whole, command: string) =>
    // `local` and `gameday` run a pipeline on this machine; they take no stage.
    /--(stage|local)\b/.test(command) || /^(local|gameday)\b/.test(command) ? whole : `\`pipectl ${command} --stage <stage>\``,
  );
}

/**
 * The console links of an alarm in each stage: the alarm, the dashboard, and a Logs Insights query
 * (console-links.ts says why the log group is named rather than selected).
 */
function renderConsoleLinks(catalogs: readonly AlarmCatalog[], id: string): string[] {
  const lines: string[] = [];
  for (const catalog of catalogs) {
    const alarm = findAlarm(catalog, id);
    if (!alarm) continue;
    const links = alarmConsoleLinks(catalog, alarm);
    lines.push(
      `**Console (${catalog.stage}, ${catalog.region}):**`,
      '',
      `- [CloudWatch alarm \`${catalog.alarmNamePrefix}${alarm.id}\`](${links.alarm})`,
      `- [Dashboard \`${catalog.stackName}\`](${links.dashboard})`,
      `- [Logs Insights query](${links.logsInsights}), on the log group whose name starts with \`${links.logGroupPrefix}\``,
      '',
    );
  }
  return lines;
}

/** Whom each stage escalates to (`observability.escalation`), for the escalate step. */
function escalationOwners(catalogs: readonly AlarmCatalog[]): string {
  const owners = catalogs.map(({ stage, escalation }) => {
    if (escalation.owner === undefined) return `${stage}: the pipeline owners (no \`observability.escalation.owner\` set)`;
    return `${stage}: ${escalation.owner}${escalation.contact ? ` (${escalation.contact})` : ''}`;
  });
  return `**Owner:** ${owners.join('; ')}.`;
}

/** The steps of a section, in the order on-call takes them. */
function renderActions(text: RunbookText, owners: string): string[] {
  return [
    '**1. First five minutes (stop the bleeding).**',
    '',
    ...text.firstFiveMinutes.map((step, index) => `${index + 1}. ${step}`),
    '',
    '**2. Diagnosis: data, infrastructure or model drift?**',
    '',
    `- *Data:* ${text.diagnosis.data}`,
    `- *Infrastructure:* ${text.diagnosis.infrastructure}`,
    `- *Model drift:* ${text.diagnosis.model}`,
    '',
    '**3. Fix (safe, reversible).**',
    '',
    ...text.remediations.map((step) => `- ${step}`),
    '',
    `When NOT to automate the fix: ${text.doNotAutomate}`,
    '',
    '**4. Verify recovery.**',
    '',
    ...text.verifyRecovery.map((step) => `- ${step}`),
    '',
    `**5. Escalate.** ${text.escalate}`,
    '',
    owners,
  ];
}

/** The whole RUNBOOK.md. */
export function renderRunbook(catalogs: readonly AlarmCatalog[]): string {
  const first = catalogs[0];
  if (!first) throw new Error('no catalog given');
  const index = [first.composite, ...first.alarms].map((alarm) => `| [${alarm.id}](#${alarm.id}) | ${alarm.severity} | ${alarm.title} |`);
  const stages = catalogs.map((catalog) => catalog.stage).join(', ');
  const sections = alarmIds(first).map((id) => renderAlarmSection(catalogs, id));
  const preamble = withStageFlags(
    [
      '# Runbook: resilient AI pipeline',
      '',
      '<!-- Generated by `npm run runbook` from lib/observability/alarm-catalog.ts and the stage configs.',
      '     Do not edit by hand: change the catalog, run `npm run runbook`, commit both. A test fails when',
      '     this file and the catalog disagree. -->',
      '',
      'Every CloudWatch alarm of the pipeline links to its section here. Each section says what the',
      'alarm means, what users notice, the first five minutes, how to tell a data problem from an',
      'infrastructure problem from model drift, what is safe to do, what not to automate, how to know it',
      `is over, and whom to call. Stages: ${stages}.`,
      '',
      '## How a page reaches you',
      '',
      'A paging alarm notifies the `page` SNS topic itself when it goes to ALARM, and again when it goes',
      'back to OK; every alarm also files a ticket on the `ticket` topic. CloudWatch acts on state',
      'changes only, so a second incident pages even while a first is still in ALARM. The topics deliver',
      "to the stage config's `observability.page` / `observability.ticket` subscriptions (PagerDuty,",
      'Opsgenie, email: docs/paging.md); a production stage does not deploy without a page target. The',
      'composite `pipeline-unhealthy` only summarises the paging alarms on the dashboard.',
      '',
      '## Before you start',
      '',
      '```sh',
      'pipectl status --stage prod                # queues and ages, alarms in ALARM, breaker, budget, paused or not',
      'pipectl runbook <alarm id> --stage prod    # this section in the terminal, with the stage filled in',
      '```',
      '',
      'Every command below names its stage (`--stage <stage>`: the stage in the alarm name',
      '`AiPipeline-<stage>-<alarm id>`), so a command can be pasted without this preamble.',
      '',
      "Every command reads the stage's stack outputs (queue URLs, tables, the event source mapping) with",
      'your AWS credentials; `--local` points it at `pipectl local --serve` instead. Commands that change',
      'state ask for confirmation (or `--yes`); `pipectl pause`, `pipectl breaker open` and',
      '`pipectl dlq redrive` are all undone by their counterpart. The CloudWatch dashboard',
      '`AiPipeline-<stage>` graphs every signal below, with the alarms and their thresholds.',
      '',
      '## Five-step recovery checklist',
      '',
      '1. **Stop the bleeding.** Make the damage stop growing before understanding it: `pipectl pause`',
      '   (messages wait in the queue, nothing is lost), or `pipectl breaker open --model <id>` (records',
      '   go to the next tier instead of a failing model). Both are reversible: `pipectl resume`,',
      '   `pipectl breaker close --model <id>`.',
      '2. **Isolate the failure mode.** Data (what producers send), infrastructure (our stack, AWS) or',
      '   the model (provider errors, changed behaviour)? Each section says how to tell. `pipectl triage`',
      '   collects the evidence into an incident file without changing anything.',
      '3. **Roll back to the last known-good state.** The previous deployment (`cdk deploy` of the',
      '   last good commit), the previous model version or prompt (task version), the pinned drift',
      '   baseline. Roll back first, debug second.',
      '4. **Reproduce the seam minimally.** Reproduce the failure locally with the smallest input and',
      '   fault that shows it: `pipectl local --input sample.jsonl --faults <spec>`,',
      '   `pipectl gameday <scenario>`. A fix without a reproduction is a guess.',
      '5. **Document before declaring fixed.** Fill in the post-mortem (template at the end of this',
      '   file, also `docs/POSTMORTEM_TEMPLATE.md`) from the `pipectl triage` incident file while it is',
      '   fresh; the incident is over when the alarms are OK and the write-up exists.',
      '',
      '## How paging works',
      '',
      'Alarms have a severity. **Ticket** alarms notify the `ticket` topic (ALARM and OK). **Page**',
      'alarms notify the `page` topic themselves (ALARM and OK) and the `ticket` topic too, so a second,',
      'unrelated incident pages even while a first is in ALARM. All of them feed the composite alarm',
      `[${COMPOSITE_ALARM_ID}](#${COMPOSITE_ALARM_ID}), which has no actions: it is the dashboard's one-glance`,
      'state. Subscriptions (email, HTTPS endpoints such as PagerDuty or Opsgenie) are set per stage in',
      '`observability.page` and `observability.ticket` of the stage config.',
      '',
      '## Alarms',
      '',
      '| alarm | severity | title |',
      '| --- | --- | --- |',
      ...index,
      '',
    ].join('\n'),
  );
  return [
    preamble,
    ...sections.flatMap((section) => [section.trimEnd(), '']),
    '<a id="post-mortem-template"></a>',
    '',
    '## Post-mortem template',
    '',
    'Copy it (also in `docs/POSTMORTEM_TEMPLATE.md`; `pipectl triage` prefills the timeline):',
    '',
    '````markdown',
    POSTMORTEM_TEMPLATE.trimEnd(),
    '````',
    '',
  ].join('\n');
}

import type { Command } from 'commander';
import { UsageError } from '../../pipectl/errors';
import type { CliIo } from '../../pipectl/cli-io';
import { markdownForTerminal, table } from '../../pipectl/format';
import type { AlarmCatalog } from '../../lib/observability/alarm-types';
import { addExamples } from './target-options';

interface RunbookFlags {
  readonly stage?: string;
  readonly region?: string;
  readonly json?: boolean;
}

/** An AWS region name, as the stage config's `observability.region` accepts it. */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

export function registerRunbookCommand(program: Command, io: CliIo): void {
  const command = program
    .command('runbook')
    .description("Print an alarm's runbook section (from the alarm catalog RUNBOOK.md is generated from), or the list of alarms")
    .argument('[alarm]', 'the alarm id (dlq-has-messages) or its full name (AiPipeline-prod-dlq-has-messages)')
    .option('--stage <name>', "show only this stage's thresholds (default: every stage; or PIPECTL_STAGE)")
    .option('--region <region>', "the region of the console links (default: the stage config's observability.region)")
    .option('--json', 'print the list, or the section with its severity and title, as JSON');
  addExamples(
    command,
    'pipectl runbook',
    'pipectl runbook dlq-has-messages',
    'pipectl runbook AiPipeline-prod-input-age-over-sla',
    'pipectl runbook model-error-rate --stage prod --region eu-west-1',
  );
  command.action(async (alarm: string | undefined, flags: RunbookFlags) => {
    const { alarmConsoleLinks } = await import('../../lib/observability/console-links');
    const { alarmIds, findAlarm, renderAlarmSection } = await import('../../lib/observability/runbook');
    const { catalogOfStage, catalogsOfAllStages } = await import('../../lib/observability/stage-catalogs');
    const stage = flags.stage ?? process.env.PIPECTL_STAGE;
    let catalogs: AlarmCatalog[];
    try {
      // The stage config validates the stage name and lists the valid ones.
      catalogs = stage ? [catalogOfStage(stage)] : catalogsOfAllStages();
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const { region } = flags;
    if (region !== undefined) {
      if (!REGION.test(region)) throw new UsageError(`--region ${region}: not an AWS region name such as us-east-1`);
      catalogs = catalogs.map((catalog) => ({ ...catalog, region }));
    }
    const [first] = catalogs;
    if (!first) throw new UsageError('no stage has an alarm catalog');
    if (alarm === undefined) {
      const rows = alarmIds(first).map((id) => {
        const definition = findAlarm(first, id);
        return [id, definition?.severity ?? '?', definition?.title ?? ''];
      });
      if (flags.json) {
        io.out(
          `${JSON.stringify(
            rows.map(([id, severity, title]) => ({ alarm: id, severity, title })),
            null,
            2,
          )}\n`,
        );
        return;
      }
      io.out(`${table(['alarm', 'severity', 'title'], rows)}\n\nprint one: pipectl runbook <alarm>\n`);
      return;
    }
    if (!catalogs.some((catalog) => findAlarm(catalog, alarm))) {
      throw new UsageError(`no alarm "${alarm}"; the alarms are: ${alarmIds(first).join(', ')}`);
    }
    const section = renderAlarmSection(catalogs, alarm);
    const definition = catalogs.map((catalog) => findAlarm(catalog, alarm)).find((found) => found !== undefined);
    io.out(
      flags.json
        ? `${JSON.stringify(
            {
              alarm: definition?.id ?? alarm,
              severity: definition?.severity,
              title: definition?.title,
              stages: catalogs.map((catalog) => catalog.stage),
              links: catalogs.flatMap((catalog) => {
                const own = findAlarm(catalog, alarm);
                return own ? [alarmConsoleLinks(catalog, own)] : [];
              }),
              escalation: catalogs.map((catalog) => ({ stage: catalog.stage, ...catalog.escalation })),
              markdown: section,
            },
            null,
            2,
          )}\n`
        : markdownForTerminal(section, stage),
    );
  });
}

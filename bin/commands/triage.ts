import { type Command, Option } from 'commander';
import type { CliIo } from '../../pipectl/cli-io';
import { formatDuration, parseDuration } from '../../pipectl/format';
import type { AlarmCatalog } from '../../lib/observability/alarm-types';
import { addExamples, addTargetOptions, announce, targetHint, type TargetFlags, withTarget } from './target-options';

interface TriageFlags extends TargetFlags {
  readonly alarm?: string;
  readonly since: string;
  readonly out: string;
  readonly includeBodies?: boolean;
  readonly json?: boolean;
}

export function registerTriageCommand(program: Command, io: CliIo): void {
  const command = program
    .command('triage')
    .description(
      "Collect the evidence of an incident into incident-<time>.md and .json: alarm states and history, each alarm's signal over " +
        'the window, DLQ samples by reason with ledger context, models and config, stack events, the runbook of each alarm in ALARM, ' +
        'and the post-mortem template with the timeline prefilled. Changes nothing.',
    )
    .option('--alarm <name>', 'the alarm that paged (id or full name): its history and runbook section are included')
    .addOption(new Option('--since <duration>', 'how far back to look').default('3h'))
    .addOption(new Option('--out <dir>', 'where to write the files').default('.'))
    .option('--include-bodies', 'put dead-letter bodies in the files (off by default: they may hold customer data)')
    .option('--json', 'print the files written and what was not collected as JSON');
  addTargetOptions(command);
  addExamples(command, 'pipectl triage --alarm dlq-has-messages --since 3h --stage prod', 'pipectl triage --local --out /tmp/incidents');
  command.action(async (flags: TriageFlags) => {
    const { writeIncidentFiles } = await import('../../pipectl/incident-writer');
    const { collectEvidence } = await import('../../pipectl/triage');
    const { loadStageConfig } = await import('../../lib/config/stage-load');
    const { buildAlarmCatalog } = await import('../../lib/observability/alarm-catalog');
    const sinceMs = parseDuration(flags.since, '--since');
    await withTarget(flags, async (target) => {
      announce(io, target);
      let catalog: AlarmCatalog | undefined;
      try {
        catalog = buildAlarmCatalog(loadStageConfig(target.stage), target.stackName ? { stackName: target.stackName } : {});
      } catch {
        catalog = undefined; // A stage this checkout has no config for: collected without the catalog, and said so in the file.
      }
      const now = Date.now();
      io.err(`collecting the last ${formatDuration(sinceMs)} of evidence (read-only)…\n`);
      const evidence = await collectEvidence(target, { since: now - sinceMs, alarm: flags.alarm, catalog, includeBodies: flags.includeBodies, now });
      const files = writeIncidentFiles(evidence, flags.out, targetHint(target));
      for (const gap of evidence.gaps) io.err(`not collected: ${gap}\n`);
      io.err(`wrote ${files.markdown} and ${files.json}: copy the post-mortem at its end into your incident doc\n`);
      io.out(flags.json ? `${JSON.stringify({ markdown: files.markdown, json: files.json, gaps: evidence.gaps }, null, 2)}\n` : `${files.markdown}\n`);
    });
  });
}

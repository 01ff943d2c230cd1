import type { Command } from 'commander';
import type { CliIo } from '../../pipectl/cli-io';
import type { EntityHistory } from '../../pipectl/entity-history';
import { table, truncate } from '../../pipectl/format';
import { addExamples, addTargetOptions, type TargetFlags, withTarget } from './target-options';

interface EntityFlags extends TargetFlags {
  readonly json?: boolean;
}

/** `pipectl review entity <id>`: one entity's automated decisions, reuses and holds (issue 16). Read-only. */
export function registerReviewEntityCommand(review: Command, io: CliIo): void {
  const entity = review
    .command('entity')
    .description("An entity's history (the envelope's entityId): automated decisions, small edits that reused one, escalation loops and holds (read-only)")
    .argument('<entityId>', 'the entity id producers send, e.g. a ticket number')
    .option('--json', 'print it as JSON');
  addTargetOptions(entity);
  addExamples(entity, 'pipectl review entity ticket-00042 --local', 'pipectl review entity zendesk:48213 --stage prod --json');
  entity.action(async (entityId: string, flags: EntityFlags) => {
    const { entityHistory } = await import('../../pipectl/entity-history');
    await withTarget(flags, async (target) => {
      const history = await entityHistory(target, entityId);
      io.out(flags.json ? `${JSON.stringify(history, null, 2)}\n` : formatEntityHistory(history, target.description));
    });
  });
}

/** The human-readable history of one entity. */
export function formatEntityHistory(history: EntityHistory, where: string): string {
  if (history.unknown) return `no decisions recorded for entity ${history.entityId} in ${where}\n`;
  const lines = [`entity ${history.entityId} in ${where}`];
  lines.push(
    history.hold
      ? `  HELD since ${new Date(history.hold.at).toISOString()}: ${history.hold.reason}\n  resolve ${history.hold.key} to release it: pipectl review resolve ${history.hold.key} --result '<JSON>'`
      : '  not held: automation decides its inputs',
  );
  lines.push(`  automated decisions in the window: ${history.decisions.length}`);
  if (history.last)
    lines.push(`  last decision: ${history.last.tier} (${history.last.modelId}) for ${history.last.key}: ${truncate(JSON.stringify(history.last.result), 80)}`);
  lines.push('');
  lines.push(
    table(
      ['when', 'event', 'key', 'tier', 'similarity', 'by'],
      history.history.map((entry) => [
        new Date(entry.at).toISOString(),
        entry.kind,
        entry.key,
        entry.tier ?? '',
        entry.similarity === undefined ? '' : entry.similarity.toFixed(2),
        entry.by ?? '',
      ]),
    ),
  );
  return `${lines.join('\n')}\n`;
}

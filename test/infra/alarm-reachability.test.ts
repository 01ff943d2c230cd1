/**
 * Every alarm of every stage can fire on the stage it is deployed to. The walk checks each metric
 * an alarm reads against what the synthesized stack can produce:
 * - AWS/DynamoDB per-operation metrics: some role of the stack is allowed that operation on that
 *   table (DynamoDB reports ThrottledRequests and SystemErrors per operation actually called);
 * - AWS/Lambda and AWS/SQS metrics: the function or queue exists in the template;
 * - the pipeline's budget metric: the stage sets a budget (the processor publishes
 *   BudgetUsedPercent only when a token or USD limit is set, lambda/processor/batch-processor.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC } from '../../lambda/contract';
import type { StageConfig } from '../../lib/config/stage-types';
import type { AlarmCatalog, AlarmDefinition, MetricQuery, ResourceRole } from '../../lib/observability/alarm-types';
import { logicalIdOf, type SynthesizedStage, synthStage } from './synth-stage';

type Resource = { Type: string; Properties: Record<string, any> };

const stages: Record<string, SynthesizedStage> = {};

beforeAll(() => {
  stages.dev = synthStage('dev');
  stages.prod = synthStage('prod');
  stages['dev with a budget'] = synthStage('dev', { overrides: { budget: { usdPerHour: 5 } } });
});

afterAll(() => {
  for (const synth of Object.values(stages)) synth.dispose();
});

function queriesOf(alarm: AlarmDefinition): MetricQuery[] {
  return alarm.signal.kind === 'metric' ? [alarm.signal.metric] : Object.values(alarm.signal.metrics);
}

/** Logical id of the table a role refers to. */
function tableLogicalId(synth: SynthesizedStage, role: ResourceRole): string {
  if (role === 'ledgerTable') return logicalIdOf(synth, synth.stack.ledger.table);
  if (role === 'controlTable') return logicalIdOf(synth, synth.stack.control.table);
  throw new Error(`${role} is not a table`);
}

/** Every (action, resource JSON) an IAM policy of the template allows. */
function allowed(synth: SynthesizedStage): Array<{ action: string; resource: string }> {
  const grants: Array<{ action: string; resource: string }> = [];
  for (const resource of Object.values(synth.templateJson.Resources as Record<string, Resource>)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    for (const statement of resource.Properties.PolicyDocument.Statement as Array<Record<string, any>>) {
      if (statement.Effect !== 'Allow') continue;
      const actions = ([] as string[]).concat(statement.Action);
      const resources = ([] as unknown[]).concat(statement.Resource);
      for (const action of actions) for (const target of resources) grants.push({ action, resource: JSON.stringify(target) });
    }
  }
  return grants;
}

/** Why a query can never have data on this stage, or undefined when it can. */
function whyNever(synth: SynthesizedStage, config: StageConfig, query: MetricQuery): string | undefined {
  const { source } = query;
  if (source.kind === 'pipeline') {
    if (source.name === METRIC.BUDGET_USED_PERCENT && config.budget.tokensPerHour === 0 && config.budget.usdPerHour === 0) {
      return 'BudgetUsedPercent is published only when the stage sets a budget, and it sets none';
    }
    return undefined;
  }
  if (source.namespace === 'AWS/DynamoDB') {
    const operation = source.extraDimensions?.Operation;
    if (!operation) return undefined;
    const table = tableLogicalId(synth, source.resource);
    const granted = allowed(synth).some(
      ({ action, resource }) => (action === `dynamodb:${operation}` || action === 'dynamodb:*') && resource.includes(`"${table}"`),
    );
    return granted ? undefined : `nothing in the stack may call ${operation} on ${source.resource}`;
  }
  const template = synth.templateJson.Resources as Record<string, Resource>;
  const construct = {
    inputQueue: synth.stack.inputQueue.queue,
    inputDlq: synth.stack.inputQueue.deadLetterQueue,
    reviewQueue: synth.stack.reviewQueue.queue,
    reviewDlq: synth.stack.reviewQueue.deadLetterQueue,
    processor: synth.stack.processor.function,
    reconciler: synth.stack.monitors.reconciler,
    driftMonitor: synth.stack.monitors.driftMonitor,
  }[source.resource as string];
  if (!construct) return `no ${source.resource} in the stack`;
  return template[logicalIdOf(synth, construct as never)] ? undefined : `${source.resource} is not in the template`;
}

describe.each(['dev', 'prod', 'dev with a budget'])('every alarm of %s can fire', (name) => {
  it('reads only metrics the stack can produce on this stage', () => {
    const synth = stages[name] as SynthesizedStage;
    const catalog: AlarmCatalog = synth.stack.observability.catalog;
    const never = catalog.alarms.flatMap((alarm) =>
      queriesOf(alarm).flatMap((query) => {
        const why = whyNever(synth, synth.config, query);
        return why ? [`${alarm.id} (${query.label}): ${why}`] : [];
      }),
    );
    expect(never).toEqual([]);
    expect(catalog.alarms.length).toBeGreaterThan(15);
  });

  it('has budget alarms and the budget graph exactly when the stage sets a budget', () => {
    const synth = stages[name] as SynthesizedStage;
    const { budget } = synth.config;
    const hasBudget = budget.tokensPerHour > 0 || budget.usdPerHour > 0;
    const catalog = synth.stack.observability.catalog;
    const ids = catalog.alarms.map((alarm) => alarm.id);
    expect(ids.includes('budget-warning'), 'budget-warning').toBe(hasBudget);
    expect(ids.includes('budget-exhausted'), 'budget-exhausted').toBe(hasBudget);
    const graphs = catalog.dashboard.flatMap((row) => row.graphs.map((graph) => graph.title));
    expect(graphs.some((title) => /budget/i.test(title))).toBe(hasBudget);
  });
});

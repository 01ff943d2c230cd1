/**
 * The import check of `npm test` (scripts/check-imports.ts) finds what it is there to find: a cycle
 * through a dynamic import, and an import that crosses a layer.
 */
import { describe, expect, it } from 'vitest';
import { findCycles, layerViolations } from '../../scripts/check-imports';

const graph = (edges: Record<string, string[]>) => new Map(Object.entries(edges));

describe('findCycles', () => {
  it('finds a three-file cycle and nothing else', () => {
    const cycles = findCycles(
      graph({
        'local/run-local.ts': ['local/local-pipeline.ts', 'local/report.ts'],
        'local/local-pipeline.ts': ['local/scheduled-monitors.ts'],
        'local/scheduled-monitors.ts': ['local/run-local.ts'],
        'local/report.ts': ['lambda/contract.ts'],
        'lambda/contract.ts': [],
      }),
    );
    expect(cycles).toEqual([['local/local-pipeline.ts', 'local/run-local.ts', 'local/scheduled-monitors.ts']]);
  });

  it('finds a file that imports itself, and two separate cycles', () => {
    const cycles = findCycles(graph({ 'a.ts': ['a.ts'], 'b.ts': ['c.ts'], 'c.ts': ['b.ts'], 'd.ts': ['b.ts'] }));
    expect(cycles).toEqual(expect.arrayContaining([['a.ts'], ['b.ts', 'c.ts']]));
    expect(cycles).toHaveLength(2);
  });

  it('a diamond is not a cycle', () => {
    expect(findCycles(graph({ 'a.ts': ['b.ts', 'c.ts'], 'b.ts': ['d.ts'], 'c.ts': ['d.ts'], 'd.ts': [] }))).toEqual([]);
  });
});

describe('layerViolations', () => {
  it.each([
    ['lib/ importing the processor', 'lib/constructs/processor.ts', 'lambda/processor/handler.ts', true],
    ['lib/ importing the contract', 'lib/constructs/processor.ts', 'lambda/contract.ts', false],
    ['lambda/ importing CDK', 'lambda/processor/handler.ts', 'node_modules/aws-cdk-lib/', true],
    ['lambda/ importing the stage config', 'lambda/processor/runtime-config.ts', 'lib/config/stage-load.ts', true],
    ['the ledger importing the processor', 'lambda/ledger/dynamodb-ledger-store.ts', 'lambda/processor/batch-processor.ts', true],
    ['the processor importing the ledger', 'lambda/processor/batch-processor.ts', 'lambda/ledger/ledger-store.ts', false],
    ['pipectl importing examples/', 'pipectl/gameday.ts', 'examples/ticket-workload.ts', true],
    ['tests importing examples/', 'test/unit/x.test.ts', 'examples/ticket-workload.ts', false],
  ])('%s: violation %s', (_name, from, to, broken) => {
    expect(layerViolations(graph({ [from]: [to] })).length > 0).toBe(broken);
  });
});

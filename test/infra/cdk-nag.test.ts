import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineApp } from '../../lib/pipeline-app';
import { type Acknowledgement, SKIP_BUNDLING, type SynthesizedStage, synthStage, type ValidationReport } from './synth-stage';

/*
 * How cdk-nag 3 reports: it is a policy validation plugin (`Validations.of(app).addPlugins(...)`),
 * not an Aspect, so it writes no Annotations. When the app synthesizes, CDK runs the plugins over
 * the finished construct tree and writes `validation-report.json` into the cloud assembly:
 * one `pluginReports` entry per plugin that found something, with `violations` (unacknowledged,
 * severity `error` or `warning`) and `suppressedViolations` (acknowledged, with the reason and
 * where it was acknowledged). Any unacknowledged finding, warnings included, makes the plugin
 * report a failure: `app.synth()` throws (in-process, as here) or `cdk synth` exits non-zero.
 * So these tests read the report rather than `Annotations.fromStack`, which sees nothing.
 *
 * An acknowledgement only shows up in `suppressedViolations` when its id carries the plugin's
 * namespace: `AwsSolutions::AwsSolutions-IAM5[Resource::<Table.Arn>/index/*]`. Without it,
 * cdk-nag drops the finding itself and the report says nothing, so the id form is checked below.
 */

/**
 * Every finding the app acknowledges, by construct path and id; add an entry here together with
 * its `Validations.of(construct).acknowledge(...)` in lib/.
 */
const EXPECTED_ACKNOWLEDGEMENTS = (stage: string): ReadonlyArray<Pick<Acknowledgement, 'path' | 'id'>> => [
  // cloudwatch:PutMetricData takes no resource ARN; scoped by a cloudwatch:namespace condition (lib/constructs/monitors.ts).
  { path: `AiPipeline-${stage}/Monitors/ReconcilerRole`, id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]' },
  { path: `AiPipeline-${stage}/Monitors/DriftMonitorRole`, id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]' },
];

const stages: Record<string, SynthesizedStage> = {};

beforeAll(() => {
  // With the CloudFormation schema check as well, as `cdk synth` runs it.
  for (const stage of ['dev', 'prod']) stages[stage] = synthStage(stage, { cloudFormationValidation: true });
});

afterAll(() => {
  for (const synth of Object.values(stages)) synth.dispose();
});

describe.each(['dev', 'prod'])('cdk-nag AwsSolutions (%s)', (stage) => {
  it('reports no unacknowledged error or warning, from any validation plugin', () => {
    // Prepare
    const { report } = stages[stage]!;

    // Act
    const violations = report.pluginReports.flatMap((plugin) =>
      plugin.violations.map((violation) => ({
        plugin: plugin.pluginName,
        rule: violation.ruleName,
        severity: violation.severity,
        at: violation.violatingConstructs.map((construct) => construct.constructPath),
      })),
    );

    // Assess
    expect(violations).toEqual([]);
  });

  it('acknowledges exactly the expected findings, each with a namespaced id and a reason', () => {
    // Prepare
    const synth = stages[stage]!;

    // Act
    const acknowledged = synth.acknowledgements;
    const suppressed = synth.report.pluginReports.flatMap((plugin) => plugin.suppressedViolations ?? []);

    // Assess
    expect(acknowledged.map(({ path, id }) => ({ path, id }))).toEqual(EXPECTED_ACKNOWLEDGEMENTS(stage));
    for (const { id, reason } of acknowledged) {
      expect(id).toMatch(/^AwsSolutions::AwsSolutions-/);
      expect(reason.length).toBeGreaterThan(20);
    }
    expect(suppressed).toHaveLength(acknowledged.length);
  });
});

describe('cdk-nag AwsSolutions on a non-compliant variant', () => {
  // Proves the checks run and that the tests above read the report from the right place.
  let outdir: string;

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'pipeline-nag-'));
  });

  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  it('fails synth on an unacknowledged warning and reports it with rule, severity and path', () => {
    // Prepare
    const { app } = createPipelineApp({
      outdir,
      overrides: { ledger: { pointInTimeRecovery: false } },
      context: SKIP_BUNDLING,
      cloudFormationValidation: false,
    });

    // Act + Assess
    expect(() => app.synth()).toThrow(/AwsSolutions-DDB3/);
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
    // No `conclusion: 'failure'`: once the app acknowledges any finding, CDK recomputes each report's
    // conclusion from its errors only; synth still fails on the warning through the strict-validation
    // flag (PIPELINE_APP_CONTEXT), which is what the throw above checks.
    expect(report.pluginReports).toEqual([
      expect.objectContaining({
        pluginName: 'AwsSolutions',
        violations: [
          expect.objectContaining({
            ruleName: 'AwsSolutions-DDB3',
            severity: 'warning',
            // The control table follows the ledger's recovery settings, so it is flagged too.
            violatingConstructs: [
              expect.objectContaining({ constructPath: 'AiPipeline-dev/Ledger/Default/Resource' }),
              expect.objectContaining({ constructPath: 'AiPipeline-dev/Control/Default/Resource' }),
            ],
          }),
        ],
      }),
    ]);
  });
});

/** The bench's verdicts on issue 17's targets (bench/targets.ts): met or not, and what it would take. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type BenchResultsFile,
  formatVerdicts,
  judgeTargets,
  profileExcess,
  type TargetInputs,
  type TargetScenario,
  targetInputsOf,
} from '../../bench/targets';

const scenario = (overrides: Partial<TargetScenario> = {}): TargetScenario => ({
  messagesPerSecond: 100,
  cpuMsPerMessage: 5,
  lambdaMsPerMessage: 20,
  logBytesPerMessage: 100,
  maxInFlightModelCalls: 3,
  inFlightBound: 25,
  fresh: { messages: 1000, dynamodbWrites: 2000, dynamodbReads: 0 },
  ...overrides,
});

const inputs = (ours: Partial<TargetScenario> = {}, more: Partial<TargetInputs> = {}): TargetInputs => ({
  pipeline: scenario(ours),
  baseline: scenario({ inFlightBound: null }),
  brownout: scenario(),
  bundles: { pipeline: { bytes: 1000, coldInit: { medianMs: 100 } }, baseline: { bytes: 1000, coldInit: { medianMs: 100 } } },
  costPerMillion: { pipeline: { total: 1.4, cloudwatch: 0.02 }, baseline: { total: 1.4 } },
  profile: { byArea: { 'AWS SDK': 30, 'Node.js internals': 40, 'pipeline code (lambda/)': 5, zod: 2 }, totalMs: 100 },
  cliOverYardstickMs: { 'npx pipectl --help': 20 },
  ...more,
});

const verdict = (verdicts: ReturnType<typeof judgeTargets>, prefix: string) => {
  const found = verdicts.find((entry) => entry.target.startsWith(prefix));
  if (!found) throw new Error(`no target ${prefix}`);
  return found;
};

describe('judgeTargets', () => {
  it('meets every target when the pipeline costs what the baseline does, and says nothing more', () => {
    const verdicts = judgeTargets(inputs());
    expect(verdicts.every((entry) => entry.met)).toBe(true);
    expect(verdicts.every((entry) => entry.wouldTake === undefined)).toBe(true);
    expect(formatVerdicts(verdicts)).toContain(`${verdicts.length} of ${verdicts.length} met`);
  });

  it('judges each bound at its edge, and says what it would take when it is missed', () => {
    expect(verdict(judgeTargets(inputs({ cpuMsPerMessage: 5 })), 'handler CPU').met).toBe(true);
    const over = verdict(judgeTargets(inputs({ cpuMsPerMessage: 5.05 })), 'handler CPU');
    expect(over).toMatchObject({ met: false, measured: '1.01×' });
    // The profile of the same run is quoted: its largest areas, and our own share.
    expect(over.wouldTake).toContain('Node.js internals 40%');
    expect(over.wouldTake).toContain('our code is 5%');
    expect(verdict(judgeTargets(inputs({ lambdaMsPerMessage: 22 })), 'Lambda duration').met).toBe(true);
    expect(verdict(judgeTargets(inputs({ lambdaMsPerMessage: 22.2 })), 'Lambda duration').met).toBe(false);
    expect(verdict(judgeTargets(inputs({ messagesPerSecond: 99 })), 'messages/s').met).toBe(false);
    expect(verdict(judgeTargets(inputs({ logBytesPerMessage: 200 })), 'log bytes').met).toBe(true);
    expect(verdict(judgeTargets(inputs({ logBytesPerMessage: 201 })), 'log bytes').met).toBe(false);
    expect(verdict(judgeTargets(inputs({ fresh: { messages: 1000, dynamodbWrites: 2020, dynamodbReads: 10 } })), 'DynamoDB').met).toBe(true);
    expect(verdict(judgeTargets(inputs({ fresh: { messages: 1000, dynamodbWrites: 2000, dynamodbReads: 11 } })), 'DynamoDB').met).toBe(false);
    const cost = verdict(judgeTargets(inputs({}, { costPerMillion: { pipeline: { total: 1.48, cloudwatch: 0.1 }, baseline: { total: 1.4 } } })), 'cost');
    expect(cost).toMatchObject({ met: false, measured: expect.stringContaining('+5.7%') });
    const bundle = verdict(
      judgeTargets(inputs({}, { bundles: { pipeline: { bytes: 1001, coldInit: { medianMs: 111 } }, baseline: { bytes: 1000, coldInit: { medianMs: 100 } } } })),
      'bundle',
    );
    expect(bundle.met).toBe(false);
    expect(verdict(judgeTargets(inputs({}, { cliOverYardstickMs: { a: 301 } })), '`npx pipectl').met).toBe(false);
  });

  it('with the baseline profiled in the same run, says where the processor spends more, and splits log bytes and cost', () => {
    const profile = {
      byArea: { 'AWS SDK': 40, 'Node.js internals': 40, 'pipeline code (lambda/)': 15, zod: 2 },
      totalMs: 97,
      baselineByArea: { 'AWS SDK': 35, 'Node.js internals': 42, 'pipeline code (lambda/)': 0, zod: 2, Powertools: 5 },
      baselineTotalMs: 84,
    };
    expect(profileExcess(profile)).toBe(
      "the processor's profile sampled 15% more than the baseline's on the same 2,000 messages (97 vs 84 ms, whole processes, init and waits for the CPU included); where it spends more: pipeline code (lambda/) +15 ms, AWS SDK +5 ms",
    );
    expect(profileExcess({ byArea: profile.byArea, totalMs: 97 })).toBeUndefined();
    const verdicts = judgeTargets(
      inputs(
        {
          cpuMsPerMessage: 6,
          logBytesPerMessage: 300,
          emfBytesPerMessage: 250,
          logBytesByKind: { emf: 250, duplicateRecords: 30, otherRecords: 8, batch: 10, other: 2 },
        },
        { profile, costPerMillion: { pipeline: { total: 1.6, cloudwatch: 0.1, lambda: 0.2 }, baseline: { total: 1.4, cloudwatch: 0.02, lambda: 0.13 } } },
      ),
    );
    expect(verdict(verdicts, 'handler CPU').wouldTake).toContain('pipeline code (lambda/) +15 ms');
    expect(verdict(verdicts, 'log bytes').wouldTake).toMatch(
      /^250 of the 300 bytes are EMF metric documents.* 50 are log lines \(duplicate skips' record lines 30, other record lines 8, batch lines 10, the rest 2\)/,
    );
    expect(verdict(verdicts, 'cost').wouldTake).toBe(
      'of the $0.20 difference per 1M messages, CloudWatch Logs is $0.08 (the log bytes above) and Lambda duration $0.07 (the duration above)',
    );
  });

  it('fails the brownout bound when calls went over it, or when there was no bound at all', () => {
    expect(verdict(judgeTargets(inputs({}, { brownout: scenario({ maxInFlightModelCalls: 26 }) })), 'brownout').met).toBe(false);
    expect(verdict(judgeTargets(inputs({}, { brownout: scenario({ inFlightBound: null }) })), 'brownout').met).toBe(false);
  });

  it('agree, in the committed bench/results.json, with the figures of the same run (no verdict edited by hand)', () => {
    const file = JSON.parse(readFileSync(join(__dirname, '..', '..', 'bench', 'results.json'), 'utf8')) as BenchResultsFile & {
      targets?: ReturnType<typeof judgeTargets>;
    };
    if (!file.targets) {
      console.log('bench/results.json predates the verdicts (bench/targets.ts): nothing to compare');
      return;
    }
    // The wording of "what it would take" may change between runs; what was measured and the verdict may not.
    const judged = ({ target, measured, met }: { target: string; measured: string; met: boolean }) => ({ target, measured, met });
    expect(file.targets.map(judged)).toEqual(judgeTargets(targetInputsOf(file)).map(judged));
  });
});

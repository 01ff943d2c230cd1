/**
 * Issue 17's targets, judged on one bench run: each says what was measured against what, whether
 * it is met, and, when it is not, what that run's own profile says it would take. The bench prints
 * them and writes them into bench/results.json, so "met or not" is never a claim made elsewhere.
 */

/** The figures of one scenario of one variant the targets read (bench/run-benchmarks.ts's ScenarioResult). */
export interface TargetScenario {
  readonly messagesPerSecond: number;
  readonly cpuMsPerMessage: number;
  readonly lambdaMsPerMessage: number;
  readonly logBytesPerMessage: number;
  /** The EMF metric documents among those bytes (runs before 2026-12-03 did not count them apart). */
  readonly emfBytesPerMessage?: number;
  /** Log bytes per message by kind of line (runs before 2026-12-03 did not count them apart). */
  readonly logBytesByKind?: Readonly<Record<string, number>>;
  readonly maxInFlightModelCalls: number;
  /** null: the variant has no bound (the baseline). */
  readonly inFlightBound: number | null;
  readonly fresh: { readonly messages: number; readonly dynamodbWrites: number; readonly dynamodbReads: number };
}

/** What one bench run measured, as far as the targets need it. */
export interface TargetInputs {
  readonly pipeline: TargetScenario;
  readonly baseline: TargetScenario;
  /** The pipeline under the brownout profile (in-flight bound). */
  readonly brownout: TargetScenario;
  readonly bundles: {
    readonly pipeline: { readonly bytes: number; readonly coldInit: { readonly medianMs: number } };
    readonly baseline: { readonly bytes: number; readonly coldInit: { readonly medianMs: number } };
  };
  readonly costPerMillion: {
    readonly pipeline: { readonly total: number; readonly cloudwatch: number; readonly lambda?: number };
    readonly baseline: { readonly total: number; readonly cloudwatch?: number; readonly lambda?: number };
  };
  /**
   * The processor's CPU profile: ms of self time by area, and the total sampled; and the baseline's,
   * profiled on the same workload in the same run (runs before 2026-12-03 profiled the processor only).
   */
  readonly profile: {
    readonly byArea: Readonly<Record<string, number>>;
    readonly totalMs: number;
    readonly baselineByArea?: Readonly<Record<string, number>>;
    readonly baselineTotalMs?: number;
  };
  /** Median ms over the yardstick (`npx --no-install tsc --version`), by command. */
  readonly cliOverYardstickMs: Readonly<Record<string, number>>;
}

export interface TargetVerdict {
  readonly target: string;
  /** What was measured, as it is compared (a ratio, a count). */
  readonly measured: string;
  readonly met: boolean;
  /** When not met: what this run's profile says it would take. */
  readonly wouldTake?: string;
}

const fixed = (value: number, digits = 2) => value.toFixed(digits);

/** The profile's shares, largest first: "Node.js internals 42%, AWS SDK 31%, …". */
export function profileShares(profile: TargetInputs['profile'], top = 4): string {
  return Object.entries(profile.byArea)
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([area, ms]) => `${area} ${fixed((ms / profile.totalMs) * 100, 0)}%`)
    .join(', ');
}

/**
 * Where the processor's profile exceeds the baseline's, largest first: "pipeline code (lambda/)
 * +1,210 ms, AWS SDK +800 ms (of 30,000 ms sampled for the baseline)". Undefined without a baseline profile.
 */
export function profileExcess(profile: TargetInputs['profile'], top = 3): string | undefined {
  const { baselineByArea, baselineTotalMs } = profile;
  if (!baselineByArea || baselineTotalMs === undefined) return undefined;
  const over = Object.entries(profile.byArea)
    .map(([area, ms]) => [area, ms - (baselineByArea[area] ?? 0)] as const)
    .filter(([, ms]) => ms > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([area, ms]) => `${area} +${fixed(ms, 0)} ms`);
  const total = profile.totalMs - baselineTotalMs;
  const relative = `${fixed((Math.abs(total) / baselineTotalMs) * 100, 0)}% ${total >= 0 ? 'more' : 'less'}`;
  return `the processor's profile sampled ${relative} than the baseline's on the same 2,000 messages (${fixed(profile.totalMs, 0)} vs ${fixed(baselineTotalMs, 0)} ms, whole processes, init and waits for the CPU included); where it spends more: ${over.join(', ') || 'nowhere'}`;
}

/** The part of bench/results.json the targets read. */
export interface BenchResultsFile {
  readonly results: readonly (TargetScenario & { readonly variant: string; readonly profile: string })[];
  readonly bundles: TargetInputs['bundles'];
  readonly cost: { readonly perMillion: TargetInputs['costPerMillion'] };
  readonly cpuProfile: TargetInputs['profile'];
  readonly cliStartup: { readonly overYardstickMs: TargetInputs['cliOverYardstickMs'] };
}

/** The targets' inputs from a results file: what the bench judges, and what a test re-judges from the committed file. */
export function targetInputsOf(file: BenchResultsFile): TargetInputs {
  const at = (variant: string, profile: string) => {
    const found = file.results.find((result) => result.variant === variant && result.profile === profile);
    if (!found) throw new Error(`bench results have no ${variant}/${profile} scenario`);
    return found;
  };
  return {
    pipeline: at('pipeline', 'zero-latency'),
    baseline: at('baseline', 'zero-latency'),
    brownout: at('pipeline', 'brownout'),
    bundles: file.bundles,
    costPerMillion: file.cost.perMillion,
    profile: file.cpuProfile,
    cliOverYardstickMs: file.cliStartup.overYardstickMs,
  };
}

/** Judges every target of issue 17 on one run's figures. */
export function judgeTargets(inputs: TargetInputs): TargetVerdict[] {
  const { pipeline: ours, baseline: theirs, bundles, costPerMillion: cost, profile } = inputs;
  const share = (area: string) => fixed(((profile.byArea[area] ?? 0) / profile.totalMs) * 100, 0);
  const shares = profileShares(profile);
  const cpu = ours.cpuMsPerMessage / theirs.cpuMsPerMessage;
  const throughput = ours.messagesPerSecond / theirs.messagesPerSecond;
  const duration = ours.lambdaMsPerMessage / theirs.lambdaMsPerMessage;
  const bundle = bundles.pipeline.bytes / bundles.baseline.bytes;
  const coldInit = bundles.pipeline.coldInit.medianMs / bundles.baseline.coldInit.medianMs;
  const writes = ours.fresh.dynamodbWrites / ours.fresh.messages;
  const reads = ours.fresh.dynamodbReads / ours.fresh.messages;
  const logs = ours.logBytesPerMessage / theirs.logBytesPerMessage;
  const costRatio = cost.pipeline.total / cost.baseline.total;
  const cliWorst = Math.max(...Object.values(inputs.cliOverYardstickMs));
  const excess = profileExcess(profile);
  const perRecord = excess
    ? `${excess}. Our own code (lambda/) is the resilience layer's per-record work: the claim and completion ` +
      'expressions, the fallback chain, the metrics; the SDK part is the larger items it writes (the ledger item holds tier, model, tokens, job and hour index keys)'
    : `the profile is ${shares}; our code is ${share('pipeline code (lambda/)')}%: the rest is per request (the SDK) and per byte ` +
      '(compiling the bundle, writing log lines), so it would take fewer log bytes per record and a smaller bundle (below), not faster code of ours';
  const emf = ours.emfBytesPerMessage;
  const lines = emf === undefined ? undefined : ours.logBytesPerMessage - emf;
  const cloudwatchGap = cost.pipeline.cloudwatch - (cost.baseline.cloudwatch ?? 0);
  const lambdaGap = cost.pipeline.lambda !== undefined && cost.baseline.lambda !== undefined ? cost.pipeline.lambda - cost.baseline.lambda : undefined;
  return [
    {
      target: 'handler CPU per message ≤ 1.0× baseline',
      measured: `${fixed(cpu)}×`,
      met: cpu <= 1,
      wouldTake: perRecord,
    },
    {
      target: 'messages/s end to end ≥ 1.0× baseline',
      measured: `${fixed(throughput)}×`,
      met: throughput >= 1,
      wouldTake: `the same as CPU: ${perRecord}`,
    },
    {
      target: 'Lambda duration per message ≤ 1.1× baseline',
      measured: `${fixed(duration)}×`,
      met: duration <= 1.1,
      wouldTake: `the same as CPU (duration is CPU plus the same waits on the emulators): ${perRecord}`,
    },
    {
      target: 'bundle (minified) ≤ 1.0× baseline',
      measured: `${fixed(bundle)}× (${fixed(bundles.pipeline.bytes / 1024, 0)} KB vs ${fixed(bundles.baseline.bytes / 1024, 0)} KB)`,
      met: bundle <= 1,
      wouldTake:
        "the gap is the resilience layer itself. By esbuild's metafile on 2026-12-03 (both on ES modules first and zod/mini), the processor carries our own lambda/ code (109 KB minified: ledger, record protocol, fallback chain, config, breaker, entity loops, quotas, switches, shadow runs), the SQS client (24 KB) and 12 KB more of zod, while the baseline carries Powertools idempotency, JMESPath and batch (44 KB) that the processor does not; cockatiel tree-shakes to 5 KB. Closing it would take less of the product, not a different build",
    },
    {
      target: 'cold init ≤ 1.1× baseline',
      measured: `${fixed(coldInit)}× (${fixed(bundles.pipeline.coldInit.medianMs, 0)} ms vs ${fixed(bundles.baseline.coldInit.medianMs, 0)} ms, medians)`,
      met: coldInit <= 1.1,
      wouldTake:
        'compiling a bigger bundle (the bundle item above), building its zod schemas and SDK clients at init, and the first read of the runtime switches started at init; ' +
        'Node reading the source map, about 40 ms here, is off unless a stage asks for it (processor.sourceMapStackTraces)',
    },
    {
      target: 'DynamoDB on the happy path ≤ 2.02 writes and ≤ 0.01 reads per fresh message',
      measured: `${fixed(writes, 3)} writes, ${fixed(reads, 3)} reads`,
      met: writes <= 2.02 && reads <= 0.01,
      wouldTake: 'amortizing the budget ADD and the breaker read over more records per instance (a longer staleness bound)',
    },
    {
      target: 'log bytes per message ≤ 2× baseline',
      measured: `${fixed(logs, 1)}× (${fixed(ours.logBytesPerMessage, 0)} vs ${fixed(theirs.logBytesPerMessage, 0)} bytes)`,
      met: logs <= 2,
      wouldTake:
        emf === undefined || lines === undefined
          ? 'the per-record line (the fields the runbook queries: input hash, task, outcome, tier, model, attempts, receive count, error class) at a sampled debug level, with the runbook reading those from metrics instead'
          : `${fixed(emf, 0)} of the ${fixed(ours.logBytesPerMessage, 0)} bytes are EMF metric documents, the metrics the alarms and the dashboard read (the baseline publishes one metric), and ${fixed(lines, 0)} are log lines` +
            (ours.logBytesByKind
              ? ` (duplicate skips' record lines ${fixed(ours.logBytesByKind.duplicateRecords ?? 0, 0)}, other record lines ${fixed(ours.logBytesByKind.otherRecords ?? 0, 0)}, batch lines ${fixed(ours.logBytesByKind.batch ?? 0, 0)}, the rest ${fixed(ours.logBytesByKind.other ?? 0, 0)})`
              : '') +
            '. A plain success logs no line (DEBUG, sampled); a duplicate skip must (DESIGN.md: every duplicate skip is a log line), and this workload is 20% duplicates. It would take dropping that line, or fewer metrics per record (fewer alarms), or percentiles from fewer samples',
    },
    {
      target: 'cost per 1M messages ≤ baseline + 5%',
      measured: `+${fixed((costRatio - 1) * 100, 1)}% ($${fixed(cost.pipeline.total)} vs $${fixed(cost.baseline.total)}; CloudWatch Logs $${fixed(cost.pipeline.cloudwatch)})`,
      met: costRatio <= 1.05,
      wouldTake:
        lambdaGap === undefined
          ? 'the log bytes above: CloudWatch Logs is most of the difference'
          : `of the $${fixed(cost.pipeline.total - cost.baseline.total)} difference per 1M messages, CloudWatch Logs is $${fixed(cloudwatchGap)} (the log bytes above) and Lambda duration $${fixed(lambdaGap)} (the duration above)`,
    },
    {
      target: 'brownout: in-flight model calls never above the bound',
      measured: `${inputs.brownout.maxInFlightModelCalls} of ${inputs.brownout.inFlightBound ?? 'no bound'}`,
      met: inputs.brownout.inFlightBound !== null && inputs.brownout.maxInFlightModelCalls <= inputs.brownout.inFlightBound,
      wouldTake: 'a bug: the limiter must hold the bound',
    },
    {
      target: '`npx pipectl --help`, `status --help` ≤ 300 ms over npx itself',
      measured: `${fixed(cliWorst, 0)} ms over, at worst`,
      met: cliWorst <= 300,
      wouldTake: 'keeping each command’s code out of the CLI’s start-up (lazy imports in bin/commands)',
    },
  ].map((verdict) => (verdict.met ? { target: verdict.target, measured: verdict.measured, met: true } : verdict));
}

/** The verdicts as the bench prints them. */
export function formatVerdicts(verdicts: readonly TargetVerdict[]): string {
  const met = verdicts.filter((verdict) => verdict.met).length;
  return [
    `targets (issue 17): ${met} of ${verdicts.length} met in this run`,
    ...verdicts.flatMap((verdict) => [
      `  ${verdict.met ? '✔' : '✘'} ${verdict.target}: ${verdict.measured}`,
      ...(verdict.wouldTake ? [`      not met; it would take: ${verdict.wouldTake}`] : []),
    ]),
  ].join('\n');
}

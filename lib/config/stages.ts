/**
 * The stages the app can synthesize (`cdk synth -c stage=<name>`). Each lists only what differs
 * from the defaults in `stage-schema.ts`; the defaults are the safe choice (retain data, no raw
 * input in logs, no fault injection), so a stage has to opt out of them explicitly.
 */
export const STAGES = {
  /** A developer's sandbox: torn down with the stack, game days allowed. */
  dev: {
    removalPolicy: 'destroy',
    allowFaultInjection: true,
  },
  /** Production: data is kept, the table cannot be deleted by accident, logs are kept longer. */
  prod: {
    production: true,
    removalPolicy: 'retain',
    logRawInput: false,
    allowFaultInjection: false,
    processor: { logRetentionDays: 90 },
    ledger: { deletionProtection: true, customerManagedKey: true },
    // Production answers faster and pages sooner. A production stage does not synthesize without
    // a page target: replace `none` with your rotation (docs/paging.md), e.g.
    //   page: { httpsEndpoints: ['https://events.pagerduty.com/integration/<key>/enqueue'] }
    observability: {
      alarms: { inputAgeSlaSeconds: 600, modelErrorRatePercent: 10 },
      page: { none: 'the example prod stage of this repository; a real deployment subscribes its on-call rotation (docs/paging.md)' },
      // Named in the escalate step of every runbook section: replace with your team's rotation.
      escalation: { owner: 'ai-pipeline-oncall (example: name your rotation here)', contact: 'https://example.com/oncall/ai-pipeline' },
    },
  },
} as const;

/** A stage name. */
export type StageName = keyof typeof STAGES;

/** The stage used when neither the caller nor `-c stage=` names one. */
export const DEFAULT_STAGE: StageName = 'dev';

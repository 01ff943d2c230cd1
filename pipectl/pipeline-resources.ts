/*
 * The resource names one pipeline is reached by: a deployed stage's stack outputs (pipectl/target.ts),
 * a local pipeline (local/local-pipeline.ts) and its serve file (pipectl/local-endpoints.ts). A
 * leaf module, so that each of them can name the shape without importing the others.
 */

/** The names and URLs of one pipeline's resources, as the stack outputs name them. */
export interface PipelineResources {
  readonly inputQueueUrl: string;
  readonly inputDlqUrl: string;
  readonly reviewQueueUrl: string;
  readonly reviewDlqUrl: string;
  readonly ledgerTableName: string;
  readonly controlTableName: string;
  readonly processorFunctionName: string;
  readonly eventSourceMappingId: string;
  /** Every alarm of a deployed stage is named `<prefix><catalog id>` (lib/observability/alarm-catalog.ts). */
  readonly alarmNamePrefix?: string;
}

/** Why a tier did not serve a record, as the review message and the log line carry it. */
export interface TierNote {
  readonly tier: string;
  readonly modelId?: string;
  readonly reason: string;
  readonly errorClass?: string;
}

import { userInfo } from 'node:os';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { PipelineTarget } from './target';

/**
 * Who is making a change, as recorded with it: on a deployed stage the caller's AWS identity
 * (STS GetCallerIdentity: the assumed role's ARN names the person behind an SSO session, and it
 * cannot be typed in wrong); locally the OS user. `$PIPECTL_OPERATOR` is added, not substituted,
 * on AWS (a shared role then still says who), and wins locally (tests, game days).
 */
export async function operatorIdentity(target: Pick<PipelineTarget, 'kind' | 'region'>): Promise<string> {
  const declared = process.env.PIPECTL_OPERATOR;
  if (target.kind === 'local') return declared ?? osUser();
  const sts = new STSClient({ region: target.region });
  try {
    const { Arn } = await sts.send(new GetCallerIdentityCommand({}));
    const arn = Arn ?? 'unknown-aws-identity';
    return declared ? `${declared} (${arn})` : arn;
  } finally {
    sts.destroy();
  }
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

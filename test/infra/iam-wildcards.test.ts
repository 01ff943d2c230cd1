/**
 * Walks every policy document in every stage's template — identity policies, role inline
 * policies, trust policies, queue/topic resource policies and KMS key policies — and fails on any
 * `*` in an action or resource that no written reason below covers. A new wildcard either gets a
 * reason a reviewer would accept here, or is replaced by the exact action and resource.
 */
import { describe, expect, it } from 'vitest';
import { STAGES } from '../../lib/config/stages';
import { synthStage } from './synth-stage';

interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: unknown;
  readonly Principal?: unknown;
  readonly Condition?: unknown;
}

interface Finding {
  readonly resource: string;
  readonly type: string;
  readonly statement: Statement;
}

/** Wildcards that are allowed, each with the reason. A statement passes if any rule matches it. */
const ACCEPTED_WILDCARDS: ReadonlyArray<{ readonly reason: string; readonly matches: (finding: Finding) => boolean }> = [
  {
    reason: 'a Deny narrows access: denying every action over plain HTTP is the TLS-only policy',
    matches: ({ statement }) => statement.Effect === 'Deny',
  },
  {
    reason:
      "a KMS key policy's Resource '*' means this key only; the account-root statement delegates the key to IAM " +
      'policies (the AWS-recommended default), so what a principal may do is still decided by its scoped IAM grants',
    matches: ({ type, statement }) => type === 'AWS::KMS::Key' && statement.Effect === 'Allow' && JSON.stringify(statement.Principal).includes(':root'),
  },
  {
    reason:
      "a KMS key policy's Resource '*' means this key only: a service principal (e.g. CloudWatch publishing to an " +
      'encrypted topic) may use it for exact actions, under conditions that name the source account and resources',
    matches: ({ type, statement }) =>
      type === 'AWS::KMS::Key' &&
      statement.Effect === 'Allow' &&
      JSON.stringify(statement.Principal).includes('"Service"') &&
      asList(statement.Action).every((action) => !String(action).includes('*')) &&
      JSON.stringify(statement.Condition ?? {}).includes('aws:Source'),
  },
  {
    reason:
      "cloudwatch:PutMetricData has no resource-level permissions (Resource must be '*'); it is scoped by a " +
      "cloudwatch:namespace condition to the pipeline's own namespace instead",
    matches: ({ statement }) =>
      statement.Effect === 'Allow' &&
      asList(statement.Action).every((action) => action === 'cloudwatch:PutMetricData') &&
      JSON.stringify(statement.Condition ?? {}).includes('cloudwatch:namespace'),
  },
];

function policyDocuments(type: string, properties: Record<string, any>): Array<{ Statement: Statement[] }> {
  switch (type) {
    case 'AWS::IAM::Policy':
    case 'AWS::IAM::ManagedPolicy':
    case 'AWS::SQS::QueuePolicy':
    case 'AWS::SNS::TopicPolicy':
      return [properties.PolicyDocument];
    case 'AWS::IAM::Role':
      return [properties.AssumeRolePolicyDocument, ...(properties.Policies ?? []).map((policy: { PolicyDocument: unknown }) => policy.PolicyDocument)];
    case 'AWS::KMS::Key':
      return [properties.KeyPolicy];
    default:
      return [];
  }
}

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);

/** Every statement with a `*` in an action or resource (in plain strings; intrinsic ARNs have none). */
function wildcardStatements(templateJson: { Resources: Record<string, { Type: string; Properties?: Record<string, any> }> }): Finding[] {
  const findings: Finding[] = [];
  for (const [resource, { Type: type, Properties: properties = {} }] of Object.entries(templateJson.Resources)) {
    for (const document of policyDocuments(type, properties)) {
      for (const statement of asList(document?.Statement) as Statement[]) {
        const actions = [...asList(statement.Action), ...asList(statement.NotAction)].map(String);
        const resources = asList(statement.Resource).filter((value): value is string => typeof value === 'string');
        if (statement.NotAction !== undefined || actions.some((action) => action.includes('*')) || resources.some((value) => value.includes('*'))) {
          findings.push({ resource, type, statement });
        }
      }
    }
  }
  return findings;
}

describe.each(Object.keys(STAGES))('IAM wildcards in the %s stack', (stage) => {
  const synth = synthStage(stage);
  const findings = wildcardStatements(synth.templateJson);

  it('has no wildcard action or resource without a written reason', () => {
    const unexplained = findings.filter((finding) => !ACCEPTED_WILDCARDS.some((rule) => rule.matches(finding)));
    expect(unexplained.map(({ resource, statement }) => ({ resource, statement }))).toEqual([]);
  });

  it('finds the wildcards it is meant to find (the walker is not blind)', () => {
    // Every queue has a TLS-only Deny with sqs:*; if the walker missed those it would miss others too.
    expect(findings.filter(({ type }) => type === 'AWS::SQS::QueuePolicy').length).toBeGreaterThanOrEqual(4);
  });

  it('grants no Allow with a wildcard action to any role', () => {
    const roleWildcards = findings.filter(
      ({ type, statement }) =>
        (type === 'AWS::IAM::Policy' || type === 'AWS::IAM::Role' || type === 'AWS::IAM::ManagedPolicy') &&
        statement.Effect === 'Allow' &&
        asList(statement.Action).some((action) => String(action).includes('*')),
    );
    expect(roleWildcards).toEqual([]);
  });
});

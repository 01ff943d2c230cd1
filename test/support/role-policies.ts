/**
 * A function's role, read from the synthesized template and resolved to the resources local mode
 * created, and the IAM evaluation of one call against it: enough of IAM's policy logic for the
 * identity policies this stack writes (Allow/Deny, Action and Resource lists, `*` and `?`
 * wildcards). Conditions are not evaluated (they need the request context); a statement with one is
 * taken to allow, and the caller can list them. NotAction / NotResource are refused loudly: the
 * stack writes none, and guessing would hide a real question.
 */
import type { AttributedCall } from '../../local/call-attribution';
import type { StackTemplate } from '../../local/stack-model';

/** The account and partition local ARNs are written with (the emulators check none). */
const LOCAL_ACCOUNT = '000000000000';
const PARTITION = 'aws';

type Json = unknown;

export interface PolicyStatement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly NotAction?: unknown;
  readonly Resource?: Json;
  readonly NotResource?: unknown;
  readonly Condition?: Json;
}

/** One statement of a role, its resources resolved to local ARNs. */
export interface ResolvedStatement {
  readonly effect: 'Allow' | 'Deny';
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly conditional: boolean;
  /** Where it comes from (the policy's logical id), for messages. */
  readonly policy: string;
}

/** An IAM request a call needs allowed: the action and the ARN it is authorised on. */
export interface IamRequest {
  readonly action: string;
  readonly resourceArn: string;
  /** Readable name of the resource: its logical id (plus `/index/<name>`), else the ARN. */
  readonly resourceName: string;
  /** Why this request is needed when the call does not make it itself (SQS using the queue's KMS key). */
  readonly impliedBy?: string;
}

/**
 * Resolves the template's intrinsic functions the way CloudFormation would in local mode: tables
 * and queues to the names and URLs local mode created (`physicalIds`), pseudo parameters to the
 * local region and account, anything else to a stable placeholder ARN naming its logical id.
 */
export class LocalResolver {
  private readonly logicalIdOfArn = new Map<string, string>();

  constructor(
    private readonly template: StackTemplate,
    private readonly physicalIds: ReadonlyMap<string, string>,
    private readonly region: string,
  ) {
    for (const logicalId of Object.keys(template.Resources)) this.logicalIdOfArn.set(this.arnOf(logicalId), logicalId);
  }

  /** The ARN of a resource of the template. */
  arnOf(logicalId: string): string {
    const resource = this.template.Resources[logicalId];
    const physical = this.physicalIds.get(logicalId);
    switch (resource?.Type) {
      case 'AWS::DynamoDB::Table':
        return `arn:${PARTITION}:dynamodb:${this.region}:${LOCAL_ACCOUNT}:table/${physical ?? logicalId}`;
      case 'AWS::SQS::Queue':
        return this.queueArn(physical ?? logicalId);
      case 'AWS::KMS::Key':
        return `arn:${PARTITION}:kms:${this.region}:${LOCAL_ACCOUNT}:key/${logicalId}`;
      default:
        return `arn:${PARTITION}:local:${this.region}:${LOCAL_ACCOUNT}:${resource?.Type ?? 'unknown'}/${logicalId}`;
    }
  }

  /** A queue's ARN from its URL (or name): the URL's last segment is the queue's name. */
  queueArn(urlOrName: string): string {
    return `arn:${PARTITION}:sqs:${this.region}:${LOCAL_ACCOUNT}:${urlOrName.slice(urlOrName.lastIndexOf('/') + 1)}`;
  }

  tableArn(tableName: string): string {
    return `arn:${PARTITION}:dynamodb:${this.region}:${LOCAL_ACCOUNT}:table/${tableName}`;
  }

  /** The logical id behind an ARN this resolver wrote (and `/index/<name>` kept), else the ARN. */
  nameOf(arn: string): string {
    const index = arn.indexOf('/index/');
    const base = index >= 0 ? arn.slice(0, index) : arn;
    const logicalId = this.logicalIdOfArn.get(base);
    return logicalId ? `${logicalId}${index >= 0 ? arn.slice(index) : ''}` : arn;
  }

  /** A template value (string or intrinsic) as a string. */
  resolve(value: Json): string {
    if (typeof value === 'string') return value;
    if (typeof value === 'number') return String(value);
    const intrinsic = value as Record<string, Json>;
    if (intrinsic && typeof intrinsic === 'object') {
      if ('Ref' in intrinsic) return this.ref(String(intrinsic.Ref));
      if ('Fn::GetAtt' in intrinsic) {
        const [logicalId, attribute] = intrinsic['Fn::GetAtt'] as [string, string];
        return this.getAtt(logicalId, attribute);
      }
      if ('Fn::Join' in intrinsic) {
        const [separator, parts] = intrinsic['Fn::Join'] as [string, Json[]];
        return parts.map((part) => this.resolve(part)).join(separator);
      }
      if ('Fn::Sub' in intrinsic && typeof intrinsic['Fn::Sub'] === 'string') {
        return intrinsic['Fn::Sub'].replace(/\$\{([^}]+)\}/g, (_match, name: string) => {
          const [logicalId, attribute] = name.split('.');
          return attribute ? this.getAtt(logicalId as string, attribute) : this.ref(name);
        });
      }
    }
    throw new Error(`cannot resolve ${JSON.stringify(value)}: teach test/support/role-policies.ts this intrinsic`);
  }

  private ref(name: string): string {
    switch (name) {
      case 'AWS::Partition':
        return PARTITION;
      case 'AWS::Region':
        return this.region;
      case 'AWS::AccountId':
        return LOCAL_ACCOUNT;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      default:
        return this.physicalIds.get(name) ?? name;
    }
  }

  private getAtt(logicalId: string, attribute: string): string {
    if (attribute === 'Arn') return this.arnOf(logicalId);
    const physical = this.physicalIds.get(logicalId);
    if (attribute === 'QueueUrl' && physical) return physical;
    if (attribute === 'QueueName' && physical) return physical.slice(physical.lastIndexOf('/') + 1);
    return `${logicalId}.${attribute}`;
  }
}

const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** The role a function runs with: the logical id its `Role` names. */
export function roleOf(template: StackTemplate, functionId: string): string {
  const role = template.Resources[functionId]?.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined;
  const roleId = role?.['Fn::GetAtt']?.[0];
  if (!roleId || template.Resources[roleId]?.Type !== 'AWS::IAM::Role') throw new Error(`${functionId} names no role of this stack: ${JSON.stringify(role)}`);
  return roleId;
}

/** Every statement of a role's identity policies (AWS::IAM::Policy attached to it, and its inline ones), resolved. */
export function statementsOfRole(template: StackTemplate, roleId: string, resolver: LocalResolver): ResolvedStatement[] {
  const role = template.Resources[roleId];
  if (role?.Properties?.ManagedPolicyArns?.length) {
    throw new Error(`${roleId} has managed policies (${JSON.stringify(role.Properties.ManagedPolicyArns)}), which this check cannot read`);
  }
  const documents: Array<{ policy: string; statements: PolicyStatement[] }> = [
    ...asList(role?.Properties?.Policies as Array<{ PolicyName: string; PolicyDocument: { Statement: PolicyStatement[] } }>).map((inline) => ({
      policy: `${roleId}/${inline.PolicyName}`,
      statements: asList(inline.PolicyDocument.Statement),
    })),
    ...Object.entries(template.Resources)
      .filter(
        ([, resource]) =>
          resource.Type === 'AWS::IAM::Policy' && asList(resource.Properties?.Roles as Json[]).some((entry) => (entry as { Ref?: string }).Ref === roleId),
      )
      .map(([policy, resource]) => ({ policy, statements: asList(resource.Properties?.PolicyDocument?.Statement as PolicyStatement[]) })),
  ];
  return documents.flatMap(({ policy, statements }) =>
    statements.map((statement) => {
      if (statement.NotAction !== undefined || statement.NotResource !== undefined) {
        throw new Error(`${policy} uses NotAction/NotResource, which this check does not evaluate: ${JSON.stringify(statement)}`);
      }
      return {
        effect: statement.Effect,
        actions: asList(statement.Action),
        resources: asList(statement.Resource as Json | Json[]).map((resource) => resolver.resolve(resource)),
        conditional: statement.Condition !== undefined,
        policy,
      };
    }),
  );
}

/** IAM's wildcard match: `*` any run of characters, `?` one; actions compare case-insensitively. */
export function wildcardMatches(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

/** Whether the statements allow the request: some Allow matches and no Deny does. */
export function isAllowed(statements: readonly ResolvedStatement[], request: Pick<IamRequest, 'action' | 'resourceArn'>): boolean {
  const matches = (statement: ResolvedStatement) =>
    statement.actions.some((action) => wildcardMatches(action, request.action, true)) &&
    statement.resources.some((resource) => wildcardMatches(resource, request.resourceArn));
  const matching = statements.filter(matches);
  return matching.some((statement) => statement.effect === 'Allow') && !matching.some((statement) => statement.effect === 'Deny');
}

/**
 * The IAM action an API operation is authorised as. SQS's batch operations are authorised as their
 * single forms (`DeleteMessageBatch` → `sqs:DeleteMessage`); DynamoDB's have actions of their own.
 */
export function iamActionOf(service: 'dynamodb' | 'sqs', operation: string): string {
  if (service === 'sqs' && /^(SendMessage|DeleteMessage|ChangeMessageVisibility)Batch$/.test(operation)) return `sqs:${operation.slice(0, -'Batch'.length)}`;
  return `${service}:${operation}`;
}

/**
 * What IAM must allow for one recorded call: its own action on its resource (the index ARN for a
 * Query or Scan on an index), plus, for SQS on a queue encrypted with a key of this stack, the KMS
 * actions SQS performs with the caller's credentials (SQS documentation, "Key management": a
 * producer needs kms:GenerateDataKey and kms:Decrypt, a consumer kms:Decrypt).
 */
export function iamRequestsOf(call: AttributedCall, template: StackTemplate, resolver: LocalResolver): IamRequest[] {
  const action = iamActionOf(call.service, call.operation);
  if (call.service === 'dynamodb') {
    if (!call.tableName) throw new Error(`a DynamoDB ${call.operation} without a table name: ${JSON.stringify(call)}`);
    const tableArn = resolver.tableArn(call.tableName);
    const resourceArn = call.indexName ? `${tableArn}/index/${call.indexName}` : tableArn;
    return [{ action, resourceArn, resourceName: resolver.nameOf(resourceArn) }];
  }
  if (!call.queueUrl) throw new Error(`an SQS ${call.operation} without a queue URL: ${JSON.stringify(call)}`);
  const queueArn = resolver.queueArn(call.queueUrl);
  const queueName = resolver.nameOf(queueArn);
  const requests: IamRequest[] = [{ action, resourceArn: queueArn, resourceName: queueName }];
  const keyActions = action === 'sqs:SendMessage' ? ['kms:GenerateDataKey', 'kms:Decrypt'] : action === 'sqs:ReceiveMessage' ? ['kms:Decrypt'] : [];
  const key = template.Resources[queueName]?.Properties?.KmsMasterKeyId;
  if (keyActions.length > 0 && key !== undefined) {
    const keyArn = resolver.resolve(key);
    // An AWS managed key (alias/aws/sqs) needs no grant in the caller's policy; only keys of this stack are checked.
    if (keyArn.includes(':kms:')) {
      for (const keyAction of keyActions)
        requests.push({ action: keyAction, resourceArn: keyArn, resourceName: resolver.nameOf(keyArn), impliedBy: `${action} on ${queueName}` });
    }
  }
  return requests;
}

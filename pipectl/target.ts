import { resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand, paginateListStacks, type Stack, type StackStatus } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STACK_OUTPUT } from '../lambda/contract';
import { alarmNamePrefix } from '../lib/observability/alarm-catalog';
import { OperationFailedError, TargetNotFoundError, UsageError } from './errors';
import { LOCAL_TARGET_ENV, readServeFile, SERVE_FILE, type LocalEndpoints } from './local-endpoints';
import type { PipelineResources } from './pipeline-resources';

/** The prefix of every pipeline stack: `AiPipeline-<stage>` (lib/pipeline-app.ts). */
export const STACK_PREFIX = 'AiPipeline-';

/** Environment variable naming the deployed stage when `--stage` is not given. */
export const STAGE_ENV = 'PIPECTL_STAGE';

/** The outputs every pipectl command needs; a stack without them cannot be operated. */
const REQUIRED_OUTPUTS = [
  STACK_OUTPUT.INPUT_QUEUE_URL,
  STACK_OUTPUT.INPUT_DLQ_URL,
  STACK_OUTPUT.REVIEW_QUEUE_URL,
  STACK_OUTPUT.REVIEW_DLQ_URL,
  STACK_OUTPUT.LEDGER_TABLE_NAME,
  STACK_OUTPUT.CONTROL_TABLE_NAME,
  STACK_OUTPUT.PROCESSOR_FUNCTION_NAME,
  STACK_OUTPUT.PROCESSOR_EVENT_SOURCE_MAPPING_ID,
] as const;

export type { PipelineResources } from './pipeline-resources';

/** One pipeline to operate on, with SDK clients pointed at it. */
export interface PipelineTarget {
  readonly kind: 'stage' | 'local';
  readonly stage: string;
  readonly region: string;
  /** `AiPipeline-<stage>` for a deployed stage. */
  readonly stackName?: string;
  /** Said in every confirmation prompt, so nobody pauses prod thinking it is dev. */
  readonly description: string;
  /**
   * A production stage: termination protection on its stack (set for `production: true` stages)
   * or the stage named `prod`. Game days refuse it.
   */
  readonly production: boolean;
  readonly resources: PipelineResources;
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
  /** Lambda control plane: the event source mapping (AWS, or the local control API). */
  readonly lambda?: LambdaClient;
  /** Alarms and metrics: only a deployed stage has CloudWatch. */
  readonly cloudwatch?: CloudWatchClient;
  readonly cloudformation?: CloudFormationClient;
  /** The local pipeline's published endpoints (local targets only). */
  readonly local?: LocalEndpoints;
  /** Closes the clients' sockets. */
  destroy(): void;
}

/** How the command line names a target. */
export interface TargetOptions {
  /** A deployed stage: the stack `AiPipeline-<stage>`. @default $PIPECTL_STAGE */
  readonly stage?: string;
  /** @default the SDK's region chain (AWS_REGION, the profile) */
  readonly region?: string;
  /** A local pipeline: `true` for `.local/serve.json`, or the path of a serve file. @default $PIPECTL_LOCAL */
  readonly local?: boolean | string;
}

/**
 * Resolves the target a command acts on: a local pipeline (`--local`, or $PIPECTL_LOCAL) or a
 * deployed stage (`--stage`, or $PIPECTL_STAGE), whose resources come from its stack outputs.
 * Clients use the standard credential chain; `AWS_ENDPOINT_URL[_<SERVICE>]` redirects them (the
 * tests point CloudFormation, CloudWatch and Lambda at moto_server that way).
 */
export async function resolveTarget(options: TargetOptions, env: NodeJS.ProcessEnv = process.env): Promise<PipelineTarget> {
  const local = options.local ?? localFromEnv(env[LOCAL_TARGET_ENV]);
  if (local && options.stage) throw new UsageError('--local and --stage name two different pipelines: give one of them');
  if (local) return localTarget(typeof local === 'string' ? local : SERVE_FILE);
  const stage = options.stage ?? env[STAGE_ENV];
  if (!stage) {
    throw new UsageError(
      `which pipeline? Give --stage <name> for a deployed stage (e.g. --stage dev; or set ${STAGE_ENV}), ` +
        `or --local for one started with \`pipectl local --serve\` (or set ${LOCAL_TARGET_ENV}=1)`,
    );
  }
  return stageTarget(stage, options.region);
}

function localFromEnv(value: string | undefined): boolean | string | undefined {
  if (value === undefined || value === '' || value === '0' || value.toLowerCase() === 'false') return undefined;
  return value === '1' || value.toLowerCase() === 'true' ? true : value;
}

/** A local pipeline started with `pipectl local --serve`. */
export function localTarget(serveFile: string = SERVE_FILE): PipelineTarget {
  const endpoints = readServeFile(serveFile);
  const base = {
    region: endpoints.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  // fauxqs queue URLs name sqs.<region>.localhost: always send to the endpoint, never the URL's host.
  const sqs = new SQSClient({ ...base, endpoint: endpoints.sqsEndpoint, useQueueUrlAsEndpoint: false });
  const dynamodb = new DynamoDBClient({ ...base, endpoint: endpoints.dynamodbEndpoint });
  const lambda = endpoints.lambdaEndpoint ? new LambdaClient({ ...base, endpoint: endpoints.lambdaEndpoint }) : undefined;
  return {
    kind: 'local',
    stage: endpoints.stage,
    region: endpoints.region,
    description: `the local pipeline (${endpoints.stage} template, pid ${endpoints.pid ?? '?'}, ${resolve(serveFile)})`,
    production: false,
    resources: {
      inputQueueUrl: endpoints.queues.input,
      inputDlqUrl: endpoints.queues.inputDlq,
      reviewQueueUrl: endpoints.queues.review,
      reviewDlqUrl: endpoints.queues.reviewDlq,
      ledgerTableName: endpoints.tables.ledger,
      controlTableName: endpoints.tables.control,
      processorFunctionName: endpoints.functionName,
      eventSourceMappingId: endpoints.eventSourceMappingId,
    },
    sqs,
    dynamodb,
    lambda,
    local: endpoints,
    destroy() {
      sqs.destroy();
      dynamodb.destroy();
      lambda?.destroy();
    },
  };
}

/** Statuses of a stack that exists (ListStacks also returns deleted ones). */
const LIVE_STATUSES = new Set<StackStatus | string>([
  'CREATE_COMPLETE',
  'CREATE_IN_PROGRESS',
  'ROLLBACK_COMPLETE',
  'ROLLBACK_IN_PROGRESS',
  'ROLLBACK_FAILED',
  'CREATE_FAILED',
  'UPDATE_COMPLETE',
  'UPDATE_IN_PROGRESS',
  'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_ROLLBACK_COMPLETE',
  'UPDATE_ROLLBACK_IN_PROGRESS',
  'UPDATE_ROLLBACK_FAILED',
  'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_FAILED',
  'DELETE_IN_PROGRESS',
  'DELETE_FAILED',
  'IMPORT_COMPLETE',
  'IMPORT_IN_PROGRESS',
  'IMPORT_ROLLBACK_COMPLETE',
  'IMPORT_ROLLBACK_IN_PROGRESS',
  'IMPORT_ROLLBACK_FAILED',
  'REVIEW_IN_PROGRESS',
]);

/** A deployed stage: its resources from the outputs of `AiPipeline-<stage>`. */
export async function stageTarget(stage: string, region?: string): Promise<PipelineTarget> {
  if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(stage)) throw new UsageError(`"${stage}" is not a stage name (letters, digits and -)`);
  const cloudformation = new CloudFormationClient({ region });
  const resolvedRegion = await regionOf(cloudformation);
  const stackName = `${STACK_PREFIX}${stage}`;
  let stack: Stack | undefined;
  try {
    const { Stacks = [] } = await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
    stack = Stacks[0];
  } catch (error) {
    if (!isStackMissing(error)) {
      cloudformation.destroy();
      throw awsCallFailed(`reading the stack ${stackName} in ${resolvedRegion}`, error);
    }
  }
  if (!stack) {
    const deployed = await deployedStages(cloudformation).catch(() => undefined);
    cloudformation.destroy();
    const known = deployed === undefined ? '(could not list the stacks)' : deployed.length > 0 ? deployed.join(', ') : 'none';
    throw new TargetNotFoundError(
      `no stack named ${stackName} in ${resolvedRegion}; deployed stages: ${known}. ` +
        `Check --stage and --region (or AWS_REGION), or deploy it with \`npx cdk deploy -c stage=${stage}\`.`,
    );
  }
  const outputs = new Map((stack.Outputs ?? []).map((output) => [output.OutputKey ?? '', output.OutputValue ?? '']));
  const missing = REQUIRED_OUTPUTS.filter((key) => !outputs.get(key));
  if (missing.length > 0) {
    cloudformation.destroy();
    throw new TargetNotFoundError(
      `the stack ${stackName} (${stack.StackStatus}) has no output ${missing.join(', ')}: it was deployed by an older version ` +
        `or its deployment did not finish. Redeploy with \`npx cdk deploy -c stage=${stage}\`.`,
    );
  }
  const output = (key: string) => outputs.get(key) as string;
  // The regional endpoint (or AWS_ENDPOINT_URL_SQS), not the queue URL's host: on AWS they are the
  // same service, and an endpoint override must win over the host the URLs name.
  const sqs = new SQSClient({ region: resolvedRegion, useQueueUrlAsEndpoint: false });
  const dynamodb = new DynamoDBClient({ region: resolvedRegion });
  const lambda = new LambdaClient({ region: resolvedRegion });
  const cloudwatch = new CloudWatchClient({ region: resolvedRegion });
  const stageTag = stack.Tags?.find((tag) => tag.Key === 'stage')?.Value;
  return {
    kind: 'stage',
    stage,
    region: resolvedRegion,
    stackName,
    description: `stage ${stage} (stack ${stackName} in ${resolvedRegion})`,
    production: Boolean(stack.EnableTerminationProtection) || stage === 'prod' || stageTag === 'prod',
    resources: {
      inputQueueUrl: output(STACK_OUTPUT.INPUT_QUEUE_URL),
      inputDlqUrl: output(STACK_OUTPUT.INPUT_DLQ_URL),
      reviewQueueUrl: output(STACK_OUTPUT.REVIEW_QUEUE_URL),
      reviewDlqUrl: output(STACK_OUTPUT.REVIEW_DLQ_URL),
      ledgerTableName: output(STACK_OUTPUT.LEDGER_TABLE_NAME),
      controlTableName: output(STACK_OUTPUT.CONTROL_TABLE_NAME),
      processorFunctionName: output(STACK_OUTPUT.PROCESSOR_FUNCTION_NAME),
      eventSourceMappingId: output(STACK_OUTPUT.PROCESSOR_EVENT_SOURCE_MAPPING_ID),
      alarmNamePrefix: alarmNamePrefix(stackName),
    },
    sqs,
    dynamodb,
    lambda,
    cloudwatch,
    cloudformation,
    destroy() {
      for (const client of [sqs, dynamodb, lambda, cloudwatch, cloudformation]) client.destroy();
    },
  };
}

async function regionOf(client: CloudFormationClient): Promise<string> {
  try {
    return await client.config.region();
  } catch {
    client.destroy();
    throw new UsageError('no AWS region: pass --region <region> or set AWS_REGION (or a region in your AWS profile)');
  }
}

function isStackMissing(error: unknown): boolean {
  return (error as { name?: string }).name === 'ValidationError' && /does not exist/.test((error as Error).message);
}

/** Stage names of the pipeline stacks that exist in the client's region. */
export async function deployedStages(cloudformation: CloudFormationClient): Promise<string[]> {
  const stages: string[] = [];
  for await (const page of paginateListStacks({ client: cloudformation }, {})) {
    for (const summary of page.StackSummaries ?? []) {
      const name = summary.StackName ?? '';
      if (name.startsWith(STACK_PREFIX) && LIVE_STATUSES.has(summary.StackStatus ?? '')) stages.push(name.slice(STACK_PREFIX.length));
    }
  }
  return [...new Set(stages)].sort();
}

/**
 * An AWS call failed: a message that names the call and the likely fix. Credential and permission
 * problems are the common ones at 2 AM, so they get their own hint.
 */
export function awsCallFailed(what: string, error: unknown): OperationFailedError {
  const name = (error as { name?: string }).name ?? 'Error';
  const message = error instanceof Error ? error.message : String(error);
  let hint = '';
  if (name === 'CredentialsProviderError' || /credential/i.test(message)) {
    hint = ' No AWS credentials were found: log in (e.g. `aws sso login`) or set AWS_PROFILE.';
  } else if (/AccessDenied|UnauthorizedOperation|not authorized/i.test(`${name} ${message}`)) {
    hint = ' Your role is not allowed this call: use the on-call role of this account.';
  } else if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|socket hang up/i.test(message)) {
    hint = ' The endpoint did not answer: check the network (or, for --local, that `pipectl local --serve` still runs).';
  }
  return new OperationFailedError(`${what} failed: ${name}: ${message}.${hint}`, { cause: error });
}

import * as path from 'node:path';
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../../lambda/contract';
import type { StageConfig } from '../config/stage-types';
import { PROJECT_ROOT } from '../project-root';
import { FUNCTION_BUILD } from './function-bundling';

/** The rollback action's entry point; it exports `handler`. */
export const CANARY_ROLLBACK_ENTRY = path.join(PROJECT_ROOT, 'lambda', 'canary', 'rollback-handler.ts');

/** Properties of {@link CanaryRollbackAction}. */
export interface CanaryRollbackActionProps {
  readonly config: StageConfig;
  /** The `canary-regression` alarm. */
  readonly alarm: IAlarm;
  /** Where the switches and the recovery clock live. */
  readonly controlTable: ITable;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The canary alarm's unattended action (issue 15): an EventBridge rule on the alarm's state change
 * into ALARM → a small Lambda that sets `canary.percent` to 0 and records the rollback on the
 * recovery clock (lambda/canary/rollback-handler.ts). CloudWatch alarm actions cannot invoke a
 * Lambda in every region and partition, and cannot write a switch; EventBridge receives every
 * alarm state change of the account, so the rule filters on this alarm's ARN and the ALARM state.
 *
 * The role holds what `rollBackCanary` does to the control table and nothing else: a consistent
 * read of the switches item, its conditional update, and two puts (the change record and the
 * recovery attempt).
 */
export class CanaryRollbackAction extends Construct {
  public readonly function: NodejsFunction;
  public readonly rule: Rule;

  public constructor(scope: Construct, id: string, props: CanaryRollbackActionProps) {
    super(scope, id);
    const { config } = props;
    const logGroup = new LogGroup(this, 'LogGroup', { retention: config.processor.logRetentionDays, removalPolicy: props.removalPolicy });
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Rolls the ${config.stage} pipeline's canary back when its alarm fires`,
    });
    logGroup.grantWrite(role);
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'], resources: [props.controlTable.tableArn] }),
    );

    this.function = new NodejsFunction(this, 'Function', {
      entry: CANARY_ROLLBACK_ENTRY,
      handler: 'handler',
      ...FUNCTION_BUILD,
      description: `${config.stage}: sets canary.percent to 0 when the canary-regression alarm fires`,
      memorySize: 256,
      timeout: Duration.seconds(30),
      role,
      logGroup,
      // An alarm event is worth two more tries: the rollback is idempotent (a canary at 0% is left alone).
      retryAttempts: 2,
      environment: {
        [ENV.STAGE]: config.stage,
        [ENV.CONTROL_TABLE]: props.controlTable.tableName,
        [ENV.POWERTOOLS_SERVICE_NAME]: 'canary-rollback',
        [ENV.POWERTOOLS_LOG_LEVEL]: config.processor.logLevel,
        NODE_OPTIONS: '--enable-source-maps',
      },
    });

    this.rule = new Rule(this, 'OnAlarm', {
      description: `Rolls the canary back when ${props.alarm.alarmName} goes to ALARM (${Stack.of(this).stackName})`,
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        resources: [props.alarm.alarmArn],
        detail: { state: { value: ['ALARM'] } },
      },
      targets: [new LambdaFunction(this.function, { retryAttempts: 2, maxEventAge: Duration.minutes(15) })],
    });
  }
}

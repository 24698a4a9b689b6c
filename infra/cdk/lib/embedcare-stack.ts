// embedcare's stack in CDK: the same resources as ../template.yaml (SAM, the
// reference). infra/test.sh compares the two (functions, routes, IAM
// actions, table, bus, relay mapping, notifier rule, alarms), so change both
// together.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Aws,
  CfnCondition,
  CfnOutput,
  CfnParameter,
  CfnResource,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  StackProps,
} from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as eventschemas from 'aws-cdk-lib/aws-eventschemas';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';
import { API_FUNCTIONS, NOTIFIER_CRATE, RELAY_CRATE } from './functions';
import { acknowledgeNagFindings } from './nag';

/** The repository's root (infra/cdk/lib -> ../../..). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** infra/table-definition.json, generated from the Rust table definition. */
interface TableDefinition {
  partitionKey: string;
  sortKey: string;
  stringAttributes: string[];
  globalSecondaryIndexes: { indexName: string; partitionKey: string; sortKey: string; projection: string }[];
  ttlAttribute: string;
  stream: string;
  billingMode: string;
  pointInTimeRecovery: boolean;
  serverSideEncryption: boolean;
}

export interface EmbedcareStackProps extends StackProps {
  /** Lambda architecture (context `architecture`: arm64 by default, or x86_64).
   * A synth-time choice in CDK: cargo-lambda builds the binaries for it. */
  readonly architecture?: lambda.Architecture;
}

export class EmbedcareStack extends Stack {
  constructor(scope: Construct, id: string, props: EmbedcareStackProps = {}) {
    super(scope, id, props);
    const architecture = props.architecture ?? lambda.Architecture.ARM_64;

    // ------------------------------------------------------------ parameters
    const appBaseUrl = new CfnParameter(this, 'AppBaseUrl', {
      type: 'String',
      default: '',
      description: "Base of every iframe URL (e.g. https://embed.example.com). Empty: the HTTP API's own execute-api URL.",
    });
    const launchTtl = new CfnParameter(this, 'LaunchTtlSeconds', {
      type: 'Number',
      default: 300,
      minValue: 10,
      maxValue: 86400,
      description: 'Life of a presigned iframe (launch) URL, in seconds.',
    });
    const logLevel = new CfnParameter(this, 'LogLevel', {
      type: 'String',
      default: 'info',
      allowedValues: ['error', 'warn', 'info', 'debug'],
      description: 'EMBEDCARE_LOG of every function.',
    });
    const sesSender = new CfnParameter(this, 'SesSenderEmail', {
      type: 'String',
      default: '',
      description:
        'The address the patient notifier e-mails answer links from (EMBEDCARE_SES_SENDER), verified as an SES ' +
        'identity in this region. Empty - no patient notifier is deployed and no e-mail is sent.',
    });
    const answerLinkTtl = new CfnParameter(this, 'AnswerLinkTtlSeconds', {
      type: 'Number',
      default: 604800,
      minValue: 300,
      maxValue: 2592000,
      description:
        'Life of the single-use answer link the patient notifier e-mails, in seconds (EMBEDCARE_ANSWER_LINK_TTL_SECONDS).',
    });
    const logRetention = new CfnParameter(this, 'LogRetentionDays', {
      type: 'Number',
      // A string, like AllowedValues (CDK types those as strings).
      default: '30',
      allowedValues: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653].map(String),
      description: 'Retention of every log group (functions and API access logs).',
    });
    const alarmTopic = new CfnParameter(this, 'AlarmTopicArn', {
      type: 'String',
      default: '',
      description: 'Optional SNS topic that every alarm notifies. Empty - alarms only change state.',
    });
    const hasAppBaseUrl = new CfnCondition(this, 'HasAppBaseUrl', {
      expression: Fn.conditionNot(Fn.conditionEquals(appBaseUrl.valueAsString, '')),
    });
    const hasSesSender = new CfnCondition(this, 'HasSesSender', {
      expression: Fn.conditionNot(Fn.conditionEquals(sesSender.valueAsString, '')),
    });
    const hasAlarmTopic = new CfnCondition(this, 'HasAlarmTopic', {
      expression: Fn.conditionNot(Fn.conditionEquals(alarmTopic.valueAsString, '')),
    });

    const logGroup = (id: string): logs.LogGroup => {
      const group = new logs.LogGroup(this, id, { removalPolicy: RemovalPolicy.DESTROY });
      (group.node.defaultChild as logs.CfnLogGroup).retentionInDays = logRetention.valueAsNumber;
      return group;
    };
    const alarm = (id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm => {
      const a = new cloudwatch.Alarm(this, id, { treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, ...props });
      (a.node.defaultChild as cloudwatch.CfnAlarm).alarmActions = Fn.conditionIf(
        hasAlarmTopic.logicalId,
        [alarmTopic.valueAsString],
        Aws.NO_VALUE,
      ) as unknown as string[];
      return a;
    };
    const fiveMinutes = Duration.minutes(5);

    // --------------------------------------------------------------- storage
    // The single table, built from infra/table-definition.json. Retained and
    // deletion-protected: deleting the stack never deletes data.
    const def = JSON.parse(
      fs.readFileSync(path.join(REPO_ROOT, 'infra', 'table-definition.json'), 'utf8'),
    ) as TableDefinition;
    const str = (name: string): dynamodb.Attribute => ({ name, type: dynamodb.AttributeType.STRING });
    if (def.billingMode !== 'PAY_PER_REQUEST' || def.stream !== 'NEW_IMAGE' || !def.pointInTimeRecovery || !def.serverSideEncryption) {
      throw new Error('infra/table-definition.json asks for settings this stack does not implement');
    }
    const table = new dynamodb.Table(this, 'Table', {
      partitionKey: str(def.partitionKey),
      sortKey: str(def.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: def.ttlAttribute,
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const gsi of def.globalSecondaryIndexes) {
      if (gsi.projection !== 'ALL') throw new Error(`index ${gsi.indexName}: only projection ALL is implemented`);
      table.addGlobalSecondaryIndex({
        indexName: gsi.indexName,
        partitionKey: str(gsi.partitionKey),
        sortKey: str(gsi.sortKey),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }

    // ---------------------------------------------------------------- events
    const bus = new events.EventBus(this, 'EventBus', { eventBusName: `${Aws.STACK_NAME}-bus` });
    bus.archive('EventArchive', {
      description: 'Every embedcare event, for replays.',
      eventPattern: { source: ['embedcare'] },
      retention: Duration.days(90),
    });

    // The JSON Schemas of events/schemas/*.json, read at synth time.
    const registry = new eventschemas.CfnRegistry(this, 'SchemaRegistry', {
      registryName: `${Aws.STACK_NAME}-events`,
      description: 'JSON Schemas of the events embedcare puts on its bus.',
    });
    const schemaDir = path.join(REPO_ROOT, 'events', 'schemas');
    for (const file of fs.readdirSync(schemaDir).filter((f) => f.endsWith('.json')).sort()) {
      const stem = file.replace(/\.json$/, '');
      const id = stem.split('-').map((p) => p[0].toUpperCase() + p.slice(1)).join('') + 'Schema';
      new eventschemas.CfnSchema(this, id, {
        registryName: registry.attrRegistryName,
        schemaName: `embedcare@${stem}`,
        type: 'JSONSchemaDraft4',
        description: `events/schemas/${file}`,
        content: fs.readFileSync(path.join(schemaDir, file), 'utf8'),
      });
    }

    // An example consumer: consultations waiting for the employee, into a
    // queue (SSE-SQS: EventBridge cannot send to a queue under aws/sqs).
    const toBeAnalyzed = new sqs.Queue(this, 'ConsultationToBeAnalyzedQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });
    new events.Rule(this, 'ConsultationToBeAnalyzedRule', {
      description: 'Example consumer - consultations answered and waiting for the employee.',
      eventBus: bus,
      eventPattern: {
        source: ['embedcare'],
        detailType: ['Consultation Updated'],
        detail: { status: ['TO_BE_ANALYZED'] },
      },
      // The target adds the queue policy: events.amazonaws.com, from this rule only.
      targets: [new targets.SqsQueue(toBeAnalyzed, { retryAttempts: 185, maxEventAge: Duration.hours(24) })],
    });

    // -------------------------------------------------------------- HTTP API
    // No API Gateway authorizer: vendors are servers that send an Api-key
    // header, which the functions check (hashed, cached 30 s).
    const api = new HttpApi(this, 'HttpApi', {
      apiName: `${Aws.STACK_NAME}-api`,
      description: 'embedcare vendor API and embedded pages (server-to-server; no CORS).',
      createDefaultStage: false,
    });
    const accessLogs = logGroup('HttpApiAccessLogGroup');
    new HttpStage(this, 'HttpApiStage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { burstLimit: 200, rateLimit: 100 },
      // routeKey (the template), never the path or query string: those can
      // carry tenant keys and patient keys.
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLatencyMs: '$context.responseLatency',
            integrationLatencyMs: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    const apiUrl = `https://${api.apiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`;

    // ------------------------------------------------------------- functions
    const commonEnv: Record<string, string> = {
      EMBEDCARE_STORE: 'dynamodb',
      EMBEDCARE_TABLE: table.tableName,
      EMBEDCARE_APP_BASE_URL: Fn.conditionIf(hasAppBaseUrl.logicalId, appBaseUrl.valueAsString, apiUrl).toString(),
      EMBEDCARE_LAUNCH_TTL_SECONDS: launchTtl.valueAsString,
      EMBEDCARE_LOG: logLevel.valueAsString,
    };

    /** One function: its log group, its role (logs to its own group, traces,
     * plus `statements`), the function, and its Errors/Throttles alarms.
     * Concurrency is unreserved on purpose: a new account's quota is 10 and
     * any reservation fails the deployment; the API's throttling bounds load. */
    const rustFunction = (
      id: string,
      crate: string,
      opts: {
        description: string;
        memorySize: number;
        timeout: Duration;
        env?: Record<string, string>;
        statements: iam.PolicyStatement[];
        /** For asynchronous invocations; Lambda sends to it with the role (sqs:SendMessage added). */
        deadLetterQueue?: sqs.IQueue;
      },
    ): RustFunction => {
      const group = logGroup(`${id}LogGroup`);
      const role = new iam.Role(this, `${id}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        inlinePolicies: {
          function: new iam.PolicyDocument({
            statements: [
              new iam.PolicyStatement({
                sid: 'Logs',
                actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
                resources: [group.logGroupArn],
              }),
              ...opts.statements,
            ],
          }),
        },
      });
      const fn = new RustFunction(this, `${id}Function`, {
        manifestPath: path.join(REPO_ROOT, 'functions', crate),
        binaryName: crate,
        architecture,
        description: opts.description,
        memorySize: opts.memorySize,
        timeout: opts.timeout,
        // Adds xray:PutTraceSegments/PutTelemetryRecords on "*" to the role:
        // X-Ray has no resource-level permissions.
        tracing: lambda.Tracing.ACTIVE,
        role,
        logGroup: group,
        environment: { ...commonEnv, ...(opts.env ?? {}) },
        deadLetterQueue: opts.deadLetterQueue,
      });
      // Which crate this is, for infra/test.sh (SAM has BuildProperties.Binary).
      (fn.node.defaultChild as lambda.CfnFunction).addMetadata('embedcare:crate', crate);
      alarm(`${id}ErrorsAlarm`, {
        alarmDescription: `${crate} reported errors.`,
        metric: fn.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      });
      alarm(`${id}ThrottlesAlarm`, {
        alarmDescription: `${crate} was throttled (account concurrency exhausted).`,
        metric: fn.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      });
      return fn;
    };

    for (const spec of API_FUNCTIONS) {
      const fn = rustFunction(spec.id, spec.crate, {
        description: spec.description,
        memorySize: 256,
        timeout: Duration.seconds(10),
        statements: [
          new iam.PolicyStatement({
            sid: 'Table',
            actions: spec.tableActions,
            resources: spec.onIndexes ? [table.tableArn, `${table.tableArn}/index/*`] : [table.tableArn],
          }),
        ],
      });
      const integration = new HttpLambdaIntegration(`${spec.id}Integration`, fn);
      for (const routeKey of spec.routes) {
        const [method, routePath] = routeKey.split(' ');
        api.addRoutes({ path: routePath, methods: [method as HttpMethod], integration });
      }
    }

    // The outbox relay: the table's stream -> the bus, reporting partial
    // batch failures; what it gives up on goes to an encrypted DLQ.
    const dlq = new sqs.Queue(this, 'OutboxRelayDlq', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });
    const relay = rustFunction('OutboxRelay', RELAY_CRATE, {
      description: 'DynamoDB stream (outbox items) -> EventBridge',
      memorySize: 256,
      timeout: Duration.seconds(60),
      env: { EMBEDCARE_EVENT_BUS: bus.eventBusName },
      statements: [
        new iam.PolicyStatement({
          sid: 'Stream',
          actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
          resources: [table.tableStreamArn!],
        }),
        new iam.PolicyStatement({ sid: 'Bus', actions: ['events:PutEvents'], resources: [bus.eventBusArn] }),
        new iam.PolicyStatement({ sid: 'DeadLetters', actions: ['sqs:SendMessage'], resources: [dlq.queueArn] }),
      ],
    });
    // A plain mapping rather than DynamoEventSource, whose grants add
    // dynamodb:ListStreams on "*" and SQS actions beyond SendMessage.
    const mapping = new lambda.CfnEventSourceMapping(this, 'OutboxRelayStream', {
      functionName: relay.functionName,
      eventSourceArn: table.tableStreamArn!,
      startingPosition: 'TRIM_HORIZON',
      batchSize: 100,
      maximumBatchingWindowInSeconds: 1,
      parallelizationFactor: 1,
      functionResponseTypes: ['ReportBatchItemFailures'],
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 5,
      maximumRecordAgeInSeconds: 3600,
      filterCriteria: {
        filters: [{ pattern: JSON.stringify({ eventName: ['INSERT'], dynamodb: { NewImage: { type: { S: ['outbox'] } } } }) }],
      },
      destinationConfig: { onFailure: { destination: dlq.queueArn } },
    });
    // Lambda checks the role can read the stream when it creates the mapping.
    mapping.node.addDependency(relay.role!);

    alarm('OutboxRelayIteratorAgeAlarm', {
      alarmDescription: 'outbox-relay is more than 5 minutes behind the table stream.',
      metric: relay.metric('IteratorAge', { period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 300000,
      evaluationPeriods: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    alarm('OutboxRelayDlqAlarm', {
      alarmDescription: 'outbox-relay dead-lettered records (events not delivered).',
      metric: dlq.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    // The patient notifier: a rule on Consultation Created|Updated with status
    // SENT -> the patient's answer link by e-mail (SES). Deployed only when
    // SesSenderEmail is set (condition HasSesSender on every resource whose id
    // starts with PatientNotifier, below): without a sender it could not send
    // anything (the function needs EMBEDCARE_SES_SENDER) and would only fail,
    // retry and dead-letter every sent consultation. So the SES permission
    // exists exactly when the sender does, scoped to that one identity.
    const notifierDlq = new sqs.Queue(this, 'PatientNotifierDlq', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });
    const notifier = rustFunction('PatientNotifier', NOTIFIER_CRATE, {
      description: 'EventBridge (Consultation Created|Updated, status SENT) -> answer link by e-mail (SES)',
      memorySize: 256,
      timeout: Duration.seconds(30),
      env: {
        EMBEDCARE_SES_SENDER: sesSender.valueAsString,
        EMBEDCARE_ANSWER_LINK_TTL_SECONDS: answerLinkTtl.valueAsString,
      },
      // EventBridge invokes asynchronously: a function error is retried by
      // Lambda (twice), not by EventBridge; what Lambda gives up on lands in
      // the same queue as what the rule could not deliver.
      deadLetterQueue: notifierDlq,
      statements: [
        // Reads the consultation, its patient and franchise; claims and
        // records the delivery (version-checked writes).
        new iam.PolicyStatement({
          sid: 'Table',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
          resources: [table.tableArn],
        }),
        // SES v2 SendEmail authorises as ses:SendEmail on the sending identity.
        new iam.PolicyStatement({
          sid: 'Email',
          actions: ['ses:SendEmail'],
          resources: [`arn:${Aws.PARTITION}:ses:${Aws.REGION}:${Aws.ACCOUNT_ID}:identity/${sesSender.valueAsString}`],
        }),
      ],
    });
    // Adds the function's permission (events.amazonaws.com, from this rule
    // only) and the queue policy statement (from this rule only).
    new events.Rule(this, 'PatientNotifierRule', {
      description: 'Patient notifier - consultations sent to the patient (answer link by e-mail).',
      eventBus: bus,
      eventPattern: {
        source: ['embedcare'],
        detailType: ['Consultation Created', 'Consultation Updated'],
        detail: { status: ['SENT'] },
      },
      // Failed invocations: retried for up to an hour (an answer link
      // e-mailed later than that is stale), then dead-lettered.
      targets: [
        new targets.LambdaFunction(notifier, {
          retryAttempts: 8,
          maxEventAge: Duration.hours(1),
          deadLetterQueue: notifierDlq,
        }),
      ],
    });
    alarm('PatientNotifierDlqAlarm', {
      alarmDescription: 'patient-notifier dead-lettered events (answer links not e-mailed).',
      metric: notifierDlq.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });

    // Bad input is a 4xx, never a 5xx: any 5xx is a bug or an outage.
    alarm('HttpApi5xxAlarm', {
      alarmDescription: 'The HTTP API returned 5xx responses.',
      metric: new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName: '5xx',
        dimensionsMap: { ApiId: api.apiId, Stage: '$default' },
        period: fiveMinutes,
        statistic: 'Sum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });

    // --------------------------------------------------------------- outputs
    new CfnOutput(this, 'ApiUrl', { description: "The vendor API's base URL (give it to vendors).", value: apiUrl });
    new CfnOutput(this, 'TableName', { description: 'The DynamoDB table (EMBEDCARE_TABLE for the operator commands).', value: table.tableName });
    new CfnOutput(this, 'TableStreamArn', { description: "The table's stream, read by the outbox relay.", value: table.tableStreamArn! });
    new CfnOutput(this, 'EventBusName', { description: "The bus embedcare's events are put on.", value: bus.eventBusName });
    new CfnOutput(this, 'EventBusArn', { value: bus.eventBusArn });
    new CfnOutput(this, 'SchemaRegistryName', { value: registry.attrRegistryName });
    new CfnOutput(this, 'OutboxRelayDlqUrl', { description: 'Records the relay gave up on (alarmed).', value: dlq.queueUrl });
    new CfnOutput(this, 'ExampleConsumerQueueUrl', { description: 'Consultation Updated events with status TO_BE_ANALYZED.', value: toBeAnalyzed.queueUrl });
    const notifierDlqUrl = new CfnOutput(this, 'PatientNotifierDlqUrl', {
      description: 'Events the patient notifier gave up on (alarmed).',
      value: notifierDlq.queueUrl,
    });
    notifierDlqUrl.condition = hasSesSender;
    const ses = new CfnOutput(this, 'SesSenderEmailOutput', { description: "The SES sender of the patient notifier's e-mails.", value: sesSender.valueAsString });
    ses.condition = hasSesSender;
    ses.overrideLogicalId('SesSenderEmail');

    // The notifier exists only with an SES sender: every resource under a
    // construct whose id starts with PatientNotifier (log group, role and its
    // policy, function, rule and its permission, queue and its policy,
    // alarms) gets the condition HasSesSender.
    for (const child of this.node.children) {
      if (!child.node.id.startsWith('PatientNotifier')) continue;
      for (const c of child.node.findAll()) {
        if (c instanceof CfnResource) c.cfnOptions.condition = hasSesSender;
      }
    }

    acknowledgeNagFindings(this);
  }
}

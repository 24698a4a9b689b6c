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
  CfnRule,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  StackProps,
  Token,
} from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CfnApi,
  CfnIntegration,
  CfnRoute,
  CfnStage,
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as eventschemas from 'aws-cdk-lib/aws-eventschemas';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';
import {
  API_FUNCTIONS,
  DISPATCHER_CRATE,
  KEY_PREFIXES,
  NOTIFIER_CRATE,
  REDRIVE_CRATE,
  RELAY_CRATE,
  STREAM_CRATE,
  LIVE_CRATE,
  TABLE_ITEM_ACTIONS,
  VISIT_NOTIFIER_CRATE,
  VISIT_SWEEPER_CRATE,
  preflightRoutes,
} from './functions';
import { operatorAlarmsTopic, operatorMonitoring } from './monitoring';
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
  /** Context `enableWaf=true`: a CloudFront distribution with a WAFv2 web ACL
   * in front of the HTTP API (SAM: parameter EnableWaf). A synth-time choice:
   * off, the template has none of it. */
  readonly enableWaf?: boolean;
}

export class EmbedcareStack extends Stack {
  constructor(scope: Construct, id: string, props: EmbedcareStackProps = {}) {
    super(scope, id, props);
    const architecture = props.architecture ?? lambda.Architecture.ARM_64;
    const enableWaf = props.enableWaf ?? false;

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
    const redriveAfter = new CfnParameter(this, 'RedriveAfterMinutes', {
      type: 'Number',
      default: 10,
      minValue: 1,
      maxValue: 1440,
      description:
        'Minutes after which an outbox item not relayed yet is re-driven to the bus by outbox-redrive ' +
        "(EMBEDCARE_REDRIVE_AFTER_MINUTES): well above the stream relay's own retries (seconds), below the stream's 24 h.",
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
      description: "Optional SNS topic that every alarm notifies besides the stack's own OperatorAlarms topic. Empty - OperatorAlarms only.",
    });
    const secretVersion = new CfnParameter(this, 'DeploymentSecretVersionId', {
      type: 'String',
      default: '',
      allowedPattern: '^[A-Za-z0-9-]{0,64}$',
      description:
        'Empty - every function gets the current version of DeploymentSecret. After rotating the secret by hand ' +
        '(infra/README.md), the id of the new version: CloudFormation re-resolves the dynamic reference only when ' +
        'its text changes, so this is what hands the new value to the functions.',
    });
    // Route throttling of the HTTP API stage (API Gateway token buckets, per
    // route, shared by every client of that route). The public page routes
    // have their own limits so that traffic on the pages cannot use up the
    // vendor API's; per-API-key limits are the application's.
    const routeLimit = (id: string, def: number, description: string): CfnParameter =>
      new CfnParameter(this, id, { type: 'Number', default: def, minValue: 1, description });
    const publicRate = routeLimit('PublicRouteRateLimit', 50,
      'Steady requests per second of each public page route (the embedded pages, their actions, their static files).');
    const publicBurst = routeLimit('PublicRouteBurstLimit', 100,
      'Burst of each public page route (requests above the steady rate that the bucket absorbs).');
    const apiRate = routeLimit('ApiRouteRateLimit', 100, 'Steady requests per second of each vendor API route (/embeddable/..., /v2/...).');
    const apiBurst = routeLimit('ApiRouteBurstLimit', 200, 'Burst of each vendor API route.');
    // Reserved concurrency of the event-driven functions: an API burst that
    // takes the account's whole concurrency cannot stop event delivery. 0 -
    // unreserved (an account whose concurrency quota is too small to reserve
    // any must keep 100 unreserved executions).
    const relayConcurrency = new CfnParameter(this, 'OutboxRelayReservedConcurrency', {
      type: 'Number',
      default: 5,
      minValue: 0,
      maxValue: 1000,
      description: "Reserved concurrent executions of outbox-relay (0 - unreserved). At least the table stream's shard count.",
    });
    const notifierConcurrency = new CfnParameter(this, 'PatientNotifierReservedConcurrency', {
      type: 'Number',
      default: 2,
      minValue: 0,
      maxValue: 1000,
      description: 'Reserved concurrent executions of patient-notifier (0 - unreserved).',
    });
    const dispatcherConcurrency = new CfnParameter(this, 'EventDispatcherReservedConcurrency', {
      type: 'Number',
      default: 10,
      minValue: 0,
      maxValue: 1000,
      description:
        'Reserved concurrent executions of event-dispatcher (0 - unreserved): webhook attempts to different ' +
        'endpoints run in parallel, each up to 10 s.',
    });
    const hasAppBaseUrl = new CfnCondition(this, 'HasAppBaseUrl', {
      expression: Fn.conditionNot(Fn.conditionEquals(appBaseUrl.valueAsString, '')),
    });
    const hasSesSender = new CfnCondition(this, 'HasSesSender', {
      expression: Fn.conditionNot(Fn.conditionEquals(sesSender.valueAsString, '')),
    });
    // ses:SendEmail on the sender's identity only, for a role that mails
    // beside its work (the dispatcher's notices, the visits' invitations),
    // and only with a sender (condition HasSesSender).
    const emailPolicy = (id: string, role: iam.IRole) => {
      const email = new iam.Policy(this, id, {
        policyName: 'email',
        roles: [role],
        statements: [
          new iam.PolicyStatement({
            sid: 'Email',
            actions: ['ses:SendEmail'],
            resources: [`arn:${Aws.PARTITION}:ses:${Aws.REGION}:${Aws.ACCOUNT_ID}:identity/${sesSender.valueAsString}`],
          }),
        ],
      });
      (email.node.defaultChild as iam.CfnPolicy).cfnOptions.condition = hasSesSender;
    };
    const hasAlarmTopic = new CfnCondition(this, 'HasAlarmTopic', {
      expression: Fn.conditionNot(Fn.conditionEquals(alarmTopic.valueAsString, '')),
    });
    const hasSecretVersion = new CfnCondition(this, 'HasSecretVersion', {
      expression: Fn.conditionNot(Fn.conditionEquals(secretVersion.valueAsString, '')),
    });
    const reserves = (id: string, p: CfnParameter): CfnCondition =>
      new CfnCondition(this, id, { expression: Fn.conditionNot(Fn.conditionEquals(p.valueAsString, '0')) });
    const reservesRelay = reserves('ReservesRelayConcurrency', relayConcurrency);
    const reservesNotifier = reserves('ReservesNotifierConcurrency', notifierConcurrency);
    const reservesDispatcher = reserves('ReservesDispatcherConcurrency', dispatcherConcurrency);

    const logGroup = (id: string): logs.LogGroup => {
      const group = new logs.LogGroup(this, id, { removalPolicy: RemovalPolicy.DESTROY });
      (group.node.defaultChild as logs.CfnLogGroup).retentionInDays = logRetention.valueAsNumber;
      return group;
    };
    // Every alarm notifies the stack's topic (and AlarmTopicArn when given).
    const operatorAlarms = operatorAlarmsTopic(this);
    const alarmActions = Fn.conditionIf(
      hasAlarmTopic.logicalId,
      [operatorAlarms.topicArn, alarmTopic.valueAsString],
      [operatorAlarms.topicArn],
    ) as unknown as string[];
    const alarm = (id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm => {
      const a = new cloudwatch.Alarm(this, id, { treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, ...props });
      (a.node.defaultChild as cloudwatch.CfnAlarm).alarmActions = alarmActions;
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

    // The deployment secret: 64 generated letters and digits, handed to every
    // function as EMBEDCARE_SECRET (a dynamic reference, below). The
    // application keys HMACs with it: the seal of list cursors and, next, the
    // hash of patient identifiers in keys. Never rotated automatically: a new
    // value invalidates every cursor issued (lists restart from their first
    // page) and every patient-key hash stored (they need the re-keying
    // migration); rotating by hand is in infra/README.md. Retained with the
    // table, whose keys it hashes: deleting or replacing the stack never loses it.
    const deploymentSecret = new secretsmanager.Secret(this, 'DeploymentSecret', {
      description:
        'embedcare deployment secret (EMBEDCARE_SECRET): HMAC key of list cursors and patient-key hashes. Not ' +
        'rotated automatically; see infra/README.md before changing it.',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy: RemovalPolicy.RETAIN,
    });

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
    // queue (SSE-SQS: EventBridge cannot send to a queue under aws/sqs). The
    // relay delivers at least once and in no order across events: consumers
    // deduplicate on detail.id and order an entity's events by
    // detail.data.version.
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
      description: "embedcare vendor API, patient side and embedded pages (CORS on the patient side's routes only, answered by its functions).",
      createDefaultStage: false,
    });
    const accessLogs = logGroup('HttpApiAccessLogGroup');
    const stage = new HttpStage(this, 'HttpApiStage', {
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
    const apiDomain = `${api.apiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`;
    const apiUrl = `https://${apiDomain}`;

    // ------------------------------------------- optional WAF (enableWaf)
    // An HTTP API cannot be associated with a web ACL, so the WAF sits on a
    // CloudFront distribution in front of it. Nothing is cached: every request
    // reaches the API as it came, with every header but Host (API Gateway
    // routes on its own host name) - Api-key, Authorization, X-Tenant-Key,
    // x-integration-user, Idempotency-Key, cookies - and the query string.
    let distribution: cloudfront.Distribution | undefined;
    if (enableWaf) {
      const webAclArn = new CfnParameter(this, 'WebAclArn', {
        type: 'String',
        default: '',
        allowedPattern: '^(arn:aws[a-z-]*:wafv2:us-east-1:[0-9]{12}:global/webacl/.+)?$',
        description:
          'The ARN of an existing CLOUDFRONT-scope web ACL (always in us-east-1). Empty - the stack creates one, ' +
          'which it can do only when deployed in us-east-1.',
      });
      const wafRateLimit = new CfnParameter(this, 'WafRateLimit', {
        type: 'Number',
        default: 2000,
        minValue: 100,
        maxValue: 2000000000,
        description: 'Requests per client IP per 5 minutes above which the created web ACL blocks that IP.',
      });
      // A CLOUDFRONT-scope web ACL can only be created in us-east-1: elsewhere
      // the WAF needs the ARN of one that exists (instead of a distribution
      // without any web ACL).
      new CfnRule(this, 'WafNeedsWebAclOutsideUsEast1', {
        assertions: [
          {
            assert: Fn.conditionOr(
              Fn.conditionNot(Fn.conditionEquals(webAclArn.valueAsString, '')),
              Fn.conditionEquals(Aws.REGION, 'us-east-1'),
            ),
            assertDescription:
              'EnableWaf outside us-east-1 needs WebAclArn (CLOUDFRONT-scope web ACLs are created in us-east-1 only).',
          },
        ],
      });
      const createWebAcl = new CfnCondition(this, 'CreateWebAcl', {
        expression: Fn.conditionAnd(
          Fn.conditionEquals(webAclArn.valueAsString, ''),
          Fn.conditionEquals(Aws.REGION, 'us-east-1'),
        ),
      });
      // CloudWatch metrics per rule; no sampled requests and no WAF logs:
      // both would record request headers (the Api-key secret, session tokens
      // in query strings) and paths that carry tenant keys.
      const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
        cloudWatchMetricsEnabled: true,
        metricName,
        sampledRequestsEnabled: false,
      });
      const managed = (name: string): wafv2.CfnWebACL.StatementProperty => ({
        managedRuleGroupStatement: { vendorName: 'AWS', name },
      });
      const webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
        name: `${Aws.STACK_NAME}-web-acl`,
        description: 'embedcare - rate limit per client IP, AWS managed rule groups.',
        scope: 'CLOUDFRONT',
        defaultAction: { allow: {} },
        visibilityConfig: visibility(`${Aws.STACK_NAME}-web-acl`),
        rules: [
          // One client IP above WafRateLimit requests in 5 minutes is blocked
          // until its rate falls back under the limit.
          {
            name: 'RateLimitPerIp',
            priority: 0,
            action: { block: {} },
            statement: {
              rateBasedStatement: { aggregateKeyType: 'IP', limit: wafRateLimit.valueAsNumber, evaluationWindowSec: 300 },
            },
            visibilityConfig: visibility('RateLimitPerIp'),
          },
          // Blocks requests known to exploit software (Log4j lookups, Java
          // deserialisation, localhost Host headers...): nothing a vendor sends.
          {
            name: 'AWSManagedRulesKnownBadInputsRuleSet',
            priority: 1,
            overrideAction: { none: {} },
            statement: managed('AWSManagedRulesKnownBadInputsRuleSet'),
            visibilityConfig: visibility('KnownBadInputs'),
          },
          // Counted, not blocked: its body rules would block legitimate vendor
          // calls - JSON bodies over 8 KB (SizeRestrictions_BODY), free-text
          // answers and notes that look like markup or paths
          // (CrossSiteScripting_BODY, GenericLFI_BODY), URLs in bodies
          // (GenericRFI_BODY) - and calls of server clients that send no
          // User-Agent (NoUserAgent_HEADER). Its metrics show what it would
          // block before any rule is turned on.
          {
            name: 'AWSManagedRulesCommonRuleSet',
            priority: 2,
            overrideAction: { count: {} },
            statement: managed('AWSManagedRulesCommonRuleSet'),
            visibilityConfig: visibility('CommonRuleSet'),
          },
        ],
      });
      webAcl.cfnOptions.condition = createWebAcl;
      distribution = new cloudfront.Distribution(this, 'Distribution', {
        comment: `${Aws.STACK_NAME}: the HTTP API behind the web ACL`,
        httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
        enableIpv6: true,
        priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
        // The created web ACL, or the one WebAclArn names (the rule
        // WafNeedsWebAclOutsideUsEast1 makes sure there is one).
        webAclId: Fn.conditionIf(createWebAcl.logicalId, webAcl.attrArn, webAclArn.valueAsString).toString(),
        defaultBehavior: {
          origin: new origins.HttpOrigin(apiDomain, {
            protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
          }),
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
          cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
          compress: true,
          // API responses are never cached.
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          // Every viewer header but Host, every cookie, the whole query string.
          originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        },
      });
    }

    // ------------------------------------------------------------- functions
    // The deployment secret, resolved by CloudFormation when it creates or
    // updates a function: no GetSecretValue at run time, no cold-start cost,
    // no Secrets Manager permission in any role. (Plain strings, not a
    // SecretValue: the function's configuration is where it is meant to go.)
    const secretReference = Fn.conditionIf(
      hasSecretVersion.logicalId,
      Fn.join('', ['{{resolve:secretsmanager:', deploymentSecret.secretArn, ':SecretString:::', secretVersion.valueAsString, '}}']),
      Fn.join('', ['{{resolve:secretsmanager:', deploymentSecret.secretArn, ':SecretString}}']),
    ).toString();
    const commonEnv: Record<string, string> = {
      EMBEDCARE_STORE: 'dynamodb',
      EMBEDCARE_TABLE: table.tableName,
      // The API's own URL by default; the distribution's with the WAF, so
      // that the pages go through the web ACL too.
      EMBEDCARE_APP_BASE_URL: Fn.conditionIf(
        hasAppBaseUrl.logicalId,
        appBaseUrl.valueAsString,
        distribution ? `https://${distribution.distributionDomainName}` : apiUrl,
      ).toString(),
      EMBEDCARE_LAUNCH_TTL_SECONDS: launchTtl.valueAsString,
      EMBEDCARE_LOG: logLevel.valueAsString,
      EMBEDCARE_SECRET: secretReference,
    };

    /** One function: its log group, its role (logs to its own group, traces,
     * plus `statements`), the function, and its Errors/Throttles alarms.
     * API functions are unreserved (the API's per-route throttling bounds
     * their load); the event-driven ones reserve a little (`reserved`). */
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
        /** Reserved concurrency from a parameter, unless the condition (parameter not 0) is false. */
        reserved?: { parameter: CfnParameter; condition: CfnCondition };
        /** A fixed name (a function whose ARN is written where a reference would be a cycle). */
        functionName?: string;
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
        functionName: opts.functionName,
      });
      // Which crate this is, for infra/test.sh (SAM has BuildProperties.Binary).
      const cfnFn = fn.node.defaultChild as lambda.CfnFunction;
      cfnFn.addMetadata('embedcare:crate', crate);
      if (opts.reserved) {
        cfnFn.reservedConcurrentExecutions = Token.asNumber(
          Fn.conditionIf(opts.reserved.condition.logicalId, opts.reserved.parameter.valueAsNumber, Aws.NO_VALUE),
        );
      }
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

    // Keyed reads and writes on the partitions a function uses only: a
    // dynamodb:LeadingKeys condition (the table's partition key pk) with the
    // prefixes of ./functions.ts (KEY_PREFIXES, what each is for).
    const tableStatement = (leadingKeys: string[], actions: string[] = TABLE_ITEM_ACTIONS): iam.PolicyStatement =>
      new iam.PolicyStatement({
        sid: 'Table',
        actions,
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': leadingKeys } },
      });
    // Query on the GSIs only (never on the table, never Scan), in a statement
    // of its own: dynamodb:LeadingKeys is defined on the table's partition
    // key, and a Query on an index names only the index's. Every index
    // partition the functions query is a franchise's (T#{tenant}#C,
    // T#{tenant}#C#{status}, T#{tenant}#F..., T#{tenant}#P#{patient}), so T#*
    // holds if IAM compares the index key; if a request carries no leading
    // key, ForAllValues holds anyway, and the tenant the code puts in every
    // index partition stays the guard. gsi1's account partitions
    // (ACCOUNT#{id}#KEYS, #FRANCHISES) are the operator commands' only.
    const indexStatement = new iam.PolicyStatement({
      sid: 'Indexes',
      actions: ['dynamodb:Query'],
      resources: [`${table.tableArn}/index/*`],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [KEY_PREFIXES.tenant] } },
    });

    // Events for vendors outside AWS: the dispatcher's work queue (webhook
    // attempts, the stream's chores; retried for three days through each
    // message's visibility, hence the high receive count) and the
    // subscription stream's WebSocket API. Functions that send work or frames
    // get these statements and variables.
    const workDlq = new sqs.Queue(this, 'WorkDlq', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });
    const workQueue = new sqs.Queue(this, 'WorkQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(4),
      visibilityTimeout: Duration.seconds(180),
      enforceSSL: true,
      deadLetterQueue: { queue: workDlq, maxReceiveCount: 1000 },
    });
    const streamApi = new CfnApi(this, 'EventStreamApi', {
      name: `${Aws.STACK_NAME}-stream`,
      protocolType: 'WEBSOCKET',
      routeSelectionExpression: '$request.body.action',
      description: "embedcare's subscription stream (GET /v2/events/subscribe, for servers).",
    });
    const sendWork = new iam.PolicyStatement({ sid: 'Work', actions: ['sqs:SendMessage'], resources: [workQueue.queueArn] });
    // Frames to the subscription stream's connections (and closing them), on this WebSocket API only.
    const manageConnections = new iam.PolicyStatement({
      sid: 'Connections',
      actions: ['execute-api:ManageConnections'],
      resources: [`arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${Aws.ACCOUNT_ID}:${streamApi.ref}/*`],
    });
    const deliveryEnv = {
      EMBEDCARE_WORK_QUEUE_URL: workQueue.queueUrl,
      // The stage's name is fixed ("events"): a reference to the stage would
      // be a cycle (stage -> routes -> integration -> function -> stage).
      EMBEDCARE_WEBSOCKET_ENDPOINT: `https://${streamApi.ref}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/events`,
    };

    // The visits' live connections' WebSocket API (its routes, stage and
    // function below): the room pages reach it at EMBEDCARE_VISIT_LIVE_URL;
    // the API functions that tell a visit's connections (the visits function:
    // moves, chat, presence, a dismissal's close) post to its stage.
    const liveApi = new CfnApi(this, 'VisitLiveApi', {
      name: `${Aws.STACK_NAME}-visit-live`,
      protocolType: 'WEBSOCKET',
      routeSelectionExpression: '$request.body.action',
      description: "embedcare's visit rooms' live connections (chat and visit moves, for browsers).",
    });
    const liveUrl = `wss://${liveApi.ref}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/live`;
    // The visits' video on Chime SDK meetings: meetings of this account and region.
    const video = new iam.PolicyStatement({
      sid: 'Video',
      actions: ['chime:CreateMeeting', 'chime:CreateAttendee', 'chime:DeleteMeeting'],
      resources: [`arn:${Aws.PARTITION}:chime:${Aws.REGION}:${Aws.ACCOUNT_ID}:meeting/*`],
    });
    // The visits' snapshots (images a provider takes during a visit): a
    // private bucket, SSE-KMS with the AWS-managed key and a bucket key,
    // versioned, no public access, objects owned by the bucket owner (no
    // ACLs), TLS only (enforceSSL: the bucket policy's deny). A deleted
    // snapshot's object becomes a noncurrent version, expired after 30 days;
    // current objects live as long as their record. Kept when the stack is
    // deleted (clinical data). As ../template.yaml's SnapshotBucket.
    const snapshotBucket = new s3.Bucket(this, 'SnapshotBucket', {
      encryption: s3.BucketEncryption.KMS_MANAGED,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'OldVersions',
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
          expiredObjectDeleteMarker: true,
        },
      ],
    });
    // Its objects under t/{tenant}/... only (store/keys.rs); presigned GETs
    // are signed with the function's role, so they may do s3:GetObject, no more.
    const snapshotObjects = new iam.PolicyStatement({
      sid: 'Snapshots',
      actions: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'],
      resources: [snapshotBucket.arnForObjects('t/*')],
    });
    const liveEndpoint = `https://${liveApi.ref}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/live`;
    // Frames to the visits' connections (and closing them), on that WebSocket API only.
    const manageLiveConnections = new iam.PolicyStatement({
      sid: 'Connections',
      actions: ['execute-api:ManageConnections'],
      resources: [`arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${Aws.ACCOUNT_ID}:${liveApi.ref}/*`],
    });

    // Per-route throttling (below): the public page routes apart from the
    // vendor API routes.
    const routeSettings: Record<string, { ThrottlingBurstLimit: number; ThrottlingRateLimit: number }> = {};
    const routes: HttpRoute[] = [];
    for (const spec of API_FUNCTIONS) {
      const fn = rustFunction(spec.id, spec.crate, {
        description: spec.description,
        memorySize: 256,
        timeout: Duration.seconds(10),
        env: {
          ...(spec.delivers ? deliveryEnv : {}),
          ...(spec.video ? { EMBEDCARE_VIDEO: 'chime' } : {}),
          ...(spec.liveUrl ? { EMBEDCARE_VISIT_LIVE_URL: liveUrl } : {}),
          ...(spec.snapshots ? { EMBEDCARE_SNAPSHOT_BUCKET: snapshotBucket.bucketName } : {}),
          ...(spec.tellsVisits ? { EMBEDCARE_VISIT_LIVE_ENDPOINT: liveEndpoint } : {}),
          ...(spec.invites ? { EMBEDCARE_SES_SENDER: sesSender.valueAsString } : {}),
        },
        statements: [
          tableStatement(spec.leadingKeys, spec.tableActions),
          ...(spec.queriesIndexes ? [indexStatement] : []),
          ...(spec.delivers ? [sendWork, manageConnections] : []),
          ...(spec.video ? [video] : []),
          ...(spec.snapshots ? [snapshotObjects] : []),
          ...(spec.tellsVisits ? [manageLiveConnections] : []),
        ],
      });
      // The participants' invitations by e-mail.
      if (spec.invites) emailPolicy(`${spec.id}EmailPolicy`, fn.role!);
      // One invoke permission per function, for this API (as the SAM
      // template's): one per route would be 143 resources, and the stack
      // must stay well below CloudFormation's 500 (infra/tests).
      const integration = new HttpLambdaIntegration(`${spec.id}Integration`, fn, { scopePermissionToRoute: false });
      for (const routeKey of [...spec.routes, ...(spec.cors ? preflightRoutes(spec.routes) : [])]) {
        const [method, routePath] = routeKey.split(' ');
        routes.push(...api.addRoutes({ path: routePath, methods: [method as HttpMethod], integration }));
        const isPublic = spec.public === true;
        routeSettings[routeKey] = {
          ThrottlingBurstLimit: (isPublic ? publicBurst : apiBurst).valueAsNumber,
          ThrottlingRateLimit: (isPublic ? publicRate : apiRate).valueAsNumber,
        };
      }
    }
    // Per-route token buckets. The public page routes (the embedded pages and
    // their actions under ANY /{locale}/embed/{proxy+}, their static files)
    // are limited apart from the vendor API routes: each route has its own
    // bucket, so one source flooding the pages exhausts the pages' buckets
    // only. (RouteSettings is a JSON map in CloudFormation: PascalCase keys;
    // the routes must exist first.)
    const cfnStage = stage.node.defaultChild as CfnStage;
    cfnStage.routeSettings = routeSettings;
    for (const route of routes) cfnStage.node.addDependency(route);

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
      // Reserved, so that API functions using up the account's concurrency
      // cannot stop event delivery; one execution per shard is all it uses
      // (parallelizationFactor 1).
      reserved: { parameter: relayConcurrency, condition: reservesRelay },
      statements: [
        new iam.PolicyStatement({
          sid: 'Stream',
          actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
          resources: [table.tableStreamArn!],
        }),
        // Marks the outbox items it delivered as relayed (out of the outbox's
        // pending index) and dead-letters a malformed one: updates of outbox
        // items only, which are a franchise's (T#{tenant}#OUTBOX#...).
        tableStatement([KEY_PREFIXES.tenant], ['dynamodb:UpdateItem']),
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
      // One batch per shard at a time. That orders the stream records of one
      // item only, and every event is an outbox item of its own: the events
      // of one consultation can sit on different shards, a failed PutEvents
      // entry is put again after later ones, and EventBridge keeps no order.
      // So delivery is at least once and in no order across events:
      // consumers order an entity's events by data.version and deduplicate
      // on id.
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
    // The outbox re-drive: what makes "never lost" true beyond the stream's
    // 24 h and the relay's bounded retries. Every outbox item is pending in
    // the outbox's sparse index (gsi1, OUTBOX#PENDING#{shard}) until the relay
    // marks it relayed; every five minutes this function puts on the bus every
    // item still pending RedriveAfterMinutes after it was written, and marks
    // it relayed. An item the bus refuses at five re-drives is dead-lettered
    // (OUTBOX#DEAD#...: `embedcare outbox dead-letters`). At least once:
    // consumers deduplicate on the event id. A failed run is the next run's
    // work (no dead-letter queue: the items stay pending).
    const redrive = rustFunction('OutboxRedrive', REDRIVE_CRATE, {
      description: 'Schedule -> the outbox items not relayed after RedriveAfterMinutes -> EventBridge',
      memorySize: 256,
      timeout: Duration.seconds(60),
      env: { EMBEDCARE_EVENT_BUS: bus.eventBusName, EMBEDCARE_REDRIVE_AFTER_MINUTES: redriveAfter.valueAsString },
      statements: [
        // Marks what it delivered (or dead-letters it): outbox items only.
        tableStatement([KEY_PREFIXES.tenant], ['dynamodb:UpdateItem']),
        // Finds the pending items: Query on gsi1 only, in its outbox
        // partitions (never a franchise's lists, never the table, never Scan).
        new iam.PolicyStatement({
          sid: 'Indexes',
          actions: ['dynamodb:Query'],
          resources: [`${table.tableArn}/index/gsi1`],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [KEY_PREFIXES.outboxIndex] } },
        }),
        new iam.PolicyStatement({ sid: 'Bus', actions: ['events:PutEvents'], resources: [bus.eventBusArn] }),
      ],
    });
    // Adds the function's permission (events.amazonaws.com, from this rule only).
    new events.Rule(this, 'OutboxRedriveSchedule', {
      description: 'Outbox re-drive - every five minutes.',
      schedule: events.Schedule.rate(Duration.minutes(5)),
      targets: [new targets.LambdaFunction(redrive)],
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
      // Reserved, so that an API burst cannot delay the answer links (beyond
      // it, EventBridge retries the throttled invocations for an hour).
      reserved: { parameter: notifierConcurrency, condition: reservesNotifier },
      statements: [
        // Reads the consultation, its patient and franchise, writes the answer
        // link's launch, claims and records the delivery (version-checked
        // writes): the franchise's partitions only (T#{tenant}, T#{tenant}#...).
        tableStatement([KEY_PREFIXES.tenant], ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']),
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

    // The dispatcher: one fan-out of outbox events for webhooks and the
    // stream. A rule on every embedcare event -> EventsQueue -> this function,
    // which writes one delivery per (endpoint, event) and one queued event per
    // (queue, event), each only if absent (at least once in, one record out;
    // consumers order an entity's events by data.version), then leaves the
    // work on WorkQueue, which it also reads. Two queues, not one with two
    // kinds of messages: a fan-out that fails is an outage to alarm on within
    // minutes (few receives, then its DLQ), a webhook attempt is retried for
    // three days (a high receive count).
    const eventsDlq = new sqs.Queue(this, 'EventsDlq', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });
    const eventsQueue = new sqs.Queue(this, 'EventsQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(4),
      // Six times the function's timeout, as Lambda advises for SQS sources.
      visibilityTimeout: Duration.seconds(180),
      enforceSSL: true,
      deadLetterQueue: { queue: eventsDlq, maxReceiveCount: 5 },
    });
    new events.Rule(this, 'EventsToDispatcherRule', {
      description: 'Every embedcare event, to the dispatcher (webhooks, the subscription stream).',
      eventBus: bus,
      eventPattern: { source: ['embedcare'] },
      // The target adds the queue policy: events.amazonaws.com, from this rule only.
      targets: [new targets.SqsQueue(eventsQueue, { retryAttempts: 185, maxEventAge: Duration.hours(24) })],
    });
    const dispatcher = rustFunction('EventDispatcher', DISPATCHER_CRATE, {
      description: 'SQS (every bus event; the work queue) -> webhook deliveries and the subscription stream',
      memorySize: 256,
      // A batch's webhook attempts run in parallel, each at most 10 s.
      timeout: Duration.seconds(30),
      // Empty sender: no e-mail to the operator (the event still says it).
      env: { ...deliveryEnv, EMBEDCARE_SES_SENDER: sesSender.valueAsString },
      reserved: { parameter: dispatcherConcurrency, condition: reservesDispatcher },
      statements: [
        // The franchises' partitions only (the subscriptions partition,
        // deliveries, the queues' waiting events, a disabled endpoint's outbox item).
        tableStatement(
          [KEY_PREFIXES.tenant],
          ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
        ),
        // Its two event sources (the mappings read with this role), and the
        // work it leaves: sent, and retried later through the message's visibility.
        new iam.PolicyStatement({
          sid: 'Queues',
          actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'],
          resources: [eventsQueue.queueArn, workQueue.queueArn],
        }),
        sendWork,
        manageConnections,
      ],
    });
    // The operator's e-mail when an endpoint is disabled.
    emailPolicy('EventDispatcherEmailPolicy', dispatcher.role!);
    // Plain mappings (as the relay's): no grants beyond the role's statements.
    for (const [id, queue] of [['EventDispatcherEvents', eventsQueue], ['EventDispatcherWork', workQueue]] as const) {
      const m = new lambda.CfnEventSourceMapping(this, id, {
        functionName: dispatcher.functionName,
        eventSourceArn: queue.queueArn,
        batchSize: 10,
        functionResponseTypes: ['ReportBatchItemFailures'],
      });
      m.node.addDependency(dispatcher.role!);
    }
    alarm('EventsDlqAlarm', {
      alarmDescription: 'event-dispatcher dead-lettered bus events (webhooks and queues missed them).',
      metric: eventsDlq.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    alarm('WorkDlqAlarm', {
      alarmDescription: 'event-dispatcher dead-lettered work (a webhook attempt or a stream chore).',
      metric: workDlq.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });

    // The subscription stream's WebSocket API: $connect authenticates and
    // claims the queue, $default takes the client's frames, $disconnect lets
    // the queue go; one function routed on the route key. API Gateway cannot
    // close a socket with a custom code and nothing can be posted before
    // $connect returns: a refused connection fails its handshake with the
    // HTTP status of its code (401, 404, 409).
    const stream = rustFunction('EventStream', STREAM_CRATE, {
      description: "The subscription stream's WebSocket API routes ($connect, $default, $disconnect)",
      memorySize: 256,
      timeout: Duration.seconds(10),
      env: deliveryEnv,
      statements: [
        // The caller's key, its franchise's queue and claim, the acknowledged
        // events; the connection's record (WSCONN#{id}: later events carry only the id).
        tableStatement(
          [KEY_PREFIXES.apiKey, KEY_PREFIXES.tenant, KEY_PREFIXES.connection],
          ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
        ),
        // A new connection's waiting events are sent by the dispatcher.
        sendWork,
        manageConnections,
      ],
    });
    const streamIntegration = new CfnIntegration(this, 'EventStreamIntegration', {
      apiId: streamApi.ref,
      integrationType: 'AWS_PROXY',
      integrationUri: `arn:${Aws.PARTITION}:apigateway:${Aws.REGION}:lambda:path/2015-03-31/functions/${stream.functionArn}/invocations`,
    });
    const streamRoutes = (
      [['EventStreamRouteConnect', '$connect'], ['EventStreamRouteDisconnect', '$disconnect'], ['EventStreamRouteDefault', '$default']] as const
    ).map(
      ([id, routeKey]) =>
        new CfnRoute(this, id, {
          apiId: streamApi.ref,
          routeKey,
          authorizationType: 'NONE',
          target: `integrations/${streamIntegration.ref}`,
        }),
    );
    const streamLogs = logGroup('EventStreamAccessLogGroup');
    const streamStage = new CfnStage(this, 'EventStreamStage', {
      apiId: streamApi.ref,
      stageName: 'events',
      autoDeploy: true,
      defaultRouteSettings: { throttlingBurstLimit: apiBurst.valueAsNumber, throttlingRateLimit: apiRate.valueAsNumber },
      accessLogSettings: {
        destinationArn: streamLogs.logGroupArn,
        format: JSON.stringify({
          requestId: '$context.requestId',
          requestTime: '$context.requestTime',
          routeKey: '$context.routeKey',
          status: '$context.status',
          connectionId: '$context.connectionId',
          integrationError: '$context.integrationErrorMessage',
        }),
      },
    });
    for (const r of streamRoutes) streamStage.node.addDependency(r);
    new lambda.CfnPermission(this, 'EventStreamPermission', {
      action: 'lambda:InvokeFunction',
      functionName: stream.functionName,
      principal: 'apigateway.amazonaws.com',
      sourceArn: `arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${Aws.ACCOUNT_ID}:${streamApi.ref}/*`,
    });

    // ------------------------------------------- the patient side (issue 11)
    // The visit notifier: the rule on Visit Created|Updated (scheduled
    // visits) and the target of the reminders' one-shot schedules
    // (EventBridge Scheduler invokes it with the schedule's input,
    // {"reminder": {tenantKey, visitId, kind}}: ids only) -> the booking's
    // e-mail and the reminders (SES). Like the patient notifier, deployed
    // only with an SES sender (condition HasSesSender on every resource
    // whose id starts with VisitNotifier, below): every message it handles
    // is an e-mail. Its name is fixed, so that its ARN can be written in its
    // own environment (the schedules' target) and in the scheduler's role
    // without a circular reference.
    const visitNotifierName = `${Aws.STACK_NAME}-visit-notifier`;
    const visitNotifierArn = `arn:${Aws.PARTITION}:lambda:${Aws.REGION}:${Aws.ACCOUNT_ID}:function:${visitNotifierName}`;
    const scheduleGroup = new scheduler.CfnScheduleGroup(this, 'VisitNotifierScheduleGroup', {
      name: `${Aws.STACK_NAME}-visits`,
    });
    // What the scheduler assumes to invoke a reminder: the visit notifier only.
    const schedulerRole = new iam.Role(this, 'VisitNotifierSchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      inlinePolicies: {
        invoke: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({ sid: 'InvokeTheVisitNotifier', actions: ['lambda:InvokeFunction'], resources: [visitNotifierArn] }),
          ],
        }),
      },
    });
    const visitNotifierDlq = new sqs.Queue(this, 'VisitNotifierDlq', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });
    const visitNotifier = rustFunction('VisitNotifier', VISIT_NOTIFIER_CRATE, {
      description: 'EventBridge (Visit Created|Updated) and Scheduler (reminders) -> a scheduled visit\'s e-mails (SES)',
      memorySize: 256,
      timeout: Duration.seconds(30),
      functionName: visitNotifierName,
      env: {
        EMBEDCARE_SES_SENDER: sesSender.valueAsString,
        EMBEDCARE_SCHEDULE_GROUP: scheduleGroup.ref,
        EMBEDCARE_SCHEDULE_TARGET_ARN: visitNotifierArn,
        EMBEDCARE_SCHEDULER_ROLE_ARN: schedulerRole.roleArn,
      },
      deadLetterQueue: visitNotifierDlq,
      statements: [
        // The visit, its patient and franchise; each message claimed,
        // recorded or released (NOTICE#... in the visit's partition).
        tableStatement([KEY_PREFIXES.tenant], ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem']),
        new iam.PolicyStatement({
          sid: 'Email',
          actions: ['ses:SendEmail'],
          resources: [`arn:${Aws.PARTITION}:ses:${Aws.REGION}:${Aws.ACCOUNT_ID}:identity/${sesSender.valueAsString}`],
        }),
        // The reminders' schedules: in this stack's group only.
        new iam.PolicyStatement({
          sid: 'Schedules',
          actions: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'],
          resources: [`arn:${Aws.PARTITION}:scheduler:${Aws.REGION}:${Aws.ACCOUNT_ID}:schedule/${scheduleGroup.ref}/*`],
        }),
        // A schedule names the role the scheduler assumes: that one only, for the scheduler only.
        new iam.PolicyStatement({
          sid: 'PassTheSchedulerRole',
          actions: ['iam:PassRole'],
          resources: [schedulerRole.roleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
        }),
      ],
    });
    new events.Rule(this, 'VisitNotifierRule', {
      description: 'Visit notifier - scheduled visits booked, moved or cancelled (e-mails, reminder schedules).',
      eventBus: bus,
      eventPattern: {
        source: ['embedcare'],
        detailType: ['Visit Created', 'Visit Updated'],
        detail: { data: { type: ['SCHEDULED'] } },
      },
      targets: [
        new targets.LambdaFunction(visitNotifier, {
          retryAttempts: 8,
          maxEventAge: Duration.hours(1),
          deadLetterQueue: visitNotifierDlq,
        }),
      ],
    });
    alarm('VisitNotifierDlqAlarm', {
      alarmDescription: "visit-notifier dead-lettered events (a booking's e-mail or its reminders not arranged).",
      metric: visitNotifierDlq.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });

    // The visit sweeper: every five minutes, the visits time moved (NO_SHOW,
    // EXPIRED) that nobody read, with their events, read by the hour their
    // task is due in (gsi1 DUE#{hour}); never a scan. A failed run is the
    // next run's work (the tasks stay).
    const sweeper = rustFunction('VisitSweeper', VISIT_SWEEPER_CRATE, {
      description: 'Schedule -> the visits time moved (NO_SHOW, EXPIRED) that nobody read, with their events',
      memorySize: 256,
      timeout: Duration.seconds(60),
      statements: [
        // The visit, its room and franchise; the move's transaction and the
        // removal or re-arming of its due task: the franchise's partitions only.
        tableStatement([KEY_PREFIXES.tenant], [...TABLE_ITEM_ACTIONS, 'dynamodb:DeleteItem']),
        new iam.PolicyStatement({
          sid: 'Indexes',
          actions: ['dynamodb:Query'],
          resources: [`${table.tableArn}/index/gsi1`],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [KEY_PREFIXES.dueIndex] } },
        }),
      ],
    });
    new events.Rule(this, 'VisitSweeperSchedule', {
      description: 'Visit sweeper - every five minutes.',
      schedule: events.Schedule.rate(Duration.minutes(5)),
      targets: [new targets.LambdaFunction(sweeper)],
    });

    // The visits' live connections (the room pages' sockets): a WebSocket
    // API of their own (browsers, not vendors' servers). $connect lets in
    // only the visit's patient, provider and guests (the page's credential
    // as the subprotocol bearer.{token}; refused: the handshake fails with
    // 401, 403 or 404), $default takes chat/ping/sync frames, $disconnect
    // forgets the connection; one function routed on the route key.
    const live = rustFunction('VisitLive', LIVE_CRATE, {
      description: "The visits' live connections' WebSocket API routes ($connect, $default, $disconnect)",
      memorySize: 256,
      timeout: Duration.seconds(10),
      env: { EMBEDCARE_VISIT_LIVE_ENDPOINT: liveEndpoint },
      statements: [
        // A provider's key, the franchise, the visit and its connections
        // (Query of its partition), its chat, a patient-side token, the room,
        // the provider, a lapse's writes; the user an x-integration-user
        // names; the connection's record (WSCONN#{id}).
        tableStatement(
          [KEY_PREFIXES.apiKey, KEY_PREFIXES.tenant, KEY_PREFIXES.user, KEY_PREFIXES.connection],
          ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
        ),
        // Frames to the visits' connections, on this WebSocket API only.
        new iam.PolicyStatement({
          sid: 'Connections',
          actions: ['execute-api:ManageConnections'],
          resources: [`arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${Aws.ACCOUNT_ID}:${liveApi.ref}/*`],
        }),
      ],
    });
    const liveIntegration = new CfnIntegration(this, 'VisitLiveIntegration', {
      apiId: liveApi.ref,
      integrationType: 'AWS_PROXY',
      integrationUri: `arn:${Aws.PARTITION}:apigateway:${Aws.REGION}:lambda:path/2015-03-31/functions/${live.functionArn}/invocations`,
    });
    const liveRoutes = (
      [['VisitLiveRouteConnect', '$connect'], ['VisitLiveRouteDisconnect', '$disconnect'], ['VisitLiveRouteDefault', '$default']] as const
    ).map(
      ([id, routeKey]) =>
        new CfnRoute(this, id, {
          apiId: liveApi.ref,
          routeKey,
          authorizationType: 'NONE',
          target: `integrations/${liveIntegration.ref}`,
        }),
    );
    const liveLogs = logGroup('VisitLiveAccessLogGroup');
    const liveStage = new CfnStage(this, 'VisitLiveStage', {
      apiId: liveApi.ref,
      stageName: 'live',
      autoDeploy: true,
      defaultRouteSettings: { throttlingBurstLimit: apiBurst.valueAsNumber, throttlingRateLimit: apiRate.valueAsNumber },
      accessLogSettings: {
        destinationArn: liveLogs.logGroupArn,
        format: JSON.stringify({
          requestId: '$context.requestId',
          requestTime: '$context.requestTime',
          routeKey: '$context.routeKey',
          status: '$context.status',
          connectionId: '$context.connectionId',
          integrationError: '$context.integrationErrorMessage',
        }),
      },
    });
    for (const r of liveRoutes) liveStage.node.addDependency(r);
    new lambda.CfnPermission(this, 'VisitLivePermission', {
      action: 'lambda:InvokeFunction',
      functionName: live.functionName,
      principal: 'apigateway.amazonaws.com',
      sourceArn: `arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${Aws.ACCOUNT_ID}:${liveApi.ref}/*`,
    });

    // Bad input is a 4xx, never a 5xx: any 5xx is a bug or an outage.
    const httpApi5xx = alarm('HttpApi5xxAlarm', {
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

    // The application's own metrics: alarms and the dashboard (monitoring.ts).
    operatorMonitoring(this, alarm, alarmActions, httpApi5xx);

    // --------------------------------------------------------------- outputs
    new CfnOutput(this, 'OperatorAlarmsTopicArn', {
      description: 'The topic every alarm notifies (subscribe the on-call to it).',
      value: operatorAlarms.topicArn,
    });
    new CfnOutput(this, 'OperatorDashboardName', {
      description: "The CloudWatch dashboard of the application's metrics.",
      value: Fn.join('-', [Aws.STACK_NAME, 'operator']),
    });
    new CfnOutput(this, 'ApiUrl', { description: "The vendor API's base URL (give it to vendors).", value: apiUrl });
    new CfnOutput(this, 'TableName', { description: 'The DynamoDB table (EMBEDCARE_TABLE for the operator commands).', value: table.tableName });
    new CfnOutput(this, 'TableStreamArn', { description: "The table's stream, read by the outbox relay.", value: table.tableStreamArn! });
    new CfnOutput(this, 'EventBusName', { description: "The bus embedcare's events are put on.", value: bus.eventBusName });
    new CfnOutput(this, 'EventBusArn', { value: bus.eventBusArn });
    new CfnOutput(this, 'SchemaRegistryName', { value: registry.attrRegistryName });
    new CfnOutput(this, 'OutboxRelayDlqUrl', { description: 'Records the relay gave up on (alarmed).', value: dlq.queueUrl });
    new CfnOutput(this, 'ExampleConsumerQueueUrl', { description: 'Consultation Updated events with status TO_BE_ANALYZED.', value: toBeAnalyzed.queueUrl });
    new CfnOutput(this, 'EventStreamUrl', {
      description: "The subscription stream, for vendors' servers (wss://…?queue=<name>, Authorization - api-key <key>).",
      value: `wss://${streamApi.ref}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/events`,
    });
    new CfnOutput(this, 'VisitLiveUrl', {
      description: "The visit rooms' live connections (wss://…?visitId=<id>).",
      value: `wss://${liveApi.ref}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/live`,
    });
    new CfnOutput(this, 'SnapshotBucketName', {
      description: "The bucket of the visits' snapshots (EMBEDCARE_SNAPSHOT_BUCKET of the visits function).",
      value: snapshotBucket.bucketName,
    });
    new CfnOutput(this, 'EventsDlqUrl', { description: 'Bus events the dispatcher could not fan out (alarmed).', value: eventsDlq.queueUrl });
    new CfnOutput(this, 'WorkDlqUrl', { description: 'Webhook attempts and stream chores SQS gave up on (alarmed).', value: workDlq.queueUrl });
    new CfnOutput(this, 'DeploymentSecretArn', {
      description: 'The deployment secret (EMBEDCARE_SECRET); see infra/README.md before changing its value.',
      value: deploymentSecret.secretArn,
    });
    if (distribution) {
      new CfnOutput(this, 'CloudFrontDomainName', {
        description: 'The CloudFront distribution in front of the HTTP API (with EnableWaf); give vendors https://<this>.',
        value: distribution.distributionDomainName,
      });
      new CfnOutput(this, 'CloudFrontUrl', {
        description: "The vendor API's base URL through the web ACL (with EnableWaf).",
        value: `https://${distribution.distributionDomainName}`,
      });
    }
    const notifierDlqUrl = new CfnOutput(this, 'PatientNotifierDlqUrl', {
      description: 'Events the patient notifier gave up on (alarmed).',
      value: notifierDlq.queueUrl,
    });
    notifierDlqUrl.condition = hasSesSender;
    const visitNotifierDlqUrl = new CfnOutput(this, 'VisitNotifierDlqUrl', {
      description: 'Visit events the visit notifier gave up on (alarmed).',
      value: visitNotifierDlq.queueUrl,
    });
    visitNotifierDlqUrl.condition = hasSesSender;
    const ses = new CfnOutput(this, 'SesSenderEmailOutput', { description: "The SES sender of the patient notifier's e-mails.", value: sesSender.valueAsString });
    ses.condition = hasSesSender;
    ses.overrideLogicalId('SesSenderEmail');

    // The notifiers exist only with an SES sender: every resource under a
    // construct whose id starts with PatientNotifier or VisitNotifier (log
    // group, role and its policy, function, rule and its permission, queue
    // and its policy, alarms; the visit notifier's schedule group and the
    // scheduler's role) gets the condition HasSesSender.
    for (const child of this.node.children) {
      if (!child.node.id.startsWith('PatientNotifier') && !child.node.id.startsWith('VisitNotifier')) continue;
      for (const c of child.node.findAll()) {
        if (c instanceof CfnResource) c.cfnOptions.condition = hasSesSender;
      }
    }

    acknowledgeNagFindings(this);
  }
}

// Assertions on the synthesised CDK stack (aws-cdk-lib/assertions), offline:
// bundling is skipped, so cargo-lambda is not needed. Run by infra/test.sh:
//   node --import tsx --test test/*.test.ts
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { EmbedcareStack, REPO_ROOT } from '../lib/embedcare-stack';
import { API_FUNCTIONS, KEY_PREFIXES, preflightRoutes } from '../lib/functions';

const app = new App({ postCliContext: { 'aws:cdk:bundling-stacks': [] } });
const stack = new EmbedcareStack(app, 'Embedcare');
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
const template = Template.fromStack(stack);
const resources = (type: string): Record<string, any> => template.findResources(type);

const crates = fs
  .readdirSync(path.join(REPO_ROOT, 'functions'))
  .filter((d) => d !== 'local' && fs.existsSync(path.join(REPO_ROOT, 'functions', d, 'Cargo.toml')))
  .sort();

test('one function per crate under functions/ (but local)', () => {
  const fns = Object.values(resources('AWS::Lambda::Function'));
  const names = fns.map((f) => f.Metadata['embedcare:crate']).sort();
  assert.deepEqual(names, crates);
});

test('every function: provided.al2023, bootstrap, tracing, own log group with retention', () => {
  for (const [id, fn] of Object.entries(resources('AWS::Lambda::Function'))) {
    const p = fn.Properties;
    assert.equal(p.Runtime, 'provided.al2023', id);
    assert.equal(p.Handler, 'bootstrap', id);
    assert.deepEqual(p.TracingConfig, { Mode: 'Active' }, id);
    assert.deepEqual(p.Architectures, ['arm64'], id);
    const group = p.LoggingConfig.LogGroup.Ref as string;
    const lg = resources('AWS::Logs::LogGroup')[group];
    assert.ok(lg, `${id}: log group ${group}`);
    assert.deepEqual(lg.Properties.RetentionInDays, { Ref: 'LogRetentionDays' }, id);
    assert.equal(p.Environment.Variables.EMBEDCARE_STORE, 'dynamodb', id);
  }
  template.hasParameter('LogRetentionDays', { Default: '30' });
});

test('policies: no wildcard action, no Scan, no managed policy', () => {
  const docs: any[] = [];
  for (const r of Object.values(resources('AWS::IAM::Role'))) {
    assert.equal(r.Properties.ManagedPolicyArns, undefined);
    for (const p of r.Properties.Policies ?? []) docs.push(p.PolicyDocument);
  }
  for (const p of Object.values(resources('AWS::IAM::Policy'))) docs.push(p.Properties.PolicyDocument);
  assert.ok(docs.length > 0);
  for (const doc of docs) {
    for (const st of doc.Statement) {
      const actions: string[] = [].concat(st.Action);
      for (const a of actions) {
        assert.ok(!a.includes('*'), `wildcard action ${a}`);
        assert.notEqual(a.toLowerCase(), 'dynamodb:scan');
      }
      if (st.Resource === '*') {
        assert.deepEqual(actions.sort(), ['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
      }
    }
  }
});

test('relay mapping: partial batch failures, bisect, bounded retries, DLQ, outbox filter', () => {
  // The relay's, and the dispatcher's two SQS sources (their own test).
  template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Table'), 'StreamArn'] },
    StartingPosition: 'TRIM_HORIZON',
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    BisectBatchOnFunctionError: true,
    MaximumRetryAttempts: 5,
    MaximumRecordAgeInSeconds: 3600,
    BatchSize: 100,
    FilterCriteria: {
      Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT'], dynamodb: { NewImage: { type: { S: ['outbox'] } } } }) }],
    },
    DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OutboxRelayDlq'), 'Arn'] } } },
  });
  template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
});

test('patient notifier: rule on SENT consultations, retries, DLQ, only with an SES sender', () => {
  const [fnId] = Object.entries(resources('AWS::Lambda::Function')).find(
    ([, f]) => f.Metadata['embedcare:crate'] === 'patient-notifier',
  )!;
  const fn = resources('AWS::Lambda::Function')[fnId];
  assert.equal(fn.Condition, 'HasSesSender');
  assert.equal(fn.Properties.Timeout, 30);
  assert.deepEqual(fn.Properties.Environment.Variables.EMBEDCARE_SES_SENDER, { Ref: 'SesSenderEmail' });
  assert.deepEqual(fn.Properties.Environment.Variables.EMBEDCARE_ANSWER_LINK_TTL_SECONDS, { Ref: 'AnswerLinkTtlSeconds' });
  const dlq = { 'Fn::GetAtt': [Match.stringLikeRegexp('^PatientNotifierDlq'), 'Arn'] };
  assert.match(fn.Properties.DeadLetterConfig.TargetArn['Fn::GetAtt'][0], /^PatientNotifierDlq/);
  template.hasResource('AWS::Events::Rule', {
    Condition: 'HasSesSender',
    Properties: {
      EventPattern: {
        source: ['embedcare'],
        'detail-type': ['Consultation Created', 'Consultation Updated'],
        detail: { status: ['SENT'] },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [fnId, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: dlq },
        }),
      ],
    },
  });
  template.hasResource('AWS::Lambda::Permission', {
    Condition: 'HasSesSender',
    Properties: {
      FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PatientNotifierRule'), 'Arn'] },
    },
  });
  // ses:SendEmail on the sender's identity only, never on "*".
  const role = resources('AWS::IAM::Role')[fn.Properties.Role['Fn::GetAtt'][0]];
  const email = role.Properties.Policies[0].PolicyDocument.Statement.find((st: any) => st.Sid === 'Email');
  assert.equal(email.Action, 'ses:SendEmail');
  assert.match(JSON.stringify(email.Resource), /:identity\/"?,?\{"Ref":"SesSenderEmail"\}/);
  // Every notifier resource is conditional, and nothing else is.
  const conditional = Object.entries(template.toJSON().Resources as Record<string, any>)
    .filter(([, r]) => r.Condition === 'HasSesSender')
    .map(([id]) => id);
  assert.ok(conditional.length >= 10, String(conditional));
  // And the e-mail policies of the dispatcher (to the operator) and of the
  // visits function (the participants' invitations).
  const emailPolicies = ['EventDispatcherEmailPolicy', 'VisitsEmailPolicy'];
  assert.ok(
    conditional.every(
      (id) => id.startsWith('PatientNotifier') || id.startsWith('VisitNotifier') || emailPolicies.some((p) => id.startsWith(p)),
    ),
    String(conditional),
  );
  for (const p of emailPolicies) assert.ok(conditional.some((id) => id.startsWith(p)), String(conditional));
});

test('dispatcher: every bus event to its queue; two SQS sources with partial batch failures; DLQs', () => {
  const [fnId] = Object.entries(resources('AWS::Lambda::Function')).find(
    ([, f]) => f.Metadata['embedcare:crate'] === 'event-dispatcher',
  )!;
  const sqsMappings = Object.values(resources('AWS::Lambda::EventSourceMapping')).filter(
    (m) => m.Properties.FunctionName.Ref === fnId,
  );
  assert.equal(sqsMappings.length, 2);
  for (const m of sqsMappings) {
    assert.deepEqual(m.Properties.FunctionResponseTypes, ['ReportBatchItemFailures']);
    assert.match(m.Properties.EventSourceArn['Fn::GetAtt'][0], /^(EventsQueue|WorkQueue)/);
  }
  template.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: { source: ['embedcare'] },
    Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EventsQueue'), 'Arn'] } })],
  });
  template.hasResourceProperties('AWS::SQS::Queue', {
    VisibilityTimeout: 180,
    RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WorkDlq'), 'Arn'] }, maxReceiveCount: 1000 },
  });
  template.hasResourceProperties('AWS::SQS::Queue', {
    RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EventsDlq'), 'Arn'] }, maxReceiveCount: 5 },
  });
  template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET' });
  // Two WebSocket APIs (the stream's, the visits'), three $ routes each.
  template.resourcePropertiesCountIs('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET' }, 2);
  template.resourcePropertiesCountIs('AWS::ApiGatewayV2::Route', { RouteKey: Match.stringLikeRegexp('^\\$') }, 6);
});

test('table matches infra/table-definition.json', () => {
  const def = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'infra', 'table-definition.json'), 'utf8'));
  const key = (pk: string, sk: string) => [
    { AttributeName: pk, KeyType: 'HASH' },
    { AttributeName: sk, KeyType: 'RANGE' },
  ];
  template.resourceCountIs('AWS::DynamoDB::Table', 1);
  template.hasResource('AWS::DynamoDB::Table', {
    DeletionPolicy: 'Retain',
    Properties: {
      BillingMode: def.billingMode,
      KeySchema: key(def.partitionKey, def.sortKey),
      AttributeDefinitions: Match.arrayEquals(
        def.stringAttributes.map((a: string) => ({ AttributeName: a, AttributeType: 'S' })),
      ),
      GlobalSecondaryIndexes: def.globalSecondaryIndexes.map((g: any) => ({
        IndexName: g.indexName,
        KeySchema: key(g.partitionKey, g.sortKey),
        Projection: { ProjectionType: g.projection },
      })),
      TimeToLiveSpecification: { AttributeName: def.ttlAttribute, Enabled: true },
      StreamSpecification: { StreamViewType: def.stream },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: def.pointInTimeRecovery },
      SSESpecification: Match.objectLike({ SSEEnabled: def.serverSideEncryption }),
      DeletionProtectionEnabled: true,
    },
  });
});

test('one schema per events/schemas file, with its content', () => {
  const dir = path.join(REPO_ROOT, 'events', 'schemas');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  template.resourceCountIs('AWS::EventSchemas::Schema', files.length);
  for (const f of files) {
    const found = Object.values(resources('AWS::EventSchemas::Schema')).filter(
      (s) => s.Properties.SchemaName === `embedcare@${f.replace(/\.json$/, '')}`,
    );
    assert.equal(found.length, 1, f);
    assert.equal(found[0].Properties.Type, 'JSONSchemaDraft4');
    assert.deepEqual(JSON.parse(found[0].Properties.Content), JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
  }
  template.resourceCountIs('AWS::Events::Archive', 1);
});

test('HTTP API: $default stage with JSON access logs and throttling', () => {
  template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
    StageName: '$default',
    AutoDeploy: true,
    DefaultRouteSettings: { ThrottlingBurstLimit: 200, ThrottlingRateLimit: 100 },
    AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('\\$context\\.routeKey') },
  });
  template.hasResourceProperties('AWS::ApiGatewayV2::Integration', { PayloadFormatVersion: '2.0' });
});

test('deployment secret: 64 characters, no punctuation, retained, not rotated, in every function by dynamic reference', () => {
  template.resourceCountIs('AWS::SecretsManager::Secret', 1);
  template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
  template.hasResource('AWS::SecretsManager::Secret', {
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
    Properties: { GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false } },
  });
  const [secretId] = Object.keys(resources('AWS::SecretsManager::Secret'));
  const reference = (...tail: unknown[]) => ({
    'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secretId }, ...tail]],
  });
  for (const [id, fn] of Object.entries(resources('AWS::Lambda::Function'))) {
    assert.deepEqual(
      fn.Properties.Environment.Variables.EMBEDCARE_SECRET,
      {
        'Fn::If': [
          'HasSecretVersion',
          reference(':SecretString:::', { Ref: 'DeploymentSecretVersionId' }, '}}'),
          reference(':SecretString}}'),
        ],
      },
      id,
    );
  }
  // Resolved by CloudFormation: no role may read it.
  const policies = JSON.stringify([resources('AWS::IAM::Role'), resources('AWS::IAM::Policy')]);
  assert.doesNotMatch(policies, /secretsmanager:/);
});

test('every DynamoDB statement is limited to its partition-key prefixes (dynamodb:LeadingKeys)', () => {
  const fns = resources('AWS::Lambda::Function');
  const roles = resources('AWS::IAM::Role');
  const tableStatements = (crate: string) => {
    const [, fn] = Object.entries(fns).find(([, f]) => f.Metadata['embedcare:crate'] === crate)!;
    const role = roles[fn.Properties.Role['Fn::GetAtt'][0]];
    return role.Properties.Policies[0].PolicyDocument.Statement.filter((st: any) =>
      [].concat(st.Action).some((a: string) => a.startsWith('dynamodb:')),
    );
  };
  for (const spec of API_FUNCTIONS) {
    const sts = tableStatements(spec.crate);
    assert.equal(sts.length, spec.queriesIndexes ? 2 : 1, spec.crate);
    const table = sts.find((st: any) => st.Sid === 'Table');
    assert.deepEqual(table.Condition, { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': spec.leadingKeys } }, spec.crate);
    // Query on the table only for what lists a partition of its own (v2-events: subscriptions, deliveries).
    assert.equal(
      ([].concat(table.Action) as string[]).includes('dynamodb:Query'),
      (spec.tableActions ?? []).includes('dynamodb:Query'),
      `${spec.crate}: Query on the table`,
    );
    if (spec.queriesIndexes) {
      const index = sts.find((st: any) => st.Sid === 'Indexes');
      assert.equal(index.Action, 'dynamodb:Query');
      assert.deepEqual(index.Condition, { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [KEY_PREFIXES.tenant] } });
    }
    // The pages are opened with launch tokens and sessions, never an API key.
    if (spec.crate === 'embed-pages') assert.ok(!spec.leadingKeys.includes(KEY_PREFIXES.apiKey));
  }
  const [notifierTable] = tableStatements('patient-notifier');
  assert.deepEqual(notifierTable.Condition, { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['T#*'] } });
  const [dispatcherTable] = tableStatements('event-dispatcher');
  assert.deepEqual(dispatcherTable.Condition, { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['T#*'] } });
  const [streamTable] = tableStatements('event-stream');
  assert.deepEqual(streamTable.Condition, {
    'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['APIKEY#*', 'T#*', 'WSCONN#*'] },
  });
  // The relay reads the stream, and updates outbox items only (marks them relayed).
  for (const st of tableStatements('outbox-relay')) {
    if (st.Sid === 'Table') {
      assert.equal(st.Action, 'dynamodb:UpdateItem');
      assert.deepEqual(st.Condition, { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['T#*'] } });
    } else {
      assert.match(JSON.stringify(st.Resource), /StreamArn/);
    }
  }
  // The re-drive: updates outbox items, queries gsi1's outbox partitions only.
  const redrive = tableStatements('outbox-redrive');
  assert.deepEqual(redrive.map((st: any) => st.Sid).sort(), ['Indexes', 'Table']);
  const index = redrive.find((st: any) => st.Sid === 'Indexes');
  assert.equal(index.Action, 'dynamodb:Query');
  assert.match(JSON.stringify(index.Resource), /\/index\/gsi1"/);
  assert.deepEqual(index.Condition, { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['OUTBOX#*'] } });
});

test('route throttles: every route, public pages apart from the vendor API', () => {
  const httpApi = Object.entries(resources('AWS::ApiGatewayV2::Api')).find(([, a]) => a.Properties.ProtocolType === 'HTTP')![0];
  const stage = Object.values(resources('AWS::ApiGatewayV2::Stage')).find((st) => st.Properties.ApiId.Ref === httpApi)!;
  const settings = stage.Properties.RouteSettings as Record<string, any>;
  const routesOf = (s: (typeof API_FUNCTIONS)[number]) => [...s.routes, ...(s.cors ? preflightRoutes(s.routes) : [])];
  const keys = API_FUNCTIONS.flatMap(routesOf);
  assert.deepEqual(Object.keys(settings).sort(), [...keys].sort());
  for (const spec of API_FUNCTIONS) {
    const kind = spec.public ? 'Public' : 'Api';
    for (const key of routesOf(spec)) {
      assert.deepEqual(settings[key], {
        ThrottlingBurstLimit: { Ref: `${kind}RouteBurstLimit` },
        ThrottlingRateLimit: { Ref: `${kind}RouteRateLimit` },
      }, key);
    }
  }
  for (const [routeId, route] of Object.entries(resources('AWS::ApiGatewayV2::Route'))) {
    if (route.Properties.ApiId.Ref !== httpApi) continue;
    assert.ok(stage.DependsOn.includes(routeId), `the stage depends on ${routeId}`);
  }
  template.hasParameter('PublicRouteRateLimit', { Type: 'Number', Default: 50 });
  template.hasParameter('ApiRouteRateLimit', { Type: 'Number', Default: 100 });
});

test('reserved concurrency: relay, notifier and dispatcher only, 0 = unreserved', () => {
  const reserved: Record<string, unknown> = {};
  for (const fn of Object.values(resources('AWS::Lambda::Function'))) {
    reserved[fn.Metadata['embedcare:crate']] = fn.Properties.ReservedConcurrentExecutions;
  }
  assert.deepEqual(reserved['outbox-relay'], {
    'Fn::If': ['ReservesRelayConcurrency', { Ref: 'OutboxRelayReservedConcurrency' }, { Ref: 'AWS::NoValue' }],
  });
  assert.deepEqual(reserved['patient-notifier'], {
    'Fn::If': ['ReservesNotifierConcurrency', { Ref: 'PatientNotifierReservedConcurrency' }, { Ref: 'AWS::NoValue' }],
  });
  assert.deepEqual(reserved['event-dispatcher'], {
    'Fn::If': ['ReservesDispatcherConcurrency', { Ref: 'EventDispatcherReservedConcurrency' }, { Ref: 'AWS::NoValue' }],
  });
  for (const spec of API_FUNCTIONS) assert.equal(reserved[spec.crate], undefined, spec.crate);
  assert.equal(reserved['event-stream'], undefined);
  template.hasParameter('OutboxRelayReservedConcurrency', { Default: 5, MinValue: 0 });
  template.hasParameter('PatientNotifierReservedConcurrency', { Default: 2, MinValue: 0 });
  template.hasCondition('ReservesRelayConcurrency', {
    'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'OutboxRelayReservedConcurrency' }, '0'] }],
  });
});

test('WAF: off by default; with enableWaf, CloudFront (no caching, all headers but Host) and a web ACL', () => {
  template.resourceCountIs('AWS::CloudFront::Distribution', 0);
  template.resourceCountIs('AWS::WAFv2::WebACL', 0);
  const wafApp = new App({ postCliContext: { 'aws:cdk:bundling-stacks': [] } });
  const wafStack = new EmbedcareStack(wafApp, 'Embedcare', { enableWaf: true });
  Validations.of(wafApp).addPlugins(new AwsSolutionsChecks(wafApp));
  const waf = Template.fromStack(wafStack);
  waf.resourceCountIs('AWS::CloudFront::Distribution', 1);
  waf.hasResource('AWS::WAFv2::WebACL', {
    Condition: 'CreateWebAcl',
    Properties: {
      Scope: 'CLOUDFRONT',
      Rules: Match.arrayWith([
        Match.objectLike({
          Name: 'RateLimitPerIp',
          Action: { Block: {} },
          Statement: { RateBasedStatement: { AggregateKeyType: 'IP', Limit: { Ref: 'WafRateLimit' }, EvaluationWindowSec: 300 } },
        }),
        Match.objectLike({ Name: 'AWSManagedRulesKnownBadInputsRuleSet', OverrideAction: { None: {} } }),
        Match.objectLike({ Name: 'AWSManagedRulesCommonRuleSet', OverrideAction: { Count: {} } }),
      ]),
    },
  });
  const [aclId] = Object.keys(waf.findResources('AWS::WAFv2::WebACL'));
  waf.hasResourceProperties('AWS::CloudFront::Distribution', {
    DistributionConfig: Match.objectLike({
      WebACLId: { 'Fn::If': ['CreateWebAcl', { 'Fn::GetAtt': [aclId, 'Arn'] }, { Ref: 'WebAclArn' }] },
      DefaultCacheBehavior: Match.objectLike({
        ViewerProtocolPolicy: 'https-only',
        CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
        OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
        AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
      }),
    }),
  });
  waf.hasCondition('CreateWebAcl', {
    'Fn::And': [{ 'Fn::Equals': [{ Ref: 'WebAclArn' }, ''] }, { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] }],
  });
  assert.ok(waf.toJSON().Rules.WafNeedsWebAclOutsideUsEast1, 'the us-east-1 rule');
  waf.hasOutput('CloudFrontDomainName', {});
  assert.doesNotThrow(() => wafApp.synth());
});

test('cdk-nag: no unacknowledged finding', () => {
  // Template.fromStack above already synthesised with the plugin: an
  // unacknowledged error throws there and fails this whole file.
  assert.doesNotThrow(() => app.synth());
});

test('outbox re-drive: a five-minute schedule, the bus and the re-drive delay from the parameters', () => {
  const [fnId, fn] = Object.entries(resources('AWS::Lambda::Function')).find(
    ([, f]) => f.Metadata['embedcare:crate'] === 'outbox-redrive',
  )!;
  assert.equal(fn.Properties.Timeout, 60);
  assert.deepEqual(fn.Properties.Environment.Variables.EMBEDCARE_REDRIVE_AFTER_MINUTES, { Ref: 'RedriveAfterMinutes' });
  assert.match(fn.Properties.Environment.Variables.EMBEDCARE_EVENT_BUS.Ref, /^EventBus/);
  template.hasResourceProperties('AWS::Events::Rule', {
    ScheduleExpression: 'rate(5 minutes)',
    Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] } })],
  });
  template.hasResourceProperties('AWS::Lambda::Permission', {
    FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
    Principal: 'events.amazonaws.com',
    SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OutboxRedriveSchedule'), 'Arn'] },
  });
  template.hasParameter('RedriveAfterMinutes', { Type: 'Number', Default: 10, MinValue: 1, MaxValue: 1440 });
});

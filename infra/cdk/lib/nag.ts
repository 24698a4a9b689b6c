// cdk-nag (AwsSolutions) and CDK's own CloudFormation validation findings we
// accept, each with its reason. Nothing else is acknowledged: synthesis (and
// so infra/test.sh) fails on any other error. cdk-nag 3 uses CDK's
// Validations API: an acknowledgement names one finding, as the synth output
// prints it ("Acknowledge with '...'"), and covers the whole stack.
import { Acknowledgment, Stack, Validations } from 'aws-cdk-lib';

export const NAG_ACKNOWLEDGMENTS: Acknowledgment[] = [
  {
    id: 'AwsSolutions::AwsSolutions-APIG4',
    reason:
      'No API Gateway authorizer, by design: vendors are servers that authenticate with an Api-key header, checked ' +
      'by the functions (SHA-256 lookup, revocation within 30 s) and answered with the API\'s own 401 error shape; ' +
      'the embedded pages are opened with single-use presigned URLs and then a session cookie. An authorizer would ' +
      'duplicate the check, add latency and a second error shape.',
  },
  {
    id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
    reason:
      'Only X-Ray (xray:PutTraceSegments, xray:PutTelemetryRecords, added by tracing: ACTIVE): X-Ray has no ' +
      'resource-level permissions, "*" is the only possible resource. No action anywhere is a wildcard.',
  },
  {
    id: 'AwsSolutions::AwsSolutions-IAM5[Resource::<TableCD117FA1.Arn>/index/*]',
    reason:
      'embed-pages, v2-consultations and v2-followups list through the table\'s own GSIs (Query on the indexes of ' +
      'infra/table-definition.json), which IAM names as <table ARN>/index/<name>; the wildcard stays inside this table.',
  },
  {
    id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<VisitLiveApi>/*]',
    reason:
      'execute-api:ManageConnections (PostToConnection, DeleteConnection) on the visits\' own WebSocket API (the visit-live and visits functions): its connection ids ' +
      'are only known at run time, so every connection of that one API (<api>/*) is the narrowest resource.',
  },
  {
    id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<EventStreamApi>/*]',
    reason:
      'execute-api:ManageConnections (PostToConnection, DeleteConnection, GetConnection) on the subscription ' +
      'stream\'s own WebSocket API: its connection ids are only known at run time, so every stage and ' +
      'connection of that one API (<api>/*) is the narrowest resource.',
  },
  {
    id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/<VisitNotifierScheduleGroup>/*]',
    reason:
      'scheduler:CreateSchedule and scheduler:DeleteSchedule of the visit notifier, on the schedules of the ' +
      "stack's own schedule group: one schedule per reminder, named at run time from its franchise, visit and " +
      'kind, so every schedule of that one group (<group>/*) is the narrowest resource.',
  },
  {
    id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:chime:<AWS::Region>:<AWS::AccountId>:meeting/*]',
    reason:
      'chime:CreateMeeting, chime:CreateAttendee and chime:DeleteMeeting of the visits function (the video keys): ' +
      'a meeting is created at run time for each visit that starts and its id is Chime\'s, so the meetings of this ' +
      'account and region (meeting/*) are the narrowest resource.',
  },
  {
    id: 'AwsSolutions::AwsSolutions-SQS3',
    reason:
      'OutboxRelayDlq is itself a dead-letter queue (the relay mapping\'s on-failure destination; cdk-nag only ' +
      'recognises redrive policies), and so are EventsDlq and WorkDlq (the dispatcher\'s queues\' redrive ' +
      'targets). ConsultationToBeAnalyzedQueue is the example consumer: a real consumer adds its own redrive ' +
      'policy and DLQ.',
  },
  {
    id: 'AwsSolutions::AwsSolutions-SMG4',
    reason:
      'DeploymentSecret must not rotate automatically: it keys the HMAC that seals list cursors and the hash of ' +
      'patient identifiers in keys, so a new value invalidates every cursor issued and every patient-key hash ' +
      'stored until the re-keying migration runs. It is rotated by hand (infra/README.md), with that migration.',
  },
  {
    id: 'AwsSolutions::AwsSolutions-S1',
    reason:
      'No server access logs on SnapshotBucket: every URL of a snapshot is handed out by an authenticated API call ' +
      'that the visits function logs (ids only), valid 5 minutes; a log bucket would hold the same ids and need ' +
      'its own logging. CloudTrail data events on the bucket are the operator\'s option for a full audit trail.',
  },
  {
    id: 'AwsSolutions::AwsSolutions-IAM5[Resource::<SnapshotBucketB2BF31D3.Arn>/t/*]',
    reason:
      'The visits function puts, reads (presigned GETs) and deletes the snapshots\' objects, whose keys ' +
      '(t/{tenant}/visits/{visitId}/{snapshotId}) are made at run time: every object under t/ of that one bucket ' +
      'is the narrowest resource.',
  },
  {
    id: 'CloudFormation-Validate::W2509',
    reason:
      'DeploymentSecretVersionId is the id of a Secrets Manager version (what a manual rotation hands to the ' +
      'functions), not a secret: NoEcho would only hide which version is deployed.',
  },
  {
    id: 'AwsSolutions::AwsSolutions-CFR1',
    reason:
      'No geo restriction on the optional distribution (enableWaf): vendors call from their own hosting and ' +
      'patients open answer links from wherever they are; which countries to refuse is a business decision, not ' +
      "this stack's. The web ACL's per-IP rate limit is the abuse control.",
  },
  {
    id: 'AwsSolutions::AwsSolutions-CFR3',
    reason:
      'No CloudFront access logs (enableWaf): they record every full URI and query string, and the pages carry ' +
      'session tokens in query strings and tenant keys in paths. The HTTP API access logs (route key, status, ' +
      'latency; never the path) remain the request log, and the web ACL publishes per-rule metrics.',
  },
  {
    id: 'AwsSolutions::AwsSolutions-CFR4',
    reason:
      'The optional distribution (enableWaf) uses the default *.cloudfront.net certificate, for which CloudFront ' +
      'fixes the viewer security policy; enforcing TLS 1.2 needs a custom domain with an ACM certificate in ' +
      'us-east-1, an operator choice (infra/README.md). The origin side is HTTPS with TLS 1.2 only.',
  },
  {
    id: 'CloudFormation-Validate::W1030',
    reason:
      'Alarm actions take AlarmTopicArn only under the condition HasAlarmTopic (parameter not empty); the ' +
      'validator checks the empty default without the condition.',
  },
];

export function acknowledgeNagFindings(stack: Stack): void {
  Validations.of(stack).acknowledge(...NAG_ACKNOWLEDGMENTS);
}

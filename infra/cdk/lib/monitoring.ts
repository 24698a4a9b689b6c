// What an operator sees (the same as ../template.yaml's OperatorAlarms,
// OperatorDashboard and the alarms on the application's metrics): the
// metrics the functions print as EMF lines (namespace embedcare,
// shared/src/metrics/), their dashboard, the alarms on them, and the topic
// every alarm of the stack notifies.
import { Aws, Duration, Fn } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** The namespace of the application's metrics (shared/src/metrics/names.rs). */
export const NAMESPACE = 'embedcare';

/** The stack's alarm topic: KMS-encrypted (a key CloudWatch may use), TLS only. */
export function operatorAlarmsTopic(scope: Construct): sns.Topic {
  const key = new kms.Key(scope, 'OperatorAlarmsKey', {
    description: 'Encrypts the OperatorAlarms topic (CloudWatch alarms publish to it).',
    enableKeyRotation: true,
  });
  const cloudWatch = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
  key.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'CloudWatchPublishes',
    principals: [cloudWatch],
    actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
    resources: ['*'],
    conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
  }));
  const topic = new sns.Topic(scope, 'OperatorAlarms', {
    displayName: 'embedcare alarms',
    masterKey: key,
    enforceSSL: true,
  });
  topic.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'CloudWatchAlarmsPublish',
    principals: [cloudWatch],
    actions: ['sns:Publish'],
    resources: [topic.topicArn],
    conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
  }));
  return topic;
}

type Alarm = (id: string, props: cloudwatch.AlarmProps) => cloudwatch.Alarm;

const app = (metricName: string, statistic: string, period: Duration): cloudwatch.Metric =>
  new cloudwatch.Metric({ namespace: NAMESPACE, metricName, statistic, period });

/**
 * The alarms on the application's metrics and the dashboard. `alarm` makes
 * an alarm that notifies the topic (`notBreaching` unless told otherwise);
 * `httpApi5xx` is API Gateway's own 5xx alarm, shown beside them.
 */
export function operatorMonitoring(
  scope: Construct,
  alarm: Alarm,
  alarmActions: string[],
  httpApi5xx: cloudwatch.Alarm,
): void {
  const five = Duration.minutes(5);
  // Events stuck in the outbox: the oldest pending item is older than 5
  // minutes in two 5-minute periods running (outbox-redrive measures it on
  // each run, every 5 minutes; 0 when none). Missing data is neither OK nor
  // stale events: the re-drive (the measurer and the healer) did not run, so
  // the alarm goes to INSUFFICIENT_DATA and says so to the topic.
  const oldest = alarm('OutboxOldestPendingAlarm', {
    alarmDescription:
      'The oldest unrelayed outbox item is more than 5 minutes old (events late); INSUFFICIENT_DATA - outbox-redrive stopped measuring.',
    metric: app('OutboxOldestPending', 'Maximum', five),
    threshold: 300,
    evaluationPeriods: 2,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.MISSING,
  });
  (oldest.node.defaultChild as cloudwatch.CfnAlarm).insufficientDataActions = alarmActions;
  // More than one webhook attempt in five failed over 15 minutes.
  const fifteen = Duration.minutes(15);
  const failureRate = alarm('WebhookFailureRateAlarm', {
    alarmDescription: 'More than 20 % of webhook attempts failed over 15 minutes (WebhookFailures / WebhookDeliveries).',
    metric: new cloudwatch.MathExpression({
      expression: 'IF(deliveries > 0, failures / deliveries, 0)',
      label: 'WebhookFailures / WebhookDeliveries',
      usingMetrics: {
        failures: app('WebhookFailures', 'Sum', fifteen),
        deliveries: app('WebhookDeliveries', 'Sum', fifteen),
      },
      period: fifteen,
    }),
    threshold: 0.2,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
  });
  // A 5xx of the application, on any route of any function (the EMF
  // Http5xx, all dimensions rolled up); HttpApi5xxAlarm watches API Gateway's.
  const http5xx = alarm('Http5xxAlarm', {
    alarmDescription: 'The application answered a 5xx (Http5xx, any route) in the last 5 minutes.',
    metric: app('Http5xx', 'Sum', five),
    threshold: 0,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
  });

  const graph = (title: string, names: string[], stat = 'Sum', extra: Record<string, unknown> = {}) => ({
    type: 'metric',
    properties: {
      title, region: Aws.REGION, stat, period: 300, view: 'timeSeries',
      metrics: names.map((n) => [NAMESPACE, n]), ...extra,
    },
  });
  const lag = {
    type: 'metric',
    properties: {
      title: 'Relay lag (ms)', region: Aws.REGION, period: 300, view: 'timeSeries',
      metrics: ['p50', 'p99', 'Maximum'].map((stat) => [NAMESPACE, 'RelayLag', { stat }]),
    },
  };
  const widgets: Record<string, unknown>[] = [
    graph('Launches', ['LaunchesIssued', 'LaunchesRedeemed', 'RedemptionsExpired']),
    graph('Events written and relayed', ['EventsWritten', 'EventsRelayed']),
    lag,
    graph('Oldest unrelayed outbox item (s)', ['OutboxOldestPending'], 'Maximum',
      { annotations: { horizontal: [{ label: 'alarm', value: 300 }] } }),
    graph('Webhook attempts', ['WebhookDeliveries', 'WebhookFailures']),
    graph('Bookings', ['Bookings', 'BookingConflicts']),
    graph('HTTP 4xx and 5xx (all routes)', ['Http4xx', 'Http5xx']),
    {
      type: 'alarm',
      properties: {
        title: 'Alarms',
        alarms: [oldest.alarmArn, failureRate.alarmArn, http5xx.alarmArn, httpApi5xx.alarmArn],
      },
    },
  ];
  // The grid of the SAM template: three 8-wide widgets a row, then two 12-wide.
  widgets.forEach((w, i) => {
    const wide = i >= 6;
    Object.assign(w, {
      x: wide ? (i - 6) * 12 : (i % 3) * 8,
      y: wide ? 12 : Math.floor(i / 3) * 6,
      width: wide ? 12 : 8,
      height: 6,
    });
  });
  new cloudwatch.CfnDashboard(scope, 'OperatorDashboard', {
    dashboardName: Fn.join('-', [Aws.STACK_NAME, 'operator']),
    dashboardBody: Fn.toJsonString({ widgets }),
  });
}

// The Lambda functions of embedcare: one per crate under functions/ (the
// crate `functions/local` is the local binary, not a Lambda). To add one,
// copy an entry; infra/test.sh fails until this list, ../template.yaml and
// functions/*/Cargo.toml agree.

/** DynamoDB item actions: keyed reads and writes. Transactions
 * (TransactWriteItems) are authorised by the item actions they contain.
 * No Query on the table, no Scan. */
export const TABLE_ITEM_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:ConditionCheckItem',
];

/** Partition-key prefixes (the table's `pk`, IAM's dynamodb:LeadingKeys,
 * matched with ForAllValues:StringLike), as the Rust key builders write
 * them. Each function's table statement lists only the ones it touches. */
export const KEY_PREFIXES = {
  /** APIKEY#{keyId}: an API key, read to authenticate a vendor call. */
  apiKey: 'APIKEY#*',
  /** T#{tenant} (the franchise) and T#{tenant}#... (all its data: patients
   * and their key index, launches, sessions, consultations, follow-ups,
   * idempotency records, outbox items). */
  tenant: 'T#*',
  /** ACCOUNT#{accountId}#USER#{userId}: a user of an account. (Account items,
   * ACCOUNT#{accountId}, are read by the operator commands only.) */
  user: 'ACCOUNT#*#USER#*',
  /** WSCONN#{connectionId}: a live connection of the stream's WebSocket API
   * (whose queue it holds). */
  connection: 'WSCONN#*',
  /** gsi1's OUTBOX#PENDING#{shard} and OUTBOX#DEAD#{shard}: the outbox items
   * not relayed yet, and the dead letters (queried by the re-drive only). */
  outboxIndex: 'OUTBOX#*',
};

/** What a vendor call touches: its key, its franchise's data, its account's users. */
const VENDOR_KEYS = [KEY_PREFIXES.apiKey, KEY_PREFIXES.tenant, KEY_PREFIXES.user];

export interface ApiFunctionSpec {
  /** The crate (and binary) name, functions/<crate>. */
  readonly crate: string;
  /** Construct id prefix, e.g. ConsultationCreate. */
  readonly id: string;
  readonly description: string;
  /** HTTP API route keys ("METHOD /path"), payload v2. */
  readonly routes: string[];
  /** Partition-key prefixes of the table statement (dynamodb:LeadingKeys). */
  readonly leadingKeys: string[];
  /** Whether it lists through the GSIs (a second statement: Query on the
   * indexes, whose partitions are all a franchise's, T#*). */
  readonly queriesIndexes: boolean;
  /** The table statement's actions, when not TABLE_ITEM_ACTIONS. */
  readonly tableActions?: string[];
  /** Whether it sends work to the dispatcher's work queue and manages the
   * subscription stream's connections (EMBEDCARE_WORK_QUEUE_URL,
   * EMBEDCARE_WEBSOCKET_ENDPOINT). */
  readonly delivers?: boolean;
}

const EMBEDDABLE_VIEWS = [
  'consultation/view',
  'consultation/dashboard',
  'consultation/specific',
  'consultation/answer',
  'followup/view',
  'followup/dashboard',
  'followup/specific',
  'followup/plan',
  'administration/franchise-management',
  'administration/franchise-onboarding',
  'administration/franchise-offboarding',
  'statistics',
];

export const API_FUNCTIONS: ApiFunctionSpec[] = [
  {
    crate: 'consultation-create',
    id: 'ConsultationCreate',
    description: 'POST /embeddable/consultation/create',
    routes: ['POST /embeddable/consultation/create'],
    leadingKeys: VENDOR_KEYS,
    queriesIndexes: false,
  },
  {
    crate: 'consultation-view',
    id: 'ConsultationView',
    description: 'POST /embeddable/consultation/view',
    routes: ['POST /embeddable/consultation/view'],
    leadingKeys: VENDOR_KEYS,
    queriesIndexes: false,
  },
  {
    crate: 'embeddable-url',
    id: 'EmbeddableUrl',
    description: 'every GET /embeddable/... (the launch URL of each view)',
    routes: EMBEDDABLE_VIEWS.map((v) => `GET /embeddable/${v}`),
    leadingKeys: VENDOR_KEYS,
    queriesIndexes: false,
  },
  {
    crate: 'embed-pages',
    id: 'EmbedPages',
    description: 'ANY /{locale}/embed/{proxy+}, GET /embed/static/{proxy+} and GET /sdk/{proxy+}',
    // The pages, their static files, and the host-page SDK (public code).
    routes: ['ANY /{locale}/embed/{proxy+}', 'GET /embed/static/{proxy+}', 'GET /sdk/{proxy+}'],
    // Launches, sessions and the franchise's data, and the signed-in employee
    // (a user of the franchise's account); never an API key. The pages list a
    // franchise's consultations and follow-ups: Query on the GSIs.
    leadingKeys: [KEY_PREFIXES.tenant, KEY_PREFIXES.user],
    queriesIndexes: true,
  },
  {
    crate: 'v2-consultations',
    id: 'V2Consultations',
    description: 'GET /v2/consultation-reasons, /v2/consultations (list, create, read, cancel)',
    routes: [
      'GET /v2/consultation-reasons',
      'GET /v2/consultations',
      'POST /v2/consultations',
      'GET /v2/consultations/{consultationId}',
      'POST /v2/consultations/{consultationId}/cancel',
    ],
    // It lists a franchise's consultations through the GSIs.
    leadingKeys: VENDOR_KEYS,
    queriesIndexes: true,
  },
  {
    crate: 'v2-followups',
    id: 'V2Followups',
    description: '/v2/followups (list, create, read, cancel)',
    routes: [
      'GET /v2/followups',
      'POST /v2/followups',
      'GET /v2/followups/{followupId}',
      'POST /v2/followups/{followupId}/cancel',
    ],
    // It lists a franchise's follow-ups through the GSIs.
    leadingKeys: VENDOR_KEYS,
    queriesIndexes: true,
  },
  {
    crate: 'v2-embed',
    id: 'V2Embed',
    description: "POST /v2/embed/... (the presigned URL of one resource's view)",
    routes: [
      'POST /v2/embed/consultation/answer',
      'POST /v2/embed/consultation/details',
      'POST /v2/embed/followup/answer',
      'POST /v2/embed/followup/details',
    ],
    leadingKeys: VENDOR_KEYS,
    queriesIndexes: false,
  },
  {
    crate: 'v2-events',
    id: 'V2Events',
    description: '/v2/webhook-endpoints, /v2/events (list, redeliver), /v2/event-queues',
    routes: [
      'POST /v2/webhook-endpoints',
      'GET /v2/webhook-endpoints',
      'GET /v2/webhook-endpoints/{endpointId}',
      'PATCH /v2/webhook-endpoints/{endpointId}',
      'DELETE /v2/webhook-endpoints/{endpointId}',
      'POST /v2/webhook-endpoints/{endpointId}/rotate-secret',
      'GET /v2/webhook-endpoints/{endpointId}/deliveries',
      'GET /v2/events',
      'POST /v2/events/{eventId}/redeliver',
      // Reached on the HTTP API, not the stream's WebSocket API: answers as the API does.
      'GET /v2/events/subscribe',
      'POST /v2/event-queues',
      'GET /v2/event-queues',
      'GET /v2/event-queues/{queueName}',
      'DELETE /v2/event-queues/{queueName}',
    ],
    // The caller's key and its franchise's data (the subscriptions
    // partition, deliveries, outbox items); Query on the table (the
    // subscriptions and deliveries partitions) and on gsi1 (the event list).
    leadingKeys: [KEY_PREFIXES.apiKey, KEY_PREFIXES.tenant],
    queriesIndexes: true,
    tableActions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
    delivers: true,
  },
];

/** The stream-driven relay (no route): see the stack. */
export const RELAY_CRATE = 'outbox-relay';

/** The rule-driven patient notifier (no route; only with an SES sender): see the stack. */
export const NOTIFIER_CRATE = 'patient-notifier';

/** The SQS-driven dispatcher of webhooks and stream queues (no route): see the stack. */
export const DISPATCHER_CRATE = 'event-dispatcher';

/** The subscription stream's WebSocket API routes: see the stack. */
export const STREAM_CRATE = 'event-stream';
/** The visits' live connections' WebSocket API routes: see the stack. */
export const LIVE_CRATE = 'visit-live';
/** The scheduled outbox re-drive (no route): see the stack. */
export const REDRIVE_CRATE = 'outbox-redrive';

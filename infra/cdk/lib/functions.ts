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
  /** CORS#{digest of an origin}: the browser-origin index the patient
   * side's preflights read (written with a franchise's allowed origins). */
  corsOrigin: 'CORS#*',
  /** gsi1's DUE#{hour}: the visits' due tasks of one hour, every franchise
   * together (ids only; queried by the visit sweeper only). */
  dueIndex: 'DUE#*',
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
  /** Whether it tells the visits' live connections (moves, chat,
   * presence, closing a dismissed participant's): EMBEDCARE_VISIT_LIVE_ENDPOINT
   * and execute-api:ManageConnections on the visit-live WebSocket API. */
  readonly tellsVisits?: boolean;
  /** Browser calls with CORS (the patient side's API): each path of
   * `routes` also gets an OPTIONS route, answered by the function (the
   * franchises' origins are data, not API Gateway settings). */
  readonly cors?: boolean;
  /** Whether its video keys are Chime SDK meetings' (EMBEDCARE_VIDEO=chime,
   * chime:CreateMeeting, CreateAttendee, DeleteMeeting). */
  readonly video?: boolean;
  /** Whether it mails invitation links (EMBEDCARE_SES_SENDER; ses:SendEmail
   * on the sender's identity, only with a sender: condition HasSesSender). */
  readonly invites?: boolean;
  /** Whether it renders a room page, whose socket is the visit-live API's
   * (EMBEDCARE_VISIT_LIVE_URL, its origin in the CSP's connect-src). */
  readonly liveUrl?: boolean;
  /** Public page routes (the embedded app, the patient app): the public
   * route throttles instead of the API's. */
  readonly public?: boolean;
  /** Whether it keeps the visits' snapshots: s3:PutObject, GetObject and
   * DeleteObject on the snapshot bucket's t/* objects, and
   * EMBEDCARE_SNAPSHOT_BUCKET. */
  readonly snapshots?: boolean;
}

/** The OPTIONS routes of a CORS function: one per path of its routes. */
export function preflightRoutes(routes: string[]): string[] {
  const paths = [...new Set(routes.map((r) => r.split(' ')[1]))];
  return paths.map((p) => `OPTIONS ${p}`);
}

/** A vendor call of the patient side: also the origin index (preflights). */
const CLINIC_KEYS = [...VENDOR_KEYS, KEY_PREFIXES.corsOrigin];
const DELETE = 'dynamodb:DeleteItem';
const QUERY = 'dynamodb:Query';

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
  'visits/waiting-room',
  'visits/schedule',
  'visits/room',
  'visits/statistics',
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
    public: true,
    // Launches, sessions and the franchise's data, and the signed-in employee
    // (a user of the franchise's account); never an API key. The pages list a
    // franchise's consultations and follow-ups: Query on the GSIs; a provider's
    // move removes the visit's due task (DeleteItem); a visit's chat, the
    // visits' statistics rows and the concerns: Query on the table.
    leadingKeys: [KEY_PREFIXES.tenant, KEY_PREFIXES.user],
    queriesIndexes: true,
    liveUrl: true,
    tableActions: [...TABLE_ITEM_ACTIONS, DELETE, QUERY],
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
  // ---- the patient side (issue 11): its API (CORS for the franchises'
  // origins), the patient app's pages. The visit notifier and sweeper are
  // event-driven: see the stack.
  {
    crate: 'patient-sso',
    id: 'PatientSso',
    description: '/v2/patients/sso (issue, revoke), POST /v2/patients/logout',
    routes: ['POST /v2/patients/sso', 'DELETE /v2/patients/sso/{tokenId}', 'POST /v2/patients/logout'],
    // The patient upserted by key, the SSO token (deleted when revoked or
    // at logout), the user x-integration-user names, the origin index.
    leadingKeys: CLINIC_KEYS,
    queriesIndexes: false,
    tableActions: [...TABLE_ITEM_ACTIONS, DELETE],
    cors: true,
  },
  {
    crate: 'rooms',
    id: 'Rooms',
    description: '/v2/rooms (create, list, read, update), GET /v2/availability',
    routes: ['GET /v2/rooms', 'POST /v2/rooms', 'GET /v2/rooms/{code}', 'PATCH /v2/rooms/{code}', 'GET /v2/availability'],
    // Rooms listed on gsi1; a provider's booked cells by Query on the table
    // (T#{tenant}#CELLS#{provider}).
    leadingKeys: CLINIC_KEYS,
    queriesIndexes: true,
    tableActions: [...TABLE_ITEM_ACTIONS, QUERY],
    cors: true,
  },
  {
    crate: 'providers',
    id: 'Providers',
    description: '/v2/providers (list, upsert), /v2/providers/{userId}/availability',
    routes: [
      'GET /v2/providers',
      'PUT /v2/providers/{userId}',
      'GET /v2/providers/{userId}/availability',
      'PUT /v2/providers/{userId}/availability',
    ],
    // Providers listed on gsi1.
    leadingKeys: CLINIC_KEYS,
    queriesIndexes: true,
    cors: true,
  },
  {
    crate: 'intakes',
    id: 'Intakes',
    description: "/v2/intakes (create, read, update), /v2/concerns (the catalogue, a franchise's own)",
    routes: [
      'POST /v2/intakes',
      'GET /v2/intakes/{intakeId}',
      'PATCH /v2/intakes/{intakeId}',
      'GET /v2/concerns',
      'POST /v2/concerns',
    ],
    leadingKeys: CLINIC_KEYS,
    queriesIndexes: false,
    // The franchise's own concerns: Query of T#{tenant}#CONCERNS.
    tableActions: [...TABLE_ITEM_ACTIONS, QUERY],
    cors: true,
  },
  {
    crate: 'visits',
    id: 'Visits',
    description: '/v2/visits (walk-in, scheduled, eConsult; list, read, each move, chat), /v2/statistics/visits',
    // Each move its own route (the router's /v2/visits/{visitId}/{move} is one template).
    routes: [
      'GET /v2/visits',
      'POST /v2/visits',
      'POST /v2/visits/walkin',
      'POST /v2/visits/econsult',
      'GET /v2/visits/{visitId}',
      'POST /v2/visits/{visitId}/accept',
      'POST /v2/visits/{visitId}/start',
      'POST /v2/visits/{visitId}/complete',
      'POST /v2/visits/{visitId}/no-show',
      'POST /v2/visits/{visitId}/cancel',
      'GET /v2/visits/{visitId}/messages',
      'POST /v2/visits/{visitId}/messages',
      // The live encounter: participants, invitations, end, fulfil, the intake.
      'GET /v2/visits/{visitId}/participants',
      'POST /v2/visits/{visitId}/participants',
      'GET /v2/visits/{visitId}/participants/{participantId}',
      'PATCH /v2/visits/{visitId}/participants/{participantId}',
      'POST /v2/visits/{visitId}/participants/{participantId}/tokens',
      'DELETE /v2/visits/{visitId}/participants/{participantId}/invitation',
      'POST /v2/visits/{visitId}/participants/{participantId}/dismiss',
      'GET /v2/visits/{visitId}/participants/{participantId}/video-key',
      'POST /v2/visits/{visitId}/end',
      'POST /v2/visits/{visitId}/fulfil',
      'PUT /v2/visits/{visitId}/intake',
      // Snapshots: the image as the body (binary: it reaches the function
      // base64-encoded, which lambda_http decodes), list, read with a
      // presigned URL, delete.
      'GET /v2/visits/{visitId}/snapshots',
      'POST /v2/visits/{visitId}/snapshots',
      'GET /v2/visits/{visitId}/snapshots/{snapshotId}',
      'DELETE /v2/visits/{visitId}/snapshots/{snapshotId}',
      // Presence: the REST heartbeat, each participant's status.
      'PUT /v2/visits/{visitId}/alive',
      'GET /v2/visits/{visitId}/connection-status',
      // The visits' statistics: a Query of the franchise's month partitions
      // (T#{tenant}#VSTAT#{month}, rows this function's own transactions
      // write), no new permission.
      'GET /v2/statistics/visits',
    ],
    // A move removes the visit's due task and the cells it held
    // (DeleteItem); the chat and a provider's cells by Query on the table;
    // lists, queues and eConsults on the GSIs.
    leadingKeys: CLINIC_KEYS,
    queriesIndexes: true,
    tableActions: [...TABLE_ITEM_ACTIONS, DELETE, QUERY],
    tellsVisits: true,
    cors: true,
    video: true,
    snapshots: true,
    invites: true,
  },
  {
    crate: 'patient-app',
    id: 'PatientApp',
    description: 'ANY /auth, /u/clinic, /visits/{proxy+}, /members/appointment/{visitId}, /members/invitation/{visitId}; GET /clinic/static/{proxy+}',
    routes: [
      'ANY /auth',
      'ANY /u/clinic',
      'ANY /visits/{proxy+}',
      'ANY /members/appointment/{visitId}',
      'ANY /members/invitation/{visitId}',
      'GET /clinic/static/{proxy+}',
    ],
    // Patient tokens and sessions (an SSO token burnt at a once=1 login),
    // visits, rooms, join codes, the chat: the franchise's partitions only;
    // never an API key, a user or an account.
    leadingKeys: [KEY_PREFIXES.tenant],
    queriesIndexes: true,
    tableActions: [...TABLE_ITEM_ACTIONS, DELETE, QUERY],
    public: true,
    liveUrl: true,
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

/** The visit notifier: a rule on Visit Created|Updated and the target of
 * the reminders' schedules (no route; only with an SES sender): see the stack. */
export const VISIT_NOTIFIER_CRATE = 'visit-notifier';

/** The scheduled visit sweeper (no route): see the stack. */
export const VISIT_SWEEPER_CRATE = 'visit-sweeper';

// The Lambda functions of embedcare: one per crate under functions/ (the
// crate `functions/local` is the local binary, not a Lambda). To add one,
// copy an entry; infra/test.sh fails until this list, ../template.yaml and
// functions/*/Cargo.toml agree.

/** DynamoDB item actions of the API functions: keyed reads and writes.
 * Transactions (TransactWriteItems) are authorised by the item actions they
 * contain. No Query, no Scan. */
const TABLE_ITEM_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:ConditionCheckItem',
];

/** The item actions plus Query, for the functions that list through the
 * table's GSIs (with `onIndexes: true`). Still no Scan. */
const TABLE_LIST_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:ConditionCheckItem',
];

export interface ApiFunctionSpec {
  /** The crate (and binary) name, functions/<crate>. */
  readonly crate: string;
  /** Construct id prefix, e.g. ConsultationCreate. */
  readonly id: string;
  readonly description: string;
  /** HTTP API route keys ("METHOD /path"), payload v2. */
  readonly routes: string[];
  /** DynamoDB actions on the table. */
  readonly tableActions: string[];
  /** Whether the actions also apply to the table's indexes (Query on GSIs). */
  readonly onIndexes: boolean;
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
    tableActions: TABLE_ITEM_ACTIONS,
    onIndexes: false,
  },
  {
    crate: 'consultation-view',
    id: 'ConsultationView',
    description: 'POST /embeddable/consultation/view',
    routes: ['POST /embeddable/consultation/view'],
    tableActions: TABLE_ITEM_ACTIONS,
    onIndexes: false,
  },
  {
    crate: 'embeddable-url',
    id: 'EmbeddableUrl',
    description: 'every GET /embeddable/... (the launch URL of each view)',
    routes: EMBEDDABLE_VIEWS.map((v) => `GET /embeddable/${v}`),
    tableActions: TABLE_ITEM_ACTIONS,
    onIndexes: false,
  },
  {
    crate: 'embed-pages',
    id: 'EmbedPages',
    description: 'ANY /{locale}/embed/{proxy+} and GET /embed/static/{proxy+}',
    routes: ['ANY /{locale}/embed/{proxy+}', 'GET /embed/static/{proxy+}'],
    // The pages list a franchise's consultations and follow-ups: Query on the GSIs.
    tableActions: TABLE_LIST_ACTIONS,
    onIndexes: true,
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
    tableActions: TABLE_LIST_ACTIONS,
    onIndexes: true,
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
    tableActions: TABLE_LIST_ACTIONS,
    onIndexes: true,
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
    tableActions: TABLE_ITEM_ACTIONS,
    onIndexes: false,
  },
];

/** The stream-driven relay (no route): see the stack. */
export const RELAY_CRATE = 'outbox-relay';

/** The rule-driven patient notifier (no route; only with an SES sender): see the stack. */
export const NOTIFIER_CRATE = 'patient-notifier';

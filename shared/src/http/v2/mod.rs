//! The resource API: consultations and follow-ups with the patient inline,
//! read, list, cancel (`resources.rs`, `consultations.rs`, `followups.rs`),
//! presigned embed URLs (`embed.rs`), and events for vendors outside AWS:
//! webhook endpoints and their deliveries (`webhooks.rs`), the event list,
//! redeliveries and the stream's event queues (`events.rs`).
//!
//! Every endpoint authenticates as the launch API does (`Api-key`,
//! `X-Tenant-Key`) and answers errors in the API's error shape. The acting
//! employee (`x-integration-user` header or body `user`) is upserted by the
//! calls that create something or issue a launch; the others only check
//! that a header given is well-formed.
//!
//! Why the resource bodies are rendered here and handed to the service as a
//! closure: a creation stores its exact response with its idempotency record,
//! in the same transaction as the entity, so the service must hold the
//! final body before it writes.

mod consultations;
mod embed;
pub mod events;
mod followups;
pub mod resources;
pub mod webhooks;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use self::resources::{Resource, cancel, get_one, list};
use super::extract::{self, QueryParams, VendorKey};
use super::wire::{integration_user, patient_of};
use crate::app::AppState;
use crate::clock::day_of;
use crate::domain::types::nfc;
use crate::domain::{Consultation, Followup, IntegrationUser, PatientId, ReasonCode};
use crate::error::{Error, Result};
use crate::services::auth::KeyAuth;
use crate::services::creation::{Creation, Outcome};
use crate::services::idempotency::{Idempotency, IdempotencyKey, StoredResponse};
use crate::services::lists::{ListRequest, PatientFilter};

pub const REASONS: &str = "/v2/consultation-reasons";
pub const CONSULTATIONS: &str = "/v2/consultations";
pub const CONSULTATION: &str = "/v2/consultations/{consultationId}";
pub const CONSULTATION_CANCEL: &str = "/v2/consultations/{consultationId}/cancel";
pub const FOLLOWUPS: &str = "/v2/followups";
pub const FOLLOWUP: &str = "/v2/followups/{followupId}";
pub const FOLLOWUP_CANCEL: &str = "/v2/followups/{followupId}/cancel";
pub const EMBED_CONSULTATION_ANSWER: &str = "/v2/embed/consultation/answer";
pub const EMBED_CONSULTATION_DETAILS: &str = "/v2/embed/consultation/details";
pub const EMBED_FOLLOWUP_ANSWER: &str = "/v2/embed/followup/answer";
pub const EMBED_FOLLOWUP_DETAILS: &str = "/v2/embed/followup/details";
pub const WEBHOOK_ENDPOINTS: &str = "/v2/webhook-endpoints";
pub const WEBHOOK_ENDPOINT: &str = "/v2/webhook-endpoints/{endpointId}";
pub const WEBHOOK_ROTATE_SECRET: &str = "/v2/webhook-endpoints/{endpointId}/rotate-secret";
pub const WEBHOOK_DELIVERIES: &str = "/v2/webhook-endpoints/{endpointId}/deliveries";
pub const EVENTS: &str = "/v2/events";
pub const EVENT_REDELIVER: &str = "/v2/events/{eventId}/redeliver";
pub const EVENT_QUEUES: &str = "/v2/event-queues";
pub const EVENT_QUEUE: &str = "/v2/event-queues/{queueName}";
/// The subscription stream: a WebSocket (the local server's axum route;
/// in AWS, the WebSocket API's `$connect`).
pub const EVENTS_SUBSCRIBE: &str = "/v2/events/subscribe";

/// Every route of the resource API, as (method, path).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", REASONS),
    ("get", CONSULTATIONS),
    ("post", CONSULTATIONS),
    ("get", CONSULTATION),
    ("post", CONSULTATION_CANCEL),
    ("get", FOLLOWUPS),
    ("post", FOLLOWUPS),
    ("get", FOLLOWUP),
    ("post", FOLLOWUP_CANCEL),
    ("post", EMBED_CONSULTATION_ANSWER),
    ("post", EMBED_CONSULTATION_DETAILS),
    ("post", EMBED_FOLLOWUP_ANSWER),
    ("post", EMBED_FOLLOWUP_DETAILS),
    ("post", WEBHOOK_ENDPOINTS),
    ("get", WEBHOOK_ENDPOINTS),
    ("get", WEBHOOK_ENDPOINT),
    ("patch", WEBHOOK_ENDPOINT),
    ("delete", WEBHOOK_ENDPOINT),
    ("post", WEBHOOK_ROTATE_SECRET),
    ("get", WEBHOOK_DELIVERIES),
    ("get", EVENTS),
    ("post", EVENT_REDELIVER),
    ("post", EVENT_QUEUES),
    ("get", EVENT_QUEUES),
    ("get", EVENT_QUEUE),
    ("delete", EVENT_QUEUE),
    ("get", EVENTS_SUBSCRIBE),
];

/// The header of a creating `POST`.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on a response replayed for a repeated `Idempotency-Key`.
pub const REPLAYED: &str = "idempotent-replayed";

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;

/// `/v2/consultations…` and `/v2/consultation-reasons` (Lambda `v2-consultations`).
pub fn consultations_routes() -> Router<AppState> {
    Router::new()
        .route(REASONS, get(consultations::reasons))
        .route(
            CONSULTATIONS,
            list::<Consultation>().post(consultations::create),
        )
        .route(CONSULTATION, get_one::<Consultation>())
        .route(CONSULTATION_CANCEL, cancel::<Consultation>())
}

/// `/v2/followups…` (Lambda `v2-followups`).
pub fn followups_routes() -> Router<AppState> {
    Router::new()
        .route(FOLLOWUPS, list::<Followup>().post(followups::create))
        .route(FOLLOWUP, get_one::<Followup>())
        .route(FOLLOWUP_CANCEL, cancel::<Followup>())
}

/// `POST /v2/embed/{consultation|followup}/{answer|details}` (Lambda `v2-embed`).
pub use self::embed::routes as embed_routes;

/// Webhook endpoints, their deliveries, the event list, redeliveries and
/// event queues (Lambda `v2-events`; the subscribe route is
/// `http::subscribe_routes`'s).
pub fn events_routes() -> Router<AppState> {
    Router::new()
        .route(
            WEBHOOK_ENDPOINTS,
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            WEBHOOK_ENDPOINT,
            get(webhooks::get_one)
                .patch(webhooks::update)
                .delete(webhooks::delete),
        )
        .route(WEBHOOK_ROTATE_SECRET, post(webhooks::rotate))
        .route(WEBHOOK_DELIVERIES, get(webhooks::deliveries))
        .route(EVENTS, get(events::list))
        .route(EVENT_REDELIVER, post(events::redeliver))
        .route(
            EVENT_QUEUES,
            get(events::list_queues).post(events::create_queue),
        )
        .route(
            EVENT_QUEUE,
            get(events::get_queue).delete(events::delete_queue),
        )
}

// ---- requests ----------------------------------------------------------------

/// Who a request acts as, for its idempotency fingerprint.
fn acting_user(auth: &KeyAuth, user: Option<&IntegrationUser>) -> Value {
    match user {
        None => json!({ "userId": auth.key.owner_user_id.as_str() }),
        Some(u) => json!({
            "userId": u.user_id.as_str(),
            "firstName": u.first_name,
            "lastName": u.last_name,
            "email": u.email.as_ref().map(|e| e.as_str()),
            "licenseNumber": u.license_number,
            "preferredLanguage": u.preferred_language.map(|l| l.as_str()),
        }),
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>> {
    match headers.get(IDEMPOTENCY_KEY) {
        None => Ok(None),
        Some(v) => {
            let raw = v.to_str().map_err(|_| {
                Error::invalid("Idempotency-Key must be 1 to 255 printable characters")
            })?;
            IdempotencyKey::parse(raw).map(Some)
        }
    }
}

/// What every creating `POST` reads: the patient, the acting user and the
/// idempotency of the request (bound to `path`).
fn creation(v: &VendorKey, body: &Map<String, Value>, path: &str) -> Result<Creation> {
    let patient = patient_of(body, day_of(v.app.now_ms()))?;
    let user = integration_user(&v.headers, Some(body))?;
    let idempotency = idempotency_key(&v.headers)?.map(|key| {
        Idempotency::new(
            v.auth.tenant(),
            &v.auth.key.key_id,
            &key,
            "POST",
            path,
            &Value::Object(body.clone()),
            &acting_user(&v.auth, user.as_ref()),
        )
    });
    Ok(Creation {
        patient,
        user,
        idempotency,
    })
}

/// The body's `reason`, a code of the catalogue (read as text first, so
/// that the patient is checked before the reason, as it always was).
fn known_reason(reason: Option<String>) -> Result<Option<ReasonCode>> {
    reason
        .map(|r| ReasonCode::known_or_invalid(&r, "reason"))
        .transpose()
}

/// The query of both lists: `patientKey|patientId`, `subSystem`, `status`,
/// `limit`, `cursor`.
fn list_request<R: Resource>(raw: Option<&str>) -> Result<ListRequest<R::Status>> {
    let q = QueryParams::parse(raw)?;
    let patient = match (
        q.get("patientKey")?,
        q.get("patientId")?,
        q.get("subSystem")?,
    ) {
        (Some(_), Some(_), _) => {
            return Err(Error::invalid("Give patientKey or patientId, not both"));
        }
        (None, _, Some(_)) => return Err(Error::invalid("subSystem needs patientKey")),
        (Some(k), None, sub) => {
            if k.chars().count() > 128 || sub.is_some_and(|s| s.chars().count() > 128) {
                return Err(Error::invalid(
                    "patientKey and subSystem are at most 128 characters",
                ));
            }
            // The form keys are stored in (NFC), so that any form finds them.
            PatientFilter::ByKey {
                key: nfc(k),
                sub_system: sub.map(nfc),
            }
        }
        (None, Some(id), None) => match extract::id("patientId", Some(id))? {
            Some(id) => PatientFilter::ById(id),
            None => PatientFilter::All,
        },
        (None, None, None) => PatientFilter::All,
    };
    let status = q
        .get("status")?
        .map(|s| {
            R::parse_status(&s.to_ascii_uppercase())
                .ok_or_else(|| Error::invalid("status is not a status of this resource"))
        })
        .transpose()?;
    let limit = page_limit(q.get("limit")?)?;
    let mut req = ListRequest::new(patient, status, limit);
    req.cursor = extract::cursor(q.get("cursor")?)?;
    Ok(req)
}

/// A list's `limit`: 1 to 100, 20 when not given.
fn page_limit(raw: Option<&str>) -> Result<usize> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}"
                ))
            }),
    }
}

// ---- responses ---------------------------------------------------------------

/// `201` with `{name: resource, patientId}`, as a creation stores it for
/// replays.
fn created(name: &str, resource: Value, patient: &PatientId) -> Result<StoredResponse> {
    let body = json!({ name: resource, "patientId": patient });
    Ok(StoredResponse {
        status: StatusCode::CREATED.as_u16(),
        body: serde_json::to_string(&body).map_err(|e| Error::internal(e.to_string()))?,
    })
}

fn outcome_response(outcome: Outcome) -> Response {
    let (stored, replayed) = match outcome {
        Outcome::Created(r) => (r, false),
        Outcome::Replayed(r) => (r, true),
    };
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::CREATED);
    let mut res = (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        stored.body,
    )
        .into_response();
    if replayed {
        res.headers_mut()
            .insert(REPLAYED, HeaderValue::from_static("true"));
    }
    res
}

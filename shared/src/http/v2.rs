//! The v2 resource API (seed 001): consultations and follow-ups with the
//! patient inline, read, list, cancel, and presigned embed URLs.
//!
//! Every endpoint authenticates as the v1 vendor API does (`Api-key`,
//! `X-Tenant-Key`) and answers errors in the seed-002 shape. The acting
//! employee (`x-integration-user` header or body `user`) is upserted by the
//! calls that create something or issue a launch; the others only check
//! that a header given is well-formed.
//!
//! Why the resource bodies are rendered here and handed to the service as a
//! closure: a creation stores its exact response with its idempotency record,
//! in the same transaction as the entity, so the service must hold the
//! final body before it writes.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::extract::{JsonObject, QueryParams};
use crate::app::{App, AppState};
use crate::clock::iso_ms;
use crate::domain::consultation::{
    Answer, Consultation, ConsultationStatus, Delivery, Followup, FollowupStatus,
};
use crate::domain::fields::Fields;
use crate::domain::patient::PatientInput;
use crate::domain::reasons;
use crate::domain::user::IntegrationUser;
use crate::domain::{Locale, View};
use crate::error::{Error, Result};
use crate::services::auth::Caller;
use crate::services::consultations::{self, Listing};
use crate::services::idempotency::{Idempotency, IdempotencyKey, StoredResponse};
use crate::services::launch::{self, LaunchRequest};
use crate::services::v2::{
    self as service, ConsultationFields, Creation, FollowupFields, ListRequest, Outcome,
    PatientFilter,
};
use crate::store::Cursor;

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

/// The header of a creating `POST`.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on a response replayed for a repeated `Idempotency-Key`.
pub const REPLAYED: &str = "idempotent-replayed";

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;

/// `/v2/consultations…` and `/v2/consultation-reasons` (Lambda `v2-consultations`).
pub fn consultations_routes() -> Router<AppState> {
    Router::new()
        .route(REASONS, get(consultation_reasons))
        .route(
            CONSULTATIONS,
            get(list_consultations).post(create_consultation),
        )
        .route(CONSULTATION, get(get_consultation))
        .route(CONSULTATION_CANCEL, post(cancel_consultation))
}

/// `/v2/followups…` (Lambda `v2-followups`).
pub fn followups_routes() -> Router<AppState> {
    Router::new()
        .route(FOLLOWUPS, get(list_followups).post(create_followup))
        .route(FOLLOWUP, get(get_followup))
        .route(FOLLOWUP_CANCEL, post(cancel_followup))
}

/// `POST /v2/embed/{consultation|followup}/{answer|details}` (Lambda `v2-embed`).
pub fn embed_routes() -> Router<AppState> {
    Router::new()
        .route(EMBED_CONSULTATION_ANSWER, post(embed_consultation_answer))
        .route(EMBED_CONSULTATION_DETAILS, post(embed_consultation_details))
        .route(EMBED_FOLLOWUP_ANSWER, post(embed_followup_answer))
        .route(EMBED_FOLLOWUP_DETAILS, post(embed_followup_details))
}

// ---- requests ----------------------------------------------------------------

use super::vendor::{caller, integration_user, json_response};

/// Who a request acts as, for its idempotency fingerprint.
fn acting_user(caller: &Caller, user: Option<&IntegrationUser>) -> Value {
    match user {
        None => json!({ "userId": caller.key.owner_user_id.as_str() }),
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
                Error::bad_request("Idempotency-Key must be 1 to 255 printable characters")
            })?;
            IdempotencyKey::parse(raw).map(Some)
        }
    }
}

fn valid_id(v: &str) -> bool {
    (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An id in the body: required, and shaped like one of ours.
fn body_id(f: &Fields, name: &str) -> Result<String> {
    match f.opt_str(name, 64)? {
        None => Err(Error::bad_request(format!("{name} is required"))),
        Some(v) if valid_id(&v) => Ok(v),
        Some(_) => Err(Error::bad_request(format!(
            "{name} must be 1 to 64 letters, digits, '-' or '_'"
        ))),
    }
}

fn locale(f: &Fields) -> Result<Option<Locale>> {
    f.opt_str("locale", 2)?
        .map(|l| Locale::parse(&l).ok_or_else(|| Error::bad_request("locale must be en or fr")))
        .transpose()
}

fn patient_input(app: &App, body: &Map<String, Value>) -> Result<PatientInput> {
    let patient = body
        .get("patient")
        .ok_or_else(|| Error::bad_request("Invalid request: patient is required"))?;
    PatientInput::from_json(patient, &iso_ms(app.now_ms())[..10])
}

fn creation(
    caller: &Caller,
    headers: &HeaderMap,
    body: &Map<String, Value>,
    path: &str,
    patient: PatientInput,
) -> Result<Creation> {
    let user = integration_user(headers, Some(body))?;
    let idempotency = idempotency_key(headers)?.map(|key| {
        Idempotency::new(
            &caller.franchise.tenant_key,
            &key,
            "POST",
            path,
            &Value::Object(body.clone()),
            &acting_user(caller, user.as_ref()),
        )
    });
    Ok(Creation {
        patient,
        user,
        idempotency,
    })
}

// ---- responses ---------------------------------------------------------------

fn created(body: &Value) -> Result<StoredResponse> {
    Ok(StoredResponse {
        status: StatusCode::CREATED.as_u16(),
        body: serde_json::to_string(body).map_err(|e| Error::internal(e.to_string()))?,
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

fn iso(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |m| iso_ms(m).into())
}

fn delivery_json(d: Option<&Delivery>) -> Value {
    d.map_or(Value::Null, |d| {
        json!({
            "channel": d.channel,
            "status": d.status,
            "at": iso_ms(d.at),
        })
    })
}

fn answers_json(answers: &[Answer]) -> Value {
    answers
        .iter()
        .map(|a| json!({"questionId": a.question_id, "value": a.value}))
        .collect()
}

/// The consultation resource; `answers` only when reading one.
pub fn consultation_json(c: &Consultation, with_answers: bool) -> Value {
    let mut v = json!({
        "consultationId": c.consultation_id,
        "patientId": c.patient_id,
        "status": c.status.as_str(),
        "reasonCode": c.reason_code,
        "metadata": c.metadata,
        "createdAt": iso_ms(c.created_at),
        "updatedAt": iso_ms(c.updated_at),
        "sentAt": iso(c.sent_at),
        "answeredAt": iso(c.answered_at),
        "version": c.version,
        "delivery": delivery_json(c.delivery.as_ref()),
    });
    if with_answers {
        v["answers"] = answers_json(&c.answers);
    }
    v
}

/// The follow-up resource; `answers` only when reading one.
pub fn followup_json(f: &Followup, with_answers: bool) -> Value {
    let mut v = json!({
        "followupId": f.followup_id,
        "patientId": f.patient_id,
        "consultationId": f.consultation_id,
        "status": f.status.as_str(),
        "reasonCode": f.reason_code,
        "dueDate": f.due_date,
        "frequency": f.frequency,
        "notes": f.notes,
        "metadata": f.metadata,
        "createdAt": iso_ms(f.created_at),
        "updatedAt": iso_ms(f.updated_at),
        "doneAt": iso(f.done_at),
        "version": f.version,
    });
    if with_answers {
        v["answers"] = answers_json(&f.answers);
    }
    v
}

fn listing_json<T>(listing: &Listing<T>, render: impl Fn(&T) -> Value) -> Result<Value> {
    let next = match &listing.next {
        None => Value::Null,
        Some(c) => encode_cursor(c)?.into(),
    };
    Ok(json!({
        "items": listing.items.iter().map(render).collect::<Vec<_>>(),
        "nextCursor": next,
    }))
}

/// Opaque to vendors: base64url of the store's cursor. Not signed — the
/// service checks that it continues the list it is given to, in this
/// franchise, so a forged one can only skip within the caller's own data.
fn encode_cursor(c: &Cursor) -> Result<String> {
    let text = serde_json::to_vec(c).map_err(|e| Error::internal(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(text))
}

fn decode_cursor(raw: &str) -> Result<Cursor> {
    let bad =
        || Error::bad_request("cursor is invalid: pass the nextCursor of the same list unchanged");
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

// ---- consultations -------------------------------------------------------------

/// `GET /v2/consultation-reasons`: the catalogue, both languages.
pub async fn consultation_reasons(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response> {
    caller(&app, &headers).await?;
    integration_user(&headers, None)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "reasons": reasons::catalogue() }),
    ))
}

/// `POST /v2/consultations`: `{patient, reason?, metadata?, send?, user?}`.
pub async fn create_consultation(
    State(app): State<AppState>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let caller = caller(&app, &headers).await?;
    let f = Fields::new("request", &body);
    let reason_code = f.opt_str("reason", 64)?;
    let metadata = consultations::check_metadata(body.get("metadata"))?;
    let send = match body.get("send") {
        None | Some(Value::Null) => reason_code.is_some(),
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(f.error("send", "must be true or false")),
    };
    let patient = patient_input(&app, &body)?;
    let c = creation(&caller, &headers, &body, CONSULTATIONS, patient)?;
    let fields = ConsultationFields {
        reason_code,
        metadata,
        send,
    };
    let outcome = service::create_consultation(&app, &caller, &c, &fields, |c| {
        created(&json!({
            "consultation": consultation_json(c, false),
            "patientId": c.patient_id,
        }))
    })
    .await?;
    Ok(outcome_response(outcome))
}

/// `GET /v2/consultations/{consultationId}`, with its answers.
pub async fn get_consultation(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    let caller = caller(&app, &headers).await?;
    integration_user(&headers, None)?;
    if !valid_id(&id) {
        return Err(Error::not_found("Consultation not found"));
    }
    let c = consultations::consultation(&app, &caller.franchise.tenant_key, &id).await?;
    Ok(json_response(StatusCode::OK, &consultation_json(&c, true)))
}

/// `POST /v2/consultations/{consultationId}/cancel`.
pub async fn cancel_consultation(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    let caller = caller(&app, &headers).await?;
    integration_user(&headers, None)?;
    if !valid_id(&id) {
        return Err(Error::not_found("Consultation not found"));
    }
    let (c, _) = consultations::move_consultation(
        &app,
        &caller.franchise.tenant_key,
        &id,
        ConsultationStatus::Cancelled,
    )
    .await?;
    Ok(json_response(StatusCode::OK, &consultation_json(&c, false)))
}

/// `GET /v2/consultations?patientKey|patientId&subSystem&status&limit&cursor`.
pub async fn list_consultations(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let caller = caller(&app, &headers).await?;
    integration_user(&headers, None)?;
    let req = list_request(q.as_deref(), |s| {
        ConsultationStatus::parse(s).map(ConsultationStatus::as_str)
    })?;
    let listing = service::list_consultations(&app, &caller.franchise.tenant_key, &req).await?;
    let body = listing_json(&listing, |c| consultation_json(c, false))?;
    Ok(json_response(StatusCode::OK, &body))
}

/// The common query of both lists; `status` parses a status's name.
fn list_request(
    raw: Option<&str>,
    status: impl Fn(&str) -> Option<&'static str>,
) -> Result<ListRequest> {
    let q = QueryParams::parse(raw)?;
    let patient = match (
        q.get("patientKey")?,
        q.get("patientId")?,
        q.get("subSystem")?,
    ) {
        (Some(_), Some(_), _) => {
            return Err(Error::bad_request("Give patientKey or patientId, not both"));
        }
        (None, _, Some(_)) => return Err(Error::bad_request("subSystem needs patientKey")),
        (Some(k), None, sub) => {
            if k.chars().count() > 128 || sub.is_some_and(|s| s.chars().count() > 128) {
                return Err(Error::bad_request(
                    "patientKey and subSystem are at most 128 characters",
                ));
            }
            PatientFilter::ByKey {
                key: k.to_owned(),
                sub_system: sub.map(str::to_owned),
            }
        }
        (None, Some(id), None) if valid_id(id) => PatientFilter::ById(id.to_owned()),
        (None, Some(_), None) => {
            return Err(Error::bad_request(
                "patientId must be 1 to 64 letters, digits, '-' or '_'",
            ));
        }
        (None, None, None) => PatientFilter::All,
    };
    let status = q
        .get("status")?
        .map(|s| {
            status(&s.to_ascii_uppercase())
                .map(str::to_owned)
                .ok_or_else(|| Error::bad_request("status is not a status of this resource"))
        })
        .transpose()?;
    let limit = match q.get("limit")? {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                Error::bad_request(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}"
                ))
            })?,
    };
    let after = q.get("cursor")?.map(decode_cursor).transpose()?;
    Ok(ListRequest {
        patient,
        status,
        limit,
        after,
    })
}

// ---- follow-ups ------------------------------------------------------------------

/// `POST /v2/followups`: `{patient, dueDate, reason?, frequency?, notes?,
/// consultationId?, metadata?, user?}`.
pub async fn create_followup(
    State(app): State<AppState>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let caller = caller(&app, &headers).await?;
    let f = Fields::new("request", &body);
    let due_date = f
        .opt_str("dueDate", 10)?
        .ok_or_else(|| f.error("dueDate", "is required"))?;
    let consultation_id = match f.opt_str("consultationId", 64)? {
        Some(id) if !valid_id(&id) => {
            return Err(f.error(
                "consultationId",
                "must be 1 to 64 letters, digits, '-' or '_'",
            ));
        }
        id => id,
    };
    let fields = FollowupFields {
        consultation_id,
        reason_code: f.opt_str("reason", 64)?,
        due_date,
        frequency: f.opt_str("frequency", 16)?.unwrap_or_else(|| "once".into()),
        notes: f.opt_str("notes", 1000)?,
        metadata: consultations::check_metadata(body.get("metadata"))?,
    };
    let patient = patient_input(&app, &body)?;
    let c = creation(&caller, &headers, &body, FOLLOWUPS, patient)?;
    let outcome = service::create_followup(&app, &caller, &c, &fields, |f| {
        created(&json!({
            "followup": followup_json(f, false),
            "patientId": f.patient_id,
        }))
    })
    .await?;
    Ok(outcome_response(outcome))
}

/// `GET /v2/followups/{followupId}`, with its answers.
pub async fn get_followup(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    let caller = caller(&app, &headers).await?;
    integration_user(&headers, None)?;
    if !valid_id(&id) {
        return Err(Error::not_found("Follow-up not found"));
    }
    let f = consultations::followup(&app, &caller.franchise.tenant_key, &id).await?;
    Ok(json_response(StatusCode::OK, &followup_json(&f, true)))
}

/// `POST /v2/followups/{followupId}/cancel`.
pub async fn cancel_followup(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    let caller = caller(&app, &headers).await?;
    integration_user(&headers, None)?;
    if !valid_id(&id) {
        return Err(Error::not_found("Follow-up not found"));
    }
    let (f, _) = consultations::move_followup(
        &app,
        &caller.franchise.tenant_key,
        &id,
        FollowupStatus::Cancelled,
        None,
    )
    .await?;
    Ok(json_response(StatusCode::OK, &followup_json(&f, false)))
}

/// `GET /v2/followups?patientKey|patientId&subSystem&status&limit&cursor`.
pub async fn list_followups(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let caller = caller(&app, &headers).await?;
    integration_user(&headers, None)?;
    let req = list_request(q.as_deref(), |s| {
        FollowupStatus::parse(s).map(FollowupStatus::as_str)
    })?;
    let listing = service::list_followups(&app, &caller.franchise.tenant_key, &req).await?;
    let body = listing_json(&listing, |f| followup_json(f, false))?;
    Ok(json_response(StatusCode::OK, &body))
}

// ---- embed ---------------------------------------------------------------------

/// Issues a launch of `view` for the resource named `id_field` in the body
/// (`consultationId` or `followupId`): `{userId, iframeUrl, expiresAt}`.
async fn embed(
    app: &App,
    headers: &HeaderMap,
    body: &Map<String, Value>,
    view: View,
    id_field: &str,
) -> Result<Response> {
    let caller = caller(app, headers).await?;
    let f = Fields::new("request", body);
    let id = body_id(&f, id_field)?;
    let mut req = LaunchRequest::new(view);
    if id_field == "followupId" {
        req.followup_id = Some(id);
    } else {
        req.consultation_id = Some(id);
    }
    req.locale = locale(&f)?;
    req.user = integration_user(headers, Some(body))?;
    let launch = launch::issue(app, &caller, &req).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "userId": launch.user_id.as_str(),
            "iframeUrl": launch.iframe_url,
            "expiresAt": iso_ms(launch.expires_at),
        }),
    ))
}

/// `POST /v2/embed/consultation/answer`: the patient's questionnaire.
pub async fn embed_consultation_answer(
    State(app): State<AppState>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    embed(
        &app,
        &headers,
        &body,
        View::ConsultationAnswer,
        "consultationId",
    )
    .await
}

/// `POST /v2/embed/consultation/details`: the staff's details view.
pub async fn embed_consultation_details(
    State(app): State<AppState>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    embed(
        &app,
        &headers,
        &body,
        View::ConsultationDetails,
        "consultationId",
    )
    .await
}

/// `POST /v2/embed/followup/answer`. There is no patient-facing follow-up
/// view yet: this opens the follow-up's details view (employee role), the
/// only view scoped to one follow-up, until one exists.
pub async fn embed_followup_answer(
    State(app): State<AppState>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    embed(&app, &headers, &body, View::FollowupDetails, "followupId").await
}

/// `POST /v2/embed/followup/details`.
pub async fn embed_followup_details(
    State(app): State<AppState>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    embed(&app, &headers, &body, View::FollowupDetails, "followupId").await
}

//! `GET /v2/consultation-reasons` and `POST /v2/consultations`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::resources::consultation_json;
use super::{CONSULTATIONS, created, creation, known_reason, outcome_response};
use crate::app::AppState;
use crate::domain::reasons;
use crate::error::Result;
use crate::http::extract::{JsonObject, caller};
use crate::http::reply::json_response;
use crate::http::wire::{Fields, integration_user, metadata};
use crate::services::creation::{self as service, ConsultationFields};

/// `GET /v2/consultation-reasons`: the catalogue, both languages.
pub async fn reasons(State(app): State<AppState>, headers: HeaderMap) -> Result<Response> {
    caller(&app, &headers).await?;
    integration_user(&headers, None)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "reasons": reasons::catalogue() }),
    ))
}

/// `POST /v2/consultations`: `{patient, reason?, metadata?, send?, user?}`.
pub async fn create(
    State(app): State<AppState>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let caller = caller(&app, &headers).await?;
    let f = Fields::new("request", &body);
    let reason = f.opt_str("reason", 64)?;
    let metadata = metadata(body.get("metadata"))?;
    let send = match body.get("send") {
        None | Some(Value::Null) => reason.is_some(),
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(f.error("send", "must be true or false")),
    };
    let c = creation(&app, &caller, &headers, &body, CONSULTATIONS)?;
    let fields = ConsultationFields {
        reason_code: known_reason(reason)?,
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

//! `GET /v2/consultation-reasons` and `POST /v2/consultations`.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::resources::consultation_json;
use super::{CONSULTATIONS, created, creation, known_reason, outcome_response};
use crate::domain::{Consultation, reasons};
use crate::error::Result;
use crate::http::extract::{Vendor, VendorKeyJson};
use crate::http::reply::json_response;
use crate::http::wire::{Fields, integration_user, metadata};
use crate::services::creation::{self as service, ConsultationFields};

/// `GET /v2/consultation-reasons`: the catalogue, both languages.
pub async fn reasons(v: Vendor) -> Result<Response> {
    integration_user(&v.headers, None)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "reasons": reasons::catalogue() }),
    ))
}

/// `POST /v2/consultations`: `{patient, reason?, metadata?, send?, user?}`.
pub async fn create(VendorKeyJson { vendor: v, body }: VendorKeyJson) -> Result<Response> {
    let f = Fields::new("request", &body);
    let reason = f.opt_str("reason", 64)?;
    let metadata = metadata(body.get("metadata"))?;
    let send = match body.get("send") {
        None | Some(Value::Null) => reason.is_some(),
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(f.error("send", "must be true or false")),
    };
    let c = creation(&v, &body, CONSULTATIONS)?;
    let fields = ConsultationFields {
        reason_code: known_reason(reason)?,
        metadata,
        send,
    };
    let respond =
        |c: &Consultation| created("consultation", consultation_json(c, false), &c.patient_id);
    let outcome = service::create_consultation(&v.app, &v.auth, &c, &fields, respond).await?;
    Ok(outcome_response(outcome))
}

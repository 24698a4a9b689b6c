//! `POST /v2/followups`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;

use super::resources::followup_json;
use super::{FOLLOWUPS, created, creation, known_reason, outcome_response};
use crate::app::AppState;
use crate::domain::ids::ID_RULE;
use crate::domain::{ConsultationId, Frequency};
use crate::error::Result;
use crate::http::extract::{self, JsonObject, caller};
use crate::http::wire::{Fields, metadata};
use crate::services::creation::{self as service, FollowupFields};

/// `POST /v2/followups`: `{patient, dueDate, reason?, frequency?, notes?,
/// consultationId?, metadata?, user?}`.
pub async fn create(
    State(app): State<AppState>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let caller = caller(&app, &headers).await?;
    let f = Fields::new("request", &body);
    let due_date = f.required("dueDate", f.opt_str("dueDate", 10)?)?;
    let consultation_id = f.opt_parsed(
        "consultationId",
        64,
        ConsultationId::parse,
        &format!("must be {ID_RULE}"),
    )?;
    let reason = f.opt_str("reason", 64)?;
    let frequency = f.opt_str("frequency", 16)?;
    let notes = f.opt_str("notes", 1000)?;
    let metadata = metadata(body.get("metadata"))?;
    let c = creation(&app, &caller, &headers, &body, FOLLOWUPS)?;
    let fields = FollowupFields {
        consultation_id,
        reason_code: known_reason(reason)?,
        due_date: extract::due_date(&due_date)?,
        frequency: frequency
            .as_deref()
            .map(extract::frequency)
            .transpose()?
            .unwrap_or(Frequency::Once),
        notes,
        metadata,
    };
    let outcome = service::create_followup(&app, &caller, &c, &fields, |f| {
        created(&json!({
            "followup": followup_json(f, false),
            "patientId": f.patient_id,
        }))
    })
    .await?;
    Ok(outcome_response(outcome))
}

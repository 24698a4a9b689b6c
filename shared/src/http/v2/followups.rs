//! `POST /v2/followups`.

use axum::response::Response;

use super::resources::followup_json;
use super::{FOLLOWUPS, created, creation, known_reason, outcome_response};
use crate::domain::ids::ID_RULE;
use crate::domain::{ConsultationId, Followup, Frequency};
use crate::error::Result;
use crate::http::extract::{self, VendorKeyJson};
use crate::http::wire::{Fields, metadata};
use crate::services::creation as service;
use crate::services::followups::FollowupPlan;

/// `POST /v2/followups`: `{patient, dueDate, reason?, frequency?, notes?,
/// consultationId?, metadata?, user?}`.
pub async fn create(VendorKeyJson { vendor: v, body }: VendorKeyJson) -> Result<Response> {
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
    let c = creation(&v, &body, FOLLOWUPS)?;
    let plan = FollowupPlan {
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
    let respond = |f: &Followup| created("followup", followup_json(f, false), &f.patient_id);
    let outcome = service::create_followup(&v.app, &v.auth, &c, &plan, respond).await?;
    Ok(outcome_response(outcome))
}

//! `POST /v2/patients/sso` (API key): upserts the patient by key and
//! answers its SSO token; `DELETE /v2/patients/sso/{tokenId}` revokes one;
//! `POST /v2/patients/logout` (a patient's token) ends that token.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use serde_json::json;

use super::{Clinic, ClinicJson, PATIENTS_LOGOUT, PATIENTS_SSO, PATIENTS_SSO_TOKEN};
use crate::app::AppState;
use crate::clock::{day_of, iso_ms};
use crate::error::{Error, Result};
use crate::http::extract;
use crate::http::reply::json_response;
use crate::http::wire::patient_of;
use crate::services::clinic::{Actor, tokens};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PATIENTS_SSO, post(issue))
        .route(PATIENTS_SSO_TOKEN, delete(revoke))
        .route(PATIENTS_LOGOUT, post(logout))
}

async fn issue(ClinicJson { clinic: c, body }: ClinicJson) -> Result<Response> {
    c.vendor_only()?;
    let caller = extract::caller(&c.app, &c.headers).await?;
    let patient = patient_of(&body, day_of(c.app.now_ms()))?;
    let ttl =
        match body.get("expiresInSeconds") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(super::wire::whole_number(v).ok_or_else(|| {
                Error::invalid("expiresInSeconds must be a whole number of seconds")
            })?),
        };
    let (patient_id, issued) = tokens::issue_sso(&c.app, &caller, &patient, ttl).await?;
    let body = json!({
        "patientId": patient_id,
        "token": {
            "tokenId": issued.record.token_id,
            "token": issued.token,
            "expiresAt": iso_ms(issued.record.expires_at),
        },
    });
    Ok(json_response(StatusCode::OK, &body))
}

async fn revoke(c: Clinic, Path(token_id): Path<String>) -> Result<Response> {
    c.vendor_only()?;
    tokens::revoke(&c.app, c.actor.tenant(), &token_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn logout(c: Clinic) -> Result<Response> {
    match &c.actor {
        Actor::Patient { token_id, .. } | Actor::Guest { token_id, .. } => {
            tokens::revoke(&c.app, c.actor.tenant(), token_id).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(Error::forbidden("Log out with the patient's token")),
    }
}

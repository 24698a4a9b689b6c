//! The two resources, consultations and follow-ups: their JSON, and the
//! handlers they share (get one, cancel one, list), written once over the
//! [`Resource`] trait.

use std::future::Future;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::list_request;
use crate::app::{App, AppState};
use crate::clock::iso_ms;
use crate::domain::ids::Id;
use crate::domain::{
    Answer, Consultation, ConsultationId, ConsultationStatus, Delivery, Followup, FollowupId,
    FollowupStatus, TenantKey,
};
use crate::error::{Error, Result};
use crate::http::extract::caller;
use crate::http::reply::json_response;
use crate::http::wire::integration_user;
use crate::services::lists::{self, ListRequest, Listing};
use crate::services::{consultations, followups};

/// What the shared handlers need of a resource.
pub trait Resource: Sized + Send + Sync + 'static {
    type Id: Id + Send + Sync;
    type Status: Copy + Send + Sync + 'static;
    /// The `404` of an unknown id.
    const NOT_FOUND: &'static str;

    fn parse_status(s: &str) -> Option<Self::Status>;
    fn get(
        app: &App,
        tenant: &TenantKey,
        id: &Self::Id,
    ) -> impl Future<Output = Result<Self>> + Send;
    fn cancel(
        app: &App,
        tenant: &TenantKey,
        id: &Self::Id,
    ) -> impl Future<Output = Result<Self>> + Send;
    fn list(
        app: &App,
        tenant: &TenantKey,
        req: &ListRequest<Self::Status>,
    ) -> impl Future<Output = Result<Listing<Self>>> + Send;
    /// The resource's JSON; `answers` only when reading one.
    fn json(&self, with_answers: bool) -> Value;
}

impl Resource for Consultation {
    type Id = ConsultationId;
    type Status = ConsultationStatus;
    const NOT_FOUND: &'static str = "Consultation not found";

    fn parse_status(s: &str) -> Option<Self::Status> {
        ConsultationStatus::parse(s)
    }
    async fn get(app: &App, tenant: &TenantKey, id: &Self::Id) -> Result<Self> {
        consultations::consultation(app, tenant, id).await
    }
    async fn cancel(app: &App, tenant: &TenantKey, id: &Self::Id) -> Result<Self> {
        let to = ConsultationStatus::Cancelled;
        Ok(consultations::move_consultation(app, tenant, id, to)
            .await?
            .0)
    }
    async fn list(
        app: &App,
        tenant: &TenantKey,
        req: &ListRequest<Self::Status>,
    ) -> Result<Listing<Self>> {
        lists::list_consultations(app, tenant, req).await
    }
    fn json(&self, with_answers: bool) -> Value {
        consultation_json(self, with_answers)
    }
}

impl Resource for Followup {
    type Id = FollowupId;
    type Status = FollowupStatus;
    const NOT_FOUND: &'static str = "Follow-up not found";

    fn parse_status(s: &str) -> Option<Self::Status> {
        FollowupStatus::parse(s)
    }
    async fn get(app: &App, tenant: &TenantKey, id: &Self::Id) -> Result<Self> {
        followups::followup(app, tenant, id).await
    }
    async fn cancel(app: &App, tenant: &TenantKey, id: &Self::Id) -> Result<Self> {
        let to = FollowupStatus::Cancelled;
        Ok(followups::move_followup(app, tenant, id, to, None).await?.0)
    }
    async fn list(
        app: &App,
        tenant: &TenantKey,
        req: &ListRequest<Self::Status>,
    ) -> Result<Listing<Self>> {
        lists::list_followups(app, tenant, req).await
    }
    fn json(&self, with_answers: bool) -> Value {
        followup_json(self, with_answers)
    }
}

/// The id in the path: one that cannot be ours is simply not found.
fn path_id<R: Resource>(raw: &str) -> Result<R::Id> {
    <R::Id as Id>::parse(raw).ok_or_else(|| Error::not_found(R::NOT_FOUND))
}

/// `GET /v2/{resources}/{id}`, with its answers.
pub async fn get_one<R: Resource>(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    let caller = caller(&app, &headers).await?;
    integration_user(&headers, None)?;
    let r = R::get(&app, caller.tenant(), &path_id::<R>(&id)?).await?;
    Ok(json_response(StatusCode::OK, &r.json(true)))
}

/// `POST /v2/{resources}/{id}/cancel`.
pub async fn cancel<R: Resource>(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    let caller = caller(&app, &headers).await?;
    integration_user(&headers, None)?;
    let r = R::cancel(&app, caller.tenant(), &path_id::<R>(&id)?).await?;
    Ok(json_response(StatusCode::OK, &r.json(false)))
}

/// `GET /v2/{resources}?patientKey|patientId&subSystem&status&limit&cursor`:
/// `{items, nextCursor}`.
pub async fn list<R: Resource>(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let caller = caller(&app, &headers).await?;
    integration_user(&headers, None)?;
    let req = list_request::<R>(q.as_deref())?;
    let listing = R::list(&app, caller.tenant(), &req).await?;
    let body = json!({
        "items": listing.items.iter().map(|r| r.json(false)).collect::<Vec<_>>(),
        "nextCursor": listing.next,
    });
    Ok(json_response(StatusCode::OK, &body))
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

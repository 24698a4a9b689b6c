//! The two resources, consultations and follow-ups: their JSON, and the
//! handlers they share (get one, cancel one, list), written once over the
//! [`Resource`] trait.

use std::future::Future;

use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
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
use crate::http::extract::{Vendor, VendorKey};
use crate::http::reply::json_response;
use crate::http::wire::integration_user;
use crate::services::lists::{self, Listable};
use crate::services::{consultations, followups};

/// What the shared handlers need of a resource (its lists are
/// `lists::Listable`'s).
pub trait Resource: Listable {
    type Id: Id + Send + Sync;
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
    /// The resource's JSON; `answers` only when reading one.
    fn json(&self, with_answers: bool) -> Value;
}

// The two resources, alike by design: each says where its operations are.
impl Resource for Consultation {
    type Id = ConsultationId;
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
    fn json(&self, with_answers: bool) -> Value {
        consultation_json(self, with_answers)
    }
}

impl Resource for Followup {
    type Id = FollowupId;
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
    fn json(&self, with_answers: bool) -> Value {
        followup_json(self, with_answers)
    }
}

/// The id in the path: one that cannot be ours is simply not found.
fn path_id<R: Resource>(raw: &str) -> Result<R::Id> {
    <R::Id as Id>::parse(raw).ok_or_else(|| Error::not_found(R::NOT_FOUND))
}

/// What is done to the one resource of a path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum One {
    /// `GET /v2/{resources}/{id}`, with its answers.
    Get,
    /// `POST /v2/{resources}/{id}/cancel`.
    Cancel,
}

async fn one<R: Resource>(v: Vendor, id: String, op: One) -> Result<Response> {
    integration_user(&v.headers, None)?;
    let id = path_id::<R>(&id)?;
    let tenant = v.caller.tenant();
    let r = match op {
        One::Get => R::get(&v.app, tenant, &id).await?,
        One::Cancel => R::cancel(&v.app, tenant, &id).await?,
    };
    Ok(json_response(StatusCode::OK, &r.json(op == One::Get)))
}

/// `GET /v2/{resources}/{id}`.
pub fn get_one<R: Resource>() -> MethodRouter<AppState> {
    get(|v: Vendor, Path(id): Path<String>| one::<R>(v, id, One::Get))
}

/// `POST /v2/{resources}/{id}/cancel`.
pub fn cancel<R: Resource>() -> MethodRouter<AppState> {
    post(|v: Vendor, Path(id): Path<String>| one::<R>(v, id, One::Cancel))
}

/// `GET /v2/{resources}?patientKey|patientId&subSystem&status&limit&cursor`:
/// `{items, nextCursor}`.
pub fn list<R: Resource>() -> MethodRouter<AppState> {
    get(|v: VendorKey, RawQuery(q): RawQuery| async move {
        integration_user(&v.headers, None)?;
        let req = list_request::<R>(q.as_deref())?;
        let req = lists::resolve_for_key(&v.app, &v.auth, req).await?;
        let listing = R::list(&v.app, v.auth.tenant(), &req).await?;
        let body = json!({
            "items": listing.items.iter().map(|r| r.json(false)).collect::<Vec<_>>(),
            "nextCursor": listing.next,
        });
        Ok::<_, Error>(json_response(StatusCode::OK, &body))
    })
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

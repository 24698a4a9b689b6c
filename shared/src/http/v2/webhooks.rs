//! `/v2/webhook-endpoints…`: a franchise's signed webhooks — create (the
//! secret shown once), list, read, change, delete, rotate the secret, and
//! the deliveries log.

use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::page_limit;
use crate::clock::iso_ms;
use crate::domain::EndpointId;
use crate::domain::ids::Id;
use crate::domain::subscription::{EndpointStatus, WebhookDelivery, WebhookEndpoint};
use crate::error::{Error, Result};
use crate::http::extract::{self, QueryParams, Vendor, VendorJson};
use crate::http::reply::json_response;
use crate::http::wire::{Fields, integration_user};
use crate::services::webhooks::{self, EndpointChange, NOT_FOUND, NewEndpoint};

/// An endpoint as the vendor sees it (never its secrets).
pub fn endpoint_json(e: &WebhookEndpoint) -> Value {
    json!({
        "endpointId": e.endpoint_id,
        "url": e.url,
        "eventTypes": e.event_types,
        "description": e.description,
        "status": e.status.as_str(),
        "disabledReason": e.disabled_reason,
        "failingSince": e.failing_since.map(iso_ms),
        "createdAt": iso_ms(e.created_at),
        "updatedAt": iso_ms(e.updated_at),
    })
}

/// A delivery in the log: never the body.
pub fn delivery_json(d: &WebhookDelivery) -> Value {
    json!({
        "eventId": d.event_id,
        "eventType": d.event_type,
        "endpointId": d.endpoint_id,
        "status": d.status.as_str(),
        "attempts": d.attempts,
        "responseCode": d.response_code,
        "durationMs": d.duration_ms,
        "error": d.error,
        "eventCreatedAt": iso_ms(d.event_at),
        "firstAttemptAt": d.first_attempt_at.map(iso_ms),
        "lastAttemptAt": d.last_attempt_at.map(iso_ms),
        "nextAttemptAt": d.next_attempt_at.map(iso_ms),
    })
}

/// A list of strings (`eventTypes`), when given.
pub fn strings(body: &Map<String, Value>, field: &str) -> Result<Option<Vec<String>>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Error::invalid(format!("{field} must be a list of strings")))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(_) => Err(Error::invalid(format!("{field} must be a list of strings"))),
    }
}

fn path_id(raw: &str) -> Result<EndpointId> {
    <EndpointId as Id>::parse(raw).ok_or_else(|| Error::not_found(NOT_FOUND))
}

/// `POST /v2/webhook-endpoints` `{url, eventTypes, description?}` → `201`
/// with the secret (shown once).
pub async fn create(VendorJson { vendor: v, body }: VendorJson) -> Result<Response> {
    integration_user(&v.headers, None)?;
    let f = Fields::new("request", &body);
    let url = f.required("url", f.opt_str("url", 2048)?)?;
    let types =
        strings(&body, "eventTypes")?.ok_or_else(|| f.error("eventTypes", "is required"))?;
    let description = f.opt_text("description", 500)?;
    let new = NewEndpoint {
        url: &url,
        event_types: &types,
        description: description.as_deref(),
    };
    let (e, secret) = webhooks::create_endpoint(&v.app, v.caller.tenant(), new).await?;
    let mut out = endpoint_json(&e);
    out["secret"] = secret.into();
    Ok(json_response(StatusCode::CREATED, &out))
}

/// `GET /v2/webhook-endpoints` → `{items}`.
pub async fn list(v: Vendor) -> Result<Response> {
    integration_user(&v.headers, None)?;
    let all = webhooks::list_endpoints(&v.app, v.caller.tenant()).await?;
    let items: Vec<Value> = all.iter().map(endpoint_json).collect();
    Ok(json_response(StatusCode::OK, &json!({ "items": items })))
}

/// `GET /v2/webhook-endpoints/{endpointId}`.
pub async fn get_one(v: Vendor, Path(id): Path<String>) -> Result<Response> {
    integration_user(&v.headers, None)?;
    let e = webhooks::endpoint(&v.app, v.caller.tenant(), &path_id(&id)?).await?;
    Ok(json_response(StatusCode::OK, &endpoint_json(&e)))
}

/// `PATCH /v2/webhook-endpoints/{endpointId}` `{url?, eventTypes?,
/// description?, status?}`.
pub async fn update(
    Path(id): Path<String>,
    VendorJson { vendor: v, body }: VendorJson,
) -> Result<Response> {
    integration_user(&v.headers, None)?;
    let id = path_id(&id)?;
    let f = Fields::new("request", &body);
    let change = EndpointChange {
        url: f.opt_str("url", 2048)?,
        event_types: strings(&body, "eventTypes")?,
        description: body
            .contains_key("description")
            .then(|| f.opt_text("description", 500))
            .transpose()?,
        status: f.opt_parsed(
            "status",
            16,
            EndpointStatus::parse,
            "must be enabled or disabled",
        )?,
    };
    let e = webhooks::update_endpoint(&v.app, v.caller.tenant(), &id, &change).await?;
    Ok(json_response(StatusCode::OK, &endpoint_json(&e)))
}

/// `DELETE /v2/webhook-endpoints/{endpointId}` → `204`.
pub async fn delete(v: Vendor, Path(id): Path<String>) -> Result<Response> {
    integration_user(&v.headers, None)?;
    webhooks::delete_endpoint(&v.app, v.caller.tenant(), &path_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v2/webhook-endpoints/{endpointId}/rotate-secret` → the endpoint
/// and its new secret (shown once); the old one signs beside it for 24 h.
pub async fn rotate(v: Vendor, Path(id): Path<String>) -> Result<Response> {
    integration_user(&v.headers, None)?;
    let (e, secret) = webhooks::rotate_secret(&v.app, v.caller.tenant(), &path_id(&id)?).await?;
    let mut out = endpoint_json(&e);
    out["secret"] = secret.into();
    Ok(json_response(StatusCode::OK, &out))
}

/// `GET /v2/webhook-endpoints/{endpointId}/deliveries?limit&cursor` →
/// `{items, nextCursor}`, the newest event first.
pub async fn deliveries(
    v: Vendor,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    integration_user(&v.headers, None)?;
    let id = path_id(&id)?;
    let q = QueryParams::parse(q.as_deref())?;
    let limit = page_limit(q.get("limit")?)?;
    let cursor = extract::cursor(q.get("cursor")?)?;
    let page =
        webhooks::deliveries(&v.app, v.caller.tenant(), &id, limit, cursor.as_deref()).await?;
    let items: Vec<Value> = page.items.iter().map(delivery_json).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "items": items, "nextCursor": page.next }),
    ))
}

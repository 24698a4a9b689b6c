//! `GET /v2/events` (the event list), `POST /v2/events/{eventId}/redeliver`,
//! and `/v2/event-queues…` (the queues of the subscription stream).

use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::page_limit;
use super::webhooks::{delivery_json, strings};
use crate::app::App;
use crate::clock::iso_ms;
use crate::domain::ids::Id;
use crate::domain::subscription::{EventQueue, TypePattern};
use crate::domain::{EndpointId, EventId};
use crate::error::{Error, Result};
use crate::http::extract::{self, QueryParams, Vendor, VendorJson, caller, header_str};
use crate::http::reply::json_response;
use crate::http::wire::{Fields, integration_user};
use crate::services::{event_list, event_queues, stream, webhooks};

/// `GET /v2/events?after&types&limit` → `{items, nextCursor, hasMore}`: the
/// events of the last 30 days, oldest first. `nextCursor` is where this
/// page stopped, also at the end: pass it as `after` later to get what
/// came since.
pub async fn list(v: Vendor, RawQuery(q): RawQuery) -> Result<Response> {
    integration_user(&v.headers, None)?;
    let q = QueryParams::parse(q.as_deref())?;
    let limit = page_limit(q.get("limit")?)?;
    let after = extract::cursor(q.get("after")?)?;
    let types: Vec<TypePattern> = match q.get("types")? {
        None => Vec::new(),
        Some(raw) => webhooks::type_patterns(
            &raw.split(',')
                .map(|t| t.trim().to_owned())
                .collect::<Vec<_>>(),
        )?,
    };
    let page = event_list::list(&v.app, v.caller.tenant(), after.as_deref(), &types, limit).await?;
    let items: Vec<&Value> = page.events.iter().map(|e| &e.detail).collect();
    let body = json!({
        "items": items,
        "nextCursor": page.cursor.or(after),
        "hasMore": page.has_more,
    });
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST /v2/events/{eventId}/redeliver?endpointId=` → `{eventId,
/// deliveries}`: the event again to one endpoint, or to every enabled
/// endpoint its type is for.
pub async fn redeliver(
    v: Vendor,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    integration_user(&v.headers, None)?;
    let event_id =
        <EventId as Id>::parse(&id).ok_or_else(|| Error::not_found("Event not found"))?;
    let q = QueryParams::parse(q.as_deref())?;
    let only: Option<EndpointId> = extract::id("endpointId", q.get("endpointId")?)?;
    let done = webhooks::redeliver(&v.app, v.caller.tenant(), &event_id, only.as_ref()).await?;
    let deliveries: Vec<Value> = done.iter().map(delivery_json).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "eventId": event_id, "deliveries": deliveries }),
    ))
}

fn queue_json(q: &EventQueue, connected: bool) -> Value {
    json!({
        "queueName": q.queue_name,
        "eventTypes": q.event_types,
        "connected": connected,
        "createdAt": iso_ms(q.created_at),
    })
}

/// `POST /v2/event-queues` `{queueName, eventTypes}` → `201`.
pub async fn create_queue(VendorJson { vendor: v, body }: VendorJson) -> Result<Response> {
    integration_user(&v.headers, None)?;
    let f = Fields::new("request", &body);
    let name = f.required("queueName", f.opt_str("queueName", 64)?)?;
    let types =
        strings(&body, "eventTypes")?.ok_or_else(|| f.error("eventTypes", "is required"))?;
    let q = event_queues::create_queue(&v.app, v.caller.tenant(), &name, &types).await?;
    Ok(json_response(StatusCode::CREATED, &queue_json(&q, false)))
}

/// `GET /v2/event-queues` → `{items}`.
pub async fn list_queues(v: Vendor) -> Result<Response> {
    integration_user(&v.headers, None)?;
    let all = event_queues::list_queues(&v.app, v.caller.tenant()).await?;
    let items: Vec<Value> = all.iter().map(|(q, c)| queue_json(q, *c)).collect();
    Ok(json_response(StatusCode::OK, &json!({ "items": items })))
}

/// `GET /v2/event-queues/{queueName}`.
pub async fn get_queue(v: Vendor, Path(name): Path<String>) -> Result<Response> {
    integration_user(&v.headers, None)?;
    let tenant = v.caller.tenant();
    let q = event_queues::queue(&v.app, tenant, &name).await?;
    let connected = event_queues::is_connected(&v.app, tenant, &q).await?;
    Ok(json_response(StatusCode::OK, &queue_json(&q, connected)))
}

/// `DELETE /v2/event-queues/{queueName}` → `204`.
pub async fn delete_queue(v: Vendor, Path(name): Path<String>) -> Result<Response> {
    integration_user(&v.headers, None)?;
    event_queues::delete_queue(&v.app, v.caller.tenant(), &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The key of `Authorization: api-key {key}`, else of `Api-key` (how a
/// stream client authenticates).
pub fn stream_api_key(headers: &HeaderMap) -> Option<String> {
    stream::api_key_of(
        header_str(headers, "authorization"),
        header_str(headers, "api-key"),
    )
}

/// `GET /v2/events/subscribe` that is not a WebSocket upgrade (or reaches
/// a server without the stream, e.g. the HTTP API in AWS, whose stream is
/// the WebSocket API): the API's answers, a bad key a `401`.
pub async fn not_upgraded(app: &App, headers: &HeaderMap) -> Response {
    let mut auth = headers.clone();
    if let Some(Ok(v)) = stream_api_key(headers).as_deref().map(str::parse) {
        auth.insert("api-key", v);
    }
    match caller(app, &auth).await {
        Err(e) => e.into_response(),
        Ok(_) => Error::invalid(
            "This endpoint is a WebSocket: connect with Upgrade: websocket (in AWS, to the stream's WebSocket URL)",
        )
        .into_response(),
    }
}

/// `GET /v2/events/subscribe` where the stream is not served.
pub async fn subscribe(
    axum::extract::State(app): axum::extract::State<crate::app::AppState>,
    headers: HeaderMap,
) -> Response {
    not_upgraded(&app, &headers).await
}

//! `GET /v2/events/subscribe?queue={name}` on the local server: the
//! subscription stream over axum's WebSocket (feature `local`; in AWS the
//! WebSocket API's routes run the same service, `services::stream`). The
//! socket's frames go out through the local connections registry, so the
//! service sends the same way here as through API Gateway.
//!
//! Authentication as the API's (`Authorization: api-key {key}` — or
//! `Api-key` — and `X-Tenant-Key`): a refused connection gets an `ERROR`
//! frame and a close with its code (4401 bad credentials, 4404 no such
//! queue, 4409 the queue already has a client). A connection without a
//! `PING` for 10 minutes (by the app's clock) is closed (1001).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};

use super::extract::{QueryParams, header_str};
use super::v2::events::{not_upgraded, stream_api_key};
use crate::app::AppState;
use crate::delivery::connections::{Connections, LocalConnections, Outbound};
use crate::domain::subscription::IDLE_MS;
use crate::services::stream::{self, IDLE};

/// How often a connection looks at the clock for idleness.
const IDLE_CHECK: Duration = Duration::from_millis(250);

/// What the local server adds to its router so that the subscribe route
/// upgrades: its connections registry.
pub fn connections_layer(connections: Arc<LocalConnections>) -> Extension<Arc<LocalConnections>> {
    Extension(connections)
}

/// `GET /v2/events/subscribe`: the stream when the request is an upgrade
/// and this server holds connections (the local server), else the API's
/// answer (a bad key is a `401`).
pub async fn subscribe(
    State(app): State<AppState>,
    connections: Option<Extension<Arc<LocalConnections>>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let key = stream_api_key(&headers);
    let tenant = header_str(&headers, "x-tenant-key").map(str::to_owned);
    let queue = QueryParams::parse(query.as_deref())
        .ok()
        .and_then(|q| q.get("queue").ok().flatten().map(str::to_owned));
    let (Ok(upgrade), Some(Extension(connections))) = (upgrade, connections) else {
        return not_upgraded(&app, &headers).await;
    };
    upgrade.on_upgrade(move |socket| serve(app, connections, socket, key, tenant, queue))
}

async fn serve(
    app: AppState,
    connections: Arc<LocalConnections>,
    socket: WebSocket,
    key: Option<String>,
    tenant: Option<String>,
    queue: Option<String>,
) {
    let (id, mut outbound) = connections.open();
    let (mut sink, mut incoming) = socket.split();
    let s = match stream::connect(
        &app,
        key.as_deref(),
        tenant.as_deref(),
        queue.as_deref(),
        &id,
    )
    .await
    {
        Ok(s) => s,
        Err(refusal) => {
            let _ = sink
                .send(Message::Text(
                    stream::error_frame(refusal.code, &refusal.message).into(),
                ))
                .await;
            let _ = sink.send(close(refusal.code, &refusal.message)).await;
            connections.forget(&id);
            return;
        }
    };
    // What the service sends, written in order.
    let writer = tokio::spawn(async move {
        while let Some(out) = outbound.recv().await {
            let msg = match out {
                Outbound::Text(t) => Message::Text(t.into()),
                Outbound::Close(code, reason) => {
                    let _ = sink.send(close(code, &reason)).await;
                    break;
                }
            };
            if sink.send(msg).await.is_err() {
                break;
            }
        }
    });
    if let Err(e) = stream::flush(&app, &s).await {
        tracing::warn!(error = %e, "the queue's waiting events were not all sent");
    }
    let mut last_ping = app.now_ms();
    let mut tick = tokio::time::interval(IDLE_CHECK);
    loop {
        tokio::select! {
            msg = incoming.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    if text.contains("\"PING\"") {
                        last_ping = app.now_ms();
                    }
                    if let Err(e) = stream::on_frame(&app, &s, &text).await {
                        tracing::warn!(error = %e, "a stream frame failed");
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    let _ = stream::on_frame(&app, &s, "").await;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
            },
            _ = tick.tick() => {
                if app.now_ms() - last_ping >= IDLE_MS {
                    let _ = connections.close(&id, IDLE, "idle: no PING for 10 minutes").await;
                    break;
                }
                if writer.is_finished() {
                    break;
                }
            }
        }
    }
    if let Err(e) = stream::disconnect(&app, &s).await {
        tracing::warn!(error = %e, "a stream's queue was not released");
    }
    connections.forget(&id);
    let _ = tokio::time::timeout(Duration::from_secs(1), writer).await;
}

fn close(code: u16, reason: &str) -> Message {
    let reason: String = reason.chars().take(100).collect();
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

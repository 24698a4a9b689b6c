//! `GET /v2/visits/{visitId}/live` on the local server: the visit's live
//! connection over axum's WebSocket (feature `local`; in AWS the
//! visit-live WebSocket API's routes run the same service,
//! `services::clinic::live`, through `lambda::visit_live`). Frames go out
//! through the local connections registry, as the subscription stream's.
//!
//! Credentials are those of the visit's other calls (`Authorization:
//! Bearer` or the API key with `x-integration-user`), or — what a
//! browser can send — the subprotocol `bearer.{token}` beside
//! `embedcare.live.v1`. Refused before the upgrade, in the error shape:
//! `401` bad credentials, `404` a visit out of reach (another visit's
//! guest, another franchise), `403` someone who is not one of its people.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};

use super::actor_of;
use crate::app::AppState;
use crate::delivery::connections::{Connections, LocalConnections, Outbound};
use crate::domain::clinic::LiveConnection;
use crate::domain::clinic::live::LIVE_TTL_MS;
use crate::error::Error;
use crate::services::clinic::{fanout, live, video};

/// The request's credentials, the subprotocol's token as a bearer one.
fn credentials(headers: &HeaderMap) -> HeaderMap {
    let mut h = headers.clone();
    let offered = h
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(live::protocol_token)
        .and_then(|t| HeaderValue::from_str(&format!("Bearer {t}")).ok());
    if let Some(v) = offered
        && !h.contains_key(header::AUTHORIZATION)
        && !h.contains_key("api-key")
    {
        h.insert(header::AUTHORIZATION, v);
    }
    h
}

/// `GET /v2/visits/{visitId}/live`.
pub async fn upgrade(
    State(app): State<AppState>,
    connections: Option<Extension<Arc<LocalConnections>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    // A signalling token of the room page's video (`services::clinic::video`)
    // holds for its visit; any other credential is the visit calls'.
    let offered = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(live::protocol_token);
    let signal = match offered {
        Some(t) => video::socket_actor(&app, t, &id).await,
        None => None,
    };
    let actor = match signal {
        Some(r) => r,
        None => actor_of(&app, &credentials(&headers)).await,
    };
    let actor = match actor {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let id = match live::visit_id(Some(&id)) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let (Ok(upgrade), Some(Extension(connections))) = (upgrade, connections) else {
        return Error::invalid("This endpoint is a WebSocket: connect with Upgrade: websocket")
            .into_response();
    };
    let (conn_id, outbound) = connections.open();
    let (c, v) = match live::connect(&app, &actor, &id, &conn_id).await {
        Ok(found) => found,
        Err(e) => {
            connections.forget(&conn_id);
            return e.into_response();
        }
    };
    let ready = match live::ready_frame(&app, &c, &v).await {
        Ok(ready) => ready,
        Err(e) => {
            let _ = live::disconnect(&app, &c).await;
            connections.forget(&conn_id);
            return e.into_response();
        }
    };
    upgrade
        .protocols([live::PROTOCOL])
        .on_upgrade(move |socket| serve(app, connections, socket, c, outbound, ready))
}

async fn serve(
    app: AppState,
    connections: Arc<LocalConnections>,
    socket: WebSocket,
    c: LiveConnection,
    mut outbound: tokio::sync::mpsc::UnboundedReceiver<Outbound>,
    ready: String,
) {
    let id = c.connection_id.clone();
    let (mut sink, mut incoming) = socket.split();
    let _ = connections.send(&id, &ready).await;
    let mut writer = tokio::spawn(async move {
        while let Some(out) = outbound.recv().await {
            let msg = match out {
                Outbound::Text(t) => Message::Text(t.into()),
                Outbound::Close(code, reason) => {
                    let frame = CloseFrame {
                        code,
                        reason: reason.chars().take(100).collect::<String>().into(),
                    };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    break;
                }
            };
            if sink.send(msg).await.is_err() {
                break;
            }
        }
    });
    // The items outlive the socket by their TTL only: renewed before.
    let mut renewal = tokio::time::interval(Duration::from_millis((LIVE_TTL_MS / 3) as u64));
    renewal.tick().await;
    loop {
        tokio::select! {
            msg = incoming.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let (reply, end) = match live::on_frame(&app, &c, &text).await {
                        Ok(reply) => (reply, false),
                        Err(e) => (Some(error_frame(&e)), live::ends_connection(&e)),
                    };
                    if let Some(r) = reply {
                        let _ = connections.send(&id, &r).await;
                    }
                    if end {
                        let _ = connections.close(&id, 4401, "Authentication failed").await;
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    let _ = connections.send(&id, &error_frame(&Error::invalid("Frames are text"))).await;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
            },
            _ = renewal.tick() => {
                if let Err(e) = live::renew(&app, &c).await {
                    tracing::warn!(error = %e, "a live connection was not renewed");
                }
            }
            _ = &mut writer => break,
        }
    }
    if let Err(e) = live::disconnect(&app, &c).await {
        tracing::warn!(error = %e, "a closed live connection was not forgotten");
    }
    connections.forget(&id);
    writer.abort();
}

/// An `error` frame for a refused client frame.
fn error_frame(e: &Error) -> String {
    let (code, message) = crate::http::error::frame_error(e);
    fanout::error_frame(code, &message)
}

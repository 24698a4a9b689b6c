//! The `visit-live` function's input: API Gateway WebSocket API events of
//! the visits' live connections (the room pages' sockets), by
//! `requestContext.routeKey`, on the same service as the local server's
//! socket (`services::clinic::live`):
//!
//! - `$connect` (`?visitId=`): the credentials of the visit's API calls
//!   (`Authorization: Bearer`, the API key with `x-integration-user`) or
//!   a browser's `Sec-WebSocket-Protocol: embedcare.live.v1,
//!   bearer.{token}`; only the visit's patient, provider and guests: a
//!   refusal fails the handshake with its status (401, 403, 404) and the
//!   `{code, message}` body; accepted, the answer names the subprotocol.
//!   The person's participant arrives (`JOINED`) and the visit's other
//!   connections are told (`presence`). Nothing can be posted before
//!   `$connect` returns: the client asks for the visit's state (and its
//!   people's presence, and `you`) with a `sync` frame;
//! - `$default`: one client frame (`chat`, `ping` — a heartbeat —, `sync`),
//!   its answer posted to the sender (`PostToConnection`), a chat message
//!   or a change of presence fanned out;
//! - `$disconnect`: the connection's items removed; the participant's
//!   last connection gone, they are `DISCONNECTED` and the others told.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::http::clinic::actor_of;
use crate::http::error::{frame_error, status};
use crate::services::clinic::{fanout, live, video};

/// The event's headers, a browser's subprotocol token as a bearer one.
fn headers_of(event: &Value) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in event["headers"].as_object().into_iter().flatten() {
        if let (Ok(k), Some(Ok(v))) = (
            HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()),
            v.as_str().map(HeaderValue::from_str),
        ) {
            h.insert(k, v);
        }
    }
    let offered = h
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .and_then(live::protocol_token)
        .and_then(|t| HeaderValue::from_str(&format!("Bearer {t}")).ok());
    if let Some(v) = offered
        && !h.contains_key("authorization")
        && !h.contains_key("api-key")
    {
        h.insert("authorization", v);
    }
    h
}

fn refused(e: &crate::error::Error) -> Value {
    let (code, message) = frame_error(e);
    json!({
        "statusCode": status(e).as_u16(),
        "body": json!({"code": code, "message": message}).to_string(),
    })
}

/// One WebSocket API event; the route's response.
pub async fn handle_visit_live_event(app: &AppState, event: &Value) -> Value {
    let ctx = &event["requestContext"];
    let connection_id = ctx["connectionId"].as_str().unwrap_or_default();
    let ok = json!({"statusCode": 200});
    match ctx["routeKey"].as_str().unwrap_or_default() {
        "$connect" => {
            let headers = headers_of(event);
            // A signalling token of the room page's video holds for its
            // visit; any other credential is the visit calls'.
            let offered = event["headers"]
                .as_object()
                .and_then(|h| {
                    h.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("sec-websocket-protocol"))
                })
                .and_then(|(_, v)| v.as_str())
                .and_then(live::protocol_token);
            let visit = event["queryStringParameters"]["visitId"]
                .as_str()
                .unwrap_or_default();
            let signal = match offered {
                Some(t) => video::socket_actor(app, t, visit).await,
                None => None,
            };
            let actor = match signal {
                Some(r) => r,
                None => actor_of(app, &headers).await,
            };
            let actor = match actor {
                Ok(a) => a,
                Err(e) => return refused(&e),
            };
            let id = match live::visit_id(event["queryStringParameters"]["visitId"].as_str()) {
                Ok(id) => id,
                Err(e) => return refused(&e),
            };
            match live::connect(app, &actor, &id, connection_id).await {
                Ok(_) if headers.contains_key("sec-websocket-protocol") => json!({
                    "statusCode": 200,
                    "headers": {"Sec-WebSocket-Protocol": live::PROTOCOL},
                }),
                Ok(_) => ok,
                Err(e) => refused(&e),
            }
        }
        "$disconnect" => {
            match live::connection(app, connection_id).await {
                Ok(Some(c)) => {
                    if let Err(e) = live::disconnect(app, &c).await {
                        tracing::warn!(error = %e, "a closed live connection was not forgotten");
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "a disconnection could not be read"),
            }
            ok
        }
        _ => {
            let body = event["body"].as_str().unwrap_or_default();
            let mut end = false;
            let reply = match live::connection(app, connection_id).await {
                Ok(Some(c)) => match live::on_frame(app, &c, body).await {
                    Ok(reply) => reply,
                    Err(e) => {
                        end = live::ends_connection(&e);
                        let (code, message) = frame_error(&e);
                        Some(fanout::error_frame(code, &message))
                    }
                },
                Ok(None) => {
                    end = true;
                    Some(fanout::error_frame(404, "This connection holds no visit"))
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a live frame's connection could not be read");
                    return json!({"statusCode": 500});
                }
            };
            if let (Some(r), Some(sender)) = (reply, app.visit_live.as_ref())
                && let Err(e) = sender.send(connection_id, &r).await
            {
                tracing::warn!(error = ?e, "a live frame's answer was not posted");
            }
            // API Gateway closes without a code: the frame said why; its
            // $disconnect removes the items.
            if let (true, Some(c)) = (end, app.visit_live.as_ref()) {
                let _ = c.close(connection_id, 4401, "closed").await;
            }
            ok
        }
    }
}

//! The `event-stream` function's input: API Gateway WebSocket API events
//! of the subscription stream's three routes, by `requestContext.routeKey`:
//!
//! - `$connect`: authenticates (`Authorization: api-key …`, `X-Tenant-Key`),
//!   claims the queue (`?queue=`), and asks the dispatcher to send the
//!   waiting events (a `Flush` message: frames can be posted only once this
//!   route has returned). API Gateway cannot close a socket with a code,
//!   and nothing can be posted before `$connect` returns, so a refusal
//!   here fails the handshake with the HTTP status of its code — 401 for
//!   4401, 404 for 4404, 409 for 4409 — and the `{code, message}` body;
//! - `$default`: one client frame (`ACK_EVENT`, `PING`);
//! - `$disconnect`: lets the queue go.
//!
//! API Gateway closes a connection idle for 10 minutes itself.

use serde_json::{Value, json};

use crate::app::App;
use crate::delivery::queue::Work;
use crate::services::stream;

fn header<'a>(event: &'a Value, name: &str) -> Option<&'a str> {
    event["headers"]
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

fn api_key(event: &Value) -> Option<String> {
    stream::api_key_of(header(event, "authorization"), header(event, "api-key"))
}

fn status_of(code: u16) -> u16 {
    match code {
        stream::BAD_CREDENTIALS => 401,
        stream::NO_QUEUE => 404,
        stream::TAKEN => 409,
        stream::BAD_FRAME => 400,
        _ => 500,
    }
}

/// One WebSocket API event; the route's response.
pub async fn handle_websocket_event(app: &App, event: &Value) -> Value {
    let ctx = &event["requestContext"];
    let connection_id = ctx["connectionId"].as_str().unwrap_or_default();
    let route = ctx["routeKey"].as_str().unwrap_or_default();
    let ok = json!({"statusCode": 200});
    match route {
        "$connect" => {
            let queue = event["queryStringParameters"]["queue"].as_str();
            let tenant = header(event, "x-tenant-key");
            let key = api_key(event);
            match stream::connect(app, key.as_deref(), tenant, queue, connection_id).await {
                Ok(s) => {
                    let flush = Work::Flush {
                        tenant_key: s.tenant.clone(),
                        queue_name: s.queue.queue_name.clone(),
                        connection_id: connection_id.to_owned(),
                        requested_at: app.now_ms(),
                    };
                    if let Err(e) = app.work.send(&[(flush, 0)]).await {
                        // The events wait: the next reconnection sends them.
                        tracing::error!(error = %e, "the flush of a new connection was not queued");
                    }
                    ok
                }
                Err(r) => json!({
                    "statusCode": status_of(r.code),
                    "body": json!({"code": r.code, "message": r.message}).to_string(),
                }),
            }
        }
        "$disconnect" => {
            match stream::stream_of(app, connection_id).await {
                Ok(Some(s)) => {
                    if let Err(e) = stream::disconnect(app, &s).await {
                        tracing::warn!(error = %e, "a stream's queue was not released");
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "a disconnection could not be read"),
            }
            ok
        }
        _ => {
            let body = event["body"].as_str().unwrap_or_default();
            match stream::stream_of(app, connection_id).await {
                Ok(Some(s)) => {
                    if let Err(e) = stream::on_frame(app, &s, body).await {
                        tracing::warn!(error = %e, "a stream frame failed");
                        return json!({"statusCode": 500});
                    }
                }
                Ok(None) => {
                    // No longer holding a queue (taken over, deleted).
                    let why =
                        stream::error_frame(stream::NO_QUEUE, "This connection holds no queue");
                    let _ = app.connections.send(connection_id, &why).await;
                    let _ = app
                        .connections
                        .close(connection_id, stream::NO_QUEUE, "no queue")
                        .await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a stream frame could not be read");
                    return json!({"statusCode": 500});
                }
            }
            ok
        }
    }
}

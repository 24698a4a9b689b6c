//! Errors as the vendor sees them: the body of seed 002,
//! `{timestamp, status, error, message, path}`, on every 4xx/5xx of the API.
//!
//! A handler returns `Err(Error)`; `IntoResponse` only records the status and
//! message in a response extension, and the `error_body` middleware, which
//! knows the request's path and the clock, writes the body. The same
//! middleware gives axum's own plain-text errors (405, 413, a path that does
//! not parse) the same shape, so a vendor never sees another format.
//! A 500 carries a request id and nothing of its cause, which is logged.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::AppState;
use crate::clock::iso_ms;
use crate::error::Error;

/// What a handler's error left for the middleware.
#[derive(Debug, Clone)]
struct ErrorInfo {
    message: String,
}

/// The request id of the current request (from API Gateway, or made here).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = if status.is_server_error() {
            // The cause goes to the log (with the request id), never to the client.
            tracing::error!(error = %self, "request failed");
            "Internal server error".to_owned()
        } else {
            self.to_string()
        };
        let mut res = status.into_response();
        res.extensions_mut().insert(ErrorInfo { message });
        res
    }
}

/// Gives every error response of the API the seed-002 body.
pub async fn error_body(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let request_id = req.extensions().get::<RequestId>().cloned();
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let info = res.extensions().get::<ErrorInfo>().cloned();
    let is_page = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    if info.is_none() && is_page {
        // The embedded pages render their own error pages.
        return res;
    }
    let message = match info {
        Some(i) => i.message,
        None => default_message(status).to_owned(),
    };
    let mut body = json!({
        "timestamp": iso_ms(app.now_ms()),
        "status": status.as_u16(),
        "error": status.canonical_reason().unwrap_or("Error"),
        "message": message,
        "path": path,
    });
    if let (true, Some(RequestId(id))) = (status.is_server_error(), request_id) {
        body["requestId"] = id.into();
    }
    let (mut parts, _) = res.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body.to_string()))
}

fn default_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "No such endpoint",
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed on this endpoint",
        StatusCode::PAYLOAD_TOO_LARGE => "Request body too large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Content-Type must be application/json",
        StatusCode::BAD_REQUEST => "Bad request",
        s if s.is_server_error() => "Internal server error",
        _ => "Request failed",
    }
}

/// Gives each request an id (API Gateway's, when the Lambda wiring put it
/// there; a new one otherwise), and a tracing span
/// with the method, the route template and the status, and never the query
/// string, which may hold a launch token.
pub async fn request_context(mut req: Request, next: Next) -> Response {
    let id = match req.extensions().get::<RequestId>() {
        Some(RequestId(id)) => id.clone(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    req.extensions_mut().insert(RequestId(id.clone()));
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("(unmatched)", |m| m.as_str())
        .to_owned();
    let method = req.method().clone();
    let span = tracing::info_span!("request", request_id = %id, %method, route = %route);
    let started = std::time::Instant::now();
    let res = tracing::Instrument::instrument(next.run(req), span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = res.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "handled"
        );
    });
    let mut res = res;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

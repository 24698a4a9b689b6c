//! Errors as the vendor sees them: the one place that knows the HTTP status
//! of each meaning of `crate::Error`, and the error body
//! `{timestamp, status, error, message, path}` on every 4xx/5xx of the API.
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

use super::context::RequestId;
use crate::app::AppState;
use crate::clock::iso_ms;
use crate::error::Error;

/// What a handler's error left for the middleware.
#[derive(Debug, Clone)]
struct ErrorInfo {
    message: String,
}

/// An error as a live socket's `error` frame says it: the status's code,
/// and the message (a 5xx's only as "Internal server error", its cause
/// logged).
pub fn frame_error(e: &Error) -> (u16, String) {
    let status = status(e);
    if status.is_server_error() {
        tracing::error!(error = %e, "a live frame failed");
        return (status.as_u16(), "Internal server error".to_owned());
    }
    (status.as_u16(), e.to_string())
}

/// The status of an error. A lost race that no service turned into a
/// `Conflict`, a backend failure and a bug are all a bare 500 (logged with
/// their cause).
pub fn status(e: &Error) -> StatusCode {
    match e {
        Error::Invalid(_) => StatusCode::BAD_REQUEST,
        Error::Unauthorized => StatusCode::UNAUTHORIZED,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Error::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::Contention { .. } | Error::Unavailable(_) | Error::Internal(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = status(&self);
        let message = if status.is_server_error() {
            // The cause goes to the log (with the request id), never to the client.
            tracing::error!(error = %self, "request failed");
            "Internal server error".to_owned()
        } else {
            self.to_string()
        };
        let mut res = status.into_response();
        if let Error::RateLimited { retry_after_s } = self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
        }
        res.extensions_mut().insert(ErrorInfo { message });
        res
    }
}

/// Gives every error response of the API the error body.
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

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
//! A dependency that failed (the store or the bus unavailable, timed out or
//! throttled, a transaction cancelled by a concurrent one) is a `503` with
//! `Retry-After` and a request id: nothing was written, the same request
//! may be sent again. A `500` is only a bug.

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

/// Seconds a caller waits before it sends again a request that met an
/// unavailable dependency (`Retry-After` of a `503`).
pub const RETRY_AFTER_S: u64 = 1;

/// The message of a `503` (its cause is logged, never sent).
pub const UNAVAILABLE_MESSAGE: &str = "Service temporarily unavailable; retry later";

/// An error as a live socket's `error` frame says it: the status's code,
/// and the message (a 5xx's only as "Internal server error", or the
/// unavailable message, its cause logged).
pub fn frame_error(e: &Error) -> (u16, String) {
    let status = status(e);
    if status.is_server_error() {
        tracing::error!(error = %e, "a live frame failed");
        return (status.as_u16(), server_message(status).to_owned());
    }
    (status.as_u16(), e.to_string())
}

/// What a 5xx says: the unavailable message for a `503`, else nothing of
/// the cause.
fn server_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::SERVICE_UNAVAILABLE => UNAVAILABLE_MESSAGE,
        _ => "Internal server error",
    }
}

/// The seconds of `Retry-After` for an error that has one: a rate limit's
/// own, [`RETRY_AFTER_S`] for an unavailable dependency.
pub fn retry_after(e: &Error) -> Option<u64> {
    match e {
        Error::RateLimited { retry_after_s } => Some(*retry_after_s),
        _ if status(e) == StatusCode::SERVICE_UNAVAILABLE => Some(RETRY_AFTER_S),
        _ => None,
    }
}

/// The status of an error. A backend failure, and a lost race that no
/// service turned into a `Conflict` (nothing was written: a transaction or
/// a conditional write is all or nothing), are a `503` the caller may retry;
/// only a bug is a bare 500 (both logged with their cause).
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
        Error::Contention { .. } | Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = status(&self);
        let message = if status.is_server_error() {
            // The cause goes to the log (with the request id), never to the client.
            tracing::error!(error = %self, "request failed");
            server_message(status).to_owned()
        } else {
            self.to_string()
        };
        let mut res = status.into_response();
        if let Some(seconds) = retry_after(&self) {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
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
        s if s.is_server_error() => server_message(s),
        _ => "Request failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dependency_failure_is_a_503_to_retry_and_a_bug_a_500() {
        for e in [
            Error::Unavailable("store: throttled".into()),
            Error::Contention { failed: vec![] },
            Error::Contention { failed: vec![1] },
        ] {
            assert_eq!(status(&e), StatusCode::SERVICE_UNAVAILABLE, "{e:?}");
            assert_eq!(retry_after(&e), Some(RETRY_AFTER_S));
            let res = e.into_response();
            assert_eq!(res.headers()[header::RETRY_AFTER], "1");
            let info = res.extensions().get::<ErrorInfo>().expect("info");
            assert_eq!(info.message, UNAVAILABLE_MESSAGE, "no cause sent");
        }
        let bug = Error::internal("broken invariant");
        assert_eq!(status(&bug), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(retry_after(&bug), None);
        let res = bug.into_response();
        assert!(res.headers().get(header::RETRY_AFTER).is_none());
        assert_eq!(
            frame_error(&Error::Unavailable("bus".into())),
            (503, UNAVAILABLE_MESSAGE.to_owned())
        );
        assert_eq!(
            retry_after(&Error::RateLimited { retry_after_s: 7 }),
            Some(7)
        );
        assert_eq!(retry_after(&Error::conflict("x")), None);
    }
}

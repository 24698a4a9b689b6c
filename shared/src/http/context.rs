//! The context of every request: its id (API Gateway's, when the Lambda
//! wiring put it there; a new one otherwise) and its tracing span.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// The request id of the current request (from API Gateway, or made here).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

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

//! What every HTTP Lambda function shares: JSON logs, and the request id of
//! API Gateway on every request (so a 500's `requestId` matches the access
//! log). Feature `lambda`.

use axum::Router;
use axum::extract::Request;
use axum::middleware::{Next, from_fn};
use axum::response::Response;
use lambda_http::request::RequestContext;

use crate::http::context::RequestId;

/// Structured JSON logs on stdout, level from `EMBEDCARE_LOG` (default
/// `info`; the libraries never below `info`: `crate::logging`). Our events
/// carry ids and statuses only, never personal data. Every function calls
/// it, the stream and EventBridge ones too. It also installs the metrics'
/// EMF adapter (`metrics::emf`): their lines go to stdout as well, flushed
/// at the end of each invocation ([`service`], `metrics::flushed`).
pub fn init_logging() {
    crate::metrics::install(std::sync::Arc::new(crate::metrics::emf::Emf::from_env()));
    let filter = crate::logging::filter(std::env::var("EMBEDCARE_LOG").ok().as_deref());
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .init();
}

async fn api_gateway_request_id(mut req: Request, next: Next) -> Response {
    let id = match req.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    };
    if let Some(id) = id {
        req.extensions_mut().insert(RequestId(id));
    }
    next.run(req).await
}

/// The end of an HTTP invocation: what it counted is flushed (EMF lines on
/// stdout) before the response goes back to the runtime.
async fn flush_metrics(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    crate::metrics::flush();
    res
}

/// The endpoint's router, ready for `lambda_http::run`.
pub fn service(router: Router) -> Router {
    router
        .layer(from_fn(api_gateway_request_id))
        .layer(from_fn(flush_metrics))
}

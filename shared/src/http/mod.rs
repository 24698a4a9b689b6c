//! The HTTP routers. Each endpoint's router is a complete axum `Router` (a
//! tower service) that a Lambda `main.rs` hands to `lambda_http::run`; the
//! local server merges them all into one app, so a request takes the same
//! code path on a laptop and in AWS.
//!
//! The HTTP layer reads requests into typed values (`extract`, `wire`),
//! calls the services, and writes responses; it knows no store key and no
//! index partition.

pub mod clinic;
pub mod context;
pub mod counted;
#[cfg(feature = "local")]
pub mod dev;
pub mod error;
pub mod extract;
pub mod hours;
pub mod pages;
pub mod reply;
pub mod sdk;
#[cfg(feature = "local")]
pub mod stream;
pub mod v2;
pub mod vendor;
pub mod wire;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::Response;

use crate::app::AppState;
use crate::error::Error;

pub use vendor::{CONSULTATION_CREATE, CONSULTATION_VIEW};

/// Every vendor route, as (method, path): the OpenAPI test checks the
/// document against this list and this list against the routers.
pub fn vendor_routes() -> Vec<(&'static str, &'static str)> {
    let mut routes = vec![("post", CONSULTATION_CREATE), ("post", CONSULTATION_VIEW)];
    routes.extend(vendor::EMBEDDABLE.iter().map(|(path, _)| ("get", *path)));
    routes.extend_from_slice(v2::ROUTES);
    // The patient side's API.
    routes.extend_from_slice(clinic::ROUTES);
    routes
}

/// The layers every router shares: a request id and span, the error body,
/// `X-Content-Type-Options: nosniff` on every response, and the count of
/// the 4xx and 5xx by route (`counted`).
fn finish(router: Router<AppState>, app: AppState) -> Router {
    router
        .fallback(|| async { Error::not_found("No such endpoint") })
        .layer(from_fn_with_state(app.clone(), error::error_body))
        .layer(from_fn(context::request_context))
        .layer(from_fn(nosniff))
        .layer(from_fn_with_state(app.clone(), counted::count_errors))
        .with_state(app)
}

/// No browser may guess another type than the one declared (a JSON body
/// that quotes the vendor's input must never run as HTML or script).
async fn nosniff(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    res.headers_mut()
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    res
}

// One router per Lambda function, alike by design: each is what one
// function serves.

/// `POST /embeddable/consultation/create` (Lambda `consultation-create`).
pub fn consultation_create_router(app: AppState) -> Router {
    finish(vendor::create_routes(), app)
}

/// `POST /embeddable/consultation/view` (Lambda `consultation-view`).
/// (`GET` on the same path belongs to the embeddable-url router.)
pub fn consultation_view_router(app: AppState) -> Router {
    finish(vendor::view_routes(), app)
}

/// Every `GET /embeddable/...` view (Lambda `embeddable-url`).
pub fn embeddable_url_router(app: AppState) -> Router {
    finish(vendor::embeddable_routes(), app)
}

/// The embedded pages, their actions and their static assets, and the
/// host-page SDK (Lambda `embed-pages`).
pub fn embed_router(app: AppState) -> Router {
    finish(pages::routes().merge(sdk::routes()), app)
}

/// `/v2/consultations…` (Lambda `v2-consultations`).
pub fn v2_consultations_router(app: AppState) -> Router {
    finish(v2::consultations_routes(), app)
}

/// `/v2/followups…` (Lambda `v2-followups`).
pub fn v2_followups_router(app: AppState) -> Router {
    finish(v2::followups_routes(), app)
}

/// `/v2/embed/…` (Lambda `v2-embed`).
pub fn v2_embed_router(app: AppState) -> Router {
    finish(v2::embed_routes(), app)
}

/// `/v2/webhook-endpoints…`, `/v2/events…`, `/v2/event-queues…` (Lambda
/// `v2-events`).
pub fn v2_events_router(app: AppState) -> Router {
    finish(v2::events_routes().merge(subscribe_routes()), app)
}

/// `GET /v2/events/subscribe`, a WebSocket: the local server's
/// `stream` upgrades it (with its connections layered on the router); in
/// AWS the stream is the WebSocket API (`event-stream`), and this route
/// only answers a request that reached the HTTP API instead (`401`, else
/// `400`).
pub fn subscribe_routes() -> Router<AppState> {
    #[cfg(feature = "local")]
    let subscribe = axum::routing::get(stream::subscribe);
    #[cfg(not(feature = "local"))]
    let subscribe = axum::routing::get(v2::events::subscribe);
    Router::new().route(v2::EVENTS_SUBSCRIBE, subscribe)
}

// The patient side's routers, one per function.

/// `/v2/patients/…` (Lambda `patient-sso`).
pub fn patient_sso_router(app: AppState) -> Router {
    finish(clinic::sso_routes(app.clone()), app)
}

/// `/v2/rooms…`, `/v2/availability` (Lambda `rooms`).
pub fn rooms_router(app: AppState) -> Router {
    finish(clinic::rooms_routes(app.clone()), app)
}

/// `/v2/providers…` (Lambda `providers`).
pub fn providers_router(app: AppState) -> Router {
    finish(clinic::providers_routes(app.clone()), app)
}

/// `/v2/intakes…` (Lambda `intakes`).
pub fn intakes_router(app: AppState) -> Router {
    finish(clinic::intakes_routes(app.clone()), app)
}

/// The patient app's pages (Lambda `patient-app`).
pub fn patient_app_router(app: AppState) -> Router {
    finish(clinic::pages_routes(), app)
}

/// `/v2/visits…` (Lambda `visits`).
pub fn visits_router(app: AppState) -> Router {
    finish(clinic::visits_routes(app.clone()), app)
}

/// Every router in one app: the local server, and the HTTP tests.
pub fn app_router(app: AppState) -> Router {
    finish(all_routes_of(&app), app)
}

/// Every route of every function, unfinished (the local server adds its
/// own); the patient side's carry their CORS layer, which needs the app.
pub fn all_routes_of(app: &AppState) -> Router<AppState> {
    all_routes()
        .merge(clinic::sso_routes(app.clone()))
        .merge(clinic::rooms_routes(app.clone()))
        .merge(clinic::providers_routes(app.clone()))
        .merge(clinic::intakes_routes(app.clone()))
        .merge(clinic::visits_routes(app.clone()))
        .merge(clinic::pages_routes())
        .merge(clinic::live_routes())
}

/// Every route of the functions that need no app to be built.
pub fn all_routes() -> Router<AppState> {
    vendor::create_routes()
        .merge(vendor::view_routes())
        .merge(vendor::embeddable_routes())
        .merge(pages::routes())
        .merge(sdk::routes())
        .merge(v2::consultations_routes())
        .merge(v2::followups_routes())
        .merge(v2::embed_routes())
        .merge(v2::events_routes())
        .merge(subscribe_routes())
}

/// `all_routes` plus local-only routes, with the shared layers.
pub fn app_router_with(app: AppState, extra: Router<AppState>) -> Router {
    finish(all_routes_of(&app).merge(extra), app)
}

//! The HTTP routers. Each endpoint's router is a complete axum `Router` (a
//! tower service) that a Lambda `main.rs` hands to `lambda_http::run`; the
//! local server merges them all into one app, so a request takes the same
//! code path on a laptop and in AWS.

pub mod dev;
pub mod embed;
pub mod error;
pub mod extract;
pub mod pages;
pub mod v2;
pub mod vendor;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};

use crate::app::AppState;
use crate::error::Error;

pub const CONSULTATION_CREATE: &str = "/embeddable/consultation/create";
pub const CONSULTATION_VIEW: &str = "/embeddable/consultation/view";
pub const EMBED_PAGE: &str = "/{locale}/embed/franchise/{tenant}/{area}/{view}";
pub const EMBED_JS: &str = "/embed/static/app.js";
pub const EMBED_CSS: &str = "/embed/static/app.css";

/// Every vendor route, as (method, path): the OpenAPI test checks the
/// document against this list and this list against the routers.
pub const VENDOR_ROUTES: &[(&str, &str)] = &[
    ("post", CONSULTATION_CREATE),
    ("post", CONSULTATION_VIEW),
    ("get", "/embeddable/consultation/view"),
    ("get", "/embeddable/consultation/dashboard"),
    ("get", "/embeddable/consultation/specific"),
    ("get", "/embeddable/consultation/answer"),
    ("get", "/embeddable/followup/view"),
    ("get", "/embeddable/followup/dashboard"),
    ("get", "/embeddable/followup/specific"),
    ("get", "/embeddable/followup/plan"),
    ("get", "/embeddable/administration/franchise-management"),
    ("get", "/embeddable/administration/franchise-onboarding"),
    ("get", "/embeddable/administration/franchise-offboarding"),
    ("get", "/embeddable/statistics"),
    ("get", v2::REASONS),
    ("get", v2::CONSULTATIONS),
    ("post", v2::CONSULTATIONS),
    ("get", v2::CONSULTATION),
    ("post", v2::CONSULTATION_CANCEL),
    ("get", v2::FOLLOWUPS),
    ("post", v2::FOLLOWUPS),
    ("get", v2::FOLLOWUP),
    ("post", v2::FOLLOWUP_CANCEL),
    ("post", v2::EMBED_CONSULTATION_ANSWER),
    ("post", v2::EMBED_CONSULTATION_DETAILS),
    ("post", v2::EMBED_FOLLOWUP_ANSWER),
    ("post", v2::EMBED_FOLLOWUP_DETAILS),
];

/// The layers every router shares: a request id and span, and the seed-002
/// error body.
fn finish(router: Router<AppState>, app: AppState) -> Router {
    router
        .fallback(|| async { Error::not_found("No such endpoint") })
        .layer(from_fn_with_state(app.clone(), error::error_body))
        .layer(from_fn(error::request_context))
        .with_state(app)
}

fn consultation_create_routes() -> Router<AppState> {
    Router::new().route(CONSULTATION_CREATE, post(vendor::consultation_create))
}

fn consultation_view_routes() -> Router<AppState> {
    Router::new().route(CONSULTATION_VIEW, post(vendor::consultation_view))
}

fn embeddable_url_routes() -> Router<AppState> {
    use vendor::*;
    Router::new()
        .route("/embeddable/consultation/view", get(get_consultation_view))
        .route(
            "/embeddable/consultation/dashboard",
            get(get_consultation_dashboard),
        )
        .route(
            "/embeddable/consultation/specific",
            get(get_consultation_specific),
        )
        .route(
            "/embeddable/consultation/answer",
            get(get_consultation_answer),
        )
        .route("/embeddable/followup/view", get(get_followup_view))
        .route(
            "/embeddable/followup/dashboard",
            get(get_followup_dashboard),
        )
        .route("/embeddable/followup/specific", get(get_followup_specific))
        .route("/embeddable/followup/plan", get(get_followup_plan))
        .route(
            "/embeddable/administration/franchise-management",
            get(get_franchise_management),
        )
        .route(
            "/embeddable/administration/franchise-onboarding",
            get(get_franchise_onboarding),
        )
        .route(
            "/embeddable/administration/franchise-offboarding",
            get(get_franchise_offboarding),
        )
        .route("/embeddable/statistics", get(get_statistics))
}

fn embed_routes() -> Router<AppState> {
    Router::new()
        .route(EMBED_PAGE, get(embed::page))
        .route(EMBED_JS, get(embed::app_js))
        .route(EMBED_CSS, get(embed::app_css))
        .merge(pages::routes())
}

/// `POST /embeddable/consultation/create` (Lambda `consultation-create`).
pub fn consultation_create_router(app: AppState) -> Router {
    finish(consultation_create_routes(), app)
}

/// `POST /embeddable/consultation/view` (Lambda `consultation-view`).
/// (`GET` on the same path belongs to the embeddable-url router.)
pub fn consultation_view_router(app: AppState) -> Router {
    finish(consultation_view_routes(), app)
}

/// Every `GET /embeddable/...` view (Lambda `embeddable-url`).
pub fn embeddable_url_router(app: AppState) -> Router {
    finish(embeddable_url_routes(), app)
}

/// The embedded pages and their static assets (Lambda `embed-pages`).
pub fn embed_router(app: AppState) -> Router {
    finish(embed_routes(), app)
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

/// Every router in one app: the local server, and the HTTP tests.
pub fn app_router(app: AppState) -> Router {
    finish(all_routes(), app)
}

/// Every route of every function, unfinished (the local server adds its own).
pub fn all_routes() -> Router<AppState> {
    consultation_create_routes()
        .merge(consultation_view_routes())
        .merge(embeddable_url_routes())
        .merge(embed_routes())
        .merge(v2::consultations_routes())
        .merge(v2::followups_routes())
        .merge(v2::embed_routes())
}

/// `all_routes` plus local-only routes, with the shared layers.
pub fn app_router_with(app: AppState, extra: Router<AppState>) -> Router {
    finish(all_routes().merge(extra), app)
}

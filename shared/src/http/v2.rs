//! The v2 resource API (seed 001): consultations and follow-ups with the
//! patient inline, read, list, cancel, and presigned embed URLs.

use axum::Router;

use crate::app::AppState;

/// `/v2/consultations…` and `/v2/consultation-reasons` (Lambda `v2-consultations`).
pub fn consultations_routes() -> Router<AppState> {
    Router::new()
}

/// `/v2/followups…` (Lambda `v2-followups`).
pub fn followups_routes() -> Router<AppState> {
    Router::new()
}

/// `POST /v2/embed/{consultation|followup}/{answer|details}` (Lambda `v2-embed`).
pub fn embed_routes() -> Router<AppState> {
    Router::new()
}

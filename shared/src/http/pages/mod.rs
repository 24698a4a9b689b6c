//! The embedded pages: the views a launch opens inside the vendor's iframe
//! (the employee's and the patient's), and their actions.
//!
//! - `entry.rs`: `/{locale}/embed/franchise/{tenant}/{area}/{view}` — the
//!   entry shell (`GET`: no side effect), redeeming a launch or resuming a
//!   session (`POST`);
//! - `access.rs`: the access model, one table: what a session may open,
//!   read and do;
//! - `views/`: the data of each view, filled into the models of
//!   `templates.rs` (askama) in the words of `texts.rs`;
//! - `actions.rs`: `POST …/actions/{action}`, the typed page actions;
//! - `shell.rs`: the HTML response of every page (its CSP), the message
//!   pages, the static assets.
//!
//! The address of every page comes from `domain::links`.

mod access;
mod actions;
mod entry;
pub(crate) mod shell;
pub(crate) mod templates;
mod texts;
mod views;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;
use crate::domain::links::{ACTION_ROUTE, PAGE_ROUTE};

/// The pages' actions (the isolation test walks every one of them).
pub use access::Act;

pub const EMBED_JS: &str = "/embed/static/app.js";
pub const EMBED_CSS: &str = "/embed/static/app.css";

/// The pages, their actions and their static assets (Lambda `embed-pages`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PAGE_ROUTE, get(entry::page).post(entry::open))
        .route(ACTION_ROUTE, post(actions::action))
        .route(EMBED_JS, get(shell::app_js))
        .route(EMBED_CSS, get(shell::app_css))
}

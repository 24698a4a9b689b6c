//! The embedded views and their actions (the employee's and the patient's
//! pages), behind a browser session.

use axum::Router;

use crate::app::AppState;

/// The page actions (`POST`), served by the `embed-pages` function beside
/// the pages themselves.
pub fn routes() -> Router<AppState> {
    Router::new()
}

//! Every 4xx and 5xx answered, counted by route (`Http4xx`, `Http5xx`:
//! `metrics`): the route is the matched route template (axum's
//! `MatchedPath`, e.g. `/v2/visits/{visitId}`), never the path itself, which
//! holds ids and tokens; a request that matched no route is `unmatched`.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::AppState;
use crate::metrics::HttpClass;
use crate::metrics::names::UNMATCHED;

pub async fn count_errors(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, |m| m.as_str())
        .to_owned();
    let res = next.run(req).await;
    if let Some(class) = HttpClass::of(res.status().as_u16()) {
        app.metrics().http(class, &route);
    }
    res
}

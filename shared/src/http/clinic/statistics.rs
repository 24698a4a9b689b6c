//! `GET /v2/statistics/visits?from=&to=[&roomCode=]` (the API key): the
//! statistics of the franchise's visits (`services::clinic::statistics`),
//! and the reading of a range's bounds that the visits' lists share.

use axum::Router;
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::{Clinic, STATISTICS_VISITS};
use crate::app::AppState;
use crate::clock::iso_ms;
use crate::domain::clinic::{RoomCode, TimeZoneName};
use crate::error::{Error, Result};
use crate::http::extract::QueryParams;
use crate::http::reply::json_response;
use crate::services::clinic::statistics::{self, Times, VisitStatistics};

pub fn routes() -> Router<AppState> {
    Router::new().route(STATISTICS_VISITS, get(visits))
}

/// The bound `name` of a range, if given: an ISO date (a day of the
/// franchise's time zone; `end`: its last instant) or an RFC 3339
/// instant; anything else is a `400`.
pub(super) fn bound(
    q: &QueryParams,
    name: &str,
    zone: &TimeZoneName,
    end: bool,
) -> Result<Option<i64>> {
    q.get(name)?
        .map(|raw| {
            statistics::bound(raw, zone, end).ok_or_else(|| {
                Error::invalid(format!(
                    "{name} must be an ISO date (2026-12-01) or an RFC 3339 instant (2026-12-01T09:00:00Z)"
                ))
            })
        })
        .transpose()
}

fn times(t: &Times) -> Value {
    let secs = |ms: Option<i64>| ms.map(|m| (m + 500) / 1000);
    json!({
        "count": t.count,
        "medianSeconds": secs(t.median_ms),
        "p90Seconds": secs(t.p90_ms),
    })
}

/// The statistics as JSON.
pub fn statistics_json(s: &VisitStatistics) -> Map<String, Value> {
    let by_status: Map<String, Value> = s
        .by_status
        .iter()
        .map(|(k, n)| (k.as_str().to_owned(), json!(n)))
        .collect();
    let by_type: Map<String, Value> = s
        .by_type
        .iter()
        .map(|(k, n)| (k.as_str().to_owned(), json!(n)))
        .collect();
    let top: Vec<Value> = s
        .top_concerns
        .iter()
        .map(|(code, n)| json!({"code": code, "count": n}))
        .collect();
    let mut out = Map::new();
    out.insert("total".into(), json!(s.total));
    out.insert("byStatus".into(), Value::Object(by_status));
    out.insert("byType".into(), Value::Object(by_type));
    out.insert("waitingTime".into(), times(&s.waiting));
    out.insert("visitTime".into(), times(&s.visit));
    out.insert("topConcerns".into(), Value::Array(top));
    out
}

/// `GET /v2/statistics/visits?from=&to=[&roomCode=]`: both bounds
/// required, at most 366 days apart.
async fn visits(c: Clinic, RawQuery(q): RawQuery) -> Result<Response> {
    c.vendor_only()?;
    let q = QueryParams::parse(q.as_deref())?;
    let zone = &c.actor.franchise().time_zone;
    let from = bound(&q, "from", zone, false)?.ok_or_else(|| Error::invalid("from is required"))?;
    let to = bound(&q, "to", zone, true)?.ok_or_else(|| Error::invalid("to is required"))?;
    let room = q
        .get("roomCode")?
        .map(|r| {
            RoomCode::parse(r).ok_or_else(|| Error::invalid(format!("roomCode {}", RoomCode::RULE)))
        })
        .transpose()?;
    let s = statistics::visits(&c.app, c.actor.tenant(), from, to, room.as_ref()).await?;
    let mut body = statistics_json(&s);
    body.insert("from".into(), json!(iso_ms(from)));
    body.insert("to".into(), json!(iso_ms(to)));
    body.insert("roomCode".into(), json!(room));
    Ok(json_response(StatusCode::OK, &Value::Object(body)))
}

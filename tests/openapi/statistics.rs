//! The visits' statistics against the document: `GET /v2/statistics/visits`
//! with the API key, over the visits the other scenarios made (by days and
//! by instants), the answer validated against its schema.

use std::collections::BTreeSet;

use shared::clock::{Clock, SystemClock, iso_ms};

use crate::responses::checked;
use crate::support::*;

/// Exercises the statistics route (after the patient side's scenarios, so
/// that there are visits to count); returns the routes seen.
pub async fn successes(w: &World, s: &Schemas) -> BTreeSet<(String, String)> {
    let route = ("get", "/v2/statistics/visits");
    let now = SystemClock.now_ms();
    let day = 86_400_000;
    let (from, to) = (iso_ms(now - 100 * day), iso_ms(now + 100 * day));
    let all = checked(
        w,
        s,
        route,
        &format!("{}?from={from}&to={to}", route.1),
        &[],
        None,
    )
    .await;
    assert!(all["total"].as_u64().unwrap_or(0) >= 1, "{all}");
    let (a, b) = (&from[..10], &to[..10]);
    let room = checked(
        w,
        s,
        route,
        &format!("{}?from={a}&to={b}&roomCode=clinic", route.1),
        &[],
        None,
    )
    .await;
    assert_eq!(room["roomCode"], "clinic");
    BTreeSet::from([(route.0.to_owned(), route.1.to_owned())])
}

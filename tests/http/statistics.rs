//! The clinician's dashboard by dates and the visits' statistics over
//! HTTP (both stores): `GET /v2/visits?providerId=&from=&to=&status=` with
//! ISO dates (days of the franchise's time zone, America/Toronto) or
//! RFC 3339 instants, its status filter paginated honestly, bad dates
//! refused; `GET /v2/statistics/visits` counting a seeded set of visits
//! over two months and two rooms (counts by status and type, waiting and
//! visit times, top concerns), never another franchise's, with Queries
//! only.

use std::collections::BTreeSet;

use http::Method;
use serde_json::{Value, json};

use crate::clinic::{call, provider_header, provider_move, sso};
use crate::helpers::{TestApp, spawn_app};

pub(crate) const MINUTE: i64 = 60_000;
pub(crate) const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

async fn get(t: &TestApp, key: &str, path: &str) -> crate::helpers::Reply {
    call(t, Method::GET, path, Some(key), None, &[], None).await
}

/// An intake of the patient (API key) with these concerns.
pub(crate) async fn intake(
    t: &TestApp,
    key: &str,
    patient: &str,
    kind: &str,
    room: &str,
    concerns: Value,
) -> String {
    let body = json!({"patientId": patient, "reasonForVisit": "Checkup", "type": kind,
        "roomCode": room, "concerns": concerns});
    let r = call(
        t,
        Method::POST,
        "/v2/intakes",
        Some(key),
        None,
        &[],
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["intakeId"].as_str().unwrap().to_owned()
}

/// A visit made with the API key: `kind` is `walkin` or `econsult`.
pub(crate) async fn visit(t: &TestApp, key: &str, kind: &str, intake: &str) -> String {
    let body = json!({"intakeId": intake});
    let r = call(
        t,
        Method::POST,
        &format!("/v2/visits/{kind}"),
        Some(key),
        None,
        &[],
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["visitId"].as_str().unwrap().to_owned()
}

pub(crate) async fn moved(t: &TestApp, visit: &str, mv: &str) {
    let r = provider_move(t, visit, mv, "dr-martin").await;
    assert_eq!(r.status, 200, "{mv}: {}", r.text());
}

pub(crate) fn code(c: &str, primary: bool) -> Value {
    json!({"code": c, "text": c, "primary": primary})
}

pub(crate) fn text(s: &str, primary: bool) -> Value {
    json!({"text": s, "primary": primary})
}

#[tokio::test]
async fn visit_statistics_count_two_months_two_rooms_and_one_franchise_by_queries_only() {
    let t = spawn_app().await;
    let key = t.world.api_key.clone();
    let k = key.as_str();
    // 2026-01-01 07:00 in Toronto.
    t.clock.advance_ms(12 * HOUR);
    let room = json!({"code": "annex", "name": {"fr": "Annexe", "en": "Annex"},
        "visitTypes": ["WALKIN"], "providerIds": ["dr-martin"]});
    let r = call(
        &t,
        Method::POST,
        "/v2/rooms",
        Some(k),
        None,
        &[],
        Some(&room),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let (p, _) = sso(&t, "P-900").await;

    // January. A: clinic walk-in, waits 5 min, seen 10 min, completed.
    let a = intake(
        &t,
        k,
        &p,
        "WALKIN",
        "clinic",
        json!([code("fever", true), code("cough", false)]),
    )
    .await;
    let a = visit(&t, k, "walkin", &a).await;
    t.clock.advance_ms(5 * MINUTE);
    moved(&t, &a, "start").await;
    t.clock.advance_ms(10 * MINUTE);
    moved(&t, &a, "complete").await;
    // B: cancelled. C: an eConsult nobody accepted yet ("other" text).
    let b = intake(&t, k, &p, "WALKIN", "clinic", json!([code("fever", true)])).await;
    let b = visit(&t, k, "walkin", &b).await;
    let r = call(
        &t,
        Method::POST,
        &format!("/v2/visits/{b}/cancel"),
        Some(k),
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let c = intake(
        &t,
        k,
        &p,
        "ECONSULT",
        "clinic",
        json!([text("Secret symptom", true)]),
    )
    .await;
    visit(&t, k, "econsult", &c).await;
    // D: the annex, waits 1 min, ended by the provider after 20 min; its
    // intake's concerns changed on the way (one of free text).
    let d = intake(&t, k, &p, "WALKIN", "annex", json!([code("cough", true)])).await;
    let d = visit(&t, k, "walkin", &d).await;
    t.clock.advance_ms(MINUTE);
    moved(&t, &d, "start").await;
    let h = provider_header("dr-martin");
    let health = json!({"concerns": [code("fever", true), text("Tingling hands", false)]});
    let r = call(
        &t,
        Method::PUT,
        &format!("/v2/visits/{d}/intake"),
        Some(k),
        None,
        &[("x-integration-user", &h)],
        Some(&health),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    t.clock.advance_ms(20 * MINUTE);
    let r = call(
        &t,
        Method::POST,
        &format!("/v2/visits/{d}/end"),
        Some(k),
        None,
        &[("x-integration-user", &h)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // February. E: a walk-in in progress after 3 min; F: booked for the
    // 5th with dr-nguyen.
    t.clock.advance_ms(35 * DAY);
    let e = intake(&t, k, &p, "WALKIN", "clinic", json!([code("cough", true)])).await;
    let e = visit(&t, k, "walkin", &e).await;
    t.clock.advance_ms(3 * MINUTE);
    moved(&t, &e, "start").await;
    let f = intake(&t, k, &p, "SCHEDULED", "clinic", json!([])).await;
    let body = json!({"intakeId": f, "providerId": "dr-nguyen", "start": "2026-02-10T15:00:00Z"});
    let r = call(
        &t,
        Method::POST,
        "/v2/visits",
        Some(k),
        None,
        &[],
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());

    // Another franchise's walk-in, on the same days.
    let other = t.world.other_account_api_key.clone();
    let o = other.as_str();
    let oroom = json!({"code": "clinic", "name": {"fr": "C", "en": "C"}, "visitTypes": ["WALKIN"]});
    let r = call(
        &t,
        Method::POST,
        "/v2/rooms",
        Some(o),
        None,
        &[],
        Some(&oroom),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = call(&t, Method::POST, "/v2/patients/sso", Some(o), None, &[], Some(&json!({"patient": {"keys": [{"subSystem": "portal", "key": "P-900"}], "firstName": "Bo", "lastName": "Lee"}}))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let op = r.json()["patientId"].as_str().unwrap().to_owned();
    let oi = intake(&t, o, &op, "WALKIN", "clinic", json!([code("fever", true)])).await;
    visit(&t, o, "walkin", &oi).await;

    // Both months, by ISO dates (Toronto's days).
    let path = "/v2/statistics/visits?from=2026-01-01&to=2026-02-28";
    let r = get(&t, k, path).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let s = r.json();
    assert_eq!(s["total"], 6, "{s}");
    assert_eq!(s["from"], "2026-01-01T05:00:00.000Z");
    assert_eq!(s["to"], "2026-03-01T04:59:59.999Z");
    assert_eq!(
        s["byStatus"],
        json!({"SCHEDULED": 1, "WAITING": 0, "PENDING_ACCEPT": 1, "IN_PROGRESS": 1,
               "COMPLETED": 2, "CANCELLED": 1, "NO_SHOW": 0, "EXPIRED": 0})
    );
    assert_eq!(
        s["byType"],
        json!({"WALKIN": 4, "SCHEDULED": 1, "ECONSULT": 1})
    );
    // Waiting: A 300 s, D 60 s, E 180 s; visit: A 600 s, D 1200 s.
    assert_eq!(
        s["waitingTime"],
        json!({"count": 3, "medianSeconds": 180, "p90Seconds": 300})
    );
    assert_eq!(
        s["visitTime"],
        json!({"count": 2, "medianSeconds": 600, "p90Seconds": 1200})
    );
    assert_eq!(
        s["topConcerns"],
        json!([{"code": "fever", "count": 3}, {"code": "cough", "count": 2}, {"code": "other", "count": 2}])
    );
    assert!(!r.text().contains("Secret symptom") && !r.text().contains("Tingling"));

    // Only Queries: one per month partition (January, February and, in
    // UTC, the first hours of March); the caches are warm.
    t.store.reset();
    let r = get(&t, k, path).await;
    assert_eq!(r.status, 200);
    let n = t.store.snapshot();
    assert_eq!((n.gets, n.batch_gets, n.write_calls()), (0, 0, 0), "{n:?}");
    assert_eq!(n.queries, 3, "{n:?}");

    // One room; one month by instants; one month by dates.
    let s = get(
        &t,
        k,
        "/v2/statistics/visits?from=2026-01-01&to=2026-02-28&roomCode=annex",
    )
    .await
    .json();
    assert_eq!(s["total"], 1);
    assert_eq!(s["roomCode"], "annex");
    assert_eq!(s["byStatus"]["COMPLETED"], 1);
    assert_eq!(
        s["topConcerns"],
        json!([{"code": "fever", "count": 1}, {"code": "other", "count": 1}])
    );
    let s = get(
        &t,
        k,
        "/v2/statistics/visits?from=2026-02-01T00:00:00Z&to=2026-02-28T23:59:59Z",
    )
    .await
    .json();
    assert_eq!(s["total"], 2, "{s}");
    assert_eq!(s["byStatus"]["IN_PROGRESS"], 1);
    assert_eq!(s["byType"]["SCHEDULED"], 1);
    assert_eq!(
        s["visitTime"],
        json!({"count": 0, "medianSeconds": null, "p90Seconds": null})
    );
    let s = get(&t, k, "/v2/statistics/visits?from=2026-01-01&to=2026-01-31")
        .await
        .json();
    assert_eq!(s["total"], 4);
    // The other franchise sees its own one only.
    let s = get(&t, o, "/v2/statistics/visits?from=2026-01-01&to=2026-02-28")
        .await
        .json();
    assert_eq!(s["total"], 1, "{s}");
    assert_eq!(s["topConcerns"], json!([{"code": "fever", "count": 1}]));

    // Bad requests; a patient's token.
    for bad in [
        "/v2/statistics/visits?to=2026-01-31",
        "/v2/statistics/visits?from=2026-01-01",
        "/v2/statistics/visits?from=2026-02-30&to=2026-03-01",
        "/v2/statistics/visits?from=01/01/2026&to=2026-03-01",
        "/v2/statistics/visits?from=2026-03-01&to=2026-01-01",
        "/v2/statistics/visits?from=2025-01-01&to=2026-01-02",
        "/v2/statistics/visits?from=2026-01-01&to=2026-01-02&roomCode=Bad%20Room",
    ] {
        let r = get(&t, k, bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    let (_, token) = sso(&t, "P-901").await;
    let r = call(&t, Method::GET, path, None, Some(&token), &[], None).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        call(&t, Method::GET, path, None, None, &[], None)
            .await
            .status,
        401
    );
}

/// Books dr-nguyen at `start` (RFC 3339) for the patient: the visit's id.
async fn book(t: &TestApp, token: &str, start: &str) -> String {
    let i = crate::clinic::intake(t, token, "SCHEDULED").await;
    let body = json!({"intakeId": i, "providerId": "dr-nguyen", "start": start});
    let r = call(
        t,
        Method::POST,
        "/v2/visits",
        None,
        Some(token),
        &[],
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["visitId"].as_str().unwrap().to_owned()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["visitId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_dashboard_by_dates_and_a_status_filter_paginate_honestly() {
    let t = spawn_app().await;
    let k = t.world.api_key.clone();
    let (_, token) = sso(&t, "P-910").await;
    // Twelve visits on Jan 5 (Toronto: 10:00Z is 05:00), every third one
    // cancelled; two on Jan 6.
    let mut cancelled = Vec::new();
    let mut jan5 = Vec::new();
    for i in 0..12 {
        let v = book(&t, &token, &format!("2026-01-05T{:02}:00:00Z", 10 + i)).await;
        if i % 3 == 0 {
            let r = call(
                &t,
                Method::POST,
                &format!("/v2/visits/{v}/cancel"),
                None,
                Some(&token),
                &[],
                None,
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.text());
            cancelled.push(v.clone());
        }
        jan5.push(v);
    }
    // 2026-01-06T04:30Z is still Jan 5 in Toronto; 06:00Z is Jan 6.
    let late = book(&t, &token, "2026-01-06T04:30:00Z").await;
    jan5.push(late);
    let jan6 = book(&t, &token, "2026-01-06T06:00:00Z").await;

    // By ISO date: Toronto's Jan 5, in start order.
    let base = "/v2/visits?providerId=dr-nguyen";
    let r = get(
        &t,
        &k,
        &format!("{base}&from=2026-01-05&to=2026-01-05&limit=100"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(ids(&r.json()), jan5);
    assert!(r.json()["nextCursor"].is_null());
    // By instants.
    let r = get(
        &t,
        &k,
        &format!("{base}&from=2026-01-05T12:00:00Z&to=2026-01-05T14:00:00%2B00:00"),
    )
    .await;
    assert_eq!(ids(&r.json()), jan5[2..5].to_vec());
    let r = get(&t, &k, &format!("{base}&from=2026-01-06")).await;
    assert_eq!(ids(&r.json()), vec![jan6.clone()]);

    // CANCELLED by pages of 2: every page full but the last, no empty
    // page with a cursor, all of them in order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!("{base}&from=2026-01-05&to=2026-01-06&status=cancelled&limit=2");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = get(&t, &k, &path).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let page = r.json();
        let got = ids(&page);
        pages += 1;
        cursor = page["nextCursor"].as_str().map(str::to_owned);
        if cursor.is_some() {
            assert_eq!(got.len(), 2, "page {pages} is short but has a next cursor");
        }
        assert!(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|v| v["status"] == "CANCELLED")
        );
        seen.extend(got);
        if cursor.is_none() {
            break;
        }
        assert!(pages < 10);
    }
    assert_eq!(seen, cancelled);
    assert!(pages <= 3, "{pages}");
    let scheduled: BTreeSet<String> = {
        let r = get(
            &t,
            &k,
            &format!("{base}&from=2026-01-05&to=2026-01-06&status=SCHEDULED&limit=100"),
        )
        .await;
        ids(&r.json()).into_iter().collect()
    };
    assert_eq!(scheduled.len(), 14 - cancelled.len());

    // A cursor of another range does not open; bad dates are a 400.
    let r = get(
        &t,
        &k,
        &format!("{base}&from=2026-01-05&to=2026-01-06&status=CANCELLED&limit=1"),
    )
    .await;
    let c = r.json()["nextCursor"].as_str().unwrap().to_owned();
    let r = get(
        &t,
        &k,
        &format!("{base}&from=2026-01-04&status=CANCELLED&limit=1&cursor={c}"),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    for bad in [
        "from=2026-02-30",
        "from=tomorrow",
        "to=2026-1-5",
        "from=2026-01-06&to=2026-01-05",
        "from=2026-01-05T10:00:00",
    ] {
        let r = get(&t, &k, &format!("{base}&{bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert!(
            r.json()["message"].as_str().unwrap().contains("from")
                || r.json()["message"].as_str().unwrap().contains("to")
        );
    }
}

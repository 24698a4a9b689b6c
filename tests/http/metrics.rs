//! What an operator sees locally: `GET /dev/metrics` (Prometheus text) moves
//! by exactly what was done — a launch issued and redeemed, a redemption
//! refused, a 404 on a route and one on no route, webhook attempts that
//! fail then succeed, the events written.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use http::Request;
use serde_json::json;
use shared::metrics::prometheus::Prometheus;
use shared::services::event_list;

use crate::delivering::{spawn_delivering, vendor_server};
use crate::helpers::{BASE_URL, demo_tenant, send_to};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// The samples of a Prometheus text, by name with labels; and that every
/// sample's metric has its `# TYPE` line.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (name, value) = line.rsplit_once(' ').expect("name value");
        let base = name.split('{').next().unwrap_or_default();
        let base = base
            .strip_suffix("_sum")
            .or_else(|| base.strip_suffix("_count"))
            .unwrap_or(base);
        assert!(text.contains(&format!("# TYPE {base} ")), "no TYPE: {line}");
        out.insert(name.to_owned(), value.parse().expect("a number"));
    }
    out
}

/// What moved between two readings (what did not move is left out).
fn moved(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    after
        .iter()
        .filter_map(|(k, v)| {
            let d = v - before.get(k).copied().unwrap_or(0.0);
            (d != 0.0).then(|| (k.clone(), d))
        })
        .collect()
}

fn want(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[tokio::test]
async fn dev_metrics_count_exactly_what_was_done() {
    let d = spawn_delivering().await;
    let metrics = Arc::new(Prometheus::new());
    d.t.app.set_metrics(metrics.clone());
    let router = shared::http::app_router_with(
        d.t.app.clone(),
        shared::http::dev::metrics_routes(metrics.clone()),
    );
    let router = &router;
    let read = move || async move {
        let r = send_to(
            router,
            Request::get("/dev/metrics").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(r.status, 200);
        assert!(
            r.header("content-type")
                .starts_with("text/plain; version=0.0.4")
        );
        parse(&r.text())
    };
    let start = read().await;
    assert_eq!(start.get("embedcare_launches_issued_total"), Some(&0.0));
    assert_eq!(
        start.get("embedcare_outbox_oldest_pending_seconds"),
        Some(&0.0)
    );

    // A launch issued (the vendor's call), redeemed by its page, then
    // opened again by another: refused (410).
    let r =
        d.t.create(
            json!({"keys":[{"subSystem":"pms","key":"metrics-1"}],"firstName":"Ann","lastName":"Lee"}),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let url = r.json()["iframeUrl"].as_str().unwrap().to_owned();
    assert!(url.starts_with(BASE_URL));
    let after_issue = read().await;
    assert_eq!(
        moved(&start, &after_issue),
        want(&[("embedcare_launches_issued_total", 1.0)])
    );
    assert_eq!(d.t.redeem(&url).await.status, 200);
    let after_redeem = read().await;
    assert_eq!(
        moved(&after_issue, &after_redeem),
        want(&[("embedcare_launches_redeemed_total", 1.0)])
    );
    let again = d.t.redeem(&url).await;
    assert_eq!(again.status, 410);
    let after_again = read().await;
    let moves = moved(&after_redeem, &after_again);
    assert_eq!(moves.len(), 2, "{moves:?}");
    assert_eq!(moves["embedcare_redemptions_expired_total"], 1.0);
    let (route, n) = moves
        .iter()
        .find(|(k, _)| k.starts_with("embedcare_http_4xx_total{route=\""))
        .expect("the 410 counted on its route");
    assert_eq!(*n, 1.0);
    assert!(route.contains("/embed/"), "a route template: {route}");
    assert!(!route.contains("session="), "never the query: {route}");

    // 404s: on a route (an unknown consultation), and on none.
    let missing =
        d.t.get(
            "/v2/consultations/00000000-0000-4000-8000-000000000000",
            &[],
        )
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text());
    assert_eq!(d.t.get("/no/such/endpoint", &[]).await.status, 404);
    let after_404 = read().await;
    assert_eq!(
        moved(&after_again, &after_404),
        want(&[
            (
                "embedcare_http_4xx_total{route=\"/v2/consultations/{consultationId}\"}",
                1.0
            ),
            ("embedcare_http_4xx_total{route=\"unmatched\"}", 1.0),
        ])
    );

    // Webhooks: every event's first attempt fails (500), the second lands.
    let vendor = vendor_server().await;
    vendor.fail_first("/hooks", 1);
    let r =
        d.t.post_json(
            "/v2/webhook-endpoints",
            &[],
            &json!({"url": vendor.url("/hooks"), "eventTypes": ["consultation.*"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let before_life = read().await;
    let (_, events) = d.consultation_life("metrics-2").await;
    let published = d.publish().await;
    d.drain(DAY_MS).await;
    let got = vendor.received("/hooks");
    assert_eq!(got.len(), 2 * events.len(), "one failure, one success each");
    let after_life = read().await;
    let moves = moved(&before_life, &after_life);
    assert_eq!(
        moves["embedcare_webhook_deliveries_total"],
        got.len() as f64
    );
    assert_eq!(
        moves["embedcare_webhook_failures_total"],
        events.len() as f64
    );
    assert_eq!(
        moves["embedcare_events_written_total"],
        published.len() as f64,
        "every event written, once: {moves:?}"
    );
    // The life's patient came with a launch (`life::patient`).
    assert_eq!(moves["embedcare_launches_issued_total"], 1.0);
    assert_eq!(moves.len(), 4, "nothing else moved: {moves:?}");

    // Events written in all: what the franchise's event list holds.
    let listed = event_list::list(&d.t.app, &demo_tenant(), None, &[], 100)
        .await
        .unwrap();
    assert!(!listed.has_more);
    assert_eq!(
        after_life["embedcare_events_written_total"],
        listed.events.len() as f64
    );
    // Nothing personal in the text.
    let text = metrics.render();
    for personal in ["Ann", "Lee", "metrics-1", "metrics-2", "T#", "demo"] {
        assert!(!text.contains(personal), "{personal} in /dev/metrics");
    }
}

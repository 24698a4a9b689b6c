//! The visits statistics view over HTTP (both stores): a staff user's
//! launch opens server-rendered SVG charts with the numbers (FR/EN, the
//! range carried by the launch, other ranges and rooms of the session, bad
//! dates the 400 state); a provider's or a patient's session is refused.

use http::Method;
use serde_json::json;

use crate::clinic::{call, provider_header, sso};
use crate::helpers::{TestApp, spawn_app};
use crate::statistics::{HOUR, MINUTE, code, intake, moved, text, visit};

/// The iframe URL of a launch (JSON), with these headers.
async fn launch(t: &TestApp, uri: &str, headers: &[(&str, &str)]) -> String {
    let mut h = vec![("accept", "application/json")];
    h.extend_from_slice(headers);
    let r = t.get(uri, &h).await;
    assert_eq!(r.status, 200, "{uri}: {}", r.text());
    r.json()["iframeUrl"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_statistics_view_draws_svg_charts_for_staff_and_refuses_others() {
    let t = spawn_app().await;
    let k = t.world.api_key.clone();
    t.clock.advance_ms(12 * HOUR);
    let (p, _) = sso(&t, "P-920").await;
    // Two walk-ins on Jan 1: one seen (waits 2 min, seen 5), one cancelled.
    let a = intake(
        &t,
        &k,
        &p,
        "WALKIN",
        "clinic",
        json!([code("fever", true), text("Secret", false)]),
    )
    .await;
    let a = visit(&t, &k, "walkin", &a).await;
    t.clock.advance_ms(2 * MINUTE);
    moved(&t, &a, "start").await;
    t.clock.advance_ms(5 * MINUTE);
    moved(&t, &a, "complete").await;
    let b = intake(&t, &k, &p, "WALKIN", "clinic", json!([code("fever", true)])).await;
    let b = visit(&t, &k, "walkin", &b).await;
    let r = call(
        &t,
        Method::POST,
        &format!("/v2/visits/{b}/cancel"),
        Some(&k),
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200);

    // A staff user's launch for the range: the charts, drawn by the server.
    let url = launch(
        &t,
        "/embeddable/visits/statistics?locale=en&from=2026-01-01&to=2026-01-31",
        &[],
    )
    .await;
    assert!(
        url.contains(
            "/en/embed/franchise/demo/visits/statistics?from=2026-01-01&to=2026-01-31&session="
        ),
        "{url}"
    );
    let r = t.redeem(&url).await;
    assert_eq!(r.status, 200, "{}", r.text());
    crate::pages::assert_clean_page(&r);
    let html = r.text();
    assert!(html.contains("2026-01-01 – 2026-01-31"), "the range shown");
    assert!(html.contains("id=\"vstats-total\">2<"));
    assert_eq!(html.matches("<svg").count(), 3, "status, type, times");
    assert!(
        !html.contains("<script src=\"http"),
        "no third-party script"
    );
    let bar = |key: &str, value: &str| {
        html.contains(&format!("<g data-key=\"{key}\">")) && {
            let at = html.find(&format!("<g data-key=\"{key}\">")).unwrap();
            let g = &html[at..at + html[at..].find("</g>").unwrap()];
            g.contains(&format!("data-value>{value}</text>"))
        }
    };
    for (key, value) in [
        ("COMPLETED", "1"),
        ("CANCELLED", "1"),
        ("IN_PROGRESS", "0"),
        ("WALKIN", "2"),
        ("ECONSULT", "0"),
        ("waiting-median", "2 min"),
        ("visit-p90", "5 min"),
    ] {
        assert!(bar(key, value), "{key}: {value}");
    }
    assert!(html.contains("Visits by status") && html.contains("Walk-in"));
    assert!(
        html.contains("data-concern=\"fever\">2<") && html.contains("data-concern=\"other\">1<")
    );
    assert!(html.contains("Fever") && !html.contains("Secret"));
    let s = crate::pages::context(&html);
    let token = s["sessionToken"].as_str().unwrap().to_owned();
    let base = "/en/embed/franchise/demo";
    let page = |q: String| {
        let (t, token) = (&t, token.clone());
        async move {
            let auth = format!("Bearer {token}");
            t.load(
                &format!("{base}/visits/statistics{q}"),
                &[("authorization", &auth)],
            )
            .await
        }
    };
    // Another range of the same session; a room; bad dates are the 400 state.
    let r = page("?from=2026-02-01&to=2026-02-28".into()).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("id=\"vstats-total\">0<"));
    let r = page("?from=2026-01-01&to=2026-01-31&roomCode=annex".into()).await;
    assert!(r.text().contains("id=\"vstats-total\">0<"));
    for bad in [
        "?from=2026-01-32",
        "?from=2026-02-01&to=2026-01-01",
        "?from=2024-01-01&to=2026-01-01",
    ] {
        let r = page(bad.into()).await;
        assert_eq!(r.status, 400, "{bad}");
        assert!(!r.text().contains("<svg"));
    }
    // The default: the last 30 days (Jan 1 is among them), in French.
    let url = launch(&t, "/embeddable/visits/statistics?locale=fr", &[]).await;
    let html = t.redeem(&url).await.text();
    assert!(html.contains("Visites par statut") && html.contains("Sans rendez-vous"));
    assert!(html.contains("id=\"vstats-total\">2<"));
    assert!(html.contains("Fièvre"));
    // Bad launches.
    for bad in [
        "from=2026-13-01",
        "to=nope",
        "from=2026-02-01&to=2026-01-01",
        "roomCode=Bad%20Code",
    ] {
        let r = t
            .get(&format!("/embeddable/visits/statistics?{bad}"), &[])
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }

    // Refused: a provider's session (their rooms, not the franchise's
    // counts), a patient's.
    let header = provider_header("dr-martin");
    let url = launch(
        &t,
        "/embeddable/visits/waiting-room?locale=en",
        &[("x-integration-user", &header)],
    )
    .await;
    let provider = crate::pages::open(&t, &url).await;
    let r = provider.view(&t, "visits/statistics").await;
    assert_eq!(r.status, 403);
    assert!(!r.text().contains("<svg"));
    let r = t
        .create(
            json!({"keys":[{"subSystem":"pms","key":"p-920"}],"firstName":"Ann","lastName":"Lee"}),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let url = t
        .get(
            "/embeddable/consultation/answer?patientKey=p-920&locale=en",
            &[],
        )
        .await
        .text();
    let patient = crate::pages::open(&t, &url).await;
    assert_eq!(patient.view(&t, "visits/statistics").await.status, 403);
    // The consultation statistics' launch opens it too; a one-patient one does not.
    let url = t.get("/embeddable/statistics?locale=en", &[]).await.text();
    let stats = crate::pages::open(&t, &url).await;
    assert_eq!(stats.view(&t, "visits/statistics").await.status, 200);
    let url = t
        .get(
            "/embeddable/consultation/dashboard?patientKey=p-920&locale=en",
            &[],
        )
        .await
        .text();
    let one = crate::pages::open(&t, &url).await;
    assert_eq!(one.view(&t, "visits/statistics").await.status, 403);
}

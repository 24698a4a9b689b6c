//! The dashboards (status tabs, patients, pages) and the statistics.

use serde_json::json;

use super::*;
use crate::helpers::*;

#[tokio::test]
async fn the_dashboard_filters_by_status_and_pages_with_a_cursor() {
    let t = spawn_app().await;
    let s = open(&t, &start_url(&t, "p-1", "en").await).await;
    let patient_id = s.ctx["ready"]["patientId"].as_str().unwrap().to_owned();
    for i in 0..12 {
        t.clock.advance_ms(1000);
        let r = s
            .act(
                &t,
                "consultation.create",
                json!({"patientId": patient_id, "reason": "uti", "send": i % 3 != 0}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    // Another patient's consultation.
    let other = open(&t, &start_url(&t, "p-2", "en").await).await;
    let other_patient = other.ctx["ready"]["patientId"].as_str().unwrap().to_owned();
    let r = other
        .act(
            &t,
            "consultation.create",
            json!({"patientId": other_patient}),
        )
        .await;
    assert_eq!(r.json()["events"][0]["status"], "DRAFT");

    let rows = |html: &str| html.matches("consultation/details?consultationId=").count();
    let url = t
        .get("/embeddable/consultation/dashboard?locale=en", &[])
        .await
        .text();
    let dash = open(&t, &url).await;
    assert_eq!(rows(&dash.html), 10);
    assert!(dash.html.contains("Ann Lee"));
    let next = link(&dash.html, "Next page").expect("a next page");
    assert!(next.contains("cursor="), "{next}");
    let page2 = dash.page(&t, &next).await;
    assert_eq!(page2.status, 200);
    assert_eq!(rows(&page2.text()), 3);
    assert!(link(&page2.text(), "First page").is_some());
    // A cursor is opaque, and a forged one is the page's 400 state (never
    // another page, nor the first one silently), with the way back.
    let forged = next.replace("cursor=", "cursor=AAAA");
    let refused = dash.page(&t, &forged).await;
    assert_eq!(refused.status, 400);
    assert_eq!(rows(&refused.text()), 0);
    assert!(link(&refused.text(), "First page").is_some());

    // By status.
    let drafts = dash
        .page(
            &t,
            "/en/embed/franchise/demo/consultation/dashboard?status=DRAFT",
        )
        .await
        .text();
    assert_eq!(rows(&drafts), 5, "4 of ours, 1 of the other patient");
    assert!(drafts.contains("aria-current=\"page\">Draft</a>"));
    let sent = dash
        .page(
            &t,
            "/en/embed/franchise/demo/consultation/dashboard?status=SENT",
        )
        .await
        .text();
    assert_eq!(rows(&sent), 8);
    assert!(link(&sent, "Next page").is_none());

    // A dashboard launched for a patient lists theirs only: the query
    // narrows, never widens.
    let url = t
        .get(
            "/embeddable/consultation/dashboard?locale=en&patientKey=p-2",
            &[],
        )
        .await
        .text();
    let mine = open(&t, &url).await;
    assert_eq!(rows(&mine.html), 1);
    assert!(link(&mine.html, "All patients").is_none());
    let all = format!("{}/consultation/dashboard?patient=all", mine.base);
    assert_eq!(rows(&mine.page(&t, &all).await.text()), 1);
    let theirs = format!(
        "{}/consultation/dashboard?patientId={patient_id}",
        mine.base
    );
    assert_eq!(mine.page(&t, &theirs).await.status, 404);
    // Launched for the franchise (asked explicitly), it offers all.
    let url = t
        .get(
            "/embeddable/consultation/dashboard?locale=en&patientKey=p-2&scope=franchise",
            &[],
        )
        .await
        .text();
    let mine = open(&t, &url).await;
    assert_eq!(rows(&mine.html), 1);
    let all = link(&mine.html, "All patients").expect("all patients");
    assert_eq!(rows(&mine.page(&t, &all).await.text()), 10);
    // A row opens the details.
    let start = mine
        .html
        .find("/en/embed/franchise/demo/consultation/details?")
        .unwrap();
    let end = start + mine.html[start..].find('"').unwrap();
    let details = mine.page(&t, &unescape(&mine.html[start..end])).await;
    assert_eq!(details.status, 200);
    assert!(details.text().contains("Draft"));
}

#[tokio::test]
async fn statistics_count_per_status() {
    let t = spawn_app().await;
    let s = open(&t, &start_url(&t, "p-1", "en").await).await;
    let patient_id = s.ctx["ready"]["patientId"].as_str().unwrap().to_owned();
    for send in [true, true, false] {
        let r = s
            .act(
                &t,
                "consultation.create",
                json!({"patientId": patient_id, "reason": "uti", "send": send}),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    s.act(
        &t,
        "followup.create",
        json!({"patientId": patient_id, "dueDate": "2026-02-01", "frequency": "once"}),
    )
    .await;
    let stats = open(
        &t,
        &t.get("/embeddable/statistics?locale=en", &[]).await.text(),
    )
    .await;
    let html = stats.view(&t, "statistics/dashboard").await.text();
    for (status, n) in [("SENT", 2), ("DRAFT", 1), ("PLANNED", 1), ("DONE", 0)] {
        assert!(
            html.contains(&format!("data-status=\"{status}\">{n}</td>")),
            "{status}: {n}"
        );
    }
    assert!(html.contains("<th scope=\"row\">Sent</th>"));
    assert!(html.contains("<meter"));
}

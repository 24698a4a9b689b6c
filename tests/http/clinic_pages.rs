//! The patient app's pages (both stores): `/auth` signs an SSO token in
//! and lands on `next` only when it is a path of the app (a table of
//! hostile values lands on the dashboard); every GET is the same shell;
//! the one-time appointment link opens 15 minutes before the start and
//! dies with the visit; a guest enters with a name.

use serde_json::json;

use crate::clinic::{intake, provider_move, sso, walkin};
use crate::helpers::{TestApp, spawn_app};

async fn auth(t: &TestApp, token: &str, next: &str) -> crate::helpers::Reply {
    t.post_form("/auth", &[("sso_token", token), ("next", next)])
        .await
}

/// The path the landed page puts in the address bar.
fn landed(r: &crate::helpers::Reply) -> String {
    let text = r.text();
    let start = text.find("\"path\":\"").expect("a page context") + 8;
    text[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn sso_into_the_dashboard_and_every_get_is_the_same_shell() {
    let t = spawn_app().await;
    let (_, token) = sso(&t, "P-900").await;
    let shell = t
        .load(&format!("/auth?sso_token={token}&next=/u/clinic"), &[])
        .await;
    assert_eq!(shell.status, 200);
    assert!(!shell.text().contains(&token), "the shell echoes nothing");
    assert_eq!(shell.header("referrer-policy"), "no-referrer");
    assert_eq!(
        shell.text(),
        t.load("/u/clinic", &[]).await.text(),
        "one shell for all"
    );
    let r = auth(&t, &token, "/u/clinic").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(landed(&r), "/u/clinic");
    assert!(r.text().contains("Virtual clinic") || r.text().contains("Clinique virtuelle"));
    assert!(
        r.header("content-security-policy")
            .contains("frame-ancestors https://vendor.example.com")
    );
    assert_eq!(r.header("referrer-policy"), "no-referrer");
    // A bad SSO token: the ended page.
    assert_eq!(auth(&t, "demo.nope.nope", "/u/clinic").await.status, 410);
    // once=1: the SSO token dies with this login.
    let (_, token) = sso(&t, "P-900").await;
    let r = t
        .post_form(
            "/auth",
            &[("sso_token", &token), ("next", "/u/clinic"), ("once", "1")],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(auth(&t, &token, "/u/clinic").await.status, 410);
}

#[tokio::test]
async fn hostile_next_values_land_on_the_dashboard() {
    let t = spawn_app().await;
    let (_, token) = sso(&t, "P-901").await;
    for next in [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/%2F%2Fevil.example",
        "%2F%2Fevil.example",
        "/%5Cevil.example",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,hi",
        "/visits/../../evil",
        "/u/clinic/../..//evil",
        "/u/clinic?next=//evil",
        "/u/clinic#//evil",
        "/u/clinic\n",
        "\t/u/clinic",
        "/visits/join/abc",
        "/members/appointment/x",
        "/auth",
        "",
        "http:evil.example",
    ] {
        let r = auth(&t, &token, next).await;
        assert_eq!(r.status, 200, "{next:?}: {}", r.text());
        assert_eq!(landed(&r), "/u/clinic", "{next:?}");
    }
}

#[tokio::test]
async fn a_walk_in_lands_in_its_waiting_room_then_its_room() {
    let t = spawn_app().await;
    let (_, token) = sso(&t, "P-902").await;
    let v = walkin(&t, &token).await;
    let id = v["visitId"].as_str().unwrap();
    let next = format!("/visits/start/{id}");
    let r = auth(&t, &token, &next).await;
    assert_eq!(landed(&r), next);
    assert!(
        r.text().contains("Place") && r.text().contains("id=\"leave-queue\""),
        "{}",
        r.text()
    );
    assert!(
        r.text().contains("hidden id=\"chat\""),
        "no chat while waiting"
    );
    provider_move(&t, id, "start", "dr-nguyen").await;
    let r = auth(&t, &token, &next).await;
    assert!(
        !r.text().contains("hidden id=\"chat\""),
        "the chat once started"
    );
    // Another patient's visit is not theirs to open.
    let (_, other) = sso(&t, "P-903").await;
    let r = auth(&t, &other, &next).await;
    assert_eq!(r.status, 410);
    // A guest with the join code.
    let code = v["code"].as_str().unwrap();
    let r = t
        .post_form(&format!("/visits/join/{code}"), &[("name", "Sam")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!r.text().contains("hidden id=\"chat\""));
    let bad = t
        .post_form(
            "/visits/join/demo.00000000000000000000000000000000",
            &[("name", "Sam")],
        )
        .await;
    assert_eq!(bad.status, 410);
}

#[tokio::test]
async fn the_appointment_link_opens_15_minutes_before_and_dies_after_the_end() {
    let t = spawn_app().await;
    let (_, token) = sso(&t, "P-904").await;
    let i = intake(&t, &token, "SCHEDULED").await;
    let body = json!({"intakeId": i, "providerId": "dr-martin", "start": "2026-01-01T02:00:00Z", "duration": 30});
    let r = t.post_json("/v2/visits", &[], &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    let id = v["visitId"].as_str().unwrap();
    let link = v["oneTimeLinkToken"].as_str().unwrap();
    let path = format!("/members/appointment/{id}");
    async fn open_link(t: &TestApp, path: &str, link: &str) -> u16 {
        t.post_form(path, &[("link", link)]).await.status.as_u16()
    }
    // 00:00: too early. 01:46: open. Again after a disconnection. 02:31: over.
    assert_eq!(open_link(&t, &path, link).await, 410);
    t.clock.advance_ms(106 * 60_000);
    assert_eq!(open_link(&t, &path, link).await, 200);
    assert_eq!(open_link(&t, &path, link).await, 200);
    let forged = t
        .post_form(&path, &[("link", &format!("{}x", &link[..link.len() - 1]))])
        .await;
    assert_eq!(forged.status, 410);
    t.clock.advance_ms(45 * 60_000);
    assert_eq!(open_link(&t, &path, link).await, 410);
}

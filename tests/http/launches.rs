//! Launch URLs: presigned, single-use, short-lived, scoped; the first page
//! they open; the expired page.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::*;

async fn launch_url(t: &TestApp) -> String {
    let r = t
        .create(json!({"keys":[{"subSystem":"pms","key":"p-1"}],"firstName":"Ann","lastName":"Lee","email":"ann.lee@example.com","dateOfBirth":"1958-03-14"}), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["iframeUrl"].as_str().unwrap().to_owned()
}

fn context(html: &str) -> Value {
    let start =
        html.find("id=\"embed-context\">").expect("context") + "id=\"embed-context\">".len();
    let end = start + html[start..].find("</script>").expect("end of context");
    serde_json::from_str(&html[start..end]).expect("context JSON")
}

#[tokio::test]
async fn the_url_has_the_design_shape_and_nothing_personal() {
    let t = spawn_app().await;
    let url = launch_url(&t).await;
    let prefix = format!("{BASE_URL}/fr/embed/franchise/demo/consultation/start?session=");
    assert!(url.starts_with(&prefix), "{url}");
    let token = token_of(&url);
    assert_eq!(token.len(), 43);
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    for personal in [
        "Ann",
        "Lee",
        "ann.lee",
        "1958",
        "p-1",
        "demo-owner",
        "patient",
    ] {
        assert!(!url.contains(personal), "{personal} in {url}");
    }
    // Only the hash of the token is stored.
    for w in t.store.written() {
        assert!(!format!("{w:?}").contains(token));
    }
}

#[tokio::test]
async fn the_first_load_opens_the_view_with_csp_and_ready_message() {
    let t = spawn_app().await;
    let url = launch_url(&t).await;
    let r = t.load(&url, &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").starts_with("text/html"));
    let csp = r.header("content-security-policy");
    assert!(
        csp.contains(&format!("frame-ancestors {HOST_ORIGIN}")),
        "{csp}"
    );
    assert!(!csp.contains('*'), "{csp}");
    assert_eq!(r.header("referrer-policy"), "no-referrer");
    assert_eq!(r.header("cache-control"), "no-store");
    let html = r.text();
    assert!(html.contains("<html lang=\"fr\">"));
    assert!(html.contains("Claire Tremblay"), "who is signed in");
    assert!(html.contains("Pharmacie Démo"), "the franchise");
    let ctx = context(&html);
    assert_eq!(ctx["state"], "ready");
    assert_eq!(ctx["allowedOrigins"], json!([HOST_ORIGIN]));
    assert_eq!(ctx["ready"]["type"], "embed.ready");
    assert_eq!(ctx["ready"]["view"], "consultation/start");
    assert!(ctx["ready"]["patientId"].is_string());
    let session = ctx["sessionToken"]
        .as_str()
        .expect("a session token for the page");
    assert_ne!(session, token_of(&url));
    // The script posts to named origins only.
    let js = t.load("/embed/static/app.js", &[]).await.text();
    assert!(js.contains("postMessage(message, origin)"));
    assert!(!js.contains("\"*\"") && !js.contains("'*'"));
}

#[tokio::test]
async fn a_second_load_is_410_with_the_expired_page() {
    let t = spawn_app().await;
    let url = launch_url(&t).await;
    assert_eq!(t.load(&url, &[]).await.status, 200);
    let r = t.load(&url, &[]).await;
    assert_eq!(r.status, 410);
    assert!(r.header("content-security-policy").contains(HOST_ORIGIN));
    let html = r.text();
    assert!(html.contains("Ce lien a expiré"));
    let ctx = context(&html);
    assert_eq!(ctx["state"], "expired");
    assert_eq!(ctx["expired"]["type"], "session.expired");
    assert_eq!(ctx["allowedOrigins"], json!([HOST_ORIGIN]));
    assert!(ctx.get("sessionToken").is_none());
}

#[tokio::test]
async fn twenty_concurrent_loads_of_one_url_give_exactly_one_200() {
    let t = spawn_app().await;
    let url = launch_url(&t).await;
    let loads = (0..20).map(|_| t.load(&url, &[]));
    let statuses: Vec<u16> = join_all(loads)
        .await
        .iter()
        .map(|r| r.status.as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 410).count(),
        19,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn twenty_concurrent_loads_from_spawned_tasks_give_exactly_one_200() {
    let t = spawn_app().await;
    let url = launch_url(&t).await;
    let path = url.strip_prefix(BASE_URL).unwrap().to_owned();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let router = t.router.clone();
            let path = path.clone();
            tokio::spawn(async move {
                let req = http::Request::get(path)
                    .body(axum::body::Body::empty())
                    .unwrap();
                tower::ServiceExt::oneshot(router, req)
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        if task.await.unwrap() == 200 {
            ok += 1;
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn an_expired_url_is_410() {
    let t = spawn_app().await;
    let url = launch_url(&t).await;
    t.clock.advance_ms(5 * 60 * 1000);
    let r = t.load(&url, &[]).await;
    assert_eq!(r.status, 410);
    assert_eq!(context(&r.text())["expired"]["type"], "session.expired");
}

#[tokio::test]
async fn a_url_just_before_expiry_still_opens() {
    let t = spawn_app().await;
    let url = launch_url(&t).await;
    t.clock.advance_ms(5 * 60 * 1000 - 1);
    assert_eq!(t.load(&url, &[]).await.status, 200);
}

#[tokio::test]
async fn a_token_opens_only_its_own_view() {
    let t = spawn_app().await;
    let url = launch_url(&t).await;
    let other_view = url.replace("/consultation/start?", "/consultation/dashboard?");
    assert_eq!(t.load(&other_view, &[]).await.status, 410);
}

#[tokio::test]
async fn forged_and_malformed_tokens_are_410() {
    let t = spawn_app().await;
    for token in ["x", "", &"A".repeat(43), "../../etc"] {
        let r = t
            .load(
                &format!("/en/embed/franchise/demo/consultation/start?session={token}"),
                &[],
            )
            .await;
        assert!(r.status == 410 || r.status == 200, "{token}: {}", r.status);
        if r.status == 200 {
            // An empty token is no token: the resume shell.
            assert_eq!(context(&r.text())["state"], "resume");
        }
    }
}

#[tokio::test]
async fn a_reload_inside_the_session_keeps_working() {
    let t = spawn_app().await;
    let url = launch_url(&t).await;
    let session = context(&t.load(&url, &[]).await.text())["sessionToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = url.split_once('?').unwrap().0;
    // Without credentials: the shell that resumes from sessionStorage.
    let shell = t.load(path, &[]).await;
    assert_eq!(shell.status, 200);
    assert_eq!(context(&shell.text())["state"], "resume");
    // With the session as a bearer token: the page again.
    let auth = format!("Bearer {session}");
    let page = t.load(path, &[("authorization", &auth)]).await;
    assert_eq!(page.status, 200);
    let ctx = context(&page.text());
    assert_eq!(ctx["state"], "ready");
    assert!(ctx.get("sessionToken").is_none());
    // The session is scoped to its franchise and its role: an employee
    // moves between the clinical views, but opens neither the
    // administration views (not launched for them) nor a patient's view.
    let other = path.replace("/consultation/start", "/statistics/dashboard");
    assert_eq!(
        t.load(&other, &[("authorization", &auth)]).await.status,
        200
    );
    for view in [
        "/administration/franchise-offboarding",
        "/consultation/answer",
    ] {
        let other = path.replace("/consultation/start", view);
        assert_eq!(
            t.load(&other, &[("authorization", &auth)]).await.status,
            403,
            "{view}"
        );
    }
    let foreign = path.replace("/franchise/demo/", "/franchise/other/");
    assert_eq!(
        t.load(&foreign, &[("authorization", &auth)]).await.status,
        410
    );
    // And it expires.
    t.clock.advance_ms(2 * 3600 * 1000);
    assert_eq!(t.load(path, &[("authorization", &auth)]).await.status, 410);
}

#[tokio::test]
async fn unknown_pages_are_404_and_frameable_by_nobody() {
    let t = spawn_app().await;
    for path in [
        "/en/embed/franchise/nope/consultation/start",
        "/en/embed/franchise/demo/consultation/nope",
        "/de/embed/franchise/demo/consultation/start",
        "/en/embed/franchise/Bad%20Key/consultation/start",
    ] {
        let r = t.load(path, &[]).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(
            r.header("content-security-policy")
                .contains("frame-ancestors 'none'")
        );
    }
}

#[tokio::test]
async fn the_locale_follows_the_request_then_the_user() {
    let t = spawn_app().await;
    let en = t.get("/embeddable/statistics?locale=en", &[]).await.text();
    assert!(en.contains("/en/embed/"));
    let r = t.load(&en, &[]).await;
    assert!(r.text().contains("<html lang=\"en\">") && r.text().contains("Statistics"));
    // The owner prefers French.
    assert!(
        t.get("/embeddable/statistics", &[])
            .await
            .text()
            .contains("/fr/embed/")
    );
    let r = t.get("/embeddable/statistics?locale=de", &[]).await;
    assert_error(&r, 400, "locale must be en or fr", "/embeddable/statistics");
}

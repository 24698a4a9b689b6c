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
    let r = t.redeem(&url).await;
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
    // The script posts data to named origins only.
    let js = t.load("/embed/static/app.js", &[]).await.text();
    assert!(js.contains("postMessage(message, origin)"));
    assert!(!js.contains("\"*\"") && !js.contains("'*'"));
}

/// Mail gateways and chat previews fetch every link first: a `HEAD` or a
/// `GET` of a launch URL is the entry shell — the same bytes for every
/// franchise, read from nothing — and redeems nothing.
#[tokio::test]
async fn head_and_get_of_a_launch_url_change_nothing() {
    let t = spawn_app().await;
    let url = launch_url(&t).await;
    let launch = launch_item(&t, &url).await;
    t.store.reset();
    let head = t
        .send(
            http::Request::head(url.strip_prefix(BASE_URL).unwrap())
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let get = t.load(&url, &[]).await;
    assert_eq!(get.status, 200);
    assert_eq!(context(&get.text())["state"], "shell");
    assert!(t.store.written().is_empty(), "a GET wrote something");
    assert_eq!(t.store.snapshot().round_trips(), 0, "a GET read the store");
    assert_eq!(
        launch_item(&t, &url).await,
        launch,
        "the launch is untouched"
    );
    // The shell has nothing of the franchise: an unknown franchise's is
    // the same, byte for byte, headers included.
    let html = get.text();
    for private in [HOST_ORIGIN, "Pharmacie", "demo", "Claire"] {
        assert!(!html.contains(private), "{private} in the shell");
    }
    let unknown = t
        .load("/fr/embed/franchise/nobody-here/consultation/start", &[])
        .await;
    assert_eq!(unknown.status, 200);
    assert_eq!(unknown.body, get.body);
    for h in ["content-security-policy", "cache-control", "content-type"] {
        assert_eq!(unknown.header(h), get.header(h), "{h}");
    }
    assert!(
        get.header("content-security-policy")
            .contains("frame-ancestors *")
    );
    // The launch still opens, once.
    assert_eq!(t.redeem(&url).await.status, 200);
    assert_eq!(t.redeem(&url).await.status, 410);
}

/// The launch item of an iframe URL, as stored.
async fn launch_item(t: &TestApp, url: &str) -> Option<Value> {
    let key = shared::store::keys::launch_key(
        &demo_tenant(),
        &shared::crypto::hash_secret(token_of(url)),
    );
    let item = shared::store::Store::get(&*t.store, &key).await.unwrap();
    item.map(|i| serde_json::to_value(i.attrs).unwrap())
}

#[tokio::test]
async fn a_second_load_is_410_with_the_expired_page() {
    let t = spawn_app().await;
    let url = launch_url(&t).await;
    assert_eq!(t.redeem(&url).await.status, 200);
    let r = t.redeem(&url).await;
    assert_eq!(r.status, 410);
    let html = r.text();
    assert!(html.contains("Ce lien a expiré"));
    let ctx = context(&html);
    assert_eq!(ctx["state"], "expired");
    assert_eq!(ctx["expired"]["type"], "session.expired");
    assert_eq!(ctx["expired"]["tenantKey"], "demo");
    assert_eq!(ctx["expired"]["view"], "consultation/start");
    assert!(ctx.get("sessionToken").is_none());
    // It holds nothing of the franchise (not even its allowed origins), so
    // an unknown franchise's expired page is the same.
    assert!(!html.contains(HOST_ORIGIN));
    assert!(!r.header("content-security-policy").contains(HOST_ORIGIN));
    let unknown = t
        .redeem(&url.replace("/franchise/demo/", "/franchise/nobody-here/"))
        .await;
    assert_eq!(unknown.status, 410);
    assert_eq!(
        unknown.text().replace("nobody-here", "demo"),
        html,
        "known and unknown franchises look the same"
    );
}

/// A render failure after redemption must not burn the launch: the page
/// that redeemed it (its nonce) gets the same session again for a few
/// seconds; any other page gets the expired page.
#[tokio::test]
async fn the_redeeming_page_may_redeem_again_for_a_few_seconds() {
    let t = spawn_app().await;
    let url = launch_url(&t).await;
    let nonce = page_nonce();
    let first = t.redeem_with(&url, &nonce).await;
    assert_eq!(first.status, 200);
    let token = context(&first.text())["sessionToken"]
        .as_str()
        .unwrap()
        .to_owned();
    t.clock.advance_ms(9_000);
    let again = t.redeem_with(&url, &nonce).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(context(&again.text())["sessionToken"], token.as_str());
    assert_eq!(t.redeem(&url).await.status, 410, "another page");
    t.clock.advance_ms(1_000);
    assert_eq!(t.redeem_with(&url, &nonce).await.status, 410, "too late");
    // The session itself lives on.
    let auth = format!("Bearer {token}");
    let path = url.split_once('?').unwrap().0;
    assert_eq!(t.load(path, &[("authorization", &auth)]).await.status, 200);
    // A redemption needs a nonce of the page.
    let url = launch_url(&t).await;
    for bad in ["", "short", &"x".repeat(65), "with spaces and more than 16"] {
        assert_eq!(t.redeem_with(&url, bad).await.status, 410, "{bad:?}");
    }
    assert_eq!(t.redeem(&url).await.status, 200);
}

#[tokio::test]
async fn twenty_concurrent_loads_of_one_url_give_exactly_one_200() {
    let t = spawn_app().await;
    let url = launch_url(&t).await;
    let loads = (0..20).map(|_| t.redeem(&url));
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
    let t = std::sync::Arc::new(spawn_app().await);
    let url = launch_url(&t).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let t = t.clone();
            let url = url.clone();
            tokio::spawn(async move { t.redeem(&url).await.status.as_u16() })
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
    let r = t.redeem(&url).await;
    assert_eq!(r.status, 410);
    assert_eq!(context(&r.text())["expired"]["type"], "session.expired");
}

#[tokio::test]
async fn a_url_just_before_expiry_still_opens() {
    let t = spawn_app().await;
    let url = launch_url(&t).await;
    t.clock.advance_ms(5 * 60 * 1000 - 1);
    assert_eq!(t.redeem(&url).await.status, 200);
}

#[tokio::test]
async fn a_token_opens_only_its_own_view() {
    let t = spawn_app().await;
    let url = launch_url(&t).await;
    let other_view = url.replace("/consultation/start?", "/consultation/dashboard?");
    assert_eq!(t.redeem(&other_view).await.status, 410);
}

#[tokio::test]
async fn forged_and_malformed_tokens_are_410() {
    let t = spawn_app().await;
    let path = "/en/embed/franchise/demo/consultation/start";
    for token in ["x", "", &"A".repeat(43), "../../etc"] {
        let r = t.redeem(&format!("{path}?session={token}")).await;
        assert_eq!(r.status, 410, "{token}");
    }
    // A POST with no credential at all, or not a form.
    assert_eq!(t.post_form(path, &[]).await.status, 410);
    let r = t
        .post_json(path, &[], &json!({"launch": "x", "nonce": "y"}))
        .await;
    assert_eq!(r.status, 410);
}

#[tokio::test]
async fn a_reload_inside_the_session_keeps_working() {
    let t = spawn_app().await;
    let url = launch_url(&t).await;
    let session = context(&t.redeem(&url).await.text())["sessionToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = url.split_once('?').unwrap().0;
    // A reload is a GET: the shell, whose script resumes from sessionStorage...
    let shell = t.load(path, &[]).await;
    assert_eq!(shell.status, 200);
    assert_eq!(context(&shell.text())["state"], "shell");
    // ...with a POST of the session token: the page again.
    // (The new document gets the token back: it may have no storage.)
    let page = t.post_form(path, &[("session", &session)]).await;
    assert_eq!(page.status, 200);
    let ctx = context(&page.text());
    assert_eq!(ctx["state"], "ready");
    assert_eq!(ctx["sessionToken"], session.as_str());
    // Inside the page, moves fetch pages with the session as a bearer token.
    let auth = format!("Bearer {session}");
    let page = t.load(path, &[("authorization", &auth)]).await;
    assert_eq!(page.status, 200);
    let ctx = context(&page.text());
    assert_eq!(ctx["state"], "ready");
    assert!(ctx.get("sessionToken").is_none());
    // The session reaches what its launch was for: one patient's start
    // view reaches that patient's views, neither the statistics nor the
    // administration nor a patient's view.
    let dashboard = path.replace("/consultation/start", "/consultation/dashboard");
    assert_eq!(
        t.load(&dashboard, &[("authorization", &auth)]).await.status,
        200
    );
    for view in [
        "/statistics/dashboard",
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
    assert_eq!(
        t.post_form(&foreign, &[("session", &session)]).await.status,
        410
    );
    // And it expires.
    t.clock.advance_ms(2 * 3600 * 1000);
    assert_eq!(t.load(path, &[("authorization", &auth)]).await.status, 410);
    assert_eq!(
        t.post_form(path, &[("session", &session)]).await.status,
        410
    );
}

#[tokio::test]
async fn unknown_pages_are_404_and_frameable_by_nobody() {
    let t = spawn_app().await;
    for path in [
        "/en/embed/franchise/demo/consultation/nope",
        "/de/embed/franchise/demo/consultation/start",
        "/en/embed/franchise/Bad%20Key/consultation/start",
    ] {
        for r in [t.load(path, &[]).await, t.post_form(path, &[]).await] {
            assert_eq!(r.status, 404, "{path}");
            assert!(
                r.header("content-security-policy")
                    .contains("frame-ancestors 'none'")
            );
        }
    }
}

#[tokio::test]
async fn the_locale_follows_the_request_then_the_user() {
    let t = spawn_app().await;
    let en = t.get("/embeddable/statistics?locale=en", &[]).await.text();
    assert!(en.contains("/en/embed/"));
    let r = t.redeem(&en).await;
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

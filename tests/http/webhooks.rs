//! Signed webhooks: endpoints managed and validated through the API; a
//! consultation's whole life delivered to a test vendor server that fails
//! the first two attempts of every event, every signature verified with the
//! README's code (Rust here, Node and Python run from the README); a secret
//! rotation that loses nothing; `410 Gone` and three days of failures
//! disabling the endpoint (an event and an e-mail); private addresses,
//! rebinding and redirects refused; redeliveries.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use http::Method;
use serde_json::{Value, json};
use shared::domain::subscription::{FIRST_RETRY_MS, RETRY_WINDOW_MS};
use shared::services::admin;

use crate::delivering::{Captured, Delivering, spawn_delivering, vendor_server, vendor_server_on};
use crate::helpers::{TestApp, assert_error};
use crate::verify::verify_embedcare_signature;

const DAY_MS: i64 = 24 * 3600 * 1000;

impl TestApp {
    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> crate::helpers::Reply {
        let b = TestApp::request(method, path, &self.world.api_key, &[]);
        let req = match body {
            Some(v) => b
                .header("content-type", "application/json")
                .body(axum::body::Body::from(v.to_string())),
            None => b.body(axum::body::Body::empty()),
        };
        self.send(req.expect("a request")).await
    }
}

async fn create_endpoint(d: &Delivering, url: &str, types: Value) -> Value {
    let r =
        d.t.post_json(
            "/v2/webhook-endpoints",
            &[],
            &json!({"url": url, "eventTypes": types, "description": "PMS"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

/// Every capture verifies with `secrets` (the README's Rust code), at the
/// instant it was signed.
fn verifies(c: &Captured, secrets: &[&str]) -> bool {
    let header = c.header("embedcare-signature");
    let t: i64 = header
        .split(',')
        .find_map(|p| p.strip_prefix("t="))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    verify_embedcare_signature(&c.body, header, secrets, 300, t)
}

#[tokio::test]
async fn endpoints_are_managed_through_the_api() {
    let d = spawn_delivering().await;
    let vendor = vendor_server().await;
    let created = create_endpoint(
        &d,
        &vendor.url("/hooks"),
        json!(["consultation.*", "followup.created"]),
    )
    .await;
    let id = created["endpointId"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 49,
        "{secret}"
    );
    assert_eq!(created["status"], "enabled");
    assert_eq!(
        created["eventTypes"],
        json!(["consultation.*", "followup.created"])
    );
    // The secret is shown once: never read back, never stored in the clear.
    let one = d.t.get(&format!("/v2/webhook-endpoints/{id}"), &[]).await;
    assert_eq!(one.status, 200);
    assert!(one.json().get("secret").is_none());
    let stored = d.t.store.written();
    assert!(
        !format!("{stored:?}").contains(secret),
        "the secret is stored sealed"
    );
    let list = d.t.get("/v2/webhook-endpoints", &[]).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let r = d
        .t
        .send_json(
            Method::PATCH,
            &format!("/v2/webhook-endpoints/{id}"),
            Some(&json!({"eventTypes": ["visit.updated"], "status": "disabled", "description": null})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let e = r.json();
    assert_eq!(
        (e["status"].as_str(), e["disabledReason"].as_str()),
        (Some("disabled"), Some("vendor"))
    );
    assert_eq!(e["eventTypes"], json!(["visit.updated"]));
    assert_eq!(e["description"], Value::Null);

    // Another franchise's key sees nothing of it.
    let other =
        d.t.get_as(
            &d.t.world.other_account_api_key,
            &format!("/v2/webhook-endpoints/{id}"),
            &[],
        )
        .await;
    assert_error(
        &other,
        404,
        "Webhook endpoint not found",
        &format!("/v2/webhook-endpoints/{id}"),
    );

    let r =
        d.t.send_json(Method::DELETE, &format!("/v2/webhook-endpoints/{id}"), None)
            .await;
    assert_eq!(r.status, 204);
    let r = d.t.get(&format!("/v2/webhook-endpoints/{id}"), &[]).await;
    assert_error(
        &r,
        404,
        "Webhook endpoint not found",
        &format!("/v2/webhook-endpoints/{id}"),
    );

    // Bad requests are 400s that say what is wrong.
    for (body, message) in [
        (
            json!({"eventTypes": ["consultation.*"]}),
            "Invalid request: url is required",
        ),
        (
            json!({"url": vendor.url("/x")}),
            "Invalid request: eventTypes is required",
        ),
        (
            json!({"url": vendor.url("/x"), "eventTypes": ["pharmacy.*"]}),
            "eventTypes: \"pharmacy.*\" is not a pattern (each eventTypes entry is a known event type (consultation.created…) or prefix.* of a known family (consultation, followup, franchise, visit, webhook))",
        ),
        (
            json!({"url": vendor.url("/x"), "eventTypes": []}),
            "eventTypes holds 1 to 20 patterns",
        ),
        (
            json!({"url": vendor.url("/x"), "eventTypes": "consultation.*"}),
            "eventTypes must be a list of strings",
        ),
        (
            json!({"url": "ftp://hooks.example.com/", "eventTypes": ["consultation.*"]}),
            "url must be https",
        ),
        (
            json!({"url": "http://hooks.example.com/", "eventTypes": ["consultation.*"]}),
            "url must be https (http only to 127.0.0.1, localhost or [::1] in local mode)",
        ),
    ] {
        let r = d.t.post_json("/v2/webhook-endpoints", &[], &body).await;
        assert_error(&r, 400, message, "/v2/webhook-endpoints");
    }
}

#[tokio::test]
async fn private_addresses_rebinding_and_redirects_are_refused() {
    let d = spawn_delivering().await;
    let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
    d.resolver.set("internal.example", &[ip("10.1.2.3")]);
    d.resolver.set(
        "mixed.example",
        &[ip("93.184.216.34"), ip("169.254.169.254")],
    );
    for (url, why) in [
        (
            "https://10.0.0.1/hooks",
            "url must not point at a private address",
        ),
        (
            "https://169.254.169.254/latest/meta-data/",
            "url must not point at a cloud metadata address",
        ),
        (
            "https://[fd00:ec2::254]/",
            "url must not point at a cloud metadata address",
        ),
        (
            "https://100.64.1.1/",
            "url must not point at a carrier-grade NAT address",
        ),
        (
            "https://[::ffff:192.168.0.1]/",
            "url must not point at a private address",
        ),
        (
            "https://internal.example/hooks",
            "url: its host resolves to a private address",
        ),
        (
            "https://mixed.example/hooks",
            "url: its host resolves to a cloud metadata address",
        ),
        (
            "https://nowhere.example/hooks",
            "url: its host does not resolve",
        ),
    ] {
        let r =
            d.t.post_json(
                "/v2/webhook-endpoints",
                &[],
                &json!({"url": url, "eventTypes": ["consultation.*"]}),
            )
            .await;
        assert_error(&r, 400, why, "/v2/webhook-endpoints");
    }

    // A name checked at creation, rebound to the metadata address before
    // the delivery: the client's resolver refuses to connect.
    d.resolver.set("rebind.example", &[ip("93.184.216.34")]);
    let rebind = create_endpoint(
        &d,
        "https://rebind.example/hooks",
        json!(["consultation.created"]),
    )
    .await;
    d.resolver.set("rebind.example", &[ip("169.254.169.254")]);
    // A redirect (to a private address here) is a failure, never followed.
    let vendor = vendor_server().await;
    let target = vendor_server().await;
    vendor.always_with("/moved", 302, Some(target.url("/stolen")));
    let moved = create_endpoint(&d, &vendor.url("/moved"), json!(["consultation.created"])).await;
    d.consultation_life("refusals-1").await;
    d.publish().await;
    d.drain(2 * FIRST_RETRY_MS).await;
    let log = |id: &Value| {
        let path = format!("/v2/webhook-endpoints/{}/deliveries", id.as_str().unwrap());
        let t = &d.t;
        async move { t.get(&path, &[]).await.json()["items"][0].clone() }
    };
    let refused = log(&rebind["endpointId"]).await;
    assert_eq!(refused["error"], "refused-address", "{refused}");
    assert_eq!(refused["responseCode"], Value::Null);
    assert_eq!(
        refused["status"], "pending",
        "retried: the name may resolve publicly again"
    );
    let redirected = log(&moved["endpointId"]).await;
    assert_eq!(
        (
            redirected["error"].as_str(),
            redirected["responseCode"].as_u64()
        ),
        (Some("redirect"), Some(302))
    );
    assert!(
        vendor.received("/moved").len() >= 2,
        "retried after the redirect"
    );
    assert!(
        target.received("/stolen").is_empty(),
        "the redirect was never followed"
    );
}

#[tokio::test]
async fn a_consultation_s_whole_life_arrives_signed_once_the_vendor_answers_200() {
    let d = spawn_delivering().await;
    let vendor = vendor_server().await;
    vendor.fail_first("/hooks", 2);
    let created = create_endpoint(&d, &vendor.url("/hooks"), json!(["consultation.*"])).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["endpointId"].as_str().unwrap().to_owned();
    let (_, events) = d.consultation_life("whole-life-1").await;
    assert_eq!(events.len(), 5);
    let published = d.publish().await;
    assert_eq!(published.len(), 5, "the outbox holds the life's events");
    d.drain(DAY_MS).await;

    let got = vendor.received("/hooks");
    let mut by_event: BTreeMap<String, Vec<&Captured>> = BTreeMap::new();
    for c in &got {
        by_event
            .entry(c.header("embedcare-event-id").to_owned())
            .or_default()
            .push(c);
    }
    assert_eq!(by_event.len(), 5, "every event of the life arrived");
    for e in &events {
        let attempts = &by_event[e.id.as_str()];
        assert_eq!(attempts.len(), 3, "500, 500, then 200: {}", e.id);
        let bus_body = serde_json::to_value(e).unwrap();
        for c in attempts {
            assert!(verifies(c, &[&secret]), "the signature verifies");
            assert!(
                !verifies(c, &["whsec_not-the-secret"]),
                "and only with the secret"
            );
            assert_eq!(c.json(), bus_body, "the body is the bus event's, unchanged");
            assert_eq!(c.header("content-type"), "application/json");
            assert_eq!(c.header("user-agent"), "embedcare-webhooks/1");
            assert_eq!(
                c.header("embedcare-event-type"),
                e.type_name().unwrap().as_str()
            );
        }
    }
    // The deliveries log: each event delivered after three attempts, the
    // first retry within 30 s, never the body.
    let log =
        d.t.get(&format!("/v2/webhook-endpoints/{id}/deliveries"), &[])
            .await;
    assert_eq!(log.status, 200, "{}", log.text());
    let items = log.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 5);
    for item in &items {
        assert_eq!(item["status"], "delivered", "{item}");
        assert_eq!(item["attempts"], 3);
        assert_eq!(item["responseCode"], 200);
        assert!(item["durationMs"].is_u64());
        assert!(item.get("body").is_none() && item.get("detail").is_none());
    }
    assert!(
        !log.text().contains("vaccination"),
        "no event body in the log"
    );
    // At least once in, one delivery record out: two fan-outs of each event
    // made one delivery each, and a third changes nothing.
    d.publish().await;
    for e in &published {
        shared::services::dispatch::fan_out(&d.t.app, e)
            .await
            .unwrap();
    }
    assert_eq!(d.drain(DAY_MS).await, 0, "nothing more to do");
    assert_eq!(vendor.received("/hooks").len(), 15);

    // The Node and Python snippets of the README verify the same deliveries.
    crate::webhooks::run_readme_verifiers(&got, &[&secret]);
}

#[tokio::test]
async fn the_first_retry_comes_within_30_seconds_and_retries_back_off() {
    let d = spawn_delivering().await;
    let vendor = vendor_server_on(&d.t.clock).await;
    vendor.fail_first("/hooks", 6);
    create_endpoint(&d, &vendor.url("/hooks"), json!(["consultation.created"])).await;
    d.consultation_life("backoff-1").await;
    d.publish().await;
    d.drain(DAY_MS).await;
    let at: Vec<i64> = vendor.received("/hooks").iter().map(|c| c.at_ms).collect();
    assert_eq!(at.len(), 7, "six failures, then the 200");
    let gaps: Vec<i64> = at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps[0] <= FIRST_RETRY_MS,
        "the first retry within 30 s: {gaps:?}"
    );
    for (n, gap) in gaps.iter().enumerate() {
        assert!(
            *gap <= FIRST_RETRY_MS << n,
            "retry {} within its bound: {gaps:?}",
            n + 1
        );
        assert!(*gap >= 1000, "never a busy loop: {gaps:?}");
    }
}

#[tokio::test]
async fn a_secret_rotation_loses_nothing() {
    let d = spawn_delivering().await;
    let vendor = vendor_server().await;
    let created = create_endpoint(&d, &vendor.url("/hooks"), json!(["consultation.*"])).await;
    let id = created["endpointId"].as_str().unwrap().to_owned();
    let old = created["secret"].as_str().unwrap().to_owned();
    d.consultation_life("rotation-1").await;
    d.publish().await;
    d.drain(60_000).await;
    let before = vendor.received("/hooks");
    let r =
        d.t.send_json(
            Method::POST,
            &format!("/v2/webhook-endpoints/{id}/rotate-secret"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let new = r.json()["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    d.consultation_life("rotation-2").await;
    d.publish().await;
    d.drain(60_000).await;
    let during = vendor.received("/hooks")[before.len()..].to_vec();
    assert_eq!(during.len(), 5);
    for c in &during {
        assert_eq!(c.header("embedcare-signature").matches("v1=").count(), 2);
        assert!(
            verifies(c, &[&old]),
            "a receiver still on the old secret loses nothing"
        );
        assert!(verifies(c, &[&new]), "nor one already on the new secret");
    }
    // A day later the old secret no longer signs.
    d.t.clock.advance_ms(DAY_MS + 1000);
    d.consultation_life("rotation-3").await;
    d.publish().await;
    d.drain(60_000).await;
    let after = vendor.received("/hooks")[before.len() + 5..].to_vec();
    assert_eq!(after.len(), 5);
    for c in &after {
        assert_eq!(c.header("embedcare-signature").matches("v1=").count(), 1);
        assert!(verifies(c, &[&new]) && !verifies(c, &[&old]));
    }
    run_readme_verifiers(&during, &[&old]);
}

/// The event `Webhook Endpoint Disabled` of an endpoint, from the event list.
async fn disabled_events(d: &Delivering) -> Vec<Value> {
    let r = d.t.get("/v2/events?types=webhook.*", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_tells_the_franchise() {
    let d = spawn_delivering().await;
    admin::set_contact_email(&d.t.app, "demo", Some("ops@pharmacy.example"))
        .await
        .unwrap();
    let vendor = vendor_server().await;
    vendor.always("/hooks", 410);
    let created = create_endpoint(&d, &vendor.url("/hooks"), json!(["consultation.*"])).await;
    let id = created["endpointId"].as_str().unwrap().to_owned();
    d.consultation_life("gone-1").await;
    d.publish().await;
    d.drain(60_000).await;
    let e =
        d.t.get(&format!("/v2/webhook-endpoints/{id}"), &[])
            .await
            .json();
    assert_eq!(
        (e["status"].as_str(), e["disabledReason"].as_str()),
        (Some("disabled"), Some("gone"))
    );
    let events = disabled_events(&d).await;
    assert_eq!(
        events.len(),
        1,
        "one event, however many deliveries saw the 410"
    );
    assert_eq!(events[0]["data"]["endpointId"], id.as_str());
    assert_eq!(events[0]["data"]["reason"], "gone");
    assert_eq!(events[0]["eventType"], "webhook");
    let mails = d.notifier.messages();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].1.to, "ops@pharmacy.example");
    assert!(mails[0].1.text.contains(&id));
    // Nothing more goes to a disabled endpoint.
    let seen = vendor.received("/hooks").len();
    d.consultation_life("gone-2").await;
    d.publish().await;
    d.drain(60_000).await;
    assert_eq!(vendor.received("/hooks").len(), seen);
}

#[tokio::test]
async fn three_days_of_failures_fail_the_delivery_and_disable_the_endpoint() {
    let d = spawn_delivering().await;
    admin::set_contact_email(&d.t.app, "demo", Some("ops@pharmacy.example"))
        .await
        .unwrap();
    let vendor = vendor_server().await;
    vendor.always("/hooks", 503);
    let created = create_endpoint(&d, &vendor.url("/hooks"), json!(["consultation.created"])).await;
    let id = created["endpointId"].as_str().unwrap().to_owned();
    d.consultation_life("failing-1").await;
    d.publish().await;
    let started = d.t.clock_now();
    d.drain(4 * DAY_MS).await;
    let item =
        d.t.get(&format!("/v2/webhook-endpoints/{id}/deliveries"), &[])
            .await
            .json()["items"][0]
            .clone();
    assert_eq!(item["status"], "failed", "{item}");
    assert_eq!(
        (item["responseCode"].as_u64(), item["error"].as_str()),
        (Some(503), Some("status"))
    );
    let attempts = item["attempts"].as_u64().unwrap();
    assert!(
        (60..400).contains(&attempts),
        "backoff capped at an hour over three days: {attempts}"
    );
    let last = shared::clock::parse_iso_ms(item["lastAttemptAt"].as_str().unwrap()).unwrap();
    assert!(last - started < RETRY_WINDOW_MS && last - started > RETRY_WINDOW_MS - 2 * 3600 * 1000);
    let e =
        d.t.get(&format!("/v2/webhook-endpoints/{id}"), &[])
            .await
            .json();
    assert_eq!(
        (e["status"].as_str(), e["disabledReason"].as_str()),
        (Some("disabled"), Some("failing"))
    );
    assert_eq!(disabled_events(&d).await[0]["data"]["reason"], "failing");
    let mails = d.notifier.messages();
    assert_eq!(mails.len(), 1, "the operator is told once");
    assert!(mails[0].1.text.contains("three days"));
}

#[tokio::test]
async fn an_event_is_redelivered_on_request() {
    let d = spawn_delivering().await;
    let vendor = vendor_server().await;
    let created = create_endpoint(&d, &vendor.url("/hooks"), json!(["consultation.created"])).await;
    let id = created["endpointId"].as_str().unwrap().to_owned();
    let (_, events) = d.consultation_life("redeliver-1").await;
    d.publish().await;
    d.drain(60_000).await;
    assert_eq!(vendor.received("/hooks").len(), 1);
    let event = &events[0].id;
    let r =
        d.t.send_json(Method::POST, &format!("/v2/events/{event}/redeliver"), None)
            .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["deliveries"][0]["endpointId"], id.as_str());
    assert_eq!(r.json()["deliveries"][0]["status"], "pending");
    d.drain(60_000).await;
    let got = vendor.received("/hooks");
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].header("embedcare-event-id"), event.as_str());
    assert_eq!(got[0].body, got[1].body, "the same bytes again");
    // To one endpoint; unknown events and endpoints are 404s.
    let r =
        d.t.send_json(
            Method::POST,
            &format!("/v2/events/{event}/redeliver?endpointId={id}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let path = "/v2/events/no-such-event/redeliver";
    assert_error(
        &d.t.send_json(Method::POST, path, None).await,
        404,
        "Event not found",
        path,
    );
    let path = format!("/v2/events/{event}/redeliver?endpointId=nope");
    let r = d.t.send_json(Method::POST, &path, None).await;
    assert_error(
        &r,
        404,
        "Webhook endpoint not found",
        &format!("/v2/events/{event}/redeliver"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_pump_delivers_and_a_slow_endpoint_holds_up_no_other() {
    let d = spawn_delivering().await;
    let vendor = vendor_server().await;
    vendor.slow("/slow", 8000);
    create_endpoint(&d, &vendor.url("/slow"), json!(["consultation.*"])).await;
    create_endpoint(&d, &vendor.url("/fast"), json!(["consultation.*"])).await;
    let pump = tokio::spawn(shared::services::work::run_local_pump(
        std::sync::Arc::new(shared::services::dispatch::Dispatcher {
            app: d.t.app.clone(),
            sender: d.dispatcher.sender.clone(),
            notifier: d.notifier.clone(),
        }),
        d.queue.clone(),
    ));
    let started = std::time::Instant::now();
    let deadline = started + std::time::Duration::from_secs(20);
    let wait = |path: &'static str, n: usize| {
        let vendor = &vendor;
        async move {
            while vendor.received(path).len() < n && std::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            vendor.received(path).len()
        }
    };
    d.consultation_life("pump-1").await;
    d.publish().await;
    assert_eq!(
        wait("/fast", 5).await,
        5,
        "the fast endpoint got the first life's events"
    );
    // The slow endpoint still holds its five attempts (8 s each): the next
    // events reach the fast one all the same.
    d.consultation_life("pump-2").await;
    d.publish().await;
    assert_eq!(wait("/fast", 10).await, 10, "and the second life's");
    assert!(
        started.elapsed() < std::time::Duration::from_millis(6000),
        "without waiting for the slow endpoint ({:?})",
        started.elapsed()
    );
    assert_eq!(wait("/slow", 10).await, 10, "which gets them all too");
    pump.abort();
}

// ---- the README's Node and Python verifiers -------------------------------

/// A README block between `<!-- verify-webhook:{name} -->` and its end.
pub fn readme_block(name: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let start = format!("<!-- verify-webhook:{name} -->");
    let end = format!("<!-- /verify-webhook:{name} -->");
    let from = readme
        .find(&start)
        .unwrap_or_else(|| panic!("README has no {start}"))
        + start.len();
    let to = readme[from..]
        .find(&end)
        .unwrap_or_else(|| panic!("README has no {end}"))
        + from;
    let block = &readme[from..to];
    let code_start = block.find('\n').unwrap() + 1;
    let fence = block[code_start..].find("```").unwrap();
    let code_start = code_start + fence;
    let body_start = block[code_start..].find('\n').unwrap() + code_start + 1;
    let body_end = block[body_start..].rfind("```").unwrap() + body_start;
    block[body_start..body_end].to_owned()
}

#[test]
fn the_rust_verifier_is_the_readme_s() {
    let file =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/http/verify.rs")).unwrap();
    assert_eq!(
        readme_block("rust"),
        file,
        "tests/http/verify.rs must equal the README's Rust block"
    );
}

/// Found by `fuzz/fuzz_targets/webhook_signature.rs`: a header's `t` far
/// from now overflowed `now - t` (a panic wherever overflow is checked).
#[test]
fn the_rust_verifier_takes_any_t_without_overflow() {
    for t in [i64::MAX, i64::MIN] {
        let header = format!("t={t},v1=00");
        for now in [-5, 0, i64::MAX, i64::MIN] {
            assert!(!verify_embedcare_signature(
                b"{}",
                &header,
                &["whsec_x"],
                300,
                now
            ));
        }
        let signed = shared::crypto::webhook_signature(&["whsec_x"], t, b"{}");
        assert!(verify_embedcare_signature(
            b"{}",
            &signed,
            &["whsec_x"],
            300,
            t
        ));
        assert!(!verify_embedcare_signature(
            b"{}",
            &signed,
            &["whsec_x"],
            300,
            -t.signum()
        ));
    }
    assert!(!verify_embedcare_signature(
        b"{}",
        "t=0,v1=00",
        &["whsec_x"],
        -1,
        0
    ));
}

/// Cases for the snippets: every capture with the secrets (true), tampered,
/// with a wrong secret, and replayed ten minutes late (false).
fn cases(got: &[Captured], secrets: &[&str]) -> Value {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut out = Vec::new();
    for c in got {
        let header = c.header("embedcare-signature");
        let t: i64 = header
            .split(',')
            .find_map(|p| p.strip_prefix("t="))
            .unwrap()
            .parse()
            .unwrap();
        let mut tampered = c.body.to_vec();
        tampered.push(b' ');
        for (body, secrets, now, expect) in [
            (c.body.to_vec(), secrets.to_vec(), t + 10, true),
            (tampered, secrets.to_vec(), t, false),
            (c.body.to_vec(), vec!["whsec_wrong"], t, false),
            (c.body.to_vec(), secrets.to_vec(), t + 600, false),
        ] {
            out.push(json!({"body": b64(&body), "header": header, "secrets": secrets, "now": now, "expect": expect}));
        }
    }
    Value::Array(out)
}

const NODE_HARNESS: &str = r#"
import { readFileSync } from "node:fs";
import { verifyEmbedcareSignature } from "./verify.mjs";
const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
let bad = 0;
for (const c of cases) {
  const got = verifyEmbedcareSignature(Buffer.from(c.body, "base64"), c.header, c.secrets, 300, c.now);
  if (got !== c.expect) { bad += 1; console.error("wrong:", JSON.stringify(c)); }
}
console.log(`${cases.length - bad}/${cases.length}`);
process.exit(bad ? 1 : 0);
"#;

const PYTHON_HARNESS: &str = r#"
import base64, json, sys
sys.path.insert(0, sys.argv[1])
from verify import verify_embedcare_signature
cases = json.load(open(sys.argv[2]))
bad = [c for c in cases
       if verify_embedcare_signature(base64.b64decode(c["body"]), c["header"], c["secrets"], 300, c["now"]) != c["expect"]]
for c in bad:
    print("wrong:", json.dumps(c), file=sys.stderr)
print(f"{len(cases) - len(bad)}/{len(cases)}")
sys.exit(1 if bad else 0)
"#;

/// Runs the README's Node and Python verifiers on real deliveries.
pub fn run_readme_verifiers(got: &[Captured], secrets: &[&str]) {
    assert!(!got.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let cases_file = dir.path().join("cases.json");
    std::fs::write(&cases_file, cases(got, secrets).to_string()).unwrap();
    std::fs::write(dir.path().join("verify.mjs"), readme_block("node")).unwrap();
    std::fs::write(dir.path().join("harness.mjs"), NODE_HARNESS).unwrap();
    std::fs::write(dir.path().join("verify.py"), readme_block("python")).unwrap();
    std::fs::write(dir.path().join("harness.py"), PYTHON_HARNESS).unwrap();
    let runs: HashMap<&str, Vec<std::ffi::OsString>> = HashMap::from([
        (
            "node",
            vec![
                dir.path().join("harness.mjs").into(),
                cases_file.clone().into(),
            ],
        ),
        (
            // The test venv's python when tests/run.sh put it first on PATH.
            "python3",
            vec![
                dir.path().join("harness.py").into(),
                dir.path().into(),
                cases_file.clone().into(),
            ],
        ),
    ]);
    for (program, args) in runs {
        let out = std::process::Command::new(program)
            .args(&args)
            .output()
            .unwrap_or_else(|e| {
                panic!("{program} must be installed to check the README's verifier: {e}")
            });
        assert!(
            out.status.success(),
            "{program}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

//! The vendor API against misuse: per-key rate limits (`429` with
//! `Retry-After`), unknown key ids that cost what wrong secrets cost, a key
//! that names another account's franchise, idempotency records per API
//! key, and `nosniff` on every response.

use std::sync::Arc;

use axum::Router;
use http::Method;
use serde_json::json;
use shared::domain::TenantKey;
use shared::services::admin;
use shared::store::{Store, items, keys};
use shared::{App, Config};

use crate::helpers::*;

const STATS: &str = "/embeddable/statistics";

/// The router of an app on `t`'s store with its own configuration.
fn app_with(t: &TestApp, config: Config) -> Router {
    shared::http::app_router(App::new(t.store.clone(), Arc::new(t.clock.clone()), config))
}

async fn get_on(router: &Router, key: &str, uri: &str) -> Reply {
    let req = TestApp::request(Method::GET, uri, key, &[])
        .body(axum::body::Body::empty())
        .unwrap();
    send_to(router, req).await
}

#[tokio::test]
async fn each_api_key_has_its_own_bucket_and_an_empty_one_is_a_429() {
    let t = spawn_app().await;
    let mut config = Config::new(BASE_URL);
    config.rate_limit_per_s = 2;
    config.rate_limit_burst = 3;
    let router = app_with(&t, config);
    let key = t.world.api_key.clone();
    for _ in 0..3 {
        assert_eq!(get_on(&router, &key, STATS).await.status, 200);
    }
    let r = get_on(&router, &key, STATS).await;
    assert_error(
        &r,
        429,
        "Too many requests for this API key; retry in 1 s",
        STATS,
    );
    assert_eq!(r.header("retry-after"), "1");
    // Another key is not slowed down; a wrong secret is a 401 (keys are
    // checked first: no one can empty another's bucket).
    let other = t.world.multi_franchise_api_key.clone();
    let r = get_on(&router, &other, &format!("{STATS}?x=1")).await;
    assert_eq!(r.status, 400, "needs its X-Tenant-Key, but is not limited");
    let wrong = format!("{}x", &key[..key.len() - 1]);
    assert_eq!(get_on(&router, &wrong, STATS).await.status, 401);
    // Half a second refills one token at 2 a second.
    t.clock.advance_ms(500);
    assert_eq!(get_on(&router, &key, STATS).await.status, 200);
    assert_eq!(get_on(&router, &key, STATS).await.status, 429);

    // 0 turns the limit off.
    let mut config = Config::new(BASE_URL);
    config.rate_limit_per_s = 0;
    let unlimited = app_with(&t, config);
    for _ in 0..150 {
        assert_eq!(get_on(&unlimited, &key, STATS).await.status, 200);
    }
}

#[tokio::test]
async fn an_unknown_key_id_costs_what_a_wrong_secret_costs() {
    let t = spawn_app().await;
    assert_eq!(t.get(STATS, &[]).await.status, 200, "the demo key, cached");
    let secret = t.world.api_key.splitn(3, '_').nth(2).unwrap().to_owned();
    let wrong_secret = format!("ek_{}_{}", key_id(&t.world.api_key), "A".repeat(43));
    let unknown_id = format!("ek_0123456789abcdef_{secret}");
    for key in [&wrong_secret, &unknown_id] {
        // Once to warm the caches, then counted.
        assert_eq!(t.get_as(key, STATS, &[]).await.status, 401);
        t.store.reset();
        for _ in 0..3 {
            assert_eq!(t.get_as(key, STATS, &[]).await.status, 401);
        }
        assert_eq!(
            t.store.snapshot().round_trips(),
            0,
            "{key}: no store call once the id is known (or known unknown)"
        );
    }
}

#[tokio::test]
async fn a_key_that_names_another_accounts_franchise_acts_for_none() {
    let t = spawn_app().await;
    // A tampered key record: the demo key now also names the other
    // account's franchise.
    let id = key_id(&t.world.api_key);
    let mut record = admin::list_api_keys(&t.app, &t.world.account_id)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.key_id.as_str() == id)
        .unwrap();
    let expected = record.version;
    record.version += 1;
    record
        .tenant_keys
        .push(TenantKey::parse(&t.world.other_tenant_key).unwrap());
    let key = keys::api_key_key(&record.key_id);
    t.store
        .write(items::update_of(key, &record, &["tenantKeys"], expected).unwrap())
        .await
        .unwrap();
    t.app.keys.invalidate(&id);

    let r = t
        .get(STATS, &[("X-Tenant-Key", &t.world.other_tenant_key)])
        .await;
    assert_error(
        &r,
        403,
        "The franchise of this API key is not available",
        STATS,
    );
    let r = t.get(STATS, &[("X-Tenant-Key", "demo")]).await;
    assert_eq!(r.status, 200, "its own franchise still works");
}

#[tokio::test]
async fn idempotency_keys_are_the_api_keys_own() {
    let t = spawn_app().await;
    let (_, second) = another_key(&t, "another system", None).await.unwrap();
    let body = json!({"patient": {"keys": [{"subSystem": "pms", "key": "idem-1"}],
                                  "firstName": "Ann", "lastName": "Lee"}, "reason": "uti"});
    let headers = [("Idempotency-Key", "order-1")];
    let first = t.post_json("/v2/consultations", &headers, &body).await;
    assert_eq!(first.status, 201, "{}", first.text());
    let replay = t.post_json("/v2/consultations", &headers, &body).await;
    assert_eq!(replay.header("idempotent-replayed"), "true");
    assert_eq!(replay.json(), first.json());
    // The same key and body from another API key of the franchise is
    // another request: it creates, and replays only its own.
    let other = t
        .post_json_as(&second, "/v2/consultations", &headers, &body)
        .await;
    assert_eq!(other.status, 201, "{}", other.text());
    assert_eq!(other.header("idempotent-replayed"), "");
    let (a, b) = (first.json(), other.json());
    assert_ne!(
        a["consultation"]["consultationId"],
        b["consultation"]["consultationId"]
    );
}

#[tokio::test]
async fn every_response_says_nosniff() {
    let t = spawn_app().await;
    let launch = t.get(STATS, &[("Accept", "application/json")]).await;
    let url = launch.json()["iframeUrl"].as_str().unwrap().to_owned();
    let replies = [
        launch,
        t.get(STATS, &[]).await,
        t.get_as("nope", STATS, &[]).await,
        t.get("/v2/consultation-reasons", &[]).await,
        t.get("/no/such/route", &[]).await,
        t.load(&url, &[]).await,
    ];
    for r in replies {
        assert_eq!(
            r.header("x-content-type-options"),
            "nosniff",
            "{} {}",
            r.status,
            r.header("content-type")
        );
    }
}

fn key_id(key: &str) -> String {
    key.split('_').nth(1).unwrap().to_owned()
}

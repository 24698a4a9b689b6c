//! What ends a browser session before its time: the franchise offboarded
//! (and what the operator's reactivation brings back), the operator's
//! `revoke-sessions`, and the API key that launched it revoked or expired.
//! Every page render and every page action goes through the same check
//! (`services::launch::session`), and so does a redemption.

use serde_json::{Value, json};
use shared::App;
use shared::services::admin;
use shared::services::launch;
use shared::store::Store;

use crate::helpers::*;
use crate::pages::{Session, check_against_schema, open, start_url};

const STATS: &str = "/embeddable/statistics";

/// The session still works: a page renders and an action is taken (a
/// consultation created for its patient).
async fn works(t: &TestApp, s: &Session) -> bool {
    let view = s.ctx["ready"]["view"].as_str().expect("the launch's view");
    let page = s.view(t, view).await;
    let patient = s.ctx["ready"]["patientId"].clone();
    let act = s
        .act(t, "consultation.create", json!({"patientId": patient}))
        .await;
    match (page.status.as_u16(), act.status.as_u16()) {
        (200, 200) => true,
        (410, 401) => false,
        other => panic!("page and action disagree: {other:?}"),
    }
}

/// A second app on the same store: another process (another Lambda
/// instance), whose changes this app sees only through its caches.
fn elsewhere(t: &TestApp) -> shared::AppState {
    App::new(
        t.store.clone(),
        std::sync::Arc::new(t.clock.clone()),
        t.app.config.clone(),
    )
}

#[tokio::test]
async fn offboarding_ends_every_session_and_launch_and_reactivation_starts_afresh() {
    let t = spawn_app().await;
    let s = open(&t, &start_url(&t, "off-1", "en").await).await;
    assert!(works(&t, &s).await);
    let unopened = start_url(&t, "off-1", "en").await;
    let tenant = demo_tenant();
    admin::offboard_franchise(&t.app, &tenant).await.unwrap();

    assert!(!works(&t, &s).await, "the session ended with its franchise");
    assert_eq!(t.redeem(&unopened).await.status, 410);
    assert_eq!(t.get(STATS, &[]).await.status, 403);

    t.clock.advance_ms(1);
    let (f, event) = admin::reactivate_franchise(&t.app, "demo").await.unwrap();
    assert_eq!(f.status.as_str(), "ACTIVE", "its terms were never accepted");
    assert_eq!(event.detail_type(), "Franchise Reactivated");
    let body = serde_json::to_value(&event).unwrap();
    assert_eq!(body["data"]["previousStatus"], "OFFBOARDED");
    check_against_schema(&body, "franchise-reactivated.json");
    let stored = t
        .store
        .get(&outbox_key(&tenant, body["id"].as_str().unwrap()))
        .await
        .unwrap()
        .expect("the event is in the outbox");
    assert_eq!(stored.attrs["detailType"], "Franchise Reactivated");

    // What ended stays ended; what starts now works.
    assert!(!works(&t, &s).await);
    assert_eq!(t.redeem(&unopened).await.status, 410);
    let fresh = open(&t, &start_url(&t, "off-1", "en").await).await;
    assert!(works(&t, &fresh).await);
    // Only an offboarded franchise is reactivated.
    assert!(matches!(
        admin::reactivate_franchise(&t.app, "demo").await,
        Err(shared::Error::Conflict(_))
    ));
}

#[tokio::test]
async fn revoking_the_sessions_of_a_franchise_ends_them_there_only() {
    let t = spawn_app().await;
    let a = open(&t, &start_url(&t, "rs-1", "en").await).await;
    let b = open(&t, &start_url(&t, "rs-2", "fr").await).await;
    let unopened = start_url(&t, "rs-1", "en").await;
    let multi = t.world.multi_franchise_api_key.clone();
    let url = t
        .post_json_as(
            &multi,
            "/embeddable/consultation/create",
            &[("X-Tenant-Key", "demo-2")],
            &json!({"patient": {"keys": [{"subSystem": "pms", "key": "rs-3"}],
                                "firstName": "Ann", "lastName": "Lee"}}),
        )
        .await
        .json()["iframeUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = open(&t, &url).await;

    // From another instance: this one sees it within its franchise cache.
    let f = admin::revoke_sessions(&elsewhere(&t), "demo")
        .await
        .unwrap();
    assert_eq!(f.sessions_valid_after, Some(START_MS));
    assert!(works(&t, &a).await, "cached for at most the cache's bound");
    t.clock.advance_ms(t.app.config.cache_ttl_s * 1000);

    assert!(!works(&t, &a).await);
    assert!(!works(&t, &b).await);
    assert_eq!(t.redeem(&unopened).await.status, 410);
    assert!(works(&t, &other).await, "another franchise is untouched");
    let fresh = open(&t, &start_url(&t, "rs-1", "en").await).await;
    assert!(works(&t, &fresh).await, "new launches work");
}

#[tokio::test]
async fn a_revoked_key_ends_the_sessions_it_launched_within_the_cache_bound() {
    let t = spawn_app().await;
    let (record, second) = another_key(&t, "second", None).await.unwrap();
    let launched = |key: String| {
        let t = &t;
        async move {
            let r = t
                .post_json_as(
                    &key,
                    "/embeddable/consultation/create",
                    &[],
                    &json!({"patient": {"keys": [{"subSystem": "pms", "key": "kr-1"}],
                                        "firstName": "Ann", "lastName": "Lee"}}),
                )
                .await;
            r.json()["iframeUrl"].as_str().unwrap().to_owned()
        }
    };
    let by_second = open(&t, &launched(second.clone()).await).await;
    let unopened = launched(second.clone()).await;
    let by_demo = open(&t, &launched(t.world.api_key.clone()).await).await;
    // The launch records its key.
    let session = launch::session(&t.app, &demo_tenant(), &by_second.token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.scope.key_id.as_ref(), Some(&record.key_id));

    admin::revoke_api_key(&elsewhere(&t), record.key_id.as_str())
        .await
        .unwrap();
    assert!(works(&t, &by_second).await, "cached for at most the bound");
    t.clock.advance_ms(t.app.config.cache_ttl_s * 1000);
    assert!(!works(&t, &by_second).await);
    assert_eq!(t.redeem(&unopened).await.status, 410);
    assert_eq!(t.get_as(&second, STATS, &[]).await.status, 401);
    assert!(works(&t, &by_demo).await, "another key's sessions go on");
}

#[tokio::test]
async fn an_expired_key_is_refused_and_so_are_its_sessions() {
    let t = spawn_app().await;
    let hour = 3_600_000;
    let (_, key) = another_key(&t, "for an hour", Some(START_MS + hour))
        .await
        .unwrap();
    let r = t
        .post_json_as(
            &key,
            "/embeddable/consultation/create",
            &[],
            &json!({"patient": {"keys": [{"subSystem": "pms", "key": "ex-1"}],
                                "firstName": "Ann", "lastName": "Lee"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let s = open(&t, r.json()["iframeUrl"].as_str().unwrap()).await;
    assert!(works(&t, &s).await);
    t.clock.advance_ms(hour);
    assert_error(
        &t.get_as(&key, STATS, &[]).await,
        401,
        "Authentication failed",
        STATS,
    );
    assert!(!works(&t, &s).await);
    // An expiry in the past is refused when the key is made.
    let past = another_key(&t, "late", Some(START_MS)).await;
    assert!(matches!(past, Err(shared::Error::Invalid(_))));
    let listed: Vec<Value> = admin::list_api_keys(&t.app, &t.world.account_id)
        .await
        .unwrap()
        .into_iter()
        .map(|k| serde_json::to_value(k).unwrap())
        .collect();
    assert!(listed.iter().any(|k| k["expiresAt"] == START_MS + hour));
}

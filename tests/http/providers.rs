//! `"provider": true` in a user the vendor names (the `x-integration-user`
//! header or a body's `user`) gives that user a provider profile in the
//! franchise, on every vendor call that upserts the user — a v1 launch, a
//! v2 creation, a patient-side call — read and written with the call's own
//! two round trips.

use serde_json::{Value, json};

use crate::helpers::{assert_error, b64, spawn_app};

fn provider_ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["userId"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn the_provider_flag_makes_a_provider_on_every_call_that_upserts_the_user() {
    let t = spawn_app().await;
    let providers = async || provider_ids(&t.get("/v2/providers", &[]).await.json());
    assert!(!providers().await.contains(&"dr-v1".to_owned()));

    // A v1 launch: a new user in full, named a provider.
    let v1 = b64(
        r#"{"userId":"dr-v1","firstName":"Lina","lastName":"Saleh","email":"lina@clinic.example","preferredLanguage":"EN","provider":true}"#,
    );
    t.store.reset();
    let r = t
        .get(
            "/embeddable/consultation/dashboard?locale=en",
            &[("x-integration-user", &v1), ("accept", "application/json")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let c = t.store.snapshot();
    assert!(c.round_trips() <= 2, "still two round trips: {c:?}");
    let r = t.get("/v2/providers", &[]).await;
    let found = r.json()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .find(|p| p["userId"] == "dr-v1")
        .expect("dr-v1 is a provider");
    assert_eq!(found["displayName"], "Lina Saleh");
    assert_eq!(found["languages"], json!(["EN"]));
    // The same call again writes no second profile (nor anything else).
    t.store.reset();
    let r = t
        .get(
            "/embeddable/consultation/dashboard?locale=en",
            &[("x-integration-user", &v1)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let profile_writes = t
        .store
        .written()
        .iter()
        .filter(|w| w.key().pk.contains("#PROVIDER#"))
        .count();
    assert_eq!(profile_writes, 0);

    // A v2 creation, the user in the body (an id-only clone of the owner).
    let body = json!({
        "patient": {"keys": [{"subSystem": "pms", "key": "prov-1"}], "firstName": "Ana", "lastName": "Lopez"},
        "user": {"userId": "dr-v2", "provider": true},
    });
    let r = t.post_json("/v2/consultations", &[], &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(providers().await.contains(&"dr-v2".to_owned()));

    // Without the flag (or with false) nobody becomes a provider.
    let plain = b64(r#"{"userId":"emp-9","provider":false}"#);
    let r = t
        .get("/embeddable/statistics", &[("x-integration-user", &plain)])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!providers().await.contains(&"emp-9".to_owned()));

    // A flag that is not a boolean is the vendor's mistake.
    let bad = b64(r#"{"userId":"emp-9","provider":"yes"}"#);
    let r = t
        .get("/embeddable/statistics", &[("x-integration-user", &bad)])
        .await;
    assert_error(
        &r,
        400,
        "Invalid x-integration-user header: provider must be true or false",
        "/embeddable/statistics",
    );
}

//! API keys and franchises: multi-franchise keys, isolation between
//! accounts, revocation.

use serde_json::json;
use shared::services::admin;

use crate::helpers::*;

const STATS: &str = "/embeddable/statistics";

#[tokio::test]
async fn multi_franchise_key_needs_one_of_its_tenant_keys() {
    let t = spawn_app().await;
    let key = t.world.multi_franchise_api_key.clone();
    let r = t.get_as(&key, STATS, &[]).await;
    assert_error(
        &r,
        400,
        "X-Tenant-Key header is required: this API key is linked to several franchises",
        STATS,
    );
    let r = t.get_as(&key, STATS, &[("X-Tenant-Key", "other")]).await;
    assert_error(
        &r,
        403,
        "The API key is not linked to this franchise",
        STATS,
    );
    let r = t
        .get_as(&key, STATS, &[("x-tenant-key", "no-such-franchise")])
        .await;
    assert_eq!(r.status, 403);
    let r = t.get_as(&key, STATS, &[("X-TENANT-KEY", "demo-2")]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text()
            .contains("/embed/franchise/demo-2/statistics/dashboard?session=")
    );
    // A single-franchise key may name its own franchise, and only it.
    assert_eq!(t.get(STATS, &[("X-Tenant-Key", "demo")]).await.status, 200);
    assert_eq!(
        t.get(STATS, &[("X-Tenant-Key", "demo-2")]).await.status,
        403
    );
    assert_eq!(
        t.get(STATS, &[("X-Tenant-Key", "Not Valid")]).await.status,
        400
    );
}

#[tokio::test]
async fn header_names_are_case_insensitive() {
    let t = spawn_app().await;
    let req = http::Request::builder()
        .uri(STATS)
        .header("API-KEY", &t.world.api_key)
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(t.send(req).await.status, 200);
}

#[tokio::test]
async fn a_patient_of_the_other_account_is_404() {
    let t = spawn_app().await;
    let other = t.world.other_account_api_key.clone();
    let r = t
        .post_json_as(
            &other,
            "/embeddable/consultation/create",
            &[],
            &json!({"patient": {"keys":[{"subSystem":"pms","key":"shared-123"}],"firstName":"Oli","lastName":"Other"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let other_patient = r.json()["patientId"].as_str().unwrap().to_owned();

    // The same key value in the demo franchise: unknown there.
    let r = t
        .get("/embeddable/consultation/view?patientKey=shared-123", &[])
        .await;
    assert_error(
        &r,
        404,
        "No patient has this patientKey",
        "/embeddable/consultation/view",
    );
    // Its id as a consultation or follow-up id: unknown too (never 403).
    let r = t
        .get(
            &format!("/embeddable/consultation/specific?consultationId={other_patient}"),
            &[],
        )
        .await;
    assert_eq!(r.status, 404);
    let r = t
        .post_json(
            "/embeddable/consultation/view",
            &[],
            &json!({"consultationId": other_patient}),
        )
        .await;
    assert_error(
        &r,
        404,
        "Consultation not found",
        "/embeddable/consultation/view",
    );
    // Creating the same key in the demo franchise makes another patient.
    let r = t
        .create(json!({"keys":[{"subSystem":"pms","key":"shared-123"}],"firstName":"Dee","lastName":"Mo"}), &[])
        .await;
    assert_ne!(r.json()["patientId"], other_patient);
}

#[tokio::test]
async fn a_launch_url_of_another_franchise_does_not_open_here() {
    let t = spawn_app().await;
    let other = t.world.other_account_api_key.clone();
    let url = t.get_as(&other, STATS, &[]).await.text();
    let token = token_of(&url);
    let r = t
        .redeem(&format!(
            "/en/embed/franchise/demo/statistics/dashboard?session={token}"
        ))
        .await;
    assert_eq!(r.status, 410);
    // The URL is still good where it belongs.
    assert_eq!(t.redeem(&url).await.status, 200);
}

#[tokio::test]
async fn a_revoked_key_stops_working() {
    let t = spawn_app().await;
    assert_eq!(t.get(STATS, &[]).await.status, 200);
    let key_id = t.world.api_key.split('_').nth(1).unwrap().to_owned();
    admin::revoke_api_key(&t.app, &key_id).await.unwrap();
    assert_error(
        &t.get(STATS, &[]).await,
        401,
        "Authentication failed",
        STATS,
    );
    // Its sibling keys are unaffected.
    let r = t
        .get_as(
            &t.world.multi_franchise_api_key,
            STATS,
            &[("X-Tenant-Key", "demo")],
        )
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn a_rotated_key_works_beside_the_old_one_until_revoked() {
    let t = spawn_app().await;
    let old_id = t.world.api_key.split('_').nth(1).unwrap().to_owned();
    let (_, new_key) = admin::rotate_api_key(&t.app, &old_id).await.unwrap();
    assert_eq!(t.get_as(&new_key, STATS, &[]).await.status, 200);
    assert_eq!(t.get(STATS, &[]).await.status, 200);
    admin::revoke_api_key(&t.app, &old_id).await.unwrap();
    assert_eq!(t.get(STATS, &[]).await.status, 401);
    assert_eq!(t.get_as(&new_key, STATS, &[]).await.status, 200);
}

#[tokio::test]
async fn keys_are_stored_hashed() {
    let t = spawn_app().await;
    let keys = admin::list_api_keys(&t.app, &t.world.account_id)
        .await
        .unwrap();
    assert_eq!(keys.len(), 2);
    let secret = t.world.api_key.splitn(3, '_').nth(2).unwrap();
    for k in keys {
        assert_ne!(k.secret_hash, secret);
        assert!(!k.secret_hash.contains(secret));
        assert_eq!(k.secret_hash.len(), 64);
    }
}

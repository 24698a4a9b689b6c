//! The `x-integration-user` scenarios (absent, existing, new, id-only,
//! partial, malformed), one by one, through HTTP, with the base64 headers
//! the vendor contract documents.

use serde_json::json;
use shared::store::Write;

use crate::helpers::*;

const VIEW: &str = "/embeddable/consultation/view?patientKey=patient123&locale=en";
const EXISTING_123: &str = "eyJ1c2VySWQiOiJleGlzdGluZ191c2VyXzEyMyJ9";
const NEW_456: &str = "eyJ1c2VySWQiOiJuZXdfdXNlcl80NTYiLCJmaXJzdE5hbWUiOiJEci4gQWxpY2UiLCJsYXN0TmFtZSI6IkpvaG5zb24iLCJlbWFpbCI6ImFsaWNlLmpvaG5zb25AY2xpbmljLmNvbSIsImxpY2Vuc2VOdW1iZXIiOiJNRDc4OTEyMyIsInByZWZlcnJlZExhbmd1YWdlIjoiRU4ifQ==";
const EMP_456: &str = "eyJ1c2VySWQiOiJlbXA0NTYifQ==";

/// The documented examples look up `patient123`; give the demo franchise one.
async fn app_with_patient() -> TestApp {
    let t = spawn_app().await;
    let r = t
        .create(
            json!({"keys":[{"subSystem":"pms","key":"patient123"}],"firstName":"Ann","lastName":"Lee"}),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    t.store.reset();
    t
}

#[tokio::test]
async fn option_1_no_header_uses_the_key_owner() {
    let t = app_with_patient().await;
    let r = t.get(VIEW, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("content-type").starts_with("text/plain"));
    assert!(r.text().starts_with(&format!(
        "{BASE_URL}/en/embed/franchise/demo/consultation/start?session="
    )));
    let r = t.get(VIEW, &[("accept", "application/json")]).await;
    assert_eq!(r.json()["userId"], "demo-owner");
}

#[tokio::test]
async fn option_3_creates_the_seed_user_from_its_header() {
    let t = app_with_patient().await;
    let r = t
        .get(
            VIEW,
            &[
                ("x-integration-user", NEW_456),
                ("accept", "application/json"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["userId"], "new_user_456");
    let u = t
        .user(&t.world.account_id, "new_user_456")
        .await
        .expect("created");
    assert_eq!(
        (u.first_name.as_str(), u.last_name.as_str()),
        ("Dr. Alice", "Johnson")
    );
    assert_eq!(u.email.as_str(), "alice.johnson@clinic.com");
    assert_eq!(u.license_number.as_deref(), Some("MD789123"));
    assert_eq!(u.preferred_language.as_str(), "EN");
    assert_eq!(u.version, 1);
}

#[tokio::test]
async fn scenario_1_id_only_existing_user_writes_nothing_at_all() {
    let t = app_with_patient().await;
    let full = b64(
        r#"{"userId":"existing_user_123","firstName":"John","lastName":"Doe","email":"john@clinic.com"}"#,
    );
    assert_eq!(
        t.get(VIEW, &[("x-integration-user", &full)]).await.status,
        200
    );
    let before = t
        .user(&t.world.account_id, "existing_user_123")
        .await
        .unwrap();
    t.store.reset();

    let r = t.get(VIEW, &[("x-integration-user", EXISTING_123)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let user_key = user_key(&t.world.account_id, "existing_user_123");
    assert!(t.writes_to(&user_key).is_empty(), "the user was written");
    // The only write of the call is the launch itself.
    let written = t.store.written();
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(written[0].key().sk == "LAUNCH");
    assert_eq!(
        t.user(&t.world.account_id, "existing_user_123")
            .await
            .unwrap(),
        before
    );
}

#[tokio::test]
async fn scenario_2_partial_update_writes_only_the_changed_field() {
    let t = app_with_patient().await;
    let full = b64(
        r#"{"userId":"existing_user_123","firstName":"John","lastName":"Doe","email":"john@clinic.com"}"#,
    );
    assert_eq!(
        t.get(VIEW, &[("x-integration-user", &full)]).await.status,
        200
    );
    t.store.reset();

    let partial =
        b64(r#"{"userId":"existing_user_123","email":"new.email@clinic.com","firstName":"John"}"#);
    let r = t.get(VIEW, &[("x-integration-user", &partial)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let user_key = user_key(&t.world.account_id, "existing_user_123");
    let writes = t.writes_to(&user_key);
    assert_eq!(writes.len(), 1, "one operation");
    let Write::Update { set, .. } = &writes[0] else {
        panic!("expected an update, got {writes:?}")
    };
    let mut fields: Vec<&str> = set.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["email", "updatedAt", "version"]);
    let u = t
        .user(&t.world.account_id, "existing_user_123")
        .await
        .unwrap();
    assert_eq!(u.email.as_str(), "new.email@clinic.com");
    assert_eq!(u.first_name, "John");
    assert_eq!(u.version, 2);
}

#[tokio::test]
async fn scenario_3_complete_update_changes_every_differing_field_in_one_write() {
    let t = app_with_patient().await;
    let full = b64(
        r#"{"userId":"existing_user_123","firstName":"John","lastName":"Doe","email":"john@clinic.com"}"#,
    );
    assert_eq!(
        t.get(VIEW, &[("x-integration-user", &full)]).await.status,
        200
    );
    t.store.reset();
    let update = b64(
        r#"{"userId":"existing_user_123","firstName":"Dr. John","lastName":"Updated","email":"john.updated@newclinic.com","licenseNumber":"MD999888","preferredLanguage":"FR"}"#,
    );
    assert_eq!(
        t.get(VIEW, &[("x-integration-user", &update)]).await.status,
        200
    );
    let user_key = user_key(&t.world.account_id, "existing_user_123");
    assert_eq!(t.writes_to(&user_key).len(), 1);
    let u = t
        .user(&t.world.account_id, "existing_user_123")
        .await
        .unwrap();
    assert_eq!(u.last_name, "Updated");
    assert_eq!(u.license_number.as_deref(), Some("MD999888"));
    assert_eq!(u.preferred_language.as_str(), "FR");
}

#[tokio::test]
async fn option_4_id_only_new_user_is_a_clone_of_the_owner() {
    let t = app_with_patient().await;
    let r = t
        .get(
            VIEW,
            &[
                ("x-integration-user", EMP_456),
                ("accept", "application/json"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["userId"], "emp456");
    let owner = t.user(&t.world.account_id, "demo-owner").await.unwrap();
    let clone = t.user(&t.world.account_id, "emp456").await.unwrap();
    assert_eq!(clone.first_name, owner.first_name);
    assert_eq!(clone.last_name, owner.last_name);
    assert_eq!(clone.email, owner.email);
    assert_eq!(clone.license_number, owner.license_number);
    assert_eq!(clone.preferred_language, owner.preferred_language);
}

#[tokio::test]
async fn incomplete_new_user_is_400_and_writes_nothing() {
    let t = app_with_patient().await;
    for json in [
        r#"{"userId":"n1","firstName":"Jane"}"#,
        r#"{"userId":"n1","firstName":"Jane","lastName":"Smith"}"#,
        r#"{"userId":"n1","lastName":"Smith","email":"jane@clinic.com"}"#,
    ] {
        let r = t.get(VIEW, &[("x-integration-user", &b64(json))]).await;
        assert_error(
            &r,
            400,
            "User creation failed - missing required fields",
            "/embeddable/consultation/view",
        );
    }
    assert!(t.store.written().is_empty(), "something was written");
    assert!(t.user(&t.world.account_id, "n1").await.is_none());
}

#[tokio::test]
async fn invalid_base64_or_json_is_400_with_the_seed_message() {
    let t = app_with_patient().await;
    for header in ["not base64!!", &b64("{not json"), &b64("\"a string\"")] {
        let r = t.get(VIEW, &[("x-integration-user", header)]).await;
        assert_error(
            &r,
            400,
            "Invalid x-integration-user header format",
            "/embeddable/consultation/view",
        );
    }
    assert!(t.store.written().is_empty());
}

#[tokio::test]
async fn bad_field_values_name_the_field() {
    let t = app_with_patient().await;
    for (json, field) in [
        (r#"{"firstName":"A"}"#, "userId"),
        (r#"{"userId":"  "}"#, "userId"),
        (
            r#"{"userId":"u","preferredLanguage":"ES"}"#,
            "preferredLanguage",
        ),
        (r#"{"userId":"u","email":"not-an-email"}"#, "email"),
    ] {
        let r = t.get(VIEW, &[("x-integration-user", &b64(json))]).await;
        assert_eq!(r.status, 400);
        let msg = r.json()["message"].as_str().unwrap().to_owned();
        assert!(msg.contains(field), "{json}: {msg}");
    }
}

#[tokio::test]
async fn bad_api_key_is_401_authentication_failed() {
    let t = app_with_patient().await;
    let forged = format!("{}x", &t.world.api_key[..t.world.api_key.len() - 1]);
    for key in [
        "",
        "YOUR_API_KEY",
        "ek_0123456789abcdef_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        forged.as_str(),
    ] {
        let r = t.get_as(key, VIEW, &[]).await;
        assert_error(
            &r,
            401,
            "Authentication failed",
            "/embeddable/consultation/view",
        );
    }
    let no_key = http::Request::builder()
        .uri("/embeddable/statistics")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_error(
        &t.send(no_key).await,
        401,
        "Authentication failed",
        "/embeddable/statistics",
    );
}

#[tokio::test]
async fn user_in_header_and_body_at_once_is_400() {
    let t = app_with_patient().await;
    let r = t
        .post_json(
            "/embeddable/consultation/view",
            &[("x-integration-user", EMP_456)],
            &json!({"patientKey": "patient123", "user": {"userId": "emp456"}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().unwrap().contains("not both"));
}

#[tokio::test]
async fn the_body_user_follows_the_same_rules() {
    let t = app_with_patient().await;
    let r = t
        .post_json(
            "/embeddable/consultation/view",
            &[],
            &json!({"patientKey": "patient123", "user": {"userId": "body-user", "firstName": "Jane", "lastName": "Smith", "email": "jane.smith@clinic.com"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["userId"], "body-user");
    assert_eq!(
        t.user(&t.world.account_id, "body-user")
            .await
            .unwrap()
            .last_name,
        "Smith"
    );
    let r = t
        .post_json(
            "/embeddable/consultation/view",
            &[],
            &json!({"patientKey": "patient123", "user": {"userId": "other-new", "email": "x@y.co"}}),
        )
        .await;
    assert_error(
        &r,
        400,
        "User creation failed - missing required fields",
        "/embeddable/consultation/view",
    );
}

//! Patient upsert by key.

use std::collections::HashSet;

use serde_json::json;
use shared::domain::Patient;
use shared::store::{Store, items, keys};

use crate::helpers::*;

async fn patient(t: &TestApp, id: &str) -> Patient {
    let item = t
        .store
        .get(&patient_key(id))
        .await
        .unwrap()
        .expect("stored patient");
    items::entity_of(&item).unwrap()
}

#[tokio::test]
async fn the_same_key_twice_is_the_same_patient_and_only_changes_are_written() {
    let t = spawn_app().await;
    let body = json!({"keys":[{"subSystem":"ramq","key":"LEEA12345678"}],"firstName":"Ann","lastName":"Lee","dateOfBirth":"1958-03-14","sex":"female","phone":"514-555-0100","preferredLanguage":"FR"});
    let first = t.create(body.clone(), &[]).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let id = first.json()["patientId"].as_str().unwrap().to_owned();
    assert_eq!(first.json()["userId"], "demo-owner");

    t.store.reset();
    let again = t.create(body, &[]).await;
    assert_eq!(again.json()["patientId"], id.as_str());
    let patient_key = patient_key(&id);
    assert!(
        t.writes_to(&patient_key).is_empty(),
        "unchanged patient was written"
    );

    // A changed phone and a new key: one update of those fields.
    let r = t
        .create(
            json!({"keys":[{"subSystem":"ramq","key":"LEEA12345678"},{"subSystem":"pms","key":"4411"}],"phone":"514-555-0199"}),
            &[],
        )
        .await;
    assert_eq!(r.json()["patientId"], id.as_str());
    let p = patient(&t, &id).await;
    assert_eq!(p.phone.as_ref().map(|p| p.as_str()), Some("514-555-0199"));
    assert_eq!(p.first_name, "Ann");
    assert_eq!(p.keys.len(), 2);
    assert_eq!(p.version, 2);

    // Matched by its new key alone.
    let r = t
        .create(json!({"keys":[{"subSystem":"pms","key":"4411"}]}), &[])
        .await;
    assert_eq!(r.json()["patientId"], id.as_str());
    // Found by key value through the GET views, in any sub-system.
    let r = t
        .get(
            "/embeddable/consultation/view?patientKey=4411",
            &[("accept", "application/json")],
        )
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn twenty_concurrent_creates_with_one_new_key_make_one_patient() {
    let t = spawn_app().await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let router = t.router.clone();
        let key = t.world.api_key.clone();
        tasks.push(tokio::spawn(async move {
            // The same patient, sent twenty times at once (a vendor's retries).
            let body = json!({"patient": {"keys":[{"subSystem":"pms","key":"race-1"}],"firstName":"Race","lastName":"Runner"}, "locale": if i % 2 == 0 { "en" } else { "fr" }});
            let req = http::Request::post("/embeddable/consultation/create")
                .header("api-key", key)
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body.to_string()))
                .unwrap();
            let res = tower::ServiceExt::oneshot(router, req).await.unwrap();
            let status = res.status();
            let bytes = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
            (status, serde_json::from_slice::<serde_json::Value>(&bytes).unwrap())
        }));
    }
    let mut ids = HashSet::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
        ids.insert(body["patientId"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    let item = t
        .store
        .get(&keys::patient_key_index(
            &demo_tenant(),
            &t.app.patient_keys,
            "race-1",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(items::patients_with_key_value(Some(&item), None).len(), 1);
}

#[tokio::test]
async fn concurrent_creates_with_different_data_still_make_one_patient() {
    let t = spawn_app().await;
    let calls = (0..20).map(|i| {
        t.create(
            json!({"keys":[{"subSystem":"pms","key":"race-2"}],"firstName":"Race","lastName":format!("Runner{i}")}),
            &[],
        )
    });
    let replies = futures::future::join_all(calls).await;
    let mut ids = HashSet::new();
    for r in &replies {
        // Each call either wins its turn or is told to retry; none fails otherwise.
        assert!(r.status == 200 || r.status == 409, "{}", r.text());
        if r.status == 200 {
            ids.insert(r.json()["patientId"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
}

#[tokio::test]
async fn a_key_value_shared_by_two_patients_needs_a_sub_system() {
    let t = spawn_app().await;
    let a = t
        .create(
            json!({"keys":[{"subSystem":"pms","key":"777"}],"firstName":"A","lastName":"A"}),
            &[],
        )
        .await;
    let b = t
        .create(
            json!({"keys":[{"subSystem":"lab","key":"777"}],"firstName":"B","lastName":"B"}),
            &[],
        )
        .await;
    assert_ne!(a.json()["patientId"], b.json()["patientId"]);
    let r = t.get("/embeddable/followup/view?patientKey=777", &[]).await;
    assert_error(
        &r,
        409,
        "Several patients have this patientKey; add subSystem to choose one",
        "/embeddable/followup/view",
    );
    let r = t
        .get(
            "/embeddable/followup/view?patientKey=777&subSystem=lab",
            &[],
        )
        .await;
    assert_eq!(r.status, 200);
    let r = t
        .get(
            "/embeddable/followup/view?patientKey=777&subSystem=nope",
            &[],
        )
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn a_key_of_another_patient_is_never_moved() {
    let t = spawn_app().await;
    t.create(
        json!({"keys":[{"subSystem":"pms","key":"1"}],"firstName":"A","lastName":"A"}),
        &[],
    )
    .await;
    t.create(
        json!({"keys":[{"subSystem":"pms","key":"2"}],"firstName":"B","lastName":"B"}),
        &[],
    )
    .await;
    t.store.reset();
    let r = t
        .create(
            json!({"keys":[{"subSystem":"pms","key":"1"},{"subSystem":"pms","key":"2"}]}),
            &[],
        )
        .await;
    assert_eq!(r.status, 409);
    assert!(t.store.written().is_empty());
}

#[tokio::test]
async fn bad_patients_are_400_and_write_nothing() {
    let t = spawn_app().await;
    let cases = [
        (json!({"firstName":"A","lastName":"B"}), "keys"),
        (
            json!({"keys":[{"subSystem":"pms","key":"9"}],"firstName":"A"}),
            "lastName",
        ),
        (
            json!({"keys":[{"subSystem":"pms","key":"9"}],"firstName":"A","lastName":"B","dateOfBirth":"14/03/1958"}),
            "dateOfBirth",
        ),
        (
            json!({"keys":[{"subSystem":"pms","key":"9"}],"firstName":"A","lastName":"B","email":"a@"}),
            "email",
        ),
        (
            json!({"keys":[{"subSystem":"pms","key":"9"}],"firstName":"A","lastName":"B","preferredLanguage":"DE"}),
            "preferredLanguage",
        ),
        (json!("a string"), "patient"),
    ];
    for (patient, field) in cases {
        let r = t.create(patient.clone(), &[]).await;
        assert_eq!(r.status, 400, "{patient}");
        assert!(
            r.json()["message"].as_str().unwrap().contains(field),
            "{patient}: {}",
            r.text()
        );
    }
    let r = t
        .post_json("/embeddable/consultation/create", &[], &json!({}))
        .await;
    assert_error(
        &r,
        400,
        "Invalid request: patient is required",
        "/embeddable/consultation/create",
    );
    assert!(t.store.written().is_empty());
}

#[tokio::test]
async fn bodies_must_be_json_objects() {
    let t = spawn_app().await;
    let req = TestApp::request(
        http::Method::POST,
        "/embeddable/consultation/create",
        &t.world.api_key,
        &[],
    )
    .header("content-type", "text/plain")
    .body(axum::body::Body::from("{}"))
    .unwrap();
    assert_error(
        &t.send(req).await,
        415,
        "Content-Type must be application/json",
        "/embeddable/consultation/create",
    );
    let req = TestApp::request(
        http::Method::POST,
        "/embeddable/consultation/create",
        &t.world.api_key,
        &[],
    )
    .header("content-type", "application/json")
    .body(axum::body::Body::from("{\"patient\":"))
    .unwrap();
    assert_error(
        &t.send(req).await,
        400,
        "Request body is not valid JSON",
        "/embeddable/consultation/create",
    );
    let r = t
        .post_json("/embeddable/consultation/create", &[], &json!([1]))
        .await;
    assert_error(
        &r,
        400,
        "Request body must be a JSON object",
        "/embeddable/consultation/create",
    );
}

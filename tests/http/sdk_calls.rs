//! On DynamoDB (moto), whatever `EMBEDCARE_TEST_STORE` says: the requests
//! the SDK actually sends, counted by an interceptor, and the races of
//! the uniqueness rules (one patient per key, one user per id) at the
//! emulator's real concurrency.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::json;
use shared::clock::ManualClock;
use shared::store::dynamodb::RequestLog;

use crate::helpers::*;

async fn on_moto() -> (TestApp, RequestLog) {
    let clock = ManualClock::new(START_MS);
    let (store, log) = crate::dynamo::store(Arc::new(clock.clone())).await;
    let t = spawn_app_on(crate::dynamo::serialized(store), clock).await;
    log.take();
    (t, log)
}

const EXISTING: &str = "eyJ1c2VySWQiOiJleGlzdGluZ191c2VyXzEyMyJ9";

#[tokio::test]
async fn warm_vendor_calls_send_at_most_two_requests() {
    let (t, log) = on_moto().await;
    let full = b64(
        r#"{"userId":"existing_user_123","firstName":"John","lastName":"Doe","email":"john@clinic.com"}"#,
    );
    let patient =
        json!({"keys":[{"subSystem":"pms","key":"patient123"}],"firstName":"Ann","lastName":"Lee"});
    // Cold: caches fill, the user and the patient are created.
    assert_eq!(
        t.create(patient.clone(), &[("x-integration-user", &full)])
            .await
            .status,
        200
    );
    log.take();

    let calls: Vec<(&str, Vec<String>)> = vec![
        ("create, unchanged patient, id-only user", {
            assert_eq!(
                t.create(patient.clone(), &[("x-integration-user", EXISTING)])
                    .await
                    .status,
                200
            );
            log.take()
        }),
        ("create, changed patient", {
            let changed =
                json!({"keys":[{"subSystem":"pms","key":"patient123"}],"phone":"514-555-0100"});
            assert_eq!(t.create(changed, &[]).await.status, 200);
            log.take()
        }),
        ("create, new patient, new user", {
            let new_user = b64(
                r#"{"userId":"u-new","firstName":"Jo","lastName":"Ng","email":"jo@clinic.com"}"#,
            );
            let p = json!({"keys":[{"subSystem":"pms","key":"p-2"},{"subSystem":"ramq","key":"R-2"}],"firstName":"B","lastName":"C"});
            assert_eq!(
                t.create(p, &[("x-integration-user", &new_user)])
                    .await
                    .status,
                200
            );
            log.take()
        }),
        ("POST view", {
            let r = t
                .post_json(
                    "/embeddable/consultation/view",
                    &[],
                    &json!({"patientKey": "patient123"}),
                )
                .await;
            assert_eq!(r.status, 200);
            log.take()
        }),
        ("GET view with patientKey, id-only user", {
            let r = t
                .get(
                    "/embeddable/consultation/view?patientKey=patient123",
                    &[("x-integration-user", EXISTING)],
                )
                .await;
            assert_eq!(r.status, 200);
            log.take()
        }),
        ("GET dashboard, no user header", {
            assert_eq!(
                t.get("/embeddable/consultation/dashboard", &[])
                    .await
                    .status,
                200
            );
            log.take()
        }),
        ("GET statistics, clone of the owner", {
            let clone = b64(r#"{"userId":"emp456"}"#);
            assert_eq!(
                t.get("/embeddable/statistics", &[("x-integration-user", &clone)])
                    .await
                    .status,
                200
            );
            log.take()
        }),
    ];
    for (what, requests) in &calls {
        assert!(requests.len() <= 2, "{what}: {requests:?}");
        assert_eq!(requests[0], "BatchGetItem", "{what}: {requests:?}");
    }
    // An id-only existing user costs no write: the one write is the launch's
    // PutItem (any user or patient change would make it a transaction).
    assert_eq!(calls[0].1, ["BatchGetItem", "PutItem"]);
    assert_eq!(calls[4].1, ["BatchGetItem", "PutItem"]);
    assert_eq!(calls[1].1, ["BatchGetItem", "TransactWriteItems"]);
    assert_eq!(calls[2].1, ["BatchGetItem", "TransactWriteItems"]);
    assert_eq!(calls[6].1, ["BatchGetItem", "TransactWriteItems"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_creates_with_one_new_key_make_one_patient() {
    let (t, _log) = on_moto().await;
    let t = Arc::new(t);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move {
                let r = t
                    .create(json!({"keys":[{"subSystem":"pms","key":"race-50"}],"firstName":"Race","lastName":"Fifty"}), &[])
                    .await;
                (r.status.as_u16(), r.json()["patientId"].as_str().map(str::to_owned))
            })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        let (status, id) = task.await.unwrap();
        assert_eq!(status, 200);
        ids.insert(id.unwrap());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_loads_of_one_url_give_one_200_on_moto() {
    let (t, _log) = on_moto().await;
    let url = t.get("/embeddable/statistics", &[]).await.text();
    let t = Arc::new(t);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let t = t.clone();
            let url = url.clone();
            tokio::spawn(async move { t.redeem(&url).await.status.as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
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

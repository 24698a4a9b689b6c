//! The `visits` function takes a snapshot as Lambda runs it: API Gateway's
//! HTTP API hands a binary body base64-encoded (`isBase64Encoded: true`),
//! `lambda_http` decodes it, the image goes to moto's S3 (the bucket of
//! `EMBEDCARE_SNAPSHOT_BUCKET`, addressed by path since the endpoint is an
//! emulator), and the presigned URL the function hands out serves the very
//! bytes sent.

use std::sync::Arc;

use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use shared::clock::SystemClock;
use shared::store::dynamodb::{DynamoStore, RequestLog};
use shared::{App, Config};
use tower::ServiceExt;

use super::{BASE_URL, Function, SECRET, body_json, build, dynamo, sdk_config, seeded_table};

/// A JSON call through a router in this process (the setup, not under test).
async fn setup_call(router: &axum::Router, path: &str, auth: (&str, &str), body: Value) -> Value {
    let req = Request::builder()
        .method("POST")
        .uri(path)
        .header(auth.0, auth.1)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let r = router.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_body_reaches_the_bucket_through_the_visits_function() {
    let bins = build(&["visits"]);
    let (table, world) = seeded_table().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk_config())
            .force_path_style(true)
            .build(),
    );
    let bucket = format!("snap-{}", uuid::Uuid::new_v4().simple());
    s3.create_bucket().bucket(&bucket).send().await.unwrap();

    // A walk-in, made in this process on the same table.
    let clock = Arc::new(SystemClock);
    let store = DynamoStore::new(
        dynamo::client(&RequestLog::default()),
        table.clone(),
        clock.clone(),
    );
    let mut config = Config::new(BASE_URL);
    config.secret = shared::crypto::Secret::new(SECRET.as_bytes().to_vec()).unwrap();
    let router = shared::http::app_router(App::new(Arc::new(store), clock, config));
    let key = ("api-key", world.api_key.as_str());
    let sso = json!({"patient": {"keys": [{"subSystem": "portal", "key": "lambda-snap"}], "firstName": "Ana", "lastName": "Lopez"}});
    let token = setup_call(&router, "/v2/patients/sso", key, sso).await["token"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = format!("Bearer {token}");
    let auth = ("authorization", bearer.as_str());
    let intake = json!({"reasonForVisit": "Rash", "type": "WALKIN", "roomCode": "clinic"});
    let i = setup_call(&router, "/v2/intakes", auth, intake).await;
    let v = setup_call(
        &router,
        "/v2/visits/walkin",
        auth,
        json!({"intakeId": i["intakeId"]}),
    )
    .await;
    let visit = v["visitId"].as_str().unwrap().to_owned();

    let mut f = Function::start_with(
        &bins[0],
        &table,
        &[("EMBEDCARE_SNAPSHOT_BUCKET", bucket.as_str())],
    )
    .await;
    let mut image = vec![0xFF, 0xD8, 0xFF, 0xE0];
    // Bytes that are no UTF-8: only a decoded body keeps them.
    image.extend((0..200_000u32).map(|i| (i % 256) as u8));
    let provider = STANDARD.encode(json!({"userId": "dr-martin"}).to_string());
    let path = format!("/v2/visits/{visit}/snapshots");
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"api-key": world.api_key, "x-integration-user": provider, "content-type": "image/jpeg"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.embedcare.test",
            "domainPrefix": "api", "requestId": "apigw-snap", "routeKey": "$default", "stage": "$default",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "tests"},
            "time": "21/Nov/2026:06:00:00 +0000", "timeEpoch": 1_795_327_200_000_i64
        },
        "body": STANDARD.encode(&image),
        "isBase64Encoded": true
    });
    let r = f.invoke_raw(event.clone()).await;
    assert_eq!(r["statusCode"], 201, "{r}");
    let taken = body_json(&r);
    assert_eq!(taken["bytes"], image.len());
    assert_eq!(taken["contentType"], "image/jpeg");
    let id = taken["snapshotId"].as_str().unwrap().to_owned();

    // The same text body, not marked as base64: not an image (415).
    event["isBase64Encoded"] = json!(false);
    let r = f.invoke_raw(event).await;
    assert_eq!(r["statusCode"], 415, "{r}");

    let headers = json!({"api-key": world.api_key, "x-integration-user": provider});
    let r = f
        .invoke("GET", &format!("{path}/{id}"), headers.clone(), None)
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    let url = body_json(&r)["url"].as_str().unwrap().to_owned();
    assert!(
        url.contains("X-Amz-Signature") && url.contains("X-Amz-Expires=300"),
        "{url}"
    );
    assert!(
        url.contains(&format!("/{bucket}/t/demo/visits/{visit}/{id}")),
        "{url}"
    );
    let fetched = reqwest::get(&url).await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert!(
        fetched.bytes().await.unwrap().as_ref() == image.as_slice(),
        "the bytes sent"
    );

    let r = f
        .invoke("DELETE", &format!("{path}/{id}"), headers, None)
        .await;
    assert_eq!(r["statusCode"], 204, "{r}");
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 404);
    let logs = f.logs();
    for personal in ["Ana", "Lopez", "lambda-snap"] {
        assert!(!logs.contains(personal), "{personal} in the logs");
    }
}

//! A visit's snapshots against the document: taken (the image as the
//! body), listed, read with their URL, deleted, by a provider named by
//! `x-integration-user`; the answers validated against the schemas
//! documented, and the 413 and 415 of an image route.

use std::collections::BTreeSet;

use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::responses::checked_with;
use crate::support::*;

const TAKE: (&str, &str) = ("post", "/v2/visits/{visitId}/snapshots");

async fn post_image(
    w: &World,
    uri: &str,
    headers: &[(&str, &str)],
    ct: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", ct);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = w
        .router
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Exercises the snapshots' routes; returns the routes seen.
pub async fn successes(w: &World, s: &Schemas) -> BTreeSet<(String, String)> {
    let mut seen = BTreeSet::new();
    let key = w.demo.api_key.clone();
    let provider = STANDARD.encode(json!({"userId": "dr-martin"}).to_string());
    let vendor: Vec<(&str, &str)> = vec![("api-key", key.as_str())];
    let as_provider = vec![
        ("api-key", key.as_str()),
        ("x-integration-user", provider.as_str()),
    ];
    let sso = json!({"patient": {"keys": [{"subSystem": "portal", "key": "oe-snap"}], "firstName": "Ana", "lastName": "Lopez"}});
    let issued = checked_with(
        w,
        s,
        ("post", "/v2/patients/sso"),
        "/v2/patients/sso",
        &vendor,
        Some(sso),
    )
    .await;
    let bearer = format!("Bearer {}", issued["token"]["token"].as_str().unwrap());
    let patient = vec![("authorization", bearer.as_str())];
    let intake = json!({"reasonForVisit": "Rash", "type": "WALKIN", "roomCode": "clinic"});
    let i = checked_with(
        w,
        s,
        ("post", "/v2/intakes"),
        "/v2/intakes",
        &patient,
        Some(intake),
    )
    .await;
    let v = checked_with(
        w,
        s,
        ("post", "/v2/visits/walkin"),
        "/v2/visits/walkin",
        &patient,
        Some(json!({"intakeId": i["intakeId"]})),
    )
    .await;
    let uri = format!("/v2/visits/{}/snapshots", v["visitId"].as_str().unwrap());

    let mut png = vec![0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
    png.extend([0u8; 64]);
    let (status, taken) = post_image(w, &uri, &as_provider, "image/png", png).await;
    assert_eq!(status, StatusCode::CREATED, "{taken}");
    assert_valid(
        &s.response_body(TAKE.0, TAKE.1, 201, "application/json"),
        &taken,
        "POST snapshots",
    );
    seen.insert((TAKE.0.to_owned(), TAKE.1.to_owned()));
    // Its errors of an image route, in the documented shape.
    for (ct, body, code) in [
        ("image/jpeg", b"not a jpeg".to_vec(), 415),
        ("image/png", vec![0x89; 5 * 1024 * 1024 + 1], 413),
    ] {
        let (status, e) = post_image(w, &uri, &as_provider, ct, body).await;
        assert_eq!(status.as_u16(), code, "{e}");
        assert_valid(
            &s.response_body(TAKE.0, TAKE.1, code, "application/json"),
            &e,
            "POST snapshots error",
        );
    }

    let list = ("get", "/v2/visits/{visitId}/snapshots");
    seen.insert((list.0.to_owned(), list.1.to_owned()));
    let l = checked_with(w, s, list, &uri, &as_provider, None).await;
    assert_eq!(l["items"].as_array().unwrap().len(), 1);
    let one = format!("{uri}/{}", taken["snapshotId"].as_str().unwrap());
    let get = ("get", "/v2/visits/{visitId}/snapshots/{snapshotId}");
    seen.insert((get.0.to_owned(), get.1.to_owned()));
    let g = checked_with(w, s, get, &one, &as_provider, None).await;
    assert!(g["url"].as_str().unwrap().starts_with(BASE_URL));
    let r = send(&w.router, "delete", &one, &as_provider, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert!(r.body.is_empty());
    seen.insert(("delete".to_owned(), get.1.to_owned()));
    seen
}

//! The document against the app's errors: real error responses (of every
//! kind a vendor can cause) validate against the error schema, with the
//! documented status and message.

use std::collections::BTreeSet;

use axum::body::Body;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::*;

/// (method, uri, headers, body, expected status, expected message).
type ErrorCase<'a> = (
    &'a str,
    &'a str,
    Vec<(&'a str, &'a str)>,
    Option<Value>,
    u16,
    &'a str,
);

#[tokio::test]
async fn real_errors_match_the_error_schema() -> TestResult {
    let w = world().await?;
    let s = Schemas::new();
    let error = s.component("Error");
    let key = w.demo.api_key.as_str();
    let create = shared::http::CONSULTATION_CREATE;
    let view = "/embeddable/consultation/view";

    // Two patients share the key value "dup" in two sub-systems.
    for sub in ["pms", "ehr"] {
        let r = send(
            &w.router,
            "post",
            create,
            &[("api-key", key)],
            Some(create_body("dup", sub)),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }

    let cases: Vec<ErrorCase> = vec![
        (
            "get",
            view,
            vec![("api-key", key)],
            None,
            400,
            "patientKey is required for this view",
        ),
        (
            "get",
            "/embeddable/consultation/view?patientKey=p-1",
            vec![("api-key", key), ("x-integration-user", "%%%not-base64")],
            None,
            400,
            "Invalid x-integration-user header format",
        ),
        (
            "get",
            "/embeddable/statistics",
            vec![
                ("api-key", key),
                (
                    "x-integration-user",
                    "eyJ1c2VySWQiOiJuZXciLCJmaXJzdE5hbWUiOiJBIn0=",
                ),
            ],
            None,
            400,
            "User creation failed - missing required fields",
        ),
        (
            "get",
            view,
            vec![("api-key", BAD_KEY)],
            None,
            401,
            "Authentication failed",
        ),
        ("get", view, vec![], None, 401, "Authentication failed"),
        (
            "get",
            "/embeddable/statistics",
            vec![
                ("api-key", w.demo.multi_franchise_api_key.as_str()),
                ("x-tenant-key", "other"),
            ],
            None,
            403,
            "The API key is not linked to this franchise",
        ),
        (
            "get",
            "/embeddable/consultation/view?patientKey=nobody",
            vec![("api-key", key)],
            None,
            404,
            "No patient has this patientKey",
        ),
        (
            "get",
            "/embeddable/followup/specific?followupId=f-404",
            vec![("api-key", key)],
            None,
            404,
            "Follow-up not found",
        ),
        (
            "post",
            shared::http::CONSULTATION_VIEW,
            vec![("api-key", key)],
            Some(json!({"consultationId": "c-404"})),
            404,
            "Consultation not found",
        ),
        (
            "get",
            "/embeddable/consultation/view?patientKey=dup",
            vec![("api-key", key)],
            None,
            409,
            "Several patients have this patientKey; add subSystem to choose one",
        ),
        (
            "post",
            create,
            vec![("api-key", key)],
            Some(json!({"patient": {"keys": [{"subSystem": "pms", "key": "p-2"}]}})),
            400,
            "Patient creation failed - missing required fields: firstName, lastName",
        ),
        (
            "get",
            "/v2/consultations?cursor=bm90IGpzb24",
            vec![("api-key", key)],
            None,
            400,
            "cursor is invalid: pass the nextCursor of the same list unchanged",
        ),
        (
            "post",
            "/v2/consultations",
            vec![("api-key", key), ("idempotency-key", "")],
            Some(json!({"patient": {"keys": [{"subSystem": "pms", "key": "dup"}]}})),
            400,
            "Idempotency-Key must be 1 to 255 printable characters",
        ),
        (
            "get",
            "/v2/consultations/c-404",
            vec![("api-key", key)],
            None,
            404,
            "Consultation not found",
        ),
        (
            "post",
            "/v2/embed/followup/details",
            vec![("api-key", key)],
            Some(json!({"followupId": "f-404"})),
            404,
            "Follow-up not found",
        ),
        (
            "post",
            "/v2/followups",
            vec![("api-key", key), ("idempotency-key", "errors-1")],
            Some(
                json!({"patient": {"keys": [{"subSystem": "pms", "key": "dup"}]}, "dueDate": "2030-01-01"}),
            ),
            201,
            "",
        ),
        (
            "post",
            "/v2/followups",
            vec![("api-key", key), ("idempotency-key", "errors-1")],
            Some(
                json!({"patient": {"keys": [{"subSystem": "pms", "key": "dup"}]}, "dueDate": "2030-01-02"}),
            ),
            422,
            "This Idempotency-Key was already used with another request",
        ),
    ];
    let mut statuses = BTreeSet::new();
    for (method, uri, headers, body, status, message) in cases {
        let r = send(&w.router, method, uri, &headers, body).await;
        let path = uri.split('?').next().unwrap_or(uri);
        let what = format!("{method} {uri}");
        assert_eq!(r.status.as_u16(), status, "{what}: {}", r.text());
        if status < 400 {
            // A step of a scenario (the first use of a key).
            continue;
        }
        let template = template_of(path);
        assert!(r.content_type().starts_with("application/json"), "{what}");
        let body = r.json();
        assert_valid(&error, &body, &what);
        assert_eq!(body["message"], message, "{what}");
        assert_eq!(body["path"], path, "{what}");
        assert_eq!(body["status"], status, "{what}");
        assert!(
            s.documented_statuses(method, &template).contains(&status),
            "{what}: {status} happens but is not documented"
        );
        assert_valid(
            &s.response_body(method, &template, status, "application/json"),
            &body,
            &what,
        );
        statuses.insert(status);
    }

    // 409: a move the state machine forbids (the document's template path).
    let r = send(
        &w.router,
        "post",
        "/v2/consultations",
        &[("api-key", key)],
        Some(json!({"patient": {"keys": [{"subSystem": "pms", "key": "dup"}]}})),
    )
    .await;
    let id = r.json()["consultation"]["consultationId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let cancel = format!("/v2/consultations/{id}/cancel");
    assert_eq!(
        send(&w.router, "post", &cancel, &[("api-key", key)], None)
            .await
            .status,
        200
    );
    let r = send(&w.router, "post", &cancel, &[("api-key", key)], None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_valid(
        &s.response_body(
            "post",
            "/v2/consultations/{consultationId}/cancel",
            409,
            "application/json",
        ),
        &r.json(),
        "POST cancel 409",
    );
    assert_eq!(r.json()["path"], cancel);

    // 415: a body that is not JSON, on every route that takes one.
    let with_body: Vec<(&str, &str)> = vendor_route_list()
        .iter()
        .filter(|(m, p)| takes_body(m, p))
        .copied()
        .collect();
    assert!(with_body.len() >= 8);
    for (method, path) in with_body {
        let req = Request::builder()
            .method(method.to_ascii_uppercase().as_str())
            .uri(fill(path, "c-1"))
            .header("api-key", key)
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("patient"))?;
        let res = w.router.clone().oneshot(req).await?;
        assert_eq!(
            res.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{method} {path}"
        );
        let body: Value = serde_json::from_slice(&res.into_body().collect().await?.to_bytes())?;
        assert_valid(&error, &body, &format!("{method} {path} 415"));
        assert_valid(
            &s.response_body(method, path, 415, "application/json"),
            &body,
            path,
        );
        assert_eq!(body["error"], "Unsupported Media Type");
        statuses.insert(415);
    }
    assert_eq!(
        statuses,
        BTreeSet::from([400, 401, 403, 404, 409, 415, 422]),
        "every error status was exercised"
    );
    Ok(())
}

#[tokio::test]
async fn a_spent_request_budget_is_the_documented_429() -> TestResult {
    let mut config = shared::Config::new(BASE_URL);
    config.rate_limit_per_s = 1;
    config.rate_limit_burst = 1;
    let w = world_with(config).await?;
    let s = Schemas::new();
    let key = w.demo.api_key.as_str();
    let path = "/v2/consultation-reasons";
    let ok = send(&w.router, "get", path, &[("api-key", key)], None).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    let r = send(&w.router, "get", path, &[("api-key", key)], None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
    assert_valid(&s.component("Error"), &r.json(), "429");
    assert_valid(
        &s.response_body("get", path, 429, "application/json"),
        &r.json(),
        "GET reasons 429",
    );
    let retry: u64 = r.headers[header::RETRY_AFTER].to_str()?.parse()?;
    assert_eq!(retry, 1);
    assert!(
        s.doc
            .pointer("/components/responses/TooManyRequests/headers/Retry-After")
            .is_some(),
        "Retry-After is documented"
    );
    Ok(())
}

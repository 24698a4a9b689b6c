//! The rules between query parameters that the document gives tools
//! (`x-query-schema`, `x-query-range`; see its `info.description`) are the
//! server's: a query that breaks one is a `400`, one that keeps them all is
//! not. Every operation with a rule has cases here. And what the first
//! schemathesis runs found the server doing against the document: a
//! numeric patient key, an `X-Tenant-Key` that is not text.

use std::collections::BTreeSet;

use http::StatusCode;
use serde_json::{Map, Value};

use crate::support::*;

/// (path, query, whether the document's rules accept it).
const CASES: &[(&str, &str, bool)] = &[
    (
        "/embeddable/consultation/view",
        "patientKey=p-1&subSystem=pms",
        true,
    ),
    ("/embeddable/consultation/view", "subSystem=pms", false),
    ("/embeddable/consultation/dashboard", "subSystem=pms", false),
    ("/embeddable/consultation/dashboard", "locale=en", true),
    (
        "/embeddable/followup/view",
        "subSystem=pms&patientKey=p-1",
        true,
    ),
    ("/embeddable/followup/view", "subSystem=pms", false),
    ("/embeddable/followup/dashboard", "subSystem=pms", false),
    ("/embeddable/followup/plan", "subSystem=pms", false),
    ("/embeddable/consultation/specific", "locale=en", false),
    ("/embeddable/consultation/specific", "patientKey=p-1", true),
    (
        "/embeddable/consultation/specific",
        "consultationId=nope",
        true,
    ),
    (
        "/embeddable/consultation/specific",
        "consultationId=nope&subSystem=pms",
        false,
    ),
    ("/embeddable/consultation/answer", "locale=fr", false),
    (
        "/embeddable/consultation/answer",
        "consultationId=nope",
        true,
    ),
    ("/embeddable/followup/specific", "locale=fr", false),
    ("/embeddable/followup/specific", "followupId=nope", true),
    ("/v2/consultations", "patientKey=p-1&patientId=x", false),
    ("/v2/consultations", "subSystem=pms", false),
    ("/v2/consultations", "patientKey=p-1&subSystem=pms", true),
    ("/v2/followups", "patientKey=p-1&patientId=x", false),
    ("/v2/followups", "patientId=x", true),
    ("/v2/visits", "patientId=x&providerId=dr-martin", false),
    ("/v2/visits", "providerId=dr-martin", true),
    ("/v2/visits", "to=2026-12-31", false),
    (
        "/v2/visits",
        "providerId=dr-martin&from=2026-12-10&to=2026-12-01",
        false,
    ),
    (
        "/v2/visits",
        "providerId=dr-martin&from=2026-12-01&to=2026-12-10",
        true,
    ),
    (
        "/v2/availability",
        "roomCode=clinic&from=2030-12-10T00:00:00Z&to=2030-12-01T00:00:00Z",
        false,
    ),
    (
        "/v2/availability",
        "roomCode=clinic&from=2030-12-01T00:00:00Z&to=2030-12-02T00:00:00Z",
        true,
    ),
    (
        "/v2/statistics/visits",
        "from=2026-12-10&to=2026-12-01",
        false,
    ),
    (
        "/v2/statistics/visits",
        "from=2024-01-01&to=2026-01-01",
        false,
    ),
    (
        "/v2/statistics/visits",
        "from=2026-01-01&to=2026-06-30",
        true,
    ),
    (
        "/v2/statistics/visits",
        "from=1969-12-01&to=1969-12-31",
        false,
    ),
    (
        "/embeddable/visits/statistics",
        "from=2026-12-10&to=2026-12-01",
        false,
    ),
    (
        "/embeddable/visits/statistics",
        "from=2024-01-01&to=2026-01-01",
        false,
    ),
    (
        "/embeddable/visits/statistics",
        "from=2026-01-01&to=2026-01-31",
        true,
    ),
];

fn pairs(query: &str) -> Map<String, Value> {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
        .collect()
}

/// Whether `query` keeps the rules of `op` (its schema, its range by days).
fn keeps_rules(op: &Value, query: &Map<String, Value>) -> bool {
    if let Some(schema) = op.get("x-query-schema") {
        let v = jsonschema::validator_for(schema).expect("x-query-schema is a JSON Schema");
        if !v.is_valid(&Value::Object(query.clone())) {
            return false;
        }
    }
    let Some(range) = op.get("x-query-range") else {
        return true;
    };
    let day = |name: &str| {
        let v = query.get(range[name].as_str()?)?.as_str()?;
        days(v.get(..10)?)
    };
    match (day("from"), day("to")) {
        (Some(a), Some(b)) => {
            b >= a
                && range["maxDays"]
                    .as_i64()
                    .is_none_or(|max| a >= 0 && b - a < max)
        }
        _ => true,
    }
}

/// Days since 1970-01-01 of `YYYY-MM-DD` (the civil calendar).
fn days(ymd: &str) -> Option<i64> {
    let mut it = ymd.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (it.next()??, it.next()??, it.next()??);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

#[tokio::test]
async fn the_rules_between_query_parameters_are_the_servers() -> TestResult {
    let w = world().await?;
    let doc = document();
    let key = w.demo.api_key.as_str();
    let mut covered = BTreeSet::new();
    for (path, query, expected) in CASES {
        let op = &doc["paths"][path]["get"];
        assert!(op.is_object(), "GET {path} is not in the document");
        assert_eq!(
            keeps_rules(op, &pairs(query)),
            *expected,
            "GET {path}?{query}: the document's rules say otherwise"
        );
        let r = send(
            &w.router,
            "get",
            &format!("{path}?{query}"),
            &[("api-key", key)],
            None,
        )
        .await;
        if *expected {
            assert_ne!(
                r.status,
                StatusCode::BAD_REQUEST,
                "GET {path}?{query}: {}",
                r.text()
            );
        } else {
            assert_eq!(
                r.status,
                StatusCode::BAD_REQUEST,
                "GET {path}?{query}: {}",
                r.text()
            );
        }
        covered.insert(path.to_string());
    }
    // Every operation with a rule has its cases.
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for op in ops.as_object().expect("operations").values() {
            if op.get("x-query-schema").is_some() || op.get("x-query-range").is_some() {
                assert!(
                    covered.contains(path),
                    "{path}: its query rules have no case here"
                );
            }
        }
    }
    Ok(())
}

/// A patient's key may be a number (schema PatientKey): in a patient's keys,
/// and in the `patientKey` object of `POST /embeddable/consultation/view`.
#[tokio::test]
async fn a_numeric_patient_key_is_accepted_where_the_document_says() -> TestResult {
    let w = world().await?;
    let key = w.demo.api_key.as_str();
    let mut body = create_body("p-num", "pms");
    body["patient"]["keys"] = serde_json::json!([{"subSystem": "rx", "key": 4242}]);
    let r = send(
        &w.router,
        "post",
        shared::http::CONSULTATION_CREATE,
        &[("api-key", key)],
        Some(body),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let view = serde_json::json!({"patientKey": {"subSystem": "rx", "key": 4242}});
    let r = send(
        &w.router,
        "post",
        "/embeddable/consultation/view",
        &[("api-key", key)],
        Some(view),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    Ok(())
}

/// An `X-Tenant-Key` that is not visible ASCII breaks the header's pattern:
/// a `400`, not a call for the key's only franchise.
#[tokio::test]
async fn a_tenant_key_that_is_not_text_is_a_400() -> TestResult {
    use axum::body::Body;
    use http::{HeaderValue, Request};
    use tower::ServiceExt;
    let w = world().await?;
    let req = Request::builder()
        .uri("/v2/consultation-reasons")
        .header("api-key", w.demo.api_key.as_str())
        .header("x-tenant-key", HeaderValue::from_bytes(b"\x84")?)
        .body(Body::empty())?;
    let res = w.router.clone().oneshot(req).await?;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    Ok(())
}

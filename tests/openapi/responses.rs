//! The document against the running app: every vendor route is served,
//! and real successful responses validate against the schemas the
//! document gives them.

use std::collections::BTreeSet;

use http::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

/// `{"userId":"dr-martin"}`: a provider of the demo world's room.
const PROVIDER_USER: &str = "eyJ1c2VySWQiOiJkci1tYXJ0aW4ifQ==";
#[tokio::test]
async fn every_vendor_route_is_served() -> TestResult {
    let w = world().await?;
    let s = Schemas::new();
    for (method, path) in vendor_route_list() {
        let body = takes_body(method, path).then(|| create_body("p-1", "pms"));
        let uri = fill(path, "c-1");
        let r = send(&w.router, method, &uri, &[("api-key", BAD_KEY)], body).await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path}: a bad key must be 401 (404/405 means the route is not wired): {}",
            r.text()
        );
        let v = s.response_body(method, path, 401, "application/json");
        assert_valid(&v, &r.json(), &format!("{method} {path} 401"));
        assert_eq!(r.json()["path"], uri);
        assert_eq!(r.json()["message"], "Authentication failed");
    }
    Ok(())
}

#[tokio::test]
async fn successful_responses_match_the_document() -> TestResult {
    let w = world().await?;
    let s = Schemas::new();
    let key = w.demo.api_key.as_str();

    // The patient the views use, created through the API.
    let path = shared::http::CONSULTATION_CREATE;
    let body = create_body("p-1", "pms");
    assert_valid(
        &s.at(&format!(
            "{}/requestBody/content/application~1json/schema",
            s.operation("post", path)
        )),
        &body,
        "the create request",
    );
    let r = send(&w.router, "post", path, &[("api-key", key)], Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let created = r.json();
    assert_valid(
        &s.response_body("post", path, 200, "application/json"),
        &created,
        "POST create 200",
    );
    assert!(
        created["iframeUrl"]
            .as_str()
            .is_some_and(|u| u.starts_with(BASE_URL))
    );
    assert_eq!(no_store(&r), Some("no-store"));

    let mut seen = BTreeSet::from([("post".to_owned(), path.to_owned())]);

    // POST view: by a string key, by a key object (with an x-integration-user header).
    let path = shared::http::CONSULTATION_VIEW;
    let request_schema = s.at(&format!(
        "{}/requestBody/content/application~1json/schema",
        s.operation("post", path)
    ));
    for (body, user) in [
        (
            json!({"patientKey": "p-1", "subSystem": "pms", "locale": "en"}),
            None,
        ),
        (
            json!({"patientKey": {"subSystem": "pms", "key": "p-1"}}),
            Some("eyJ1c2VySWQiOiJlbXA0NTYifQ=="),
        ),
        (
            json!({"patientKey": "p-1", "user": {"userId": "emp789", "firstName": "Jean",
                   "lastName": "Roy", "email": "jean.roy@clinic.example"}}),
            None,
        ),
    ] {
        assert_valid(&request_schema, &body, "a consultation view request");
        let mut headers = vec![("api-key", key)];
        headers.extend(user.map(|u| ("x-integration-user", u)));
        let r = send(&w.router, "post", path, &headers, Some(body.clone())).await;
        assert_eq!(r.status, StatusCode::OK, "{body}: {}", r.text());
        assert_valid(
            &s.response_body("post", path, 200, "application/json"),
            &r.json(),
            "POST view 200",
        );
        assert_eq!(no_store(&r), Some("no-store"));
    }
    seen.insert(("post".to_owned(), path.to_owned()));

    // Every v1 GET: text/plain by default, JSON on request.
    for (method, path) in vendor_route_list()
        .iter()
        .filter(|(m, p)| *m == "get" && is_v1(p))
    {
        let uri = format!("{path}{}", valid_query(path));
        // The provider's views need a provider of the demo room.
        let provider = path.starts_with("/embeddable/visits/");
        let user = if provider {
            PROVIDER_USER
        } else {
            "eyJ1c2VySWQiOiJleGlzdGluZ191c2VyXzEyMyJ9"
        };
        let plain: &[(&str, &str)] = if provider {
            &[("api-key", key), ("x-integration-user", PROVIDER_USER)]
        } else {
            &[("api-key", key)]
        };
        let r = send(&w.router, method, &uri, plain, None).await;
        assert_eq!(r.status, StatusCode::OK, "GET {uri}: {}", r.text());
        assert!(
            r.content_type().starts_with("text/plain"),
            "GET {uri}: default content type {}",
            r.content_type()
        );
        let url = r.text();
        assert!(
            url.starts_with(&format!("{BASE_URL}/")) && url.contains("?session="),
            "GET {uri}: {url}"
        );
        assert_valid(
            &s.response_body(method, path, 200, "text/plain"),
            &Value::String(url),
            &format!("GET {uri} text/plain"),
        );
        assert_eq!(no_store(&r), Some("no-store"));

        let r = send(
            &w.router,
            method,
            &uri,
            &[
                ("api-key", key),
                ("accept", "application/json"),
                ("x-integration-user", user),
            ],
            None,
        )
        .await;
        // The documented "existing" user does not exist here: it is cloned
        // (a provider view's is the demo world's provider).
        assert_eq!(r.status, StatusCode::OK, "GET {uri} (JSON): {}", r.text());
        assert!(r.content_type().starts_with("application/json"));
        let launch = r.json();
        assert_valid(
            &s.response_body(method, path, 200, "application/json"),
            &launch,
            &format!("GET {uri} application/json"),
        );
        let expected = if provider {
            "dr-martin"
        } else {
            "existing_user_123"
        };
        assert_eq!(launch["userId"], expected);
        assert!(
            launch["iframeUrl"]
                .as_str()
                .is_some_and(|u| u.starts_with(BASE_URL))
        );
        seen.insert(((*method).to_owned(), (*path).to_owned()));
    }
    seen.extend(v2_successes(&w, &s).await);
    seen.extend(crate::clinic::successes(&w, &s).await);
    seen.extend(crate::encounter::successes(&w, &s).await);
    seen.extend(crate::events::successes(&w, &s).await);
    seen.extend(crate::statistics::successes(&w, &s).await);
    assert_eq!(seen, vendor_routes(), "every route was exercised");
    Ok(())
}

/// Calls `method path` (a template, filled with `uri`) with the demo key;
/// checks the request body and the response against the document.
pub async fn checked(
    w: &World,
    s: &Schemas,
    route: (&str, &str),
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Value {
    let mut all = vec![("api-key", w.demo.api_key.as_str())];
    all.extend_from_slice(headers);
    checked_with(w, s, route, uri, &all, body).await
}

/// [`checked`] with these headers only (the credentials among them).
pub async fn checked_with(
    w: &World,
    s: &Schemas,
    (method, path): (&str, &str),
    uri: &str,
    all: &[(&str, &str)],
    body: Option<Value>,
) -> Value {
    let what = format!("{method} {uri}");
    if let Some(b) = &body {
        let request = s.at(&format!(
            "{}/requestBody/content/application~1json/schema",
            s.operation(method, path)
        ));
        assert_valid(&request, b, &format!("{what} request"));
    }
    let r = send(&w.router, method, uri, all, body).await;
    let status = r.status.as_u16();
    assert!(r.status.is_success(), "{what}: {}", r.text());
    assert!(r.content_type().starts_with("application/json"), "{what}");
    assert_eq!(no_store(&r), Some("no-store"), "{what}");
    let json = r.json();
    assert_valid(
        &s.response_body(method, path, status, "application/json"),
        &json,
        &what,
    );
    json
}

/// Exercises every v2 route with valid requests; returns the routes seen.
async fn v2_successes(w: &World, s: &Schemas) -> BTreeSet<(String, String)> {
    let mut seen = BTreeSet::new();
    let mut call = async |route: (&'static str, &'static str),
                          uri: &str,
                          headers: &[(&str, &str)],
                          body: Option<Value>| {
        seen.insert((route.0.to_owned(), route.1.to_owned()));
        checked(w, s, route, uri, headers, body).await
    };
    let reasons = call(
        ("get", "/v2/consultation-reasons"),
        "/v2/consultation-reasons",
        &[],
        None,
    )
    .await;
    assert!(reasons["reasons"].as_array().is_some_and(|r| !r.is_empty()));

    let create = json!({
        "patient": {"keys": [{"subSystem": "pms", "key": "v2-1"}], "firstName": "Marie", "lastName": "Tremblay"},
        "reason": "uti",
        "metadata": {"encounter": "A-1001"},
        "user": {"userId": "emp456"}
    });
    let key = [("idempotency-key", "openapi-1")];
    let created = call(
        ("post", "/v2/consultations"),
        "/v2/consultations",
        &key,
        Some(create.clone()),
    )
    .await;
    // A replay is documented by the same schema.
    let replayed = call(
        ("post", "/v2/consultations"),
        "/v2/consultations",
        &key,
        Some(create),
    )
    .await;
    assert_eq!(replayed, created);
    let draft = call(
        ("post", "/v2/consultations"),
        "/v2/consultations",
        &[],
        Some(json!({"patient": {"keys": [{"subSystem": "pms", "key": "v2-1"}]}, "send": false})),
    )
    .await;
    let cid = created["consultation"]["consultationId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let draft_id = draft["consultation"]["consultationId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let pid = created["patientId"].as_str().unwrap_or_default().to_owned();
    let one = call(
        ("get", "/v2/consultations/{consultationId}"),
        &format!("/v2/consultations/{cid}"),
        &[],
        None,
    )
    .await;
    assert_eq!(one["answers"], json!([]));
    for query in [
        "?patientKey=v2-1&subSystem=pms&limit=1".to_owned(),
        format!("?patientId={pid}&status=SENT"),
        "?status=DRAFT".to_owned(),
    ] {
        call(
            ("get", "/v2/consultations"),
            &format!("/v2/consultations{query}"),
            &[],
            None,
        )
        .await;
    }
    let page = call(
        ("get", "/v2/consultations"),
        "/v2/consultations?limit=1",
        &[],
        None,
    )
    .await;
    let cursor = page["nextCursor"].as_str().unwrap_or_default().to_owned();
    call(
        ("get", "/v2/consultations"),
        &format!("/v2/consultations?limit=1&cursor={cursor}"),
        &[],
        None,
    )
    .await;
    let cancelled = call(
        ("post", "/v2/consultations/{consultationId}/cancel"),
        &format!("/v2/consultations/{draft_id}/cancel"),
        &[],
        None,
    )
    .await;
    assert_eq!(cancelled["status"], "CANCELLED");

    let followup = call(
        ("post", "/v2/followups"),
        "/v2/followups",
        &[("idempotency-key", "openapi-2")],
        Some(json!({
            "patient": {"keys": [{"subSystem": "pms", "key": "v2-1"}]},
            "dueDate": "2030-02-15", "frequency": "weekly", "reason": "blood-pressure",
            "notes": "Check BP", "consultationId": cid, "metadata": {"plan": 1}
        })),
    )
    .await;
    let fid = followup["followup"]["followupId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    call(
        ("get", "/v2/followups/{followupId}"),
        &format!("/v2/followups/{fid}"),
        &[],
        None,
    )
    .await;
    call(
        ("get", "/v2/followups"),
        "/v2/followups?patientKey=v2-1&status=PLANNED&limit=5",
        &[],
        None,
    )
    .await;

    for (path, body) in [
        (
            "/v2/embed/consultation/answer",
            json!({"consultationId": cid, "locale": "fr"}),
        ),
        (
            "/v2/embed/consultation/details",
            json!({"consultationId": cid, "user": {"userId": "emp456"}}),
        ),
        ("/v2/embed/followup/answer", json!({"followupId": fid})),
        (
            "/v2/embed/followup/details",
            json!({"followupId": fid, "locale": "en"}),
        ),
    ] {
        let launch = call(("post", path), path, &[], Some(body)).await;
        assert!(
            launch["iframeUrl"]
                .as_str()
                .is_some_and(|u| u.starts_with(BASE_URL))
        );
    }
    call(
        ("post", "/v2/followups/{followupId}/cancel"),
        &format!("/v2/followups/{fid}/cancel"),
        &[],
        None,
    )
    .await;
    seen
}

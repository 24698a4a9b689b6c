//! The document against the code: its routes are exactly the app's vendor
//! routes, every operation is described and secured, every `$ref`
//! resolves, its statuses are ones the routes produce, its response schemas
//! are closed, and its examples match their schemas.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

#[test]
fn the_document_lists_exactly_the_vendor_routes() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented = documented_routes(&doc);
    let served = vendor_routes();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && extra.is_empty(),
        "routes in vendor_routes() but not in the document: {undocumented:?}; \
         routes in the document but not in vendor_routes(): {extra:?}"
    );
    assert_eq!(
        vendor_route_list().len(),
        served.len(),
        "vendor_routes() repeats a route"
    );
}

#[test]
fn every_operation_is_described_and_secured() {
    let doc = document();
    assert_eq!(
        doc.pointer("/components/securitySchemes/PatientToken/scheme"),
        Some(&json!("bearer"))
    );
    assert_eq!(
        doc.pointer("/components/securitySchemes/ApiKey"),
        Some(&json!({
            "type": "apiKey", "in": "header", "name": "Api-key",
            "description": doc["components"]["securitySchemes"]["ApiKey"]["description"]
        }))
    );
    let global_security = doc["security"] == json!([{"ApiKey": []}]);
    for (method, path) in vendor_routes() {
        let op = &doc["paths"][&path][&method];
        let what = format!("{method} {path}");
        for field in ["summary", "description", "operationId"] {
            assert!(
                op[field].as_str().is_some_and(|s| !s.trim().is_empty()),
                "{what}: no {field}"
            );
        }
        // The API key, or (the patient side) a patient's token beside it;
        // the logout takes the token only.
        let security = op["security"].as_array().cloned().unwrap_or_default();
        let patient_only = path == "/v2/patients/logout";
        let needed = if patient_only {
            json!({"PatientToken": []})
        } else {
            json!({"ApiKey": []})
        };
        assert!(
            (global_security && op.get("security").is_none()) || security.contains(&needed),
            "{what}: not secured by {needed}"
        );
        for alt in &security {
            let names: Vec<&String> = alt.as_object().expect("a requirement").keys().collect();
            for name in names {
                assert!(
                    doc["components"]["securitySchemes"][name].is_object(),
                    "{what}: unknown security scheme {name}"
                );
            }
        }
        let params: Vec<(String, String)> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        let p = doc
                            .pointer(&deref(&doc, &param_pointer(&doc, p)))
                            .expect("parameter");
                        (
                            p["in"].as_str().unwrap_or("").to_owned(),
                            p["name"].as_str().unwrap_or("").to_ascii_lowercase(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        for name in ["x-tenant-key", "x-integration-user"] {
            assert!(
                params.contains(&("header".into(), name.into())),
                "{what}: no {name} header parameter"
            );
        }
        for name in path_params(&path) {
            assert!(
                params.contains(&("path".into(), name.to_ascii_lowercase())),
                "{what}: path parameter {name} undocumented"
            );
        }
        assert_eq!(
            params.contains(&("header".into(), "idempotency-key".into())),
            method == "post" && CREATING.contains(&path.as_str()),
            "{what}: Idempotency-Key is documented on the creating POSTs, and only there"
        );
        assert_eq!(
            op.pointer("/requestBody/content/application~1json/schema")
                .is_some(),
            takes_body(&method, &path),
            "{what}: a JSON request body is documented iff the route takes one"
        );
        if method == "get" && is_v1(&path) {
            assert!(
                params.contains(&("query".into(), "locale".into())),
                "{what}: no locale"
            );
            for media in ["text/plain", "application/json"] {
                assert!(
                    op["responses"]["200"]["content"][media].is_object(),
                    "{what}: 200 has no {media} content"
                );
            }
        }
    }
}

/// A parameter's pointer: parameters are shared, under `components/parameters`.
fn param_pointer(doc: &Value, p: &Value) -> String {
    let r = p
        .get("$ref")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("inline parameter {p} (put it under components/parameters)"));
    let pointer = r.trim_start_matches('#').to_owned();
    assert!(doc.pointer(&pointer).is_some(), "{r} does not resolve");
    pointer
}

#[test]
fn every_ref_resolves() {
    fn walk(doc: &Value, node: &Value, at: &str, bad: &mut Vec<String>) {
        match node {
            Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                    match r.strip_prefix('#') {
                        Some(p) if doc.pointer(p).is_some() => {}
                        _ => bad.push(format!("{at}: {r}")),
                    }
                }
                for (k, v) in m {
                    walk(doc, v, &format!("{at}/{}", escape(k)), bad);
                }
            }
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    walk(doc, v, &format!("{at}/{i}"), bad);
                }
            }
            _ => {}
        }
    }
    let doc = document();
    let mut bad = Vec::new();
    walk(&doc, &doc, "", &mut bad);
    assert!(bad.is_empty(), "unresolved $refs: {bad:?}");
}

#[test]
fn documented_statuses_are_ones_the_routes_produce() {
    let s = Schemas::new();
    for (method, path) in vendor_routes() {
        let statuses = s.documented_statuses(&method, &path);
        let what = format!("{method} {path}");
        for status in &statuses {
            assert!(
                PRODUCIBLE.contains(status),
                "{what} documents {status}, which no vendor route produces"
            );
        }
        let success = success_status(&method, &path);
        // Every route authenticates, so every one can be rate limited; every
        // one reads the store, so every one can find it unavailable (503).
        for needed in [success, 400, 401, 403, 429, 500, 503] {
            assert!(
                statuses.contains(&needed),
                "{what} does not document {needed}"
            );
        }
        assert!(
            statuses.iter().all(|s| *s >= 300 || *s == success),
            "{what}: one success status"
        );
        // A reused Idempotency-Key is the idempotent routes' own error.
        assert_eq!(
            statuses.contains(&422),
            method == "post" && CREATING.contains(&path.as_str()),
            "{what}: 422 is documented iff the route takes an Idempotency-Key"
        );
        // Only a body can have the wrong media type.
        assert_eq!(
            statuses.contains(&415),
            takes_body(&method, &path) || takes_image(&method, &path),
            "{what}: 415 is documented iff the route takes a body"
        );
        // Every error is the one Error schema.
        for status in statuses.iter().filter(|s| **s >= 400) {
            let p = s.response(&method, &path, *status);
            let schema = s
                .doc
                .pointer(&format!("{p}/content/application~1json/schema"))
                .unwrap_or_else(|| panic!("{what} {status}: no JSON body"));
            assert_eq!(
                schema,
                &json!({"$ref": "#/components/schemas/Error"}),
                "{what} {status}"
            );
        }
    }
}

#[test]
fn response_schemas_reject_undocumented_fields() {
    let s = Schemas::new();
    for name in [
        "Launch",
        "LaunchWithPatient",
        "Error",
        "Consultation",
        "Followup",
        "ConsultationCreated",
        "FollowupCreated",
        "ConsultationList",
        "FollowupList",
        "ReasonCatalogue",
        "Reason",
        "Question",
        "Choice",
        "Text",
        "Delivery",
        "Answer",
        "PatientSso",
        "Room",
        "RoomList",
        "Provider",
        "ProviderList",
        "Availability",
        "SlotList",
        "Intake",
        "Visit",
        "VisitList",
        "ChatMessage",
        "ChatMessageList",
        "Participant",
        "ParticipantList",
        "Invitation",
        "VisitDurations",
        "VisitIntake",
        "CatalogueConcern",
        "ConcernCatalogue",
        "WebhookEndpoint",
        "WebhookEndpointWithSecret",
        "WebhookEndpointList",
        "WebhookDelivery",
        "WebhookDeliveryList",
        "Redelivery",
        "EventQueue",
        "EventQueueList",
        "EventList",
    ] {
        assert_eq!(
            s.doc["components"]["schemas"][name]["additionalProperties"],
            json!(false),
            "{name} must forbid undocumented fields"
        );
    }
    let launch = json!({
        "userId": "u", "iframeUrl": "http://127.0.0.1:3000/en/x", "expiresAt": "2025-01-15T14:35:00.123Z"
    });
    assert!(s.component("Launch").is_valid(&launch));
    let mut extra = launch.clone();
    extra["token"] = json!("t");
    assert!(!s.component("Launch").is_valid(&extra));
    assert!(!s.component("LaunchWithPatient").is_valid(&launch));
    // Formats are checked, not only types.
    let mut bad_time = launch.clone();
    bad_time["expiresAt"] = json!("in five minutes");
    assert!(!s.component("Launch").is_valid(&bad_time));
}

#[test]
fn examples_match_their_schemas() {
    let s = Schemas::new();
    let mut checked = 0;
    // Examples of schemas.
    let schemas = s.doc["components"]["schemas"].as_object().expect("schemas");
    for (name, schema) in schemas {
        for (i, ex) in schema["examples"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            assert_valid(&s.component(name), ex, &format!("{name} example {i}"));
            checked += 1;
        }
    }
    // Examples of responses (errors, and the text/plain URL).
    let responses = s.doc["components"]["responses"]
        .as_object()
        .expect("responses");
    for (name, response) in responses {
        for (media, content) in response["content"].as_object().expect("content") {
            let v = s.at(&format!(
                "/components/responses/{name}/content/{}/schema",
                escape(media)
            ));
            for (k, ex) in content["examples"].as_object().into_iter().flatten() {
                assert_valid(&v, &ex["value"], &format!("{name} example {k}"));
                let status: u16 = ex["value"]["status"].as_u64().unwrap_or(0) as u16;
                let reason = StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason());
                assert_eq!(ex["value"]["error"].as_str(), reason, "{name} example {k}");
                checked += 1;
            }
        }
    }
    // Parameters: header examples decode to a valid user; query examples
    // match their schemas.
    let user = s.component("IntegrationUser");
    let params = s.doc["components"]["parameters"]
        .as_object()
        .expect("parameters");
    for (name, p) in params {
        let v = s.at(&format!("/components/parameters/{name}/schema"));
        let mut examples: Vec<Value> = p["examples"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, e)| e["value"].clone())
            .collect();
        examples.extend(p.get("example").cloned());
        for ex in examples {
            assert_valid(&v, &ex, &format!("parameter {name}"));
            if p["name"] == "x-integration-user" {
                let raw = STANDARD
                    .decode(ex.as_str().expect("a string"))
                    .expect("base64");
                let decoded: Value = serde_json::from_slice(&raw).expect("JSON");
                assert_valid(&user, &decoded, &format!("decoded {name} example"));
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} examples checked");
}

/// The event bodies the document gives (`Event`) are the JSON Schemas of
/// `events/schemas/` (their `detail`): one schema per event, every channel.
#[test]
fn event_bodies_are_the_event_schemas() {
    let doc = document();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/schemas");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).expect("events/schemas") {
        let path = entry.expect("an entry").path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let name = format!(
            "Event{}",
            stem.split('-')
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect::<String>()
        );
        assert_eq!(
            doc["components"]["schemas"][&name], file["properties"]["detail"],
            "components/schemas/{name} must be the detail of events/schemas/{stem}.json"
        );
        names.push(json!({"$ref": format!("#/components/schemas/{name}")}));
    }
    names.sort_by_key(|v| v.to_string());
    let mut listed = doc["components"]["schemas"]["Event"]["anyOf"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    listed.sort_by_key(|v| v.to_string());
    assert_eq!(
        listed, names,
        "Event is any of the event schemas, each once"
    );
}

/// The links between operations (for stateful testing: create → get →
/// cancel…) name existing operations, their parameters, and a field of the
/// response's schema; every 503 is the shared `ServiceUnavailable`, whose
/// `Retry-After` header is required.
#[test]
fn links_resolve_and_every_operation_documents_503() {
    let doc = document();
    let mut ops = std::collections::BTreeMap::new();
    for (path, methods) in doc["paths"].as_object().expect("paths") {
        for (method, op) in methods.as_object().expect("operations") {
            if let Some(id) = op["operationId"].as_str() {
                ops.insert(id.to_owned(), (path.clone(), method.clone(), op.clone()));
            }
        }
    }
    let mut links = 0;
    for (path, _method, op) in ops.values() {
        assert_eq!(
            op["responses"]["503"],
            json!({"$ref": "#/components/responses/ServiceUnavailable"}),
            "{path}: no shared 503"
        );
        for (status, response) in op["responses"].as_object().expect("responses") {
            for (name, link) in response["links"].as_object().into_iter().flatten() {
                let target = link["operationId"].as_str().expect("an operationId");
                let (tpath, _, top) = ops
                    .get(target)
                    .unwrap_or_else(|| panic!("{path} {status} link {name}: no {target}"));
                let names: Vec<String> = top["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| {
                        let r = p["$ref"].as_str()?.trim_start_matches('#');
                        doc.pointer(r)?["name"].as_str().map(str::to_owned)
                    })
                    .collect();
                for (param, expr) in link["parameters"].as_object().expect("parameters") {
                    assert!(
                        names.contains(param),
                        "{path} {status} link {name}: {tpath} has no parameter {param}"
                    );
                    let pointer = expr
                        .as_str()
                        .and_then(|e| e.strip_prefix("$response.body#"))
                        .unwrap_or_else(|| panic!("{path} link {name}: {expr}"));
                    assert!(
                        response_field(&doc, response, pointer),
                        "{path} {status} link {name}: the response has no {pointer}"
                    );
                }
                links += 1;
            }
        }
    }
    assert!(links >= 40, "only {links} links");
    let unavailable = &doc["components"]["responses"]["ServiceUnavailable"];
    let retry = &unavailable["headers"]["Retry-After"]["$ref"];
    let header = doc
        .pointer(retry.as_str().expect("a $ref").trim_start_matches('#'))
        .expect("the Retry-After header");
    assert_eq!(header["required"], json!(true));
    assert_eq!(header["schema"]["type"], "integer");
}

/// Whether the JSON schema of `response` has the field at `pointer`
/// (`/a/b`), following `$ref`s.
fn response_field(doc: &Value, response: &Value, pointer: &str) -> bool {
    let resolve = |v: &Value| -> Value {
        let mut v = v.clone();
        while let Some(r) = v.get("$ref").and_then(Value::as_str) {
            v = doc
                .pointer(r.trim_start_matches('#'))
                .cloned()
                .unwrap_or(Value::Null);
        }
        v
    };
    let mut schema = resolve(&response["content"]["application/json"]["schema"]);
    for part in pointer.trim_start_matches('/').split('/') {
        schema = resolve(&schema["properties"][part]);
        if schema.is_null() {
            return false;
        }
    }
    true
}

//! Keeps `openapi/openapi.json` true: its routes are exactly
//! `shared::http::vendor_routes()`, every one of them is served, its examples
//! match its schemas, and real responses of the app (successes and errors)
//! validate against the schemas it documents for them.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use jsonschema::{Draft, Registry, Validator};
use serde_json::{Value, json};
use tower::ServiceExt;

use shared::clock::{Clock, SystemClock};
use shared::http::app_router;
use shared::services::demo::{self, DemoWorld};
use shared::store::embedded::EmbeddedStore;

const BASE_URL: &str = "http://127.0.0.1:3000";
/// Every vendor route, as the app lists them.
fn vendor_route_list() -> &'static [(&'static str, &'static str)] {
    static ROUTES: std::sync::LazyLock<Vec<(&str, &str)>> =
        std::sync::LazyLock::new(shared::http::vendor_routes);
    &ROUTES
}

/// The document's URI in the validators' registry.
const DOC_URI: &str = "urn:embedcare:openapi";
/// Every status a vendor route can answer with.
const PRODUCIBLE: [u16; 11] = [200, 201, 400, 401, 403, 404, 409, 413, 415, 422, 500];
/// The v2 routes that create something (and take an `Idempotency-Key`).
const CREATING: [&str; 2] = ["/v2/consultations", "/v2/followups"];
/// A well-formed key that no store knows.
const BAD_KEY: &str = "ek_0123456789abcdef_notTheRightSecretAtAll0123";

type TestResult = Result<(), Box<dyn std::error::Error>>;

// ---------------------------------------------------------------------------
// The document

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    let text = std::fs::read_to_string(path).expect("openapi/openapi.json is readable");
    serde_json::from_str(&text).expect("openapi/openapi.json is JSON")
}

/// A JSON pointer as a URI fragment (path templates hold `{` and `}`).
fn uri_fragment(pointer: &str) -> String {
    pointer
        .replace('%', "%25")
        .replace('{', "%7B")
        .replace('}', "%7D")
}

/// The documented path (template) a concrete request path matches.
fn template_of(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    vendor_route_list()
        .iter()
        .map(|(_, t)| *t)
        .find(|t| {
            let ts: Vec<&str> = t.split('/').collect();
            ts.len() == segments.len()
                && ts
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t.starts_with('{') || t == s)
        })
        .unwrap_or(path)
        .to_owned()
}

/// `/a/b` as one JSON-pointer token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Follows `$ref`s (local ones only) from `pointer` until it names an object
/// without one; returns the final pointer.
fn deref(doc: &Value, pointer: &str) -> String {
    let mut pointer = pointer.to_owned();
    for _ in 0..16 {
        let node = doc
            .pointer(&pointer)
            .unwrap_or_else(|| panic!("{pointer} does not resolve"));
        match node.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                pointer = r
                    .strip_prefix('#')
                    .unwrap_or_else(|| panic!("{pointer}: non-local $ref {r}"))
                    .to_owned();
            }
            None => return pointer,
        }
    }
    panic!("{pointer}: $ref loop");
}

/// Validators for schemas of the document, which may `$ref` its components.
struct Schemas {
    doc: Value,
    registry: Registry<'static>,
}

impl Schemas {
    fn new() -> Self {
        let doc = document();
        let registry = Registry::new()
            .draft(Draft::Draft202012)
            .add(DOC_URI, doc.clone())
            .expect("the document's URI is valid")
            .prepare()
            .expect("the document is a valid registry resource");
        Self { doc, registry }
    }

    /// A validator of the schema at `pointer` (a JSON pointer into the document).
    fn at(&self, pointer: &str) -> Validator {
        assert!(
            self.doc.pointer(pointer).is_some(),
            "no schema at {pointer}"
        );
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(&self.registry)
            .should_validate_formats(true)
            .build(&json!({ "$ref": format!("{DOC_URI}#{}", uri_fragment(pointer)) }))
            .unwrap_or_else(|e| panic!("schema at {pointer} does not compile: {e}"))
    }

    fn component(&self, name: &str) -> Validator {
        self.at(&format!("/components/schemas/{name}"))
    }

    /// The pointer of the operation `method path`.
    fn operation(&self, method: &str, path: &str) -> String {
        let p = format!("/paths/{}/{method}", escape(path));
        assert!(
            self.doc.pointer(&p).is_some(),
            "{method} {path} undocumented"
        );
        p
    }

    /// The pointer of the documented response `status` of an operation,
    /// after its `$ref`s.
    fn response(&self, method: &str, path: &str, status: u16) -> String {
        let p = format!("{}/responses/{status}", self.operation(method, path));
        assert!(
            self.doc.pointer(&p).is_some(),
            "{method} {path} does not document {status}"
        );
        deref(&self.doc, &p)
    }

    /// A validator of the `media` body of response `status` of an operation.
    fn response_body(&self, method: &str, path: &str, status: u16, media: &str) -> Validator {
        let p = format!(
            "{}/content/{}/schema",
            self.response(method, path, status),
            escape(media)
        );
        self.at(&p)
    }

    fn documented_statuses(&self, method: &str, path: &str) -> BTreeSet<u16> {
        let p = format!("{}/responses", self.operation(method, path));
        self.doc
            .pointer(&p)
            .and_then(Value::as_object)
            .map(|m| {
                m.keys()
                    .map(|k| k.parse().unwrap_or_else(|_| panic!("status {k}")))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[track_caller]
fn assert_valid(v: &Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: {instance} does not match its documented schema:\n{}",
        errors.join("\n")
    );
}

fn documented_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let methods = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths is an object") {
        for (key, _) in item.as_object().expect("a path item is an object") {
            if methods.contains(&key.as_str()) {
                routes.insert((key.clone(), path.clone()));
            }
        }
    }
    routes
}

fn vendor_routes() -> BTreeSet<(String, String)> {
    vendor_route_list()
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect()
}

/// True for the v1 `/embeddable/...` routes (the `GET`s answer text or JSON).
fn is_v1(path: &str) -> bool {
    path.starts_with("/embeddable/")
}

/// True when the route takes a JSON body (every `POST` but the cancels).
fn takes_body(method: &str, path: &str) -> bool {
    method == "post" && !path.ends_with("/cancel")
}

/// The `{name}` segments of a path template.
fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_owned)
        .collect()
}

/// A path template with its parameters filled in.
fn fill(path: &str, value: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { value } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

// ---------------------------------------------------------------------------
// The app

struct World {
    router: Router,
    demo: DemoWorld,
}

async fn world() -> Result<World, Box<dyn std::error::Error>> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = EmbeddedStore::in_memory(clock.clone())?;
    let app = shared::App::new(Arc::new(store), clock, shared::Config::new(BASE_URL));
    let demo = demo::seed(&app, &[]).await?;
    Ok(World {
        router: app_router(app),
        demo,
    })
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }
    fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn send(
    router: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Reply {
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("a method");
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .expect("a request");
    let res = router.clone().oneshot(req).await.expect("infallible");
    let (parts, body) = res.into_parts();
    let body = body.collect().await.expect("a body").to_bytes().to_vec();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

fn create_body(key: &str, sub_system: &str) -> Value {
    json!({
        "patient": {
            "keys": [{"subSystem": sub_system, "key": key}],
            "firstName": "Marie",
            "lastName": "Tremblay",
            "dateOfBirth": "1980-05-17",
            "sex": "female",
            "preferredLanguage": "FR"
        },
        "user": {"userId": "emp456"},
        "locale": "fr",
        "consultation": {"reason": "contraception", "metadata": {"encounter": "A-1001"}}
    })
}

/// Query strings that make a valid request for each GET route.
fn valid_query(path: &str) -> &'static str {
    match path {
        "/embeddable/consultation/view"
        | "/embeddable/consultation/specific"
        | "/embeddable/consultation/answer"
        | "/embeddable/followup/view"
        | "/embeddable/followup/specific" => "?patientKey=p-1&locale=en",
        "/embeddable/consultation/dashboard" | "/embeddable/followup/dashboard" => {
            "?patientKey=p-1&subSystem=pms"
        }
        "/embeddable/followup/plan" => {
            "?patientKey=p-1&reason=hypertension&dueDate=2030-02-15&frequency=weekly&notes=Check%20BP"
        }
        _ => "?locale=fr",
    }
}

// ---------------------------------------------------------------------------
// The document against the code

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
        assert!(
            global_security || op["security"] == json!([{"ApiKey": []}]),
            "{what}: not secured by ApiKey"
        );
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
        let success = if method == "post" && CREATING.contains(&path.as_str()) {
            201
        } else {
            200
        };
        for needed in [success, 400, 401, 403, 500] {
            assert!(
                statuses.contains(&needed),
                "{what} does not document {needed}"
            );
        }
        assert!(
            !statuses.contains(&(if success == 200 { 201 } else { 200 })),
            "{what}: one success status"
        );
        // A reused Idempotency-Key is the creating routes' own error.
        assert_eq!(
            statuses.contains(&422),
            success == 201,
            "{what}: 422 is documented iff the route creates"
        );
        // Only a body can have the wrong media type.
        assert_eq!(
            statuses.contains(&415),
            takes_body(&method, &path),
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

// ---------------------------------------------------------------------------
// The document against the running app

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

    // POST view: by a string key, by a key object (with a seed-002 header).
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
        let r = send(&w.router, method, &uri, &[("api-key", key)], None).await;
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
                (
                    "x-integration-user",
                    "eyJ1c2VySWQiOiJleGlzdGluZ191c2VyXzEyMyJ9",
                ),
            ],
            None,
        )
        .await;
        // The seed's "existing" user does not exist here: it is cloned.
        assert_eq!(r.status, StatusCode::OK, "GET {uri} (JSON): {}", r.text());
        assert!(r.content_type().starts_with("application/json"));
        let launch = r.json();
        assert_valid(
            &s.response_body(method, path, 200, "application/json"),
            &launch,
            &format!("GET {uri} application/json"),
        );
        assert_eq!(launch["userId"], "existing_user_123");
        assert!(
            launch["iframeUrl"]
                .as_str()
                .is_some_and(|u| u.starts_with(BASE_URL))
        );
        seen.insert(((*method).to_owned(), (*path).to_owned()));
    }
    seen.extend(v2_successes(&w, &s).await);
    assert_eq!(seen, vendor_routes(), "every route was exercised");
    Ok(())
}

/// Calls `method path` (a template, filled with `uri`) with the demo key;
/// checks the request body and the response against the document.
async fn checked(
    w: &World,
    s: &Schemas,
    (method, path): (&str, &str),
    uri: &str,
    headers: &[(&str, &str)],
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
    let mut all = vec![("api-key", w.demo.api_key.as_str())];
    all.extend_from_slice(headers);
    let r = send(&w.router, method, uri, &all, body).await;
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

fn no_store(r: &Reply) -> Option<&str> {
    r.headers
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
}

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
    let with_body: Vec<&str> = vendor_route_list()
        .iter()
        .filter(|(m, p)| takes_body(m, p))
        .map(|(_, p)| *p)
        .collect();
    assert!(with_body.len() >= 8);
    for path in with_body {
        let req = Request::post(path)
            .header("api-key", key)
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("patient"))?;
        let res = w.router.clone().oneshot(req).await?;
        assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{path}");
        let body: Value = serde_json::from_slice(&res.into_body().collect().await?.to_bytes())?;
        assert_valid(&error, &body, &format!("POST {path} 415"));
        assert_valid(
            &s.response_body("post", path, 415, "application/json"),
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

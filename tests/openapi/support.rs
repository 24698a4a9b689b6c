//! What every check of the document shares: the document and its
//! validators, the vendor routes, and an app to send requests to.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use jsonschema::{Draft, Registry, Validator};
use serde_json::{Value, json};
use tower::ServiceExt;

use shared::clock::{Clock, SystemClock};
use shared::http::app_router;
use shared::services::demo::{self, DemoWorld};
use shared::store::embedded::EmbeddedStore;

pub const BASE_URL: &str = "http://127.0.0.1:3000";
/// Every vendor route, as the app lists them.
pub fn vendor_route_list() -> &'static [(&'static str, &'static str)] {
    static ROUTES: std::sync::LazyLock<Vec<(&str, &str)>> =
        std::sync::LazyLock::new(shared::http::vendor_routes);
    &ROUTES
}

/// The document's URI in the validators' registry.
pub const DOC_URI: &str = "urn:embedcare:openapi";
/// Every status a vendor route can answer with.
pub const PRODUCIBLE: [u16; 15] = [
    101, 200, 201, 204, 400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503,
];
/// The v2 routes that create something and take an `Idempotency-Key`.
pub const CREATING: [&str; 2] = ["/v2/consultations", "/v2/followups"];
/// Every route whose `POST` creates something (`201`).
pub const CREATED: [&str; 4] = [
    "/v2/consultations",
    "/v2/followups",
    "/v2/webhook-endpoints",
    "/v2/event-queues",
];
/// The subscription stream: a WebSocket upgrade (`101`).
pub const SUBSCRIBE: &str = "/v2/events/subscribe";
/// `POST`s that take no body.
const BODILESS: [&str; 7] = [
    "/cancel",
    "/rotate-secret",
    "/redeliver",
    "/tokens",
    "/dismiss",
    "/end",
    "/fulfil",
];
/// A well-formed key that no store knows.
pub const BAD_KEY: &str = "ek_0123456789abcdef_notTheRightSecretAtAll0123";

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

// ---------------------------------------------------------------------------
// The document

pub fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    let text = std::fs::read_to_string(path).expect("openapi/openapi.json is readable");
    serde_json::from_str(&text).expect("openapi/openapi.json is JSON")
}

/// A JSON pointer as a URI fragment (path templates hold `{` and `}`).
pub fn uri_fragment(pointer: &str) -> String {
    pointer
        .replace('%', "%25")
        .replace('{', "%7B")
        .replace('}', "%7D")
}

/// The documented path (template) a concrete request path matches.
pub fn template_of(path: &str) -> String {
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
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Follows `$ref`s (local ones only) from `pointer` until it names an object
/// without one; returns the final pointer.
pub fn deref(doc: &Value, pointer: &str) -> String {
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
pub struct Schemas {
    pub doc: Value,
    registry: Registry<'static>,
}

impl Schemas {
    pub fn new() -> Self {
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
    pub fn at(&self, pointer: &str) -> Validator {
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

    pub fn component(&self, name: &str) -> Validator {
        self.at(&format!("/components/schemas/{name}"))
    }

    /// The pointer of the operation `method path`.
    pub fn operation(&self, method: &str, path: &str) -> String {
        let p = format!("/paths/{}/{method}", escape(path));
        assert!(
            self.doc.pointer(&p).is_some(),
            "{method} {path} undocumented"
        );
        p
    }

    /// The pointer of the documented response `status` of an operation,
    /// after its `$ref`s.
    pub fn response(&self, method: &str, path: &str, status: u16) -> String {
        let p = format!("{}/responses/{status}", self.operation(method, path));
        assert!(
            self.doc.pointer(&p).is_some(),
            "{method} {path} does not document {status}"
        );
        deref(&self.doc, &p)
    }

    /// A validator of the `media` body of response `status` of an operation.
    pub fn response_body(&self, method: &str, path: &str, status: u16, media: &str) -> Validator {
        let p = format!(
            "{}/content/{}/schema",
            self.response(method, path, status),
            escape(media)
        );
        self.at(&p)
    }

    pub fn documented_statuses(&self, method: &str, path: &str) -> BTreeSet<u16> {
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
pub fn assert_valid(v: &Validator, instance: &Value, what: &str) {
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

pub fn documented_routes(doc: &Value) -> BTreeSet<(String, String)> {
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

pub fn vendor_routes() -> BTreeSet<(String, String)> {
    vendor_route_list()
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect()
}

/// True for the v1 `/embeddable/...` routes (the `GET`s answer text or JSON).
pub fn is_v1(path: &str) -> bool {
    path.starts_with("/embeddable/")
}

/// The patient side's routes that create something (`201`, no
/// `Idempotency-Key`: their uniqueness is by conditions).
pub const CLINIC_CREATED: [&str; 10] = [
    "/v2/rooms",
    "/v2/intakes",
    "/v2/visits",
    "/v2/visits/walkin",
    "/v2/visits/econsult",
    "/v2/visits/{visitId}/messages",
    "/v2/visits/{visitId}/participants",
    "/v2/visits/{visitId}/participants/{participantId}/tokens",
    "/v2/concerns",
    IMAGE_BODY,
];

/// The route whose body is an image (`image/png`, `image/jpeg`), not JSON.
pub const IMAGE_BODY: &str = "/v2/visits/{visitId}/snapshots";

/// True when the route takes an image as its body.
pub fn takes_image(method: &str, path: &str) -> bool {
    method == "post" && path == IMAGE_BODY
}

/// The patient's logout: a `POST` with no body, `204`.
pub const LOGOUT: &str = "/v2/patients/logout";

/// A visit's moves: `POST`s without a body.
pub fn is_visit_move(path: &str) -> bool {
    ["accept", "start", "complete", "no-show", "cancel"]
        .iter()
        .any(|m| path == format!("/v2/visits/{{visitId}}/{m}"))
}

/// True when the route takes a JSON body (every `POST` but the cancels,
/// rotations, redeliveries, a visit's moves and the logout; every `PATCH`
/// and `PUT` but presence's heartbeat).
pub fn takes_body(method: &str, path: &str) -> bool {
    (method == "post"
        && !BODILESS.iter().any(|b| path.ends_with(b))
        && !is_visit_move(path)
        && path != LOGOUT
        && path != IMAGE_BODY)
        || method == "patch"
        || (method == "put" && path != ALIVE)
}

/// The REST heartbeat of presence: a `PUT` with no body.
pub const ALIVE: &str = "/v2/visits/{visitId}/alive";

/// The one success status of a route.
pub fn success_status(method: &str, path: &str) -> u16 {
    match method {
        "get" if path == SUBSCRIBE => 101,
        "delete" => 204,
        "post" if path == LOGOUT => 204,
        "post" if CREATED.contains(&path) || CLINIC_CREATED.contains(&path) => 201,
        _ => 200,
    }
}

/// The `{name}` segments of a path template.
pub fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_owned)
        .collect()
}

/// A path template with its parameters filled in.
pub fn fill(path: &str, value: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { value } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

// ---------------------------------------------------------------------------
// The app

pub struct World {
    pub router: Router,
    pub demo: DemoWorld,
    /// Where the snapshots' files are (removed with the world).
    pub _blobs: tempfile::TempDir,
}

/// The app with no request budget: a walk of every route with one key on a
/// real clock spends the default burst faster the faster the machine is
/// (the budget's own 429 is `errors::a_spent_request_budget_is_the_documented_429`).
pub async fn world() -> Result<World, Box<dyn std::error::Error>> {
    let mut config = shared::Config::new(BASE_URL);
    config.rate_limit_per_s = 0;
    world_with(config).await
}

/// A world whose app has this configuration (e.g. a small request budget).
pub async fn world_with(config: shared::Config) -> Result<World, Box<dyn std::error::Error>> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = EmbeddedStore::in_memory(clock.clone())?;
    // Local mode (webhooks to loopback), and a work queue for redeliveries.
    let mut config = config;
    config.webhook_allow_loopback = true;
    let blobs = tempfile::tempdir()?;
    let ports = shared::app::Ports {
        work: Arc::new(shared::delivery::local::LocalQueue::in_memory(
            clock.clone(),
        )),
        blobs: Arc::new(shared::blobs::LocalBlobs::new(
            blobs.path(),
            BASE_URL,
            &config.secret,
        )),
        ..shared::app::Ports::default()
    };
    let app = shared::App::with_ports(Arc::new(store), clock, config, ports);
    let demo = demo::seed(&app, &[]).await?;
    Ok(World {
        router: app_router(app),
        demo,
        _blobs: blobs,
    })
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }
    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

pub async fn send(
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

pub fn create_body(key: &str, sub_system: &str) -> Value {
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
pub fn valid_query(path: &str) -> &'static str {
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

pub fn no_store(r: &Reply) -> Option<&str> {
    r.headers
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
}

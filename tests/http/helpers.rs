//! `spawn_app`: every test gets its own app, its own store (metered, so
//! tests can count round trips and see what was written), a clock that only
//! moves when told to, and a seeded demo world.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use shared::app::Ports;
use shared::clock::ManualClock;
use shared::domain::{AccountId, EventId, PatientId, TenantKey, UserId};
use shared::services::demo::{self, DemoWorld};
use shared::store::embedded::EmbeddedStore;
use shared::store::metered::MeteredStore;
use shared::store::{Key, Store, Write, items, keys};
use shared::{App, AppState, Config};
use tower::ServiceExt;

pub const BASE_URL: &str = "http://127.0.0.1:3000";
/// 2026-01-01T00:00:00Z.
pub const START_MS: i64 = 1_767_225_600_000;
pub const HOST_ORIGIN: &str = "https://vendor.example.com";

pub struct TestApp {
    pub router: Router,
    pub app: AppState,
    pub store: Arc<MeteredStore>,
    pub clock: ManualClock,
    pub world: DemoWorld,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

pub fn b64(json: &str) -> String {
    STANDARD.encode(json)
}

/// Which adapter the suite runs on: `EMBEDCARE_TEST_STORE=dynamodb` for
/// DynamoDB (moto), the embedded store otherwise. `tests/run.sh` runs it on both.
pub fn on_dynamodb() -> bool {
    std::env::var("EMBEDCARE_TEST_STORE").is_ok_and(|s| s == "dynamodb")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| Ports::default(), |_| {}).await
}

/// An app with the delivery ports `ports` makes (on the test's clock) and
/// configuration changes.
pub async fn spawn_app_with(
    ports: impl FnOnce(&ManualClock) -> Ports,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    // Logs of the app under test, when asked for: EMBEDCARE_LOG=debug.
    if let Ok(filter) = std::env::var("EMBEDCARE_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
    let clock = ManualClock::new(START_MS);
    let inner: Arc<dyn Store> = if on_dynamodb() {
        crate::dynamo::serialized(crate::dynamo::store(Arc::new(clock.clone())).await.0)
    } else {
        Arc::new(EmbeddedStore::in_memory(Arc::new(clock.clone())).expect("in-memory store"))
    };
    let ports = ports(&clock);
    spawn_app_on_with(inner, clock, ports, configure).await
}

/// An app on a given store (whose clock is `clock`).
pub async fn spawn_app_on(inner: Arc<dyn Store>, clock: ManualClock) -> TestApp {
    spawn_app_on_with(inner, clock, Ports::default(), |_| {}).await
}

pub async fn spawn_app_on_with(
    inner: Arc<dyn Store>,
    clock: ManualClock,
    ports: Ports,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    let store = Arc::new(MeteredStore::new(inner));
    let mut config = Config::new(BASE_URL);
    configure(&mut config);
    let app = App::with_ports(store.clone(), Arc::new(clock.clone()), config, ports);
    let world = demo::seed(&app, &[HOST_ORIGIN.to_owned()])
        .await
        .expect("demo world");
    store.reset();
    TestApp {
        router: shared::http::app_router(app.clone()),
        app,
        store,
        clock,
        world,
    }
}

impl TestApp {
    pub async fn send(&self, req: Request<Body>) -> Reply {
        send_to(&self.router, req).await
    }

    /// A request with the demo API key and the given extra headers.
    pub fn request(
        method: Method,
        uri: &str,
        key: &str,
        headers: &[(&str, &str)],
    ) -> http::request::Builder {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header("Api-key", key);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b
    }

    pub async fn post_json(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
        self.post_json_as(&self.world.api_key, path, headers, body)
            .await
    }

    pub async fn post_json_as(
        &self,
        key: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Reply {
        let req = Self::request(Method::POST, path, key, headers)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        self.send(req).await
    }

    pub async fn get(&self, uri: &str, headers: &[(&str, &str)]) -> Reply {
        self.get_as(&self.world.api_key, uri, headers).await
    }

    pub async fn get_as(&self, key: &str, uri: &str, headers: &[(&str, &str)]) -> Reply {
        let req = Self::request(Method::GET, uri, key, headers)
            .body(Body::empty())
            .expect("request");
        self.send(req).await
    }

    /// Loads a page (an iframe URL) as a browser would: no API key.
    pub async fn load(&self, url: &str, headers: &[(&str, &str)]) -> Reply {
        let path = url.strip_prefix(BASE_URL).unwrap_or(url);
        let mut b = Request::builder().uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        self.send(b.body(Body::empty()).expect("request")).await
    }

    /// Opens a launch URL as the entry shell's script does: a form `POST`
    /// of the launch token to the same address, with a nonce of the page.
    pub async fn redeem(&self, url: &str) -> Reply {
        self.redeem_with(url, &page_nonce()).await
    }

    /// [`TestApp::redeem`] by the page of `nonce`.
    pub async fn redeem_with(&self, url: &str, nonce: &str) -> Reply {
        // As the shell's script does: the launch token out of the address,
        // the rest of its query kept.
        let path = url.strip_prefix(BASE_URL).unwrap_or(url);
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let mut token = "";
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.strip_prefix("session=") {
                Some(t) => token = t,
                None => rest.push(pair),
            }
        }
        let path = match rest.is_empty() {
            true => path.to_owned(),
            false => format!("{path}?{}", rest.join("&")),
        };
        self.post_form(&path, &[("launch", token), ("nonce", nonce)])
            .await
    }

    /// A form `POST` of a page (what the entry shell's script submits).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let path = path.strip_prefix(BASE_URL).unwrap_or(path);
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        self.send(req).await
    }

    /// `POST /embeddable/consultation/create` with a patient; returns the reply.
    pub async fn create(&self, patient: Value, headers: &[(&str, &str)]) -> Reply {
        self.post_json(
            "/embeddable/consultation/create",
            headers,
            &serde_json::json!({ "patient": patient }),
        )
        .await
    }

    /// The stored user, read straight from the store.
    pub async fn user(&self, account: &str, user_id: &str) -> Option<shared::domain::User> {
        let item = self
            .store
            .get(&user_key(account, user_id))
            .await
            .expect("store");
        item.map(|i| items::entity_of(&i).expect("user"))
    }

    /// Writes (since the last reset) that targeted `key`.
    pub fn writes_to(&self, key: &Key) -> Vec<Write> {
        self.store
            .written()
            .into_iter()
            .filter(|w| w.key() == key)
            .collect()
    }
}

/// `req` through `router` (another app's, e.g. with another configuration).
pub async fn send_to(router: &Router, req: Request<Body>) -> Reply {
    let res = router.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let body = res
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

/// Another API key of the demo franchise (the demo owner's), expiring at
/// `expires_at` when given: (its record, the key as the vendor holds it).
pub async fn another_key(
    t: &TestApp,
    label: &str,
    expires_at: Option<i64>,
) -> shared::Result<(shared::domain::ApiKeyRecord, String)> {
    use shared::services::admin::{self, NewApiKey, Owner};
    admin::create_api_key(
        &t.app,
        NewApiKey {
            account_id: &t.world.account_id,
            tenant_keys: &["demo".to_owned()],
            owner: Owner::Existing("demo-owner".into()),
            label,
            expires_at,
        },
    )
    .await
}

/// The store key of a user, from the strings a test has.
pub fn user_key(account: &str, user_id: &str) -> Key {
    keys::user_key(
        &AccountId::parse(account).expect("an account id"),
        &UserId::parse(user_id).expect("a user id"),
    )
}

/// The store key of a patient of the demo franchise.
pub fn patient_key(id: &str) -> Key {
    keys::patient_key(&demo_tenant(), &PatientId::parse(id).expect("a patient id"))
}

/// The store key of an outbox event of `tenant`.
pub fn outbox_key(tenant: &TenantKey, id: &str) -> Key {
    keys::outbox_key(tenant, &EventId::parse(id).expect("an event id"))
}

/// The demo franchise.
pub fn demo_tenant() -> TenantKey {
    TenantKey::parse("demo").expect("demo")
}

/// Asserts the error body: status, error, message, path, timestamp.
pub fn assert_error(reply: &Reply, status: u16, message: &str, path: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(
        body["error"],
        StatusCode::from_u16(status)
            .unwrap()
            .canonical_reason()
            .unwrap()
    );
    assert_eq!(body["message"], message, "{body}");
    assert_eq!(body["path"], path);
    let ts = body["timestamp"].as_str().expect("timestamp");
    assert!(ts.ends_with('Z') && ts.len() == 24, "{ts}");
    assert!(reply.header("content-type").starts_with("application/json"));
}

/// `application/x-www-form-urlencoded` of one name or value.
fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A page's nonce, as the entry shell's script makes one.
pub fn page_nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The launch token of an iframe URL.
pub fn token_of(url: &str) -> &str {
    url.split_once("?session=")
        .map(|(_, t)| t)
        .expect("a session token")
}

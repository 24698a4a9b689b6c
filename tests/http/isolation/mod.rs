//! The isolation matrix: every route of the OpenAPI document (`api.rs`),
//! every page and action of the embedded app and every page of the patient
//! app (`pages.rs`), called with the credentials of another franchise and
//! the ids of franchise `demo` ("B", whose world of every kind of object
//! `world.rs` builds). Two attackers ("A"): `demo-2`, another franchise of
//! the same account (the multi-franchise key naming it), and `other`, the
//! franchise of another account. Each call must answer what its row says
//! (`404` for an id of B, or the refusal the route documents, with a
//! reason), in the error shape of DESIGN.md; the store must hold nothing
//! new (the metered store's writes of the call, `helpers.rs`), and no
//! answer may carry anything of B that the request did not. A route of the
//! document, a view or an action of the code missing from a table fails
//! the test, by name.

mod api;
mod pages;
mod patient;
mod store;
mod world;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request};
use serde_json::Value;
use shared::app::Ports;
use shared::blobs::LocalBlobs;
use shared::clock::ManualClock;
use shared::crypto::Secret;
use shared::delivery::connections::LocalConnections;
use shared::delivery::resolver::MapResolver;
use shared::store::Key;
use shared::store::embedded::EmbeddedStore;

use self::store::Committed;
use crate::helpers::{BASE_URL, Reply, START_MS, TestApp, on_dynamodb, spawn_app_on_with};

/// The host of B's webhook endpoint (resolved to a public address).
pub const HOOK_HOST: &str = "hooks.example.com";

/// The app of the matrix: snapshots kept as files, a resolver that knows
/// the webhook host, the visits' live connections; served on a port of
/// 127.0.0.1 too (the live socket is a real upgrade).
pub struct Iso {
    pub t: TestApp,
    /// What the store holds new since its last reset.
    pub log: Arc<Committed>,
    pub addr: SocketAddr,
    _blobs: tempfile::TempDir,
}

pub async fn spawn() -> Iso {
    let dir = tempfile::tempdir().expect("a directory");
    let blobs = Arc::new(LocalBlobs::new(
        dir.path().join("blobs"),
        BASE_URL,
        &Secret::ephemeral(),
    ));
    let resolver = Arc::new(MapResolver::default());
    resolver.set(HOOK_HOST, &["93.184.215.14".parse().expect("an address")]);
    let conns = Arc::new(LocalConnections::default());
    let clock = ManualClock::new(START_MS);
    let inner: Arc<dyn shared::store::Store> = if on_dynamodb() {
        crate::dynamo::serialized(crate::dynamo::store(Arc::new(clock.clone())).await.0)
    } else {
        Arc::new(EmbeddedStore::in_memory(Arc::new(clock.clone())).expect("a store"))
    };
    let log = Arc::new(Committed::new(inner));
    let ports = Ports {
        blobs,
        resolver,
        visit_live: Some(conns.clone()),
        ..Ports::default()
    };
    // Hundreds of calls of one key at one instant of the test's clock:
    // the rate limit (an in-memory bucket, nothing stored) is not this
    // test's subject.
    let t = spawn_app_on_with(log.clone(), clock, ports, |c| {
        c.rate_limit_burst = 1_000_000;
    })
    .await;
    let router = t
        .router
        .clone()
        .layer(shared::http::stream::connections_layer(conns));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Iso {
        t,
        log,
        addr,
        _blobs: dir,
    }
}

/// A request's body.
pub enum Payload {
    None,
    Json(Value),
    Raw(&'static str, Vec<u8>),
    Form(Vec<(String, String)>),
}

/// One request through the router.
pub async fn send(
    t: &TestApp,
    method: Method,
    uri: &str,
    headers: &[(String, String)],
    body: Payload,
) -> Reply {
    let mut b = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(k.as_str(), v.as_str());
    }
    let req = match body {
        Payload::None => b.body(Body::empty()),
        Payload::Json(v) => b
            .header("content-type", "application/json")
            .body(Body::from(v.to_string())),
        Payload::Raw(ct, bytes) => b.header("content-type", ct).body(Body::from(bytes)),
        Payload::Form(fields) => {
            let body = fields
                .iter()
                .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            b.header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body))
        }
    };
    t.send(req.expect("a request")).await
}

/// What a refused call may write: nothing, but for the calling user's own
/// record, which every call naming a user (`x-integration-user`, or the
/// API key's owner) upserts (DESIGN.md's vendor API: "upsert user"), in
/// the caller's account.
pub fn ignorable(k: &Key) -> bool {
    k.sk == "USER" && k.pk.contains("#USER#")
}

/// What the last call changed in the store that it should not have.
pub fn unexpected_writes(log: &Committed) -> Vec<String> {
    log.changed()
        .iter()
        .filter(|k| !ignorable(k))
        .map(|k| format!("{} / {}", k.pk, k.sk))
        .collect()
}

/// What the last call changed in B's franchise (its partitions).
pub fn writes_into(log: &Committed, tenant: &str) -> Vec<String> {
    let own = format!("T#{tenant}#");
    let root = format!("T#{tenant}");
    log.changed()
        .iter()
        .filter(|k| k.pk.starts_with(&own) || k.pk == root)
        .map(|k| format!("{} / {}", k.pk, k.sk))
        .collect()
}

/// The things of B an answer carries that its request did not.
pub fn leaked<'a>(answer: &str, request: &str, secrets: &'a [String]) -> Vec<&'a str> {
    secrets
        .iter()
        .filter(|s| answer.contains(s.as_str()) && !request.contains(s.as_str()))
        .map(String::as_str)
        .collect()
}

/// The error shape of DESIGN.md with `status`, for a call to `path`; what
/// is wrong with it, if anything.
pub fn shape_error(r: &Reply, status: u16, path: &str) -> Option<String> {
    if r.status.as_u16() != status {
        return Some(format!("{} not {status}: {}", r.status.as_u16(), r.text()));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&r.body) else {
        return Some(format!("not JSON: {}", r.text()));
    };
    let mut keys: Vec<&str> = body
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason());
    let ts = body["timestamp"].as_str().unwrap_or("");
    let ok = keys == ["error", "message", "path", "status", "timestamp"]
        && body["status"] == status
        && body["error"].as_str() == reason
        && body["path"] == path
        && body["message"].as_str().is_some_and(|m| !m.is_empty())
        && ts.len() == 24
        && ts.ends_with('Z')
        && r.header("content-type").starts_with("application/json");
    (!ok).then(|| format!("not the error shape: {body}"))
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

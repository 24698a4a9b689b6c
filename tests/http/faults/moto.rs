//! The DynamoDB adapter's error mapping against moto: a tiny HTTP proxy in
//! front of moto answers one chosen request with DynamoDB's own error body
//! (throttled, failing, a transaction cancelled by a throttled or
//! conflicting write) and passes every other request on. The vendor's call
//! is answered `201`, or `503` with `Retry-After` and a request id — never
//! a `500` — and sent again it creates exactly one consultation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::json;
use shared::clock::ManualClock;
use shared::store::dynamodb::{DynamoStore, create_table};

use super::*;

/// DynamoDB's error answers: (HTTP status, `__type`, extra body fields).
const ANSWERS: [(u16, &str, &str); 6] = [
    (400, "ProvisionedThroughputExceededException", ""),
    (400, "ThrottlingException", ""),
    (400, "RequestLimitExceeded", ""),
    (500, "InternalServerError", ""),
    (
        400,
        "TransactionCanceledException",
        r#","CancellationReasons":[{"Code":"None"},{"Code":"ThrottlingError"}]"#,
    ),
    (
        400,
        "TransactionCanceledException",
        r#","CancellationReasons":[{"Code":"TransactionConflict"},{"Code":"None"}]"#,
    ),
];

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    seen: Arc<AtomicU64>,
    /// (request number to answer, the answer's index in `ANSWERS`).
    fail: Arc<Mutex<Option<(u64, usize)>>>,
    injected: Arc<AtomicU64>,
}

async fn forward(State(p): State<Proxy>, req: Request) -> Response {
    let n = p.seen.fetch_add(1, Ordering::SeqCst) + 1;
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 24)
        .await
        .unwrap_or_default();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok());
    let answer = match *p.fail.lock().unwrap() {
        Some((at, i)) if at == n => Some(i),
        _ => None,
    };
    // A cancellation only answers a transaction.
    let answer = answer.filter(|i| {
        !ANSWERS[*i].1.starts_with("Transaction")
            || target.is_some_and(|t| t.ends_with("TransactWriteItems"))
    });
    if let Some(i) = answer {
        p.injected.fetch_add(1, Ordering::SeqCst);
        let (status, kind, extra) = ANSWERS[i];
        let text = format!(
            r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"injected by the test proxy"{extra}}}"#
        );
        return Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amzn-requestid", format!("proxy-{n}"))
            .body(Body::from(text))
            .expect("a response");
    }
    let mut up = p
        .http
        .request(parts.method.clone(), format!("{}{}", p.upstream, parts.uri));
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            up = up.header(name, value);
        }
    }
    let res = up.body(body).send().await.expect("moto answers");
    let mut out = Response::builder().status(res.status().as_u16());
    for (name, value) in res.headers() {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            out = out.header(name, value);
        }
    }
    let bytes: Bytes = res.bytes().await.expect("moto's body");
    out.body(Body::from(bytes)).expect("a response")
}

async fn proxy() -> (Proxy, String) {
    let p = Proxy {
        upstream: crate::dynamo::endpoint().to_owned(),
        http: reqwest::Client::new(),
        seen: Arc::default(),
        fail: Arc::default(),
        injected: Arc::default(),
    };
    let app = axum::Router::new().fallback(forward).with_state(p.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (p, format!("http://{addr}"))
}

/// A DynamoDB store through the proxy, one request per call (no SDK
/// retry: every injected answer reaches the adapter's mapping).
async fn store(endpoint: &str, clock: &ManualClock) -> DynamoStore {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .retry_config(RetryConfig::disabled())
        .build();
    let client = Client::from_conf(config);
    let table = format!("t-{}", uuid::Uuid::new_v4().simple());
    create_table(&client, &table).await.expect("create table");
    DynamoStore::new(client, table, Arc::new(clock.clone()))
}

#[tokio::test]
async fn dynamodb_s_throttling_and_failures_are_503_with_retry_after_on_moto() {
    let (p, endpoint) = proxy().await;
    let clock = ManualClock::new(START_MS);
    let s = store(&endpoint, &clock).await;
    let t = spawn_app_on(crate::dynamo::serialized(s), clock).await;
    let create = async |i: usize| {
        let body = json!({"patient": {"keys": [{"subSystem": "pms", "key": format!("moto-{i}")}],
                                      "firstName": "Ann", "lastName": "Lee"}, "reason": "uti"});
        t.post_json("/v2/consultations", &[], &body).await
    };
    let count = async || {
        let listed = t.get("/v2/consultations?limit=100", &[]).await;
        assert_eq!(listed.status, 200, "{}", listed.text());
        listed.json()["items"].as_array().map_or(0, Vec::len)
    };
    let seeded = count().await;
    // Fault-free: the requests one creation sends.
    let before = p.seen.load(Ordering::SeqCst);
    assert_eq!(create(0).await.status, 201);
    let requests = p.seen.load(Ordering::SeqCst) - before;
    let (mut created, mut unavailable, mut i) = (1, 0, 0);
    for (a, answer) in ANSWERS.iter().enumerate() {
        for k in 1..=requests {
            i += 1;
            let injected = p.injected.load(Ordering::SeqCst);
            *p.fail.lock().unwrap() = Some((p.seen.load(Ordering::SeqCst) + k, a));
            let r = create(i).await;
            *p.fail.lock().unwrap() = None;
            let fired = p.injected.load(Ordering::SeqCst) > injected;
            match r.status.as_u16() {
                201 => created += 1,
                503 => {
                    assert!(fired, "{answer:?}");
                    assert_unavailable(&r, answer.1, None);
                    unavailable += 1;
                    let again = create(i).await;
                    assert_eq!(again.status, 201, "sent again: {}", again.text());
                    created += 1;
                }
                s => panic!("{answer:?} at request {k}: {s} {}", r.text()),
            }
        }
    }
    // Exactly one consultation per creation that was answered 201.
    assert_eq!(
        count().await - seeded,
        created,
        "one per 201, none half-made"
    );
    let injected = p.injected.load(Ordering::SeqCst);
    println!(
        "faults[dynamodb on moto]: requests per creation={requests} faults_injected={injected} answered_503={unavailable} created={created}"
    );
    assert!(unavailable > 0 && injected >= unavailable);
}

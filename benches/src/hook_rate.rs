//! Webhook dispatcher throughput on the local server against a receiver on
//! loopback that always answers `200`: `events` consultations created
//! (each one `consultation.created`) for two endpoints, every delivery's
//! `Embedcare-Signature` verified with its endpoint's secret
//! (`tests/http/verify.rs`, the vendor's snippet), every (event,
//! endpoint) counted. The setup is `stress/hooks.rs`'s (`Flaky::NEVER`,
//! its two subscriptions, the same creates), with a verifying receiver.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::json;

use crate::stress::client::{Http, Req};
use crate::util::Res;

#[path = "../../tests/http/verify.rs"]
mod verify;

#[derive(Default, Clone)]
struct Got {
    receipts: u32,
    bad_signatures: u32,
    first: Option<Instant>,
}

#[derive(Clone, Default)]
struct Receiver {
    secrets: Arc<Mutex<HashMap<String, String>>>,
    got: Arc<Mutex<HashMap<(String, String), Got>>>,
}

async fn hook(
    State(r): State<Receiver>,
    Path(sub): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let at = Instant::now();
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (id, signature) = (h("embedcare-event-id"), h("embedcare-signature"));
    let secret = r
        .secrets
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&sub)
        .cloned()
        .unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let good = verify::verify_embedcare_signature(&body, &signature, &[secret.as_str()], 300, now);
    let mut got = r.got.lock().unwrap_or_else(|p| p.into_inner());
    let g = got.entry((id, sub)).or_default();
    g.receipts += 1;
    if !good {
        g.bad_signatures += 1;
    }
    g.first.get_or_insert(at);
    StatusCode::OK
}

pub struct Rate {
    pub events: usize,
    pub expected: usize,
    pub delivered: usize,
    pub twice: usize,
    pub bad_signatures: usize,
    /// First create → last first receipt.
    pub secs: f64,
    /// The creates alone.
    pub create_secs: f64,
    pub failures: Vec<String>,
}

impl Rate {
    pub fn per_s(&self) -> f64 {
        self.delivered as f64 / self.secs.max(1e-9)
    }
}

pub async fn run(api: &Http, key: &str, events: usize, wait: Duration) -> Res<Rate> {
    let r = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let app = Router::new()
        .route("/hooks/{sub}", post(hook))
        .with_state(r.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let subs = ["a", "b"];
    for s in subs {
        let a = api
            .send(&Req::new("POST", "/v2/webhook-endpoints").key(key).json(
                &json!({"url": format!("http://127.0.0.1:{port}/hooks/{s}"), "eventTypes": ["consultation.*"], "description": "rate"}),
            ))
            .await;
        let secret = a
            .str("secret")
            .ok_or_else(|| format!("webhook endpoint: {} {}", a.status, a.body))?;
        r.secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(s.to_owned(), secret);
    }
    let mut failures = Vec::new();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let t0 = Instant::now();
    let mut created = 0;
    for chunk in (0..events).collect::<Vec<_>>().chunks(25) {
        let reqs = chunk
            .iter()
            .map(|i| {
                Req::new("POST", "/v2/consultations").key(key).json(&json!({
                    "patient": {"keys": [{"subSystem": "pms", "key": format!("rate-{run}-{i}")}], "firstName": "Ann", "lastName": "Lee"},
                    "reason": "uti"
                }))
            })
            .collect();
        for a in api.concurrently(reqs).await {
            if a.status == 201 {
                created += 1;
            } else {
                failures.push(format!("a consultation create answered {}", a.status));
            }
        }
    }
    let create_secs = t0.elapsed().as_secs_f64();
    let expected = created * subs.len();
    let deadline = Instant::now() + wait;
    loop {
        let n = r.got.lock().unwrap_or_else(|p| p.into_inner()).len();
        if n >= expected || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Late copies would come now.
    tokio::time::sleep(Duration::from_secs(2)).await;
    task.abort();
    let got = r.got.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let delivered = got.len();
    let twice = got.values().filter(|g| g.receipts > 1).count();
    let bad: usize = got.values().map(|g| g.bad_signatures as usize).sum();
    let last = got.values().filter_map(|g| g.first).max().unwrap_or(t0);
    if delivered != expected {
        failures.push(format!("{delivered} of {expected} deliveries received"));
    }
    if bad > 0 {
        failures.push(format!(
            "{bad} deliveries with a signature that does not verify"
        ));
    }
    if twice > 0 {
        failures.push(format!("{twice} deliveries received twice or more"));
    }
    Ok(Rate {
        events: created,
        expected,
        delivered,
        twice,
        bad_signatures: bad,
        secs: (last - t0).as_secs_f64(),
        create_secs,
        failures,
    })
}

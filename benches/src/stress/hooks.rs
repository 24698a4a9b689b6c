//! A flaky webhook receiver on loopback, and the delivery run: events
//! fanned out to two subscriptions, every receipt counted per (event id,
//! subscription). The receiver fails a share of first attempts (`500`),
//! times a share out (answers after the sender's 10 s timeout), and fails
//! a share twice; which ones is a hash of the event id and subscription,
//! so a run is reproducible. A receipt is a `2xx` the receiver answered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::json;

use super::client::{Http, Req};
use crate::util::{Res, pct, sorted};

/// How the receiver misbehaves, in percent of (event, subscription) pairs.
#[derive(Clone, Copy)]
pub struct Flaky {
    /// First attempt answers `500`.
    pub fail_first: u64,
    /// First attempt answers only after the sender's timeout.
    pub time_out: u64,
    /// First and second attempts answer `500`.
    pub fail_twice: u64,
}

impl Flaky {
    pub const NEVER: Flaky = Flaky {
        fail_first: 0,
        time_out: 0,
        fail_twice: 0,
    };
}

#[derive(Default, Clone)]
pub struct Pair {
    pub attempts: u32,
    pub receipts: u32,
    pub first_receipt: Option<Instant>,
}

#[derive(Clone)]
pub struct Receiver {
    pub port: u16,
    pub pairs: Arc<Mutex<HashMap<(String, String), Pair>>>,
    flaky: Flaky,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

fn bucket(id: &str, sub: &str) -> u64 {
    // FNV-1a: stable across runs and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes().chain([b'/']).chain(sub.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h % 100
}

async fn hook(
    State(r): State<Receiver>,
    Path(sub): Path<String>,
    headers: HeaderMap,
) -> StatusCode {
    let Some(id) = headers
        .get("embedcare-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return StatusCode::BAD_REQUEST;
    };
    let attempt = {
        let mut pairs = r.pairs.lock().unwrap_or_else(|p| p.into_inner());
        let p = pairs.entry((id.clone(), sub.clone())).or_default();
        p.attempts += 1;
        p.attempts
    };
    let b = bucket(&id, &sub);
    let f = r.flaky;
    let fail =
        (attempt == 1 && b < f.fail_first + f.fail_twice) || (attempt == 2 && b < f.fail_twice);
    if fail {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let timeout_lo = f.fail_first + f.fail_twice;
    if attempt == 1 && b >= timeout_lo && b < timeout_lo + f.time_out {
        // Past the sender's timeout: it has gone (and hyper drops this).
        tokio::time::sleep(Duration::from_secs(12)).await;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let mut pairs = r.pairs.lock().unwrap_or_else(|p| p.into_inner());
    let p = pairs.entry((id, sub)).or_default();
    p.receipts += 1;
    p.first_receipt.get_or_insert_with(Instant::now);
    StatusCode::OK
}

impl Receiver {
    pub async fn start(flaky: Flaky) -> Res<Receiver> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let pairs = Arc::new(Mutex::new(HashMap::new()));
        let (tx, rx) = tokio::sync::oneshot::channel::<Receiver>();
        let task = tokio::spawn(async move {
            let Ok(state) = rx.await else { return };
            let app = Router::new()
                .route("/hooks/{sub}", post(hook))
                .with_state(state);
            let _ = axum::serve(listener, app).await;
        });
        let r = Receiver {
            port,
            pairs,
            flaky,
            task: Arc::new(task),
        };
        let _ = tx.send(r.clone());
        Ok(r)
    }

    pub fn url(&self, sub: &str) -> String {
        format!("http://127.0.0.1:{}/hooks/{sub}", self.port)
    }

    pub fn snapshot(&self) -> HashMap<(String, String), Pair> {
        self.pairs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A webhook endpoint for `consultation.*` at the receiver's `sub`.
pub async fn subscribe(api: &Http, key: &str, r: &Receiver, sub: &str) -> Res<()> {
    let a = api
        .send(&Req::new("POST", "/v2/webhook-endpoints").key(key).json(
            &json!({"url": r.url(sub), "eventTypes": ["consultation.*"], "description": "load"}),
        ))
        .await;
    if !a.ok() {
        return Err(format!("webhook endpoint: {} {}", a.status, a.body).into());
    }
    Ok(())
}

/// Every `consultation.*` event of the franchise: consultation id → event
/// ids (distinct), and how many items the list gave in all.
pub async fn events_by_consultation(
    api: &Http,
    key: &str,
) -> Res<(HashMap<String, Vec<String>>, usize)> {
    let mut by: HashMap<String, Vec<String>> = HashMap::new();
    let mut items = 0;
    let mut cursor: Option<String> = None;
    for _ in 0..10_000 {
        let mut path = "/v2/events?types=consultation.*&limit=100".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&after={c}"));
        }
        let a = api.send(&Req::new("GET", path).key(key)).await;
        if !a.ok() {
            return Err(format!("GET /v2/events: {} {}", a.status, a.body).into());
        }
        let v = a.json();
        let page = v["items"].as_array().cloned().unwrap_or_default();
        for e in &page {
            items += 1;
            let (Some(id), Some(c)) = (e["id"].as_str(), e["data"]["consultationId"].as_str())
            else {
                continue;
            };
            let ids = by.entry(c.to_owned()).or_default();
            if !ids.iter().any(|x| x == id) {
                ids.push(id.to_owned());
            }
        }
        cursor = v["nextCursor"].as_str().map(str::to_owned);
        if page.is_empty() || v["hasMore"] != true {
            break;
        }
    }
    Ok((by, items))
}

/// What the delivery run gave.
pub struct Deliveries {
    pub events: usize,
    pub subscriptions: usize,
    pub expected: usize,
    pub delivered: usize,
    pub twice: usize,
    pub attempts: u64,
    pub failed_attempts: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub secs: f64,
    pub failures: Vec<String>,
}

/// `events` consultations created (each one `consultation.created`), each
/// delivered to two subscriptions of a flaky receiver; waits (at most
/// `wait`) until every (event, subscription) has a receipt, then a few
/// seconds more for late duplicates.
pub async fn deliveries(
    api: &Http,
    key: &str,
    events: usize,
    flaky: Flaky,
    wait: Duration,
) -> Res<Deliveries> {
    let r = Receiver::start(flaky).await?;
    let subs = ["a", "b"];
    for s in subs {
        subscribe(api, key, &r, s).await?;
    }
    let t0 = Instant::now();
    let mut created: HashMap<String, Instant> = HashMap::new();
    let mut failures = Vec::new();
    let run = uuid::Uuid::new_v4().simple().to_string();
    for chunk in (0..events).collect::<Vec<_>>().chunks(25) {
        let reqs = chunk
            .iter()
            .map(|i| {
                Req::new("POST", "/v2/consultations").key(key).json(&json!({
                    "patient": {"keys": [{"subSystem": "pms", "key": format!("hook-{run}-{i}")}], "firstName": "Ann", "lastName": "Lee"},
                    "reason": "uti"
                }))
            })
            .collect();
        for a in api.concurrently(reqs).await {
            match a.json()["consultation"]["consultationId"]
                .as_str()
                .map(str::to_owned)
            {
                Some(id) if a.status == 201 => {
                    created.insert(id, Instant::now());
                }
                _ => failures.push(format!("a consultation create answered {}", a.status)),
            }
        }
    }
    // The events of these consultations (the list is the same ids as
    // every other channel).
    let deadline = Instant::now() + wait;
    let mut ids: HashMap<String, String>;
    loop {
        let (by, _) = events_by_consultation(api, key).await?;
        ids = by
            .into_iter()
            .filter(|(c, _)| created.contains_key(c))
            .flat_map(|(c, es)| es.into_iter().map(move |e| (e, c.clone())))
            .collect();
        let snap = r.snapshot();
        let all = ids.len() >= created.len()
            && ids.keys().all(|e| {
                subs.iter().all(|s| {
                    snap.get(&(e.clone(), (*s).to_owned()))
                        .is_some_and(|p| p.receipts > 0)
                })
            });
        if all || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let secs = t0.elapsed().as_secs_f64();
    // Late copies would come now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let snap = r.snapshot();
    let mut delivered = 0;
    let mut twice = 0;
    let mut lat = Vec::new();
    for (e, c) in &ids {
        for s in subs {
            if let Some(p) = snap.get(&(e.clone(), s.to_owned())) {
                if p.receipts > 0 {
                    delivered += 1;
                }
                if p.receipts > 1 {
                    twice += 1;
                }
                if let (Some(at), Some(made)) = (p.first_receipt, created.get(c)) {
                    lat.push(at.saturating_duration_since(*made).as_secs_f64() * 1e3);
                }
            }
        }
    }
    let attempts: u64 = snap.values().map(|p| u64::from(p.attempts)).sum();
    let receipts: u64 = snap.values().map(|p| u64::from(p.receipts)).sum();
    let expected = created.len() * subs.len();
    if ids.len() != created.len() {
        failures.push(format!(
            "{} consultations created, {} of their events listed",
            created.len(),
            ids.len()
        ));
    }
    if delivered != expected {
        failures.push(format!("{delivered} of {expected} deliveries received"));
    }
    if twice > 0 {
        failures.push(format!("{twice} deliveries received twice or more"));
    }
    let lat = sorted(lat);
    Ok(Deliveries {
        events: created.len(),
        subscriptions: subs.len(),
        expected,
        delivered,
        twice,
        attempts,
        failed_attempts: attempts.saturating_sub(receipts),
        p50_ms: pct(&lat, 50.0),
        p99_ms: pct(&lat, 99.0),
        secs,
        failures,
    })
}

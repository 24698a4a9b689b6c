//! What the webhook and event tests share: an app with the delivery ports
//! of the local server (a work queue driven by the test's clock, a map
//! resolver, local connections) and its dispatcher; a consultation's whole
//! life through the services; publishing the outbox's events as the rule
//! and the dispatcher do; running the work queue by moving the clock; and a
//! test vendor server that records every request and answers as scripted.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use shared::app::Ports;
use shared::delivery::client::HttpSender;
use shared::delivery::connections::LocalConnections;
use shared::delivery::local::LocalQueue;
use shared::delivery::resolver::MapResolver;
use shared::domain::{Answer, ConsultationId};
use shared::events::{Event, Published};
use shared::notify::local::LocalNotifier;
use shared::services::consultations;
use shared::services::dispatch::{self, Dispatcher};
use shared::services::{event_list, work};

use crate::helpers::{TestApp, demo_tenant, spawn_app_with};

pub struct Delivering {
    pub t: TestApp,
    pub queue: Arc<LocalQueue>,
    pub resolver: Arc<MapResolver>,
    pub dispatcher: Dispatcher,
    pub notifier: Arc<LocalNotifier>,
    /// Where `publish` stopped in the event list.
    published_upto: Mutex<Option<String>>,
}

/// An app whose webhooks may go to loopback (local mode), and its dispatcher.
pub async fn spawn_delivering() -> Delivering {
    let resolver = Arc::new(MapResolver::default());
    resolver.set("localhost", &["127.0.0.1".parse().unwrap()]);
    let connections = Arc::new(LocalConnections::default());
    let mut queue = None;
    let t = spawn_app_with(
        |clock| {
            let q = Arc::new(LocalQueue::in_memory(Arc::new(clock.clone())));
            queue = Some(q.clone());
            Ports {
                resolver: resolver.clone(),
                work: q,
                connections: connections.clone(),
                visit_live: None,
                ..Ports::default()
            }
        },
        |c| c.webhook_allow_loopback = true,
    )
    .await;
    let queue = queue.expect("the queue");
    let notifier = Arc::new(LocalNotifier::default());
    let sender = HttpSender::new(resolver.clone(), true).expect("a webhook client");
    let dispatcher = Dispatcher {
        app: t.app.clone(),
        sender: Arc::new(sender),
        notifier: notifier.clone(),
    };
    Delivering {
        t,
        queue,
        resolver,
        dispatcher,
        notifier,
        published_upto: Mutex::new(None),
    }
}

impl Delivering {
    /// Fans out every event of the outbox not published yet, twice (the
    /// bus delivers at least once): what the rule and the dispatcher do.
    pub async fn publish(&self) -> Vec<Published> {
        let tenant = demo_tenant();
        let mut out = Vec::new();
        loop {
            let after = self.published_upto.lock().unwrap().clone();
            let page = event_list::list(&self.t.app, &tenant, after.as_deref(), &[], 100)
                .await
                .expect("the event list");
            for e in &page.events {
                dispatch::fan_out(&self.t.app, e).await.expect("fan-out");
                dispatch::fan_out(&self.t.app, e)
                    .await
                    .expect("fan-out again");
                out.push(e.clone());
            }
            *self.published_upto.lock().unwrap() = page.cursor;
            if !page.has_more {
                return out;
            }
        }
    }

    /// Handles the due work, moving the clock to each next message, until
    /// nothing is due within `horizon_ms`. Returns the work handled.
    pub async fn drain(&self, horizon_ms: i64) -> usize {
        let mut n = 0;
        let end = self.t.clock_now() + horizon_ms;
        loop {
            n += work::pump_once(&self.dispatcher, &self.queue).await;
            match self.queue.next_in_ms().await.expect("the queue") {
                Some(ms) if self.t.clock_now() + ms <= end => self.t.clock.advance_ms(ms.max(1)),
                _ => return n,
            }
        }
    }

    /// A consultation's whole life through the services: created and sent,
    /// opened, answered, done, archived. Returns the events in order.
    pub async fn consultation_life(&self, patient_key: &str) -> (ConsultationId, Vec<Event>) {
        let app = &self.t.app;
        let tenant = demo_tenant();
        let patient_id = crate::life::patient(app, &self.t.world.api_key, patient_key).await;
        let mut events = Vec::new();
        // Each change a millisecond after the one before: the order of
        // creation is the order of the life.
        let tick = || self.t.clock.advance_ms(1);
        tick();
        let (c, e) =
            crate::life::consultation(app, &tenant, patient_id, Some("vaccination-screening"))
                .await;
        events.push(e);
        let id = c.consultation_id;
        tick();
        let (_, e) = consultations::open_consultation(app, &tenant, &id)
            .await
            .unwrap();
        events.extend(e);
        let answers: Vec<Answer> = [
            ("vaccine", json!("influenza")),
            ("feeling_unwell", json!(false)),
            ("allergy", json!(false)),
            ("previous_reaction", json!(false)),
            ("immunosuppressed", json!(false)),
        ]
        .into_iter()
        .map(|(q, v)| Answer {
            question_id: q.into(),
            value: v,
        })
        .collect();
        tick();
        let (_, e) = consultations::answer_consultation(app, &tenant, &id, &answers)
            .await
            .unwrap();
        events.push(e);
        tick();
        let (_, e) = consultations::complete_consultation(app, &tenant, &id, Some("ok".into()))
            .await
            .unwrap();
        events.push(e);
        let to = shared::domain::ConsultationStatus::Archived;
        tick();
        let (_, e) = consultations::move_consultation(app, &tenant, &id, to)
            .await
            .unwrap();
        events.push(e);
        (id, events)
    }
}

impl TestApp {
    pub fn clock_now(&self) -> i64 {
        use shared::clock::Clock;
        self.clock.now_ms()
    }
}

// ---- the test vendor server --------------------------------------------------

/// One request the vendor server received.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The app's clock when it arrived (a server made with a clock).
    pub at_ms: i64,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Captured {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// What the server answers on one path: a status (and a `Location`).
#[derive(Debug, Clone)]
pub struct Answer1 {
    pub status: u16,
    pub location: Option<String>,
}

#[derive(Default)]
struct Script {
    /// Per path: how many first attempts of each event fail with `500`.
    fail_first: HashMap<String, usize>,
    /// Per path: answer this to every request.
    always: HashMap<String, Answer1>,
    /// Per path: answer only after this many milliseconds.
    slow: HashMap<String, u64>,
    seen: HashMap<(String, String), usize>,
}

#[derive(Clone, Default)]
pub struct Vendor {
    pub requests: Arc<Mutex<Vec<Captured>>>,
    script: Arc<Mutex<Script>>,
    clock: Option<shared::clock::ManualClock>,
}

pub struct VendorServer {
    pub addr: SocketAddr,
    pub vendor: Vendor,
}

async fn receive(State(v): State<Vendor>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    let event = headers
        .get("embedcare-event-id")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let at_ms = v.clock.as_ref().map_or(0, |c| {
        use shared::clock::Clock;
        c.now_ms()
    });
    v.requests.lock().unwrap().push(Captured {
        at_ms,
        path: path.clone(),
        headers,
        body,
    });
    let pause = v.script.lock().unwrap().slow.get(&path).copied();
    if let Some(ms) = pause {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    let mut s = v.script.lock().unwrap();
    if let Some(a) = s.always.get(&path).cloned() {
        let mut res = StatusCode::from_u16(a.status).unwrap().into_response();
        if let Some(l) = a.location {
            res.headers_mut().insert("location", l.parse().unwrap());
        }
        return res;
    }
    let fails = s.fail_first.get(&path).copied().unwrap_or(0);
    let n = s.seen.entry((path, event)).or_default();
    *n += 1;
    if *n <= fails {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    StatusCode::OK.into_response()
}

/// A vendor server on 127.0.0.1 (every path answers `200` unless scripted).
pub async fn vendor_server() -> VendorServer {
    vendor_server_with(None).await
}

/// A vendor server that stamps each request with the app's clock.
pub async fn vendor_server_on(clock: &shared::clock::ManualClock) -> VendorServer {
    vendor_server_with(Some(clock.clone())).await
}

async fn vendor_server_with(clock: Option<shared::clock::ManualClock>) -> VendorServer {
    let vendor = Vendor {
        clock,
        ..Vendor::default()
    };
    let app = axum::Router::new()
        .fallback(receive)
        .with_state(vendor.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    VendorServer { addr, vendor }
}

impl VendorServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
    /// Every event's first `n` attempts on `path` fail with `500`.
    pub fn fail_first(&self, path: &str, n: usize) {
        self.vendor
            .script
            .lock()
            .unwrap()
            .fail_first
            .insert(path.into(), n);
    }
    /// Requests on `path` are answered only after `ms` milliseconds.
    pub fn slow(&self, path: &str, ms: u64) {
        self.vendor
            .script
            .lock()
            .unwrap()
            .slow
            .insert(path.into(), ms);
    }
    pub fn always(&self, path: &str, status: u16) {
        self.always_with(path, status, None);
    }
    pub fn always_with(&self, path: &str, status: u16, location: Option<String>) {
        let a = Answer1 { status, location };
        self.vendor
            .script
            .lock()
            .unwrap()
            .always
            .insert(path.into(), a);
    }
    pub fn received(&self, path: &str) -> Vec<Captured> {
        self.vendor
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.path == path)
            .cloned()
            .collect()
    }
}

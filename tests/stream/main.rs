//! The subscription stream over a real socket: the local server's router on
//! 127.0.0.1, its embedded store in a directory of the test's, the clock
//! the test's; a WebSocket client sends `Authorization: api-key …`.
//! Events wait, flow in order on connection, come again with a new receipt
//! when unacknowledged (after a reconnection, and after 30 s on the same
//! connection); a second client gets 4409, bad credentials 4401; PING gets
//! PONG, and 10 minutes without one close the connection; nothing is lost
//! across a restart of the server; the README's Python client receives and
//! acknowledges.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[path = "../support/life.rs"]
mod life;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use shared::app::Ports;
use shared::clock::ManualClock;
use shared::delivery::connections::LocalConnections;
use shared::delivery::local::LocalQueue;
use shared::delivery::resolver::SystemResolver;
use shared::delivery::sender::NoSender;
use shared::domain::TenantKey;
use shared::events::Event;
use shared::notify::NoNotifier;
use shared::services::consultations;
use shared::services::dispatch::{self, Dispatcher};
use shared::services::{demo, event_list, event_queues, work};
use shared::store::embedded::EmbeddedStore;
use shared::{App, AppState, Config};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const START_MS: i64 = 1_767_225_600_000;
type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct Server {
    app: AppState,
    addr: std::net::SocketAddr,
    key: String,
    queue: Arc<LocalQueue>,
    dispatcher: Dispatcher,
    clock: ManualClock,
    task: tokio::task::JoinHandle<()>,
}

/// The local server on the store in `dir` (seeded the first time).
async fn server(dir: &Path, clock: &ManualClock, key: Option<String>) -> Server {
    let store = EmbeddedStore::open(&dir.join("embedcare.redb"), Arc::new(clock.clone())).unwrap();
    let queue = Arc::new(LocalQueue::durable(store.clone(), Arc::new(clock.clone())));
    let connections = Arc::new(LocalConnections::default());
    let ports = Ports {
        resolver: Arc::new(SystemResolver),
        work: queue.clone(),
        connections: connections.clone(),
        visit_live: None,
        ..Ports::default()
    };
    let app = App::with_ports(
        Arc::new(store),
        Arc::new(clock.clone()),
        Config::new("http://127.0.0.1"),
        ports,
    );
    let key = match key {
        Some(k) => k,
        None => demo::seed(&app, &[]).await.unwrap().api_key,
    };
    let router = shared::http::app_router(app.clone())
        .layer(shared::http::stream::connections_layer(connections));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    let dispatcher = Dispatcher {
        app: app.clone(),
        sender: Arc::new(NoSender),
        notifier: Arc::new(NoNotifier),
    };
    Server {
        app,
        addr,
        key,
        queue,
        dispatcher,
        clock: clock.clone(),
        task,
    }
}

impl Server {
    /// Stops the server and lets its store go (what a restart does).
    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
        drop(self.dispatcher);
        drop(self.queue);
        drop(self.app);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    fn url(&self, queue: &str) -> String {
        format!("ws://{}/v2/events/subscribe?queue={queue}", self.addr)
    }

    async fn connect(&self, queue: &str) -> Socket {
        self.connect_with(queue, &format!("api-key {}", self.key))
            .await
    }

    async fn connect_with(&self, queue: &str, authorization: &str) -> Socket {
        let mut req = self.url(queue).into_client_request().unwrap();
        req.headers_mut()
            .insert("authorization", authorization.parse().unwrap());
        tokio_tungstenite::connect_async(req)
            .await
            .expect("the upgrade")
            .0
    }

    /// A consultation created and sent, then opened: two events.
    async fn changes(&self, patient_key: &str) -> Vec<Event> {
        let app = &self.app;
        let tenant = TenantKey::parse("demo").unwrap();
        let patient_id = life::patient(app, &self.key, patient_key).await;
        self.clock.advance_ms(1);
        let (c, e1) = life::consultation(app, &tenant, patient_id, Some("uti")).await;
        self.clock.advance_ms(1);
        let (_, e2) = consultations::open_consultation(app, &tenant, &c.consultation_id)
            .await
            .unwrap();
        let events = [Some(e1), e2].into_iter().flatten().collect::<Vec<_>>();
        for e in &events {
            // What the rule and the dispatcher do with each bus event.
            let p = event_list::published(app, &tenant, &e.id)
                .await
                .unwrap()
                .unwrap();
            dispatch::fan_out(app, &p).await.unwrap();
        }
        events
    }

    /// Moves the clock and handles the work now due (redelivery checks).
    async fn later(&self, ms: i64) {
        self.clock.advance_ms(ms);
        work::pump_once(&self.dispatcher, &self.queue).await;
    }
}

/// The next text frame, as JSON (control frames skipped).
async fn frame(ws: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within 5 s")
            .expect("the socket open")
            .expect("a frame");
        match msg {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Close(c) => panic!("closed: {c:?}"),
            _ => continue,
        }
    }
}

/// The close that ends the socket: (code, the ERROR frame before it).
async fn refused(mut ws: Socket) -> (u16, Option<Value>) {
    let mut error = None;
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a close within 5 s");
        match msg {
            Some(Ok(Message::Text(t))) => error = Some(serde_json::from_str(&t).unwrap()),
            Some(Ok(Message::Close(Some(c)))) => return (c.code.into(), error),
            Some(Ok(_)) => {}
            other => panic!("no close frame: {other:?}"),
        }
    }
}

async fn send(ws: &mut Socket, frame_type: &str, payload: Value) {
    let text = json!({"frameType": frame_type, "framePayload": payload}).to_string();
    ws.send(Message::Text(text.into())).await.unwrap();
}

async fn ack(ws: &mut Socket, event: &Value) {
    let receipt = event["framePayload"]["receiptId"].clone();
    send(ws, "ACK_EVENT", json!({"receiptId": receipt})).await;
    let reply = frame(ws).await;
    assert_eq!(reply["frameType"], "ACK_EVENT_REPLY");
    assert_eq!(reply["framePayload"]["receiptId"], receipt);
}

async fn queue(s: &Server, name: &str) {
    let tenant = TenantKey::parse("demo").unwrap();
    event_queues::create_queue(&s.app, &tenant, name, &["consultation.*".to_owned()])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_event_comes_again_with_a_new_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START_MS);
    let s = server(dir.path(), &clock, None).await;
    queue(&s, "pms").await;
    let events = s.changes("stream-1").await;
    assert_eq!(events.len(), 2);

    // Waiting events flow on connection, in order of creation.
    let mut ws = s.connect("pms").await;
    let first = frame(&mut ws).await;
    let second = frame(&mut ws).await;
    assert_eq!(first["frameType"], "EVENT");
    let p = &first["framePayload"];
    assert_eq!(p["eventId"], events[0].id.as_str());
    assert_eq!(p["eventType"], "consultation.created");
    assert_eq!(p["queueName"], "pms");
    assert_eq!(p["eventTs"], events[0].created_at.as_str());
    assert_eq!(
        p["eventPayload"],
        serde_json::to_value(&events[0]).unwrap(),
        "the bus body"
    );
    assert_eq!(second["framePayload"]["eventId"], events[1].id.as_str());
    ack(&mut ws, &first).await;

    // 30 s without an acknowledgement: the second comes again, same event,
    // new receipt, on the same connection.
    s.later(31_000).await;
    let again = frame(&mut ws).await;
    assert_eq!(again["framePayload"]["eventId"], events[1].id.as_str());
    assert_ne!(
        again["framePayload"]["receiptId"],
        second["framePayload"]["receiptId"]
    );

    // A disconnection without an acknowledgement: the reconnection gets it
    // again, with another receipt; the acknowledged one never comes back.
    ws.close(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut ws = s.connect("pms").await;
    let back = frame(&mut ws).await;
    assert_eq!(back["framePayload"]["eventId"], events[1].id.as_str());
    let receipts = [&second, &again, &back]
        .map(|f| f["framePayload"]["receiptId"].as_str().unwrap().to_owned());
    assert!(receipts[0] != receipts[2] && receipts[1] != receipts[2]);
    // An older receipt acknowledges nothing; the current one does.
    ack(&mut ws, &second).await;
    s.later(31_000).await;
    let still = frame(&mut ws).await;
    assert_eq!(still["framePayload"]["eventId"], events[1].id.as_str());
    ack(&mut ws, &still).await;
    s.later(31_000).await;
    // A new event reaches the connected client at once.
    let more = s.changes("stream-2").await;
    let live = frame(&mut ws).await;
    assert_eq!(
        live["framePayload"]["eventId"],
        more[0].id.as_str(),
        "nothing else was pending"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_per_queue_and_good_credentials_only() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START_MS);
    let s = server(dir.path(), &clock, None).await;
    queue(&s, "pms").await;
    let mut first = s.connect("pms").await;
    send(&mut first, "PING", json!({})).await;
    assert_eq!(frame(&mut first).await["frameType"], "PONG");
    let (code, error) = refused(s.connect("pms").await).await;
    assert_eq!(code, 4409);
    assert_eq!(error.unwrap()["framePayload"]["code"], 4409);
    // Its queue is another's once it leaves.
    first.close(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut next = s.connect("pms").await;
    send(&mut next, "PING", json!({})).await;
    assert_eq!(frame(&mut next).await["frameType"], "PONG");
    let (code, _) = refused(
        s.connect_with(
            "pms",
            "api-key ek_0123456789abcdef_notTheRightSecretAtAll0123",
        )
        .await,
    )
    .await;
    assert_eq!(code, 4401);
    let (code, _) = refused(s.connect_with("pms", "Bearer nope").await).await;
    assert_eq!(code, 4401);
    let (code, error) = refused(s.connect("nope").await).await;
    assert_eq!(
        (code, error.unwrap()["framePayload"]["code"].as_u64()),
        (4404, Some(4404))
    );
    // A frame that is not one of the protocol's: an ERROR, not a close.
    next.send(Message::Text("hello".into())).await.unwrap();
    let e = frame(&mut next).await;
    assert_eq!(
        (e["frameType"].as_str(), e["framePayload"]["code"].as_u64()),
        (Some("ERROR"), Some(4400))
    );
    // Ten minutes without a PING (by the clock): closed.
    clock.advance_ms(10 * 60 * 1000 + 1);
    let (code, _) = refused(next).await;
    assert_eq!(code, 1001);
    // Not an upgrade: the API's answers.
    let http = reqwest::Client::new();
    let r = http
        .get(format!("http://{}/v2/events/subscribe?queue=pms", s.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_across_a_restart_of_the_local_server() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START_MS);
    let s = server(dir.path(), &clock, None).await;
    queue(&s, "pms").await;
    let mut ws = s.connect("pms").await;
    let events = s.changes("restart-1").await;
    let sent = frame(&mut ws).await;
    assert_eq!(sent["framePayload"]["eventId"], events[0].id.as_str());
    frame(&mut ws).await;
    // Unacknowledged, and the server goes away with its client.
    let key = s.key.clone();
    drop(ws);
    s.stop().await;
    let later = server(dir.path(), &clock, Some(key)).await;
    let more = later.changes("restart-2").await;
    let mut ws = later.connect("pms").await;
    let mut frames = Vec::new();
    for _ in 0..4 {
        frames.push(frame(&mut ws).await);
    }
    let ids: Vec<String> = frames
        .iter()
        .map(|f| f["framePayload"]["eventId"].as_str().unwrap().to_owned())
        .collect();
    for f in &frames {
        ack(&mut ws, f).await;
    }
    let want: Vec<String> = events
        .iter()
        .chain(&more)
        .map(|e| e.id.to_string())
        .collect();
    assert_eq!(
        ids, want,
        "every event, in order of creation, after the restart"
    );
    later.stop().await;
}

/// Runs `python3` (the test venv's, first on PATH under tests/run.sh).
async fn python(args: &[&str]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args(&args)
            .output()
            .expect("python3 runs")
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_s_python_client_receives_and_acknowledges() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START_MS);
    let s = server(dir.path(), &clock, None).await;
    queue(&s, "pms").await;
    let events = s.changes("python-1").await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../sdk/stream_client.py");
    let out = python(&[script, &s.url("pms"), "--key", &s.key, "--count", "2"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = lines
        .iter()
        .map(|l| l["eventId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [events[0].id.as_str(), events[1].id.as_str()]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Both acknowledged: a new client gets nothing but what comes next.
    let mut ws = s.connect("pms").await;
    let more = s.changes("python-2").await;
    assert_eq!(
        frame(&mut ws).await["framePayload"]["eventId"],
        more[0].id.as_str()
    );
    // Bad credentials: the client says 4401 and fails.
    let out = python(&[
        script,
        &s.url("pms"),
        "--key",
        "ek_0123456789abcdef_notTheRightSecretAtAll0123",
    ])
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("4401"));
    s.stop().await;
}

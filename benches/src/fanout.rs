//! Presence and chat fan-out to 10 participants of one visit of the local
//! server: the patient (its token as the socket's subprotocol, as a
//! browser), the provider (the API key) and 8 guests (invited, their link
//! redeemed through the invitation page as a guest's browser does) each
//! hold `GET /v2/visits/{visitId}/live` open (`tests/http/live.rs`'s
//! way). Each round one of them sends a chat message; the time from its
//! send to each other socket's receipt of that `chat` frame is one
//! sample. Before the rounds, each arrival's `presence` frame at the
//! sockets already open is timed the same way.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::paths::{PROVIDER, provider_header};
use crate::stress::client::{Http, Req};
use crate::stress::races;
use crate::util::{Res, pct, sorted};

pub const PARTICIPANTS: usize = 10;
/// A guard against a hang, not a latency budget.
const FRAME_WAIT: Duration = Duration::from_secs(10);

pub struct Fanout {
    pub participants: usize,
    pub rounds: usize,
    /// Send → receipt at each other socket, ms.
    pub chat: Vec<f64>,
    /// Per round: send → the last of the others' receipts, ms.
    pub chat_all: Vec<f64>,
    /// An arrival → its `presence` frame at each socket already open, ms.
    pub presence: Vec<f64>,
    pub failures: Vec<String>,
}

impl Fanout {
    pub fn p(v: &[f64], q: f64) -> f64 {
        pct(&sorted(v.to_vec()), q)
    }
}

type Sink = futures_util::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    Message,
>;

/// (who, frame, when it arrived).
type Seen = (usize, Value, Instant);

async fn open(
    port: u16,
    visit: &str,
    headers: &[(&str, String)],
    who: usize,
    tx: mpsc::UnboundedSender<Seen>,
) -> Res<Sink> {
    let mut req = format!("ws://127.0.0.1:{port}/v2/visits/{visit}/live").into_client_request()?;
    for (k, v) in headers {
        req.headers_mut()
            .insert(http::HeaderName::from_bytes(k.as_bytes())?, v.parse()?);
    }
    let (ws, _) = tokio_tungstenite::connect_async(req).await?;
    let (sink, mut stream) = ws.split();
    tokio::spawn(async move {
        while let Some(Ok(m)) = stream.next().await {
            if let Message::Text(t) = m {
                let at = Instant::now();
                if let Ok(v) = serde_json::from_str::<Value>(&t) {
                    let _ = tx.send((who, v, at));
                }
            }
        }
    });
    Ok(sink)
}

/// The session token in a room page's `clinic-context` script.
fn session_of(html: &str) -> Option<String> {
    let start = html.find("id=\"clinic-context\">")? + "id=\"clinic-context\">".len();
    let end = start + html[start..].find("</script>")?;
    let v: Value = serde_json::from_str(&html[start..end]).ok()?;
    v["session"].as_str().map(str::to_owned)
}

/// Waits until `want` (who, predicate) frames are seen; their arrival times.
async fn await_frames(
    rx: &mut mpsc::UnboundedReceiver<Seen>,
    mut pending: Vec<usize>,
    matches: impl Fn(usize, &Value) -> bool,
) -> Res<Vec<(usize, Instant)>> {
    let mut got = Vec::new();
    let deadline = Instant::now() + FRAME_WAIT;
    while !pending.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(Some((who, v, at))) = tokio::time::timeout(left, rx.recv()).await else {
            return Err(format!("no frame at sockets {pending:?} within {FRAME_WAIT:?}").into());
        };
        if matches(who, &v)
            && let Some(i) = pending.iter().position(|p| *p == who)
        {
            pending.swap_remove(i);
            got.push((who, at));
        }
    }
    Ok(got)
}

pub async fn run(port: u16, key: &str, rounds: usize) -> Res<Fanout> {
    let api = Http::new(port)?;
    let token = races::sso(
        &api,
        key,
        &format!("fanout-{}", uuid::Uuid::new_v4().simple()),
    )
    .await?;
    let i = api
        .send(
            &Req::new("POST", "/v2/intakes")
                .bearer(&token)
                .json(&json!({"reasonForVisit": "Cough", "type": "WALKIN", "roomCode": "clinic"})),
        )
        .await;
    let intake = i
        .str("intakeId")
        .ok_or_else(|| format!("intake: {} {}", i.status, i.body))?;
    let w = api
        .send(
            &Req::new("POST", "/v2/visits/walkin")
                .bearer(&token)
                .json(&json!({"intakeId": intake})),
        )
        .await;
    let visit = w
        .str("visitId")
        .ok_or_else(|| format!("walk-in: {} {}", w.status, w.body))?;
    let doctor = provider_header(PROVIDER);
    let as_provider = |r: Req| r.key(key).header("x-integration-user", &doctor);
    let s = api
        .send(&as_provider(Req::new(
            "POST",
            format!("/v2/visits/{visit}/start"),
        )))
        .await;
    if !s.ok() {
        return Err(format!("start: {} {}", s.status, s.body).into());
    }
    // The guests: invited, their links redeemed as their browsers do.
    let mut guests = Vec::new();
    for g in 0..PARTICIPANTS - 2 {
        let a = api
            .send(&as_provider(Req::new("POST", format!("/v2/visits/{visit}/participants"))).json(&json!({"participantType": "GUEST", "firstName": format!("Guest{g}"), "lastName": "Lee"})))
            .await;
        let gid = a
            .str("participantId")
            .ok_or_else(|| format!("guest: {} {}", a.status, a.body))?;
        let t = api
            .send(&as_provider(Req::new(
                "POST",
                format!("/v2/visits/{visit}/participants/{gid}/tokens"),
            )))
            .await;
        let link = t
            .str("token")
            .ok_or_else(|| format!("guest token: {} {}", t.status, t.body))?;
        let page = api
            .send(
                &Req::new("POST", format!("/members/invitation/{visit}"))
                    .form(&[("link", &link), ("locale", "en")]),
            )
            .await;
        let session = session_of(&page.body)
            .ok_or_else(|| format!("no session in the invitation's page ({})", page.status))?;
        guests.push(session);
    }
    let mut headers: Vec<Vec<(&str, String)>> = vec![
        vec![(
            "sec-websocket-protocol",
            format!("embedcare.live.v1, bearer.{token}"),
        )],
        vec![
            ("api-key", key.to_owned()),
            ("x-integration-user", doctor.clone()),
        ],
    ];
    for s in &guests {
        headers.push(vec![(
            "sec-websocket-protocol",
            format!("embedcare.live.v1, bearer.{s}"),
        )]);
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut sinks: Vec<Arc<Mutex<Sink>>> = Vec::new();
    let mut presence = Vec::new();
    let mut failures = Vec::new();
    for (who, h) in headers.iter().enumerate() {
        let t0 = Instant::now();
        let sink = open(port, &visit, h, who, tx.clone()).await?;
        sinks.push(Arc::new(Mutex::new(sink)));
        // Its own `ready`, and the others' `presence` of it (in one wait:
        // they come in any order).
        let new = who;
        match await_frames(&mut rx, (0..=who).collect(), move |w, v| {
            if w == new {
                v["type"] == "ready"
            } else {
                v["type"] == "presence"
            }
        })
        .await
        {
            Ok(got) => presence.extend(
                got.iter()
                    .filter(|(w, _)| *w != new)
                    .map(|(_, at)| (*at - t0).as_secs_f64() * 1e3),
            ),
            Err(e) => failures.push(format!("presence of socket {who}: {e}")),
        }
    }
    // Frames still queued (presence of earlier arrivals) are not samples.
    tokio::time::sleep(Duration::from_millis(200)).await;
    while rx.try_recv().is_ok() {}
    let mut chat = Vec::new();
    let mut chat_all = Vec::new();
    for round in 0..rounds {
        // The patient and the provider take turns (guests may only read).
        let from = round % 2;
        let text = format!("fan-out {round} {}", uuid::Uuid::new_v4().simple());
        let frame = json!({"type": "chat", "text": text}).to_string();
        let t0 = Instant::now();
        sinks[from]
            .lock()
            .await
            .send(Message::Text(frame.into()))
            .await?;
        let others: Vec<usize> = (0..sinks.len()).filter(|w| *w != from).collect();
        let want = text.clone();
        match await_frames(&mut rx, others, move |_, v| {
            v["type"] == "chat" && v["message"]["text"] == want.as_str()
        })
        .await
        {
            Ok(got) => {
                let ms: Vec<f64> = got
                    .iter()
                    .map(|(_, at)| (*at - t0).as_secs_f64() * 1e3)
                    .collect();
                chat_all.push(ms.iter().copied().fold(0.0, f64::max));
                chat.extend(ms);
            }
            Err(e) => failures.push(format!("chat round {round}: {e}")),
        }
        // The sender's own copy and any other frame: not samples.
        while rx.try_recv().is_ok() {}
    }
    for s in &sinks {
        let _ = s.lock().await.close().await;
    }
    Ok(Fanout {
        participants: sinks.len(),
        rounds,
        chat,
        chat_all,
        presence,
        failures,
    })
}

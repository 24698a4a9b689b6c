//! A visit's live connection over a real socket (both stores): the app's
//! router on 127.0.0.1 with the local connections registry, a WebSocket
//! client per person. Two people of one visit get each other's chat
//! (sent on the socket or through the REST API), a move
//! of the visit reaches both, a client of another visit or franchise is
//! refused at connect (before the upgrade, nothing written), a closed
//! connection's item is removed, and a socket whose token was revoked is
//! closed at its next ping.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use http::Method;
use serde_json::{Value, json};
use shared::app::Ports;
use shared::delivery::connections::LocalConnections;
use shared::domain::{TenantKey, VisitId};
use shared::services::clinic::fanout;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::clinic::{call, provider_header, sso, walkin};
use crate::helpers::{TestApp, spawn_app_with};

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a test waits for a frame it expects: a guard against a hang,
/// not a latency budget (a shared CI machine stalls for seconds under the
/// whole suite; a timed assertion there is a flaky one). How fast a frame
/// travels is a benchmark's matter.
pub(crate) const FRAME_WAIT: Duration = Duration::from_secs(10);

/// The app, served on a port of 127.0.0.1 with its live connections.
pub(crate) async fn served() -> (TestApp, SocketAddr) {
    let conns = Arc::new(LocalConnections::default());
    let live = conns.clone();
    let t = spawn_app_with(
        move |_| Ports {
            visit_live: Some(live),
            ..Ports::default()
        },
        |_| {},
    )
    .await;
    let router = t
        .router
        .clone()
        .layer(shared::http::stream::connections_layer(conns));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (t, addr)
}

/// Opens the visit's socket with these headers.
pub(crate) async fn open(
    addr: SocketAddr,
    visit: &str,
    headers: &[(&str, String)],
) -> Result<Socket, WsError> {
    let url = format!("ws://{addr}/v2/visits/{visit}/live");
    let mut req = url.into_client_request().unwrap();
    for (k, v) in headers {
        req.headers_mut().insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    tokio_tungstenite::connect_async(req).await.map(|(s, _)| s)
}

/// What a browser sends: the token as a subprotocol.
pub(crate) fn browser(token: &str) -> Vec<(&'static str, String)> {
    vec![(
        "sec-websocket-protocol",
        format!("embedcare.live.v1, bearer.{token}"),
    )]
}

/// A provider through the API key.
pub(crate) fn provider(t: &TestApp, id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("api-key", t.world.api_key.clone()),
        ("x-integration-user", provider_header(id)),
    ]
}

/// The next text frame (waiting at most [`FRAME_WAIT`]).
pub(crate) async fn next(s: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(FRAME_WAIT, s.next())
            .await
            .expect("a frame in time")
            .expect("the socket open")
            .expect("a frame");
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).expect("JSON");
        }
    }
}

pub(crate) async fn say(s: &mut Socket, frame: Value) {
    s.send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
}

fn refused_with(r: Result<Socket, WsError>) -> u16 {
    match r {
        Err(WsError::Http(res)) => res.status().as_u16(),
        Err(e) => panic!("not an HTTP refusal: {e}"),
        Ok(_) => panic!("connected"),
    }
}

pub(crate) async fn live_count(t: &TestApp, visit: &str) -> usize {
    let tenant = TenantKey::parse("demo").unwrap();
    let id = VisitId::parse(visit).unwrap();
    fanout::connections(&t.app, &tenant, &id)
        .await
        .unwrap()
        .len()
}

/// The guest session a join page hands its script.
pub(crate) async fn guest_session(t: &TestApp, code: &str) -> String {
    let r = t
        .post_form(&format!("/visits/join/{code}"), &[("name", "Sam")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    let start = html.find("id=\"clinic-context\">").expect("context") + 20;
    let end = start + html[start..].find("</script>").unwrap();
    let ctx: Value = serde_json::from_str(&html[start..end]).unwrap();
    ctx["session"].as_str().expect("a session").to_owned()
}

#[tokio::test]
async fn two_people_of_a_visit_chat_live_and_see_its_moves() {
    let (t, addr) = served().await;
    let (_, token) = sso(&t, "P-LIVE-1").await;
    let v = walkin(&t, &token).await;
    let id = v["visitId"].as_str().unwrap().to_owned();

    let mut patient = open(addr, &id, &browser(&token)).await.expect("patient");
    let ready = next(&mut patient).await;
    assert_eq!(ready["v"], 1);
    assert_eq!(ready["type"], "ready");
    assert_eq!(ready["visit"]["status"], "WAITING");
    let mut doctor = open(addr, &id, &provider(&t, "dr-nguyen"))
        .await
        .expect("provider");
    let ready = next(&mut doctor).await;
    assert_eq!(ready["type"], "ready");
    assert_eq!(
        ready["participants"].as_array().unwrap().len(),
        2,
        "{ready}"
    );
    assert_eq!(live_count(&t, &id).await, 2);
    // The patient is told the provider arrived.
    let f = next(&mut patient).await;
    assert_eq!(f["type"], "presence", "{f}");
    assert_eq!(f["participant"]["participantType"], "PRACTITIONER");
    assert_eq!(f["participant"]["status"], "JOINED");
    assert_eq!(f["participant"]["participantId"], ready["you"]);

    // The provider starts the visit: both are told, ids and statuses only.
    let r = crate::clinic::provider_move(&t, &id, "start", "dr-nguyen").await;
    assert_eq!(r.status, 200, "{}", r.text());
    for s in [&mut patient, &mut doctor] {
        let f = next(s).await;
        assert_eq!(f["type"], "visit", "{f}");
        assert_eq!(f["visitId"], id.as_str());
        assert_eq!(f["status"], "IN_PROGRESS");
        assert_eq!(f["previousStatus"], "WAITING");
        assert!(f.get("patientId").is_none() && f["version"].is_u64());
    }

    // Chat over the socket, both ways; the sender gets its own message too.
    say(
        &mut patient,
        json!({"type": "chat", "text": "Hello doctor"}),
    )
    .await;
    for s in [&mut doctor, &mut patient] {
        let f = next(s).await;
        assert_eq!(f["type"], "chat", "{f}");
        assert_eq!(f["message"]["text"], "Hello doctor");
        assert_eq!(f["message"]["author"], "PATIENT");
    }
    t.clock.advance_ms(1);
    say(&mut doctor, json!({"type": "chat", "text": "Hello Ana"})).await;
    for s in [&mut patient, &mut doctor] {
        let f = next(s).await;
        assert_eq!(f["message"]["text"], "Hello Ana");
        assert_eq!(f["message"]["author"], "PROVIDER");
    }
    // A polling client's message (REST) reaches the sockets as well.
    t.clock.advance_ms(1);
    let r = call(
        &t,
        Method::POST,
        &format!("/v2/visits/{id}/messages"),
        None,
        Some(&token),
        &[],
        Some(&json!({"text": "From the API"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(next(&mut doctor).await["message"]["text"], "From the API");
    assert_eq!(next(&mut patient).await["message"]["text"], "From the API");
    // Stored through the chat: the API lists all three.
    let r = call(
        &t,
        Method::GET,
        &format!("/v2/visits/{id}/messages"),
        None,
        Some(&token),
        &[],
        None,
    )
    .await;
    let texts: Vec<_> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["Hello doctor", "Hello Ana", "From the API"]);

    // Ping, and frames it refuses (to the sender alone).
    say(&mut patient, json!({"type": "ping"})).await;
    assert_eq!(next(&mut patient).await["type"], "pong");
    patient
        .send(Message::Text("not json".into()))
        .await
        .unwrap();
    let e = next(&mut patient).await;
    assert_eq!(
        (e["type"].as_str(), e["code"].as_u64()),
        (Some("error"), Some(400))
    );
    say(
        &mut patient,
        json!({"type": "chat", "text": "x".repeat(2001)}),
    )
    .await;
    assert_eq!(next(&mut patient).await["code"], 400);

    // The patient closes: its item goes; the provider still hears moves.
    patient.close(None).await.unwrap();
    let mut waited = 0;
    while live_count(&t, &id).await != 1 {
        waited += 1;
        assert!(waited < 20, "the closed connection's item is still there");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let f = next(&mut doctor).await;
    assert_eq!(
        (f["type"].as_str(), f["participant"]["status"].as_str()),
        (Some("presence"), Some("DISCONNECTED")),
        "{f}"
    );
    let r = crate::clinic::provider_move(&t, &id, "complete", "dr-nguyen").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let f = next(&mut doctor).await;
    assert_eq!(
        (f["status"].as_str(), f["previousStatus"].as_str()),
        (Some("COMPLETED"), Some("IN_PROGRESS"))
    );
    // The chat is closed with the visit: refused on the socket as by the API.
    say(&mut doctor, json!({"type": "chat", "text": "late"})).await;
    assert_eq!(next(&mut doctor).await["code"], 409);
}

#[tokio::test]
async fn only_the_visits_people_may_connect() {
    let (t, addr) = served().await;
    let (_, token) = sso(&t, "P-LIVE-2").await;
    let v = walkin(&t, &token).await;
    let id = v["visitId"].as_str().unwrap().to_owned();
    crate::clinic::provider_move(&t, &id, "start", "dr-nguyen").await;

    // No credentials, a bad token: 401.
    assert_eq!(refused_with(open(addr, &id, &[]).await), 401);
    assert_eq!(
        refused_with(open(addr, &id, &browser("demo.nope.nope")).await),
        401
    );
    // Another patient of the franchise: the visit is not theirs (404).
    let (_, other) = sso(&t, "P-LIVE-3").await;
    assert_eq!(refused_with(open(addr, &id, &browser(&other)).await), 404);
    // A patient of another franchise: not found either.
    let r = call(
        &t,
        Method::POST,
        "/v2/patients/sso",
        Some(&t.world.other_account_api_key),
        None,
        &[],
        Some(&json!({"patient": {"keys": [{"subSystem": "portal", "key": "P-LIVE-4"}], "firstName": "Bo", "lastName": "Li"}})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let foreign = r.json()["token"]["token"].as_str().unwrap().to_owned();
    assert_eq!(refused_with(open(addr, &id, &browser(&foreign)).await), 404);
    // A user who is not a provider of the room: 403.
    assert_eq!(
        refused_with(open(addr, &id, &provider(&t, "not-a-provider")).await),
        403
    );
    // A guest of another visit: 404; of this one: in, and in the chat.
    let (_, third) = sso(&t, "P-LIVE-5").await;
    let w = walkin(&t, &third).await;
    let elsewhere = guest_session(&t, w["code"].as_str().unwrap()).await;
    assert_eq!(
        refused_with(open(addr, &id, &browser(&elsewhere)).await),
        404
    );
    // A visit id that is not one: 404.
    assert_eq!(
        refused_with(open(addr, "nope", &browser(&token)).await),
        404
    );
    assert_eq!(live_count(&t, &id).await, 0, "a refusal writes nothing");

    let guest = guest_session(&t, v["code"].as_str().unwrap()).await;
    let mut g = open(addr, &id, &browser(&guest))
        .await
        .expect("the visit's guest");
    assert_eq!(next(&mut g).await["visit"]["status"], "IN_PROGRESS");
    let mut p = open(addr, &id, &browser(&token))
        .await
        .expect("the patient");
    next(&mut p).await;
    // The guest of the join code is a participant too: told of the patient.
    assert_eq!(
        next(&mut g).await["participant"]["participantType"],
        "PATIENT"
    );
    say(&mut g, json!({"type": "chat", "text": "Hi, I am Sam"})).await;
    let f = next(&mut p).await;
    assert_eq!(
        (
            f["message"]["author"].as_str(),
            f["message"]["authorName"].as_str()
        ),
        (Some("GUEST"), Some("Sam"))
    );
    // The patient logs out: their socket's next ping is refused, and closed.
    let r = call(
        &t,
        Method::POST,
        "/v2/patients/logout",
        None,
        Some(&token),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
    say(&mut p, json!({"type": "ping"})).await;
    assert_eq!(next(&mut p).await["code"], 401);
    let closed = tokio::time::timeout(FRAME_WAIT, p.next())
        .await
        .expect("closed in time");
    assert!(
        matches!(closed, Some(Ok(Message::Close(_))) | None | Some(Err(_))),
        "{closed:?}"
    );
    // The other visit's people heard nothing of it: their visit has no
    // connection at all.
    assert_eq!(live_count(&t, w["visitId"].as_str().unwrap()).await, 0);
    // A plain GET (no upgrade) is the API's answer.
    let r = call(
        &t,
        Method::GET,
        &format!("/v2/visits/{id}/live"),
        None,
        Some(&guest),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
}

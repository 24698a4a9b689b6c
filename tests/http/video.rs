//! A visit's video over HTTP (both stores): the video key of a participant
//! (`GET /v2/visits/{visitId}/participants/{participantId}/video-key`) —
//! its own session's or the visit's provider's only, another participant's
//! a `403`, another franchise's or another patient's a `404`, before the
//! start and after the end a `409` — and the WebRTC signalling relayed
//! over the visit's live connection on a real socket: `ready` names the
//! connection, a `signal` reaches the connection it names (or every other
//! one), never another visit's; bad, oversized or misaddressed signals are
//! `error` frames; the signalling token of the join data opens the socket
//! for its visit only.

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use http::Method;
use serde_json::{Value, json};
use shared::app::Ports;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::clinic::{call, provider_header, provider_move, sso, walkin};
use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::live::{self, FRAME_WAIT, Socket, served};

async fn as_provider(
    t: &TestApp,
    who: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> crate::helpers::Reply {
    let h = provider_header(who);
    call(
        t,
        method,
        path,
        Some(&t.world.api_key),
        None,
        &[("x-integration-user", &h)],
        body,
    )
    .await
}

async fn add(t: &TestApp, visit: &str, body: Value) -> String {
    let r = as_provider(
        t,
        "dr-martin",
        Method::POST,
        &format!("/v2/visits/{visit}/participants"),
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["participantId"].as_str().unwrap().to_owned()
}

/// A guest participant invited and redeemed: (participantId, its session).
async fn guest(t: &TestApp, visit: &str) -> (String, String) {
    let gid = add(
        t,
        visit,
        json!({"participantType": "GUEST", "firstName": "Sam", "lastName": "Lee"}),
    )
    .await;
    let r = as_provider(
        t,
        "dr-martin",
        Method::POST,
        &format!("/v2/visits/{visit}/participants/{gid}/tokens"),
        None,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let link = r.json()["token"].as_str().unwrap().to_owned();
    let id = shared::domain::VisitId::parse(visit).unwrap();
    let (session, _) = shared::services::clinic::participants::redeem(&t.app, &link, &id)
        .await
        .expect("redeemed");
    (gid, session.token)
}

fn key_path(visit: &str, pid: &str) -> String {
    format!("/v2/visits/{visit}/participants/{pid}/video-key")
}

#[tokio::test]
async fn a_video_key_is_its_participants_or_the_providers_only() {
    let t = spawn_app().await;
    let (_, ana) = sso(&t, "P-VID-1").await;
    let (_, bob) = sso(&t, "P-VID-2").await;
    let v = walkin(&t, &ana).await;
    let id = v["visitId"].as_str().unwrap().to_owned();
    let pid = add(
        &t,
        &id,
        json!({"participantType": "PATIENT", "firstName": "Ana", "lastName": "Lopez"}),
    )
    .await;
    let (gid, sam) = guest(&t, &id).await;
    let doc = add(&t, &id, json!({"participantType": "PRACTITIONER", "firstName": "Dr", "lastName": "Martin", "userId": "dr-martin"})).await;

    // Before the start: no video yet.
    let r = as_provider(&t, "dr-martin", Method::GET, &key_path(&id, &gid), None).await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(
        provider_move(&t, &id, "start", "dr-martin").await.status,
        200
    );

    // The provider: anyone's, with the seat each has of its own.
    let r = as_provider(&t, "dr-martin", Method::GET, &key_path(&id, &gid), None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let k = r.json();
    assert_eq!(k["provider"], "webrtc");
    assert_eq!(k["roomId"], id.as_str());
    assert_eq!(k["participantId"], gid.as_str());
    assert_eq!(k["iceServers"], json!([]), "none configured: none given");
    assert_eq!(
        k["signalling"],
        Value::Null,
        "a provider gets no token to act as the guest"
    );
    assert!(!r.text().contains("Sam"), "no name in the key");
    let r = as_provider(&t, "dr-martin", Method::GET, &key_path(&id, &pid), None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["signalling"],
        Value::Null,
        "the patient's seat is its own session's"
    );
    let r = as_provider(&t, "dr-martin", Method::GET, &key_path(&id, &doc), None).await;
    assert!(r.json()["signalling"]["token"].is_string());
    let r = as_provider(&t, "dr-nguyen", Method::GET, &key_path(&id, &doc), None).await;
    assert_eq!(r.status, 200, "another provider of the room: {}", r.text());
    assert_eq!(r.json()["signalling"], Value::Null, "not a seat of theirs");

    // The patient: its own, not the guest's.
    let r = call(
        &t,
        Method::GET,
        &key_path(&id, &pid),
        None,
        Some(&ana),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["signalling"]["token"].is_string());
    let r = call(
        &t,
        Method::GET,
        &key_path(&id, &gid),
        None,
        Some(&ana),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    // The guest: its own, not the patient's nor the practitioner's.
    let r = call(
        &t,
        Method::GET,
        &key_path(&id, &gid),
        None,
        Some(&sam),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let own = r.json();
    assert!(
        own["signalling"]["token"].is_string(),
        "the guest's own seat"
    );
    for other in [&pid, &doc] {
        let r = call(
            &t,
            Method::GET,
            &key_path(&id, other),
            None,
            Some(&sam),
            &[],
            None,
        )
        .await;
        assert_eq!(r.status, 403, "{}", r.text());
    }
    // Another patient of the franchise, another franchise: not found.
    let r = call(
        &t,
        Method::GET,
        &key_path(&id, &pid),
        None,
        Some(&bob),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text());
    let r = call(
        &t,
        Method::GET,
        &key_path(&id, &pid),
        Some(&t.world.other_account_api_key),
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text());
    // The key alone names no provider; a user who is not one of the room's.
    let r = call(
        &t,
        Method::GET,
        &key_path(&id, &pid),
        Some(&t.world.api_key),
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = as_provider(
        &t,
        "not-a-provider",
        Method::GET,
        &key_path(&id, &pid),
        None,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    // An unknown participant; no credentials.
    let r = as_provider(&t, "dr-martin", Method::GET, &key_path(&id, "nobody"), None).await;
    assert_eq!(r.status, 404, "{}", r.text());
    let r = call(&t, Method::GET, &key_path(&id, &pid), None, None, &[], None).await;
    assert_eq!(r.status, 401);

    // After the end: no more.
    let r = as_provider(
        &t,
        "dr-martin",
        Method::POST,
        &format!("/v2/visits/{id}/end"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = as_provider(&t, "dr-martin", Method::GET, &key_path(&id, &doc), None).await;
    assert_eq!(r.status, 409, "{}", r.text());
}

/// The visit's socket, opened as a browser does (the token as a subprotocol).
async fn open(addr: SocketAddr, visit: &str, token: &str) -> Result<Socket, WsError> {
    live::open(addr, visit, &live::browser(token)).await
}

/// Whether a frame is presence (someone came or went: `tests/http/presence.rs`'s
/// matter, which these tests of the signals pass over).
fn is_presence(f: &Value) -> bool {
    f["type"] == "presence"
}

/// The next text frame but presence (waiting at most [`FRAME_WAIT`]).
async fn next(s: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(FRAME_WAIT, s.next())
            .await
            .expect("a frame in time")
            .expect("the socket open")
            .expect("a frame");
        if let Message::Text(t) = msg {
            let f: Value = serde_json::from_str(&t).expect("JSON");
            if !is_presence(&f) {
                return f;
            }
        }
    }
}

/// Whether no text frame but presence comes within a while.
async fn quiet(s: &mut Socket) -> bool {
    let until = tokio::time::Instant::now() + Duration::from_millis(300);
    loop {
        match tokio::time::timeout_at(until, s.next()).await {
            Err(_) => return true,
            Ok(Some(Ok(Message::Text(t)))) => {
                let f: Value = serde_json::from_str(&t).expect("JSON");
                if !is_presence(&f) {
                    return false;
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(_) => return false,
        }
    }
}

async fn say(s: &mut Socket, frame: Value) {
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

/// A walk-in of a new patient (portal key `key`) that `dr-martin` has
/// started: the patient's session token, the visit id, and the signalling
/// token of the provider's video key.
async fn a_call_started(t: &TestApp, key: &str) -> (String, String, String) {
    let (_, patient) = sso(t, key).await;
    let v = walkin(t, &patient).await;
    let id = v["visitId"].as_str().unwrap().to_owned();
    let doc = add(t, &id, json!({"participantType": "PRACTITIONER", "firstName": "Dr", "lastName": "Martin", "userId": "dr-martin"})).await;
    assert_eq!(
        provider_move(t, &id, "start", "dr-martin").await.status,
        200
    );
    let r = as_provider(t, "dr-martin", Method::GET, &key_path(&id, &doc), None).await;
    let sig = r.json()["signalling"]["token"].as_str().unwrap().to_owned();
    (patient, id, sig)
}

#[tokio::test]
async fn signals_are_relayed_within_the_visit_only() {
    let (t, addr) = served().await;
    // The provider's socket opens with the signalling token of its key.
    let (ana, id, sig) = a_call_started(&t, "P-SIG-1").await;

    let mut a = open(addr, &id, &ana).await.expect("the patient connects");
    let ready = next(&mut a).await;
    assert_eq!(ready["type"], "ready");
    let a_id = ready["connectionId"]
        .as_str()
        .expect("ready names the connection")
        .to_owned();
    let mut b = open(addr, &id, &sig)
        .await
        .expect("the signalling token opens the socket");
    let ready = next(&mut b).await;
    let b_id = ready["connectionId"].as_str().unwrap().to_owned();
    assert_ne!(a_id, b_id);

    // Another visit's patient, on its own socket, hears nothing of this one.
    let (_, cy) = sso(&t, "P-SIG-2").await;
    let w = walkin(&t, &cy).await;
    let other = w["visitId"].as_str().unwrap().to_owned();
    assert_eq!(
        provider_move(&t, &other, "start", "dr-nguyen").await.status,
        200
    );
    let mut c = open(addr, &other, &cy)
        .await
        .expect("another visit's socket");
    let c_id = next(&mut c).await["connectionId"]
        .as_str()
        .unwrap()
        .to_owned();

    // To one connection.
    let offer = json!({"kind": "description", "description": {"type": "offer", "sdp": "v=0\r\n"}});
    say(&mut a, json!({"type": "signal", "to": b_id, "data": offer})).await;
    let got = next(&mut b).await;
    assert_eq!(
        got,
        json!({"v": 1, "type": "signal", "from": a_id, "data": offer})
    );
    assert!(quiet(&mut a).await, "not back to the sender");
    // To every other connection of the visit.
    say(&mut b, json!({"type": "signal", "data": {"kind": "hello"}})).await;
    let got = next(&mut a).await;
    assert_eq!(
        (got["type"].clone(), got["from"].clone()),
        (json!("signal"), json!(b_id))
    );
    assert_eq!(got["data"], json!({"kind": "hello"}));
    assert!(
        quiet(&mut c).await,
        "another visit's connection hears nothing"
    );
    assert!(quiet(&mut b).await);
    // To another visit's connection: not found, and nothing reaches it.
    say(
        &mut a,
        json!({"type": "signal", "to": c_id, "data": {"kind": "hello"}}),
    )
    .await;
    let e = next(&mut a).await;
    assert_eq!(
        (e["type"].clone(), e["code"].clone()),
        (json!("error"), json!(404)),
        "{e}"
    );
    assert!(quiet(&mut c).await);
    // Bad frames: data not an object, too large.
    say(&mut a, json!({"type": "signal", "data": "hi"})).await;
    assert_eq!(next(&mut a).await["code"], 400);
    say(
        &mut a,
        json!({"type": "signal", "data": {"sdp": "x".repeat(17 * 1024)}}),
    )
    .await;
    assert_eq!(next(&mut a).await["code"], 413);
    assert!(quiet(&mut b).await, "nothing relayed of them");

    // The signalling token holds for its visit only; a forged one for none.
    assert_eq!(refused_with(open(addr, &other, &sig).await), 401);
    let forged = format!("{}x", sig);
    assert_eq!(refused_with(open(addr, &id, &forged).await), 401);
}

/// The patient's room page, as the portal's SSO login opens it.
async fn room_page(t: &TestApp, sso: &str, id: &str) -> crate::helpers::Reply {
    let next = format!("/visits/start/{id}");
    t.post_form("/auth", &[("sso_token", sso), ("next", &next)])
        .await
}

/// The JSON of a page's `<script type="application/json" id="{id}">`.
fn script_json(html: &str, id: &str) -> Value {
    let open = format!("id=\"{id}\">");
    let start = html
        .find(&open)
        .unwrap_or_else(|| panic!("#{id} in the page"))
        + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

#[tokio::test]
async fn the_room_pages_carry_the_video_and_reach_the_configured_socket() {
    let t = spawn_app_with(
        |_| Ports::default(),
        |c| {
            c.visit_live_url = Some("wss://live.example.org/live".into());
            c.ice_servers = json!([{"urls": "stun:stun.example.org:3478"}]);
        },
    )
    .await;
    let (_, ana) = sso(&t, "P-ROOM-1").await;
    let v = walkin(&t, &ana).await;
    let id = v["visitId"].as_str().unwrap().to_owned();

    // Waiting: the room page has no video yet.
    let r = room_page(&t, &ana, &id).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!r.text().contains("id=\"video-context\""));
    assert_eq!(
        provider_move(&t, &id, "start", "dr-martin").await.status,
        200
    );

    // Started: the video, the chat beside it, the presence list; the socket's
    // origin in connect-src and its URL in the page's context.
    let r = room_page(&t, &ana, &id).await;
    let html = r.text();
    assert!(html.contains("src=\"/clinic/static/video.js\""));
    for part in [
        "id=\"video-local\"",
        "id=\"video-mute\"",
        "id=\"video-camera\"",
        "id=\"video-leave\"",
        "id=\"presence\"",
        "id=\"chat-form\"",
    ] {
        assert!(html.contains(part), "{part}");
    }
    let csp = r.header("content-security-policy").to_owned();
    assert!(
        csp.contains("connect-src 'self' wss://live.example.org;"),
        "{csp}"
    );
    let ctx = script_json(&html, "clinic-context");
    assert_eq!(
        ctx["liveUrl"],
        format!("wss://live.example.org/live?visitId={id}")
    );
    let video = script_json(&html, "video-context");
    assert_eq!(video["join"]["provider"], "webrtc");
    assert_eq!(video["join"]["roomId"], id.as_str());
    assert_eq!(
        video["join"]["iceServers"][0]["urls"],
        "stun:stun.example.org:3478"
    );
    assert!(
        video["join"]["signalling"]["token"]
            .as_str()
            .unwrap()
            .starts_with("sig1.")
    );
    assert_eq!(
        video["ownSocket"], false,
        "the patient's page shares clinic.js's socket"
    );
    let js = t.get("/clinic/static/video.js", &[]).await;
    assert_eq!(js.status, 200);
    assert!(js.header("content-type").starts_with("text/javascript"));
    assert!(js.text().contains("RTCPeerConnection"));

    // The provider's room: a provider of the visit's room only.
    let launch = |who: &str, q: String| {
        let h = provider_header(who);
        let t = &t;
        async move {
            t.get(
                &format!("/embeddable/visits/room{q}"),
                &[("x-integration-user", &h), ("accept", "application/json")],
            )
            .await
        }
    };
    assert_eq!(
        launch("dr-martin", "?locale=en".into()).await.status,
        400,
        "visitId is required"
    );
    assert_eq!(
        launch("not-a-provider", format!("?visitId={id}"))
            .await
            .status,
        403
    );
    assert_eq!(
        launch("dr-martin", "?visitId=nope".into()).await.status,
        404
    );
    let h = provider_header("dr-martin");
    let r = call(
        &t,
        Method::GET,
        &format!("/embeddable/visits/room?visitId={id}"),
        Some(&t.world.other_account_api_key),
        None,
        &[("x-integration-user", &h), ("accept", "application/json")],
        None,
    )
    .await;
    assert_eq!(r.status, 404, "another franchise's visit: {}", r.text());
    let r = launch("dr-martin", format!("?visitId={id}&locale=en")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let url = r.json()["iframeUrl"].as_str().unwrap().to_owned();
    assert!(
        url.contains("/visits/room?session=") && url.ends_with(&format!("&visitId={id}")),
        "{url}"
    );
    let path = url.strip_prefix(crate::helpers::BASE_URL).unwrap();
    let (path, rest) = path.split_once("?session=").unwrap();
    let (token, _) = rest.split_once('&').unwrap();
    let r = t
        .post_form(
            &format!("{path}?visitId={id}"),
            &[("launch", token), ("nonce", &crate::helpers::page_nonce())],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    assert!(html.contains("data-status=\"IN_PROGRESS\""));
    assert!(html.contains("id=\"chat-log\"") && html.contains("id=\"video-remotes\""));
    let video = script_json(&html, "video-context");
    assert_eq!(video["ownSocket"], true);
    assert_eq!(
        video["liveUrl"],
        format!("wss://live.example.org/live?visitId={id}")
    );
    let csp = r.header("content-security-policy").to_owned();
    assert!(
        csp.contains("connect-src 'self' wss://live.example.org;"),
        "{csp}"
    );
    // Its signalling token is the provider's seat in this visit.
    let token = video["join"]["signalling"]["token"].as_str().unwrap();
    let actor = shared::services::clinic::video::socket_actor(&t.app, token, &id)
        .await
        .expect("a signalling token")
        .expect("it holds");
    assert_eq!(actor.provider_user().map(|u| u.as_str()), Some("dr-martin"));
    assert!(
        shared::services::clinic::video::socket_actor(&t.app, token, "another-visit")
            .await
            .expect("a signalling token")
            .is_err()
    );
}

#[tokio::test]
async fn each_pong_renews_the_signalling_token_a_reconnection_opens_with() {
    let (t, addr) = served().await;
    let (_, id, first) = a_call_started(&t, "P-SIG-3").await;
    let mut s = open(addr, &id, &first)
        .await
        .expect("the first token opens");
    assert_eq!(next(&mut s).await["type"], "ready");

    // Nine minutes into the call, a ping: the pong carries a new token.
    t.clock.advance_ms(9 * 60 * 1000);
    say(&mut s, json!({"type": "ping"})).await;
    let pong = next(&mut s).await;
    assert_eq!(pong["type"], "pong", "{pong}");
    let renewed = pong["signalling"]["token"]
        .as_str()
        .expect("the pong carries a signalling token")
        .to_owned();
    assert_ne!(renewed, first);
    assert!(pong["signalling"]["expiresAt"].is_string(), "{pong}");

    // Two minutes on, the first has expired; the renewed one still opens.
    t.clock.advance_ms(2 * 60 * 1000);
    assert_eq!(refused_with(open(addr, &id, &first).await), 401);
    let mut again = open(addr, &id, &renewed)
        .await
        .expect("the renewed token reopens the socket");
    assert_eq!(next(&mut again).await["type"], "ready");
    // It holds for its visit only, like the first.
    let (_, cy) = sso(&t, "P-SIG-4").await;
    let other = walkin(&t, &cy).await["visitId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(refused_with(open(addr, &other, &renewed).await), 401);
}

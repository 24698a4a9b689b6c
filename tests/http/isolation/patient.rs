//! The patient app's pages (every route of `shared/src/http/clinic/pages.rs`
//! and `invitation_page.rs`, read at test time) and the patient-token
//! sockets (a visit's live connection, the event stream of a queue), each
//! with an attacker's own session, token, invitation or key and B's ids.
//! (The patient-token endpoints of the API are the document's: `api.rs`
//! calls each with the attacker's patient token.)

use futures::StreamExt;
use http::Method;
use serde_json::{Value, json};
use shared::domain::links;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::world::{Attacker, PROVIDER, attackers, b_state, victim};
use super::{Payload, leaked, send, spawn, unexpected_writes, writes_into};
use crate::clinic::{provider_header, walkin};
use crate::helpers::TestApp;

/// Every page route of the patient app, by its name in the code, and the
/// form its `POST` takes from an attacker (`{session}`, `{sso}`,
/// `{invitation}` are the attacker's own; `{…}` of B's ids are B's).
const PAGES: &[(&str, &str, &str)] = &[
    (
        "CLINIC_AUTH",
        links::CLINIC_AUTH,
        "sso_token={sso}&next=/visits/{visitId}",
    ),
    (
        "CLINIC_DASHBOARD",
        links::CLINIC_DASHBOARD,
        "session={session}",
    ),
    (
        "CLINIC_VISIT_START",
        links::CLINIC_VISIT_START,
        "session={session}",
    ),
    ("CLINIC_VISIT", links::CLINIC_VISIT, "session={session}"),
    (
        "CLINIC_APPOINTMENT",
        links::CLINIC_APPOINTMENT,
        "link={invitation}",
    ),
    (
        "CLINIC_JOIN",
        links::CLINIC_JOIN,
        "name=Al&session={session}",
    ),
    (
        "CLINIC_INVITATION",
        links::CLINIC_INVITATION,
        "link={invitation}",
    ),
];

/// Routes of those files that are no page: the static scripts (no id, no
/// data of anyone).
const NOT_PAGES: &[&str] = &["CLINIC_JS", "VIDEO_JS", "PRESENCE_JS"];

/// The route names the patient app's router files declare.
fn declared_routes() -> Vec<String> {
    let dir = format!("{}/../shared/src/http/clinic", env!("CARGO_MANIFEST_DIR"));
    let mut names = Vec::new();
    for file in ["pages.rs", "invitation_page.rs"] {
        let src = std::fs::read_to_string(format!("{dir}/{file}")).expect("the source");
        for (i, _) in src.match_indices(".route(") {
            let name: String = src[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            names.push(name);
        }
    }
    names
}

/// An attacker's own patient-app session, walk-in and invitation.
struct Own {
    session: String,
    invitation: String,
}

async fn own(t: &TestApp, a: &Attacker) -> Own {
    let v = walkin(t, &a.patient_token).await;
    let visit = v["visitId"].as_str().expect("a visit");
    let guest = json!({"participantType": "GUEST", "firstName": "Al", "lastName": "Aa"});
    let path = format!("/v2/visits/{visit}/participants");
    let r = send(t, Method::POST, &path, &a.api(), Payload::Json(guest)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let participant = r.json()["participantId"]
        .as_str()
        .expect("an id")
        .to_owned();
    let r = send(
        t,
        Method::POST,
        &format!("{path}/{participant}/tokens"),
        &a.api(),
        Payload::None,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let invitation = r.json()["token"].as_str().expect("a token").to_owned();
    let r = t
        .post_form(
            "/auth",
            &[("sso_token", &a.patient_token), ("next", "/u/clinic")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    let start = html.find("id=\"clinic-context\">").expect("a context") + 20;
    let end = start + html[start..].find("</script>").expect("its end");
    let ctx: Value = serde_json::from_str(&html[start..end]).expect("JSON");
    Own {
        session: ctx["session"].as_str().expect("a session").to_owned(),
        invitation,
    }
}

#[tokio::test]
async fn every_patient_page_and_socket_with_another_franchises_ids() {
    let iso = spawn().await;
    let t = &iso.t;
    let log = &iso.log;
    let declared = declared_routes();
    let missing: Vec<&String> = declared
        .iter()
        .filter(|n| !PAGES.iter().any(|(p, _, _)| p == n) && !NOT_PAGES.contains(&n.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "patient pages missing from the isolation table: {missing:?}"
    );
    assert!(
        PAGES
            .iter()
            .all(|(p, _, _)| declared.contains(&(*p).to_owned()))
    );
    let b = victim(t).await;
    let attackers = attackers(t).await;
    let before = b_state(t, &b).await;
    let secrets = b.secrets();
    let shell = t.load(links::CLINIC_DASHBOARD, &[]).await.text();
    let (mut calls, mut wrong) = (0, Vec::new());
    for a in &attackers {
        let mine = own(t, a).await;
        for (name, route, form) in PAGES {
            let path = b.fill(&route.replace("{code}", "{visitId}"));
            // The GET: the same side-effect-free shell for every address.
            log.reset();
            let r = t.load(&path, &[]).await;
            calls += 1;
            let w = unexpected_writes(log);
            if r.status != 200 || !w.is_empty() || (*name != "CLINIC_JOIN" && r.text() != shell) {
                wrong.push(format!("{} GET {path}: {} {w:?}", a.name, r.status));
            }
            let form = b
                .fill(form)
                .replace("{session}", &mine.session)
                .replace("{sso}", &a.patient_token)
                .replace("{invitation}", &mine.invitation);
            let fields = form
                .split('&')
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            log.reset();
            let r = send(t, Method::POST, &path, &[], Payload::Form(fields)).await;
            calls += 1;
            let what = format!("{} POST {path} ({name})", a.name);
            let status = r.status.as_u16();
            // The dashboard and a login are the attacker's own pages; every
            // page of one of B's visits is refused (the ended page).
            let own_page = *name == "CLINIC_DASHBOARD" || *name == "CLINIC_AUTH";
            if status >= 500 || (!own_page && ![403, 404, 410].contains(&status)) {
                wrong.push(format!("{what}: {status}"));
            }
            let w = if own_page {
                writes_into(log, b.tenant)
            } else {
                unexpected_writes(log)
            };
            if !w.is_empty() {
                wrong.push(format!("{what}: wrote {w:?}"));
            }
            let leaks = leaked(&r.text(), &format!("{path} {form}"), &secrets);
            if !leaks.is_empty() {
                wrong.push(format!("{what}: B's {leaks:?} in the answer"));
            }
        }
        // A visit's live connection, with the attacker's patient token and
        // with its provider: refused before the upgrade, nothing written.
        let visit = b.id("visitId");
        let mut api: Vec<(String, String)> = a.api();
        api.retain(|(k, _)| k != "x-integration-user");
        api.push(("x-integration-user".to_owned(), provider_header(PROVIDER)));
        for (who, headers) in [
            (
                "patient token",
                vec![(
                    "sec-websocket-protocol".to_owned(),
                    format!("embedcare.live.v1, bearer.{}", a.patient_token),
                )],
            ),
            ("provider", api),
        ] {
            log.reset();
            let got = socket(iso.addr, &format!("/v2/visits/{visit}/live"), &headers).await;
            calls += 1;
            let w = unexpected_writes(log);
            if !matches!(got, Err(404)) || !w.is_empty() {
                wrong.push(format!(
                    "{} live socket of B's visit as {who}: {got:?} {w:?}",
                    a.name
                ));
            }
        }
        // The event stream of B's queue with the attacker's key: the
        // stream's refusal frame, "no such queue" (4404), nothing written.
        log.reset();
        let uri = format!("/v2/events/subscribe?queue={}", b.id("queueName"));
        let mut h = vec![("api-key".to_owned(), a.key.clone())];
        if let Some(x) = a.tenant_header {
            h.push(("x-tenant-key".to_owned(), x.to_owned()));
        }
        let got = stream_refusal(iso.addr, &uri, &h).await;
        calls += 1;
        let w = unexpected_writes(log);
        if got != Some(4404) || !w.is_empty() {
            wrong.push(format!(
                "{} event stream of B's queue: {got:?} {w:?}",
                a.name
            ));
        }
    }
    super::world::assert_unchanged(&before, &b_state(t, &b).await);
    assert!(
        wrong.is_empty(),
        "{} of {calls} calls wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    println!(
        "isolation: {} patient pages and 2 sockets, {calls} calls by {} attackers: 0 wrong",
        PAGES.len(),
        attackers.len()
    );
}

fn ws_request(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(String, String)],
) -> http::Request<()> {
    let mut req = format!("ws://{addr}{path}")
        .into_client_request()
        .expect("a request");
    for (k, v) in headers {
        req.headers_mut().insert(
            http::HeaderName::from_bytes(k.as_bytes()).expect("a name"),
            v.parse().expect("a value"),
        );
    }
    req
}

/// Opens a socket: `Ok(())` if it connected, the HTTP status of a refusal.
async fn socket(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(String, String)],
) -> Result<(), u16> {
    match tokio_tungstenite::connect_async(ws_request(addr, path, headers)).await {
        Ok(_) => Ok(()),
        Err(WsError::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("not an HTTP refusal: {e}"),
    }
}

/// The code of the stream's first ERROR frame.
async fn stream_refusal(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(String, String)],
) -> Option<u64> {
    let (mut s, _) = tokio_tungstenite::connect_async(ws_request(addr, path, headers))
        .await
        .ok()?;
    let deadline = std::time::Duration::from_secs(5);
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(deadline, s.next()).await {
        if let Message::Text(text) = msg {
            let v: Value = serde_json::from_str(&text).ok()?;
            return v["framePayload"]["code"].as_u64();
        }
    }
    None
}

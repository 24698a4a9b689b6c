//! Presence over HTTP (both stores): the REST heartbeat (`PUT …/alive`)
//! and `GET …/connection-status` with the test's clock — `JOINED →
//! DISCONNECTED → JOINED`, decided when another beats or when presence is
//! read, persisted, and no event for any of it; who may call them; over
//! real sockets, the `presence` frames the others get, the `ready` frame's
//! `participants` and `you`, a closed page `DISCONNECTED` at once, and a
//! dismissed guest's socket closed.

use futures::StreamExt;
use http::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::clinic::{call, provider_header, provider_move, sso, walkin};
use crate::helpers::{Reply, TestApp, spawn_app};
use crate::live::{FRAME_WAIT, browser, live_count, next, open, provider, say, served};

const S: i64 = 1000;

async fn as_provider(t: &TestApp, method: Method, path: &str, who: &str) -> Reply {
    let h = provider_header(who);
    call(
        t,
        method,
        path,
        Some(&t.world.api_key),
        None,
        &[("x-integration-user", &h)],
        None,
    )
    .await
}

async fn alive_as_patient(t: &TestApp, visit: &str, token: &str) -> Reply {
    let path = format!("/v2/visits/{visit}/alive");
    call(t, Method::PUT, &path, None, Some(token), &[], None).await
}

/// `connection-status` with the franchise's key: participantId → status.
async fn statuses(t: &TestApp, visit: &str) -> Vec<(String, String, String)> {
    let path = format!("/v2/visits/{visit}/connection-status");
    let r = call(
        t,
        Method::GET,
        &path,
        Some(&t.world.api_key),
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    assert_eq!(b["visitId"], visit);
    b["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let keys: Vec<_> = p.as_object().unwrap().keys().cloned().collect();
            assert_eq!(
                keys,
                ["participantId", "participantType", "status", "lastSeenAt"],
                "ids, type, status and time only"
            );
            (
                p["participantId"].as_str().unwrap().to_owned(),
                p["participantType"].as_str().unwrap().to_owned(),
                p["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn status_of(list: &[(String, String, String)], id: &str) -> String {
    list.iter()
        .find(|(p, _, _)| p == id)
        .map(|(_, _, s)| s.clone())
        .unwrap_or_else(|| panic!("{id} not in {list:?}"))
}

fn outbox_writes(t: &TestApp) -> usize {
    t.store
        .written()
        .into_iter()
        .filter(|w| match w {
            shared::store::Write::Put { item, .. } => item.get_str("type") == Some("outbox"),
            _ => false,
        })
        .count()
}

#[tokio::test]
async fn presence_joins_goes_silent_and_joins_again_with_the_clock() {
    let t = spawn_app().await;
    let (_, token) = sso(&t, "P-PRES-1").await;
    let v = walkin(&t, &token).await;
    let id = v["visitId"].as_str().unwrap().to_owned();
    assert_eq!(
        provider_move(&t, &id, "start", "dr-martin").await.status,
        200
    );
    let events = outbox_writes(&t);

    // The patient's heartbeat makes their participant, JOINED.
    let r = alive_as_patient(&t, &id, &token).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let me = r.json();
    assert_eq!(me["participantType"], "PATIENT");
    assert_eq!(me["status"], "JOINED");
    assert_eq!(me["lastSeenAt"], "2026-01-01T00:00:00.000Z", "{me}");
    let pid = me["participantId"].as_str().unwrap().to_owned();
    // Again: the same participant, seen later.
    t.clock.advance_ms(10 * S);
    let again = alive_as_patient(&t, &id, &token).await.json();
    assert_eq!(again["participantId"], pid.as_str());
    assert_eq!(again["lastSeenAt"], "2026-01-01T00:00:10.000Z");
    // The provider too (API key and x-integration-user).
    let r = as_provider(
        &t,
        Method::PUT,
        &format!("/v2/visits/{id}/alive"),
        "dr-martin",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let doc = r.json();
    assert_eq!(doc["participantType"], "PRACTITIONER");
    let did = doc["participantId"].as_str().unwrap().to_owned();
    let list = statuses(&t, &id).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(status_of(&list, &pid), "JOINED");
    assert_eq!(status_of(&list, &did), "JOINED");

    // 45 s of silence is not yet silence; the provider beats meanwhile.
    t.clock.advance_ms(30 * S);
    as_provider(
        &t,
        Method::PUT,
        &format!("/v2/visits/{id}/alive"),
        "dr-martin",
    )
    .await;
    t.clock.advance_ms(15 * S);
    assert_eq!(status_of(&statuses(&t, &id).await, &pid), "JOINED");
    // A moment later, the provider's heartbeat finds the patient silent,
    // and writes it: a read that decides nothing shows it.
    t.clock.advance_ms(S);
    as_provider(
        &t,
        Method::PUT,
        &format!("/v2/visits/{id}/alive"),
        "dr-martin",
    )
    .await;
    let r = as_provider(
        &t,
        Method::GET,
        &format!("/v2/visits/{id}/participants/{pid}"),
        "dr-martin",
    )
    .await;
    assert_eq!(r.json()["status"], "DISCONNECTED", "persisted");
    assert_eq!(status_of(&statuses(&t, &id).await, &did), "JOINED");

    // The patient's next heartbeat brings them back.
    t.clock.advance_ms(20 * S);
    let back = alive_as_patient(&t, &id, &token).await.json();
    assert_eq!(back["status"], "JOINED");
    assert_eq!(back["participantId"], pid.as_str());
    assert_eq!(status_of(&statuses(&t, &id).await, &pid), "JOINED");

    // Nobody beats: the read itself decides both silent.
    t.clock.advance_ms(46 * S);
    let list = statuses(&t, &id).await;
    assert_eq!(status_of(&list, &pid), "DISCONNECTED");
    assert_eq!(status_of(&list, &did), "DISCONNECTED");
    t.clock.advance_ms(4 * S);
    alive_as_patient(&t, &id, &token).await;

    assert_eq!(
        outbox_writes(&t),
        events,
        "presence is not an event: heartbeats and silences wrote none"
    );
    // The provider ends the visit: the patient's time disconnected is
    // counted from when they were last seen (66 s, then 50 s).
    let r = as_provider(
        &t,
        Method::POST,
        &format!("/v2/visits/{id}/end"),
        "dr-martin",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["durations"]["disconnectedSeconds"], 66 + 50);
    // An ended visit takes no heartbeat.
    assert_eq!(alive_as_patient(&t, &id, &token).await.status, 409);
}

#[tokio::test]
async fn alive_and_connection_status_are_for_the_visits_people() {
    let t = spawn_app().await;
    let (_, token) = sso(&t, "P-PRES-2").await;
    let v = walkin(&t, &token).await;
    let id = v["visitId"].as_str().unwrap().to_owned();
    let alive = format!("/v2/visits/{id}/alive");
    let status = format!("/v2/visits/{id}/connection-status");

    // No credentials: 401.
    for (m, p) in [(Method::PUT, &alive), (Method::GET, &status)] {
        assert_eq!(call(&t, m, p, None, None, &[], None).await.status, 401);
    }
    // Another patient of the franchise: not theirs (404).
    let (_, stranger) = sso(&t, "P-PRES-3").await;
    for (m, p) in [(Method::PUT, &alive), (Method::GET, &status)] {
        let r = call(&t, m, p, None, Some(&stranger), &[], None).await;
        assert_eq!(r.status, 404, "{}", r.text());
    }
    // Another franchise's key: not found either.
    for (m, p) in [(Method::PUT, &alive), (Method::GET, &status)] {
        let r = call(
            &t,
            m,
            p,
            Some(&t.world.other_account_api_key),
            None,
            &[],
            None,
        )
        .await;
        assert_eq!(r.status, 404, "{}", r.text());
    }
    // A user who is not a provider of the room: 403.
    for (m, p) in [(Method::PUT, &alive), (Method::GET, &status)] {
        let r = as_provider(&t, m, p, "not-a-provider").await;
        assert_eq!(r.status, 403, "{}", r.text());
    }
    // The franchise's key alone reads the status but is no one in the room.
    let r = call(
        &t,
        Method::PUT,
        &alive,
        Some(&t.world.api_key),
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(statuses(&t, &id).await.is_empty(), "nobody yet");
    // A visit id that is not one: 404.
    let r = call(
        &t,
        Method::GET,
        "/v2/visits/n%20o/connection-status",
        None,
        Some(&token),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    // The visit's own patient may do both.
    assert_eq!(alive_as_patient(&t, &id, &token).await.status, 200);
    let r = call(&t, Method::GET, &status, None, Some(&token), &[], None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["items"][0]["status"], "JOINED");
    // A guest of the join code, of this visit: in; of another: 404.
    let guest = crate::live::guest_session(&t, v["code"].as_str().unwrap()).await;
    let r = call(&t, Method::PUT, &alive, None, Some(&guest), &[], None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["participantType"], "GUEST");
    let (_, third) = sso(&t, "P-PRES-4").await;
    let w = walkin(&t, &third).await;
    let elsewhere = crate::live::guest_session(&t, w["code"].as_str().unwrap()).await;
    let r = call(&t, Method::GET, &status, None, Some(&elsewhere), &[], None).await;
    assert_eq!(r.status, 404);
    assert_eq!(statuses(&t, &id).await.len(), 2);
}

fn presence_of(f: &Value) -> (&str, &str, &str) {
    assert_eq!(f["type"], "presence", "{f}");
    assert_eq!(f["v"], 1);
    (
        f["participant"]["participantId"]
            .as_str()
            .unwrap_or_default(),
        f["participant"]["participantType"]
            .as_str()
            .unwrap_or_default(),
        f["participant"]["status"].as_str().unwrap_or_default(),
    )
}

#[tokio::test]
async fn the_others_are_told_of_each_change_of_presence() {
    let (t, addr) = served().await;
    let (_, token) = sso(&t, "P-PRES-5").await;
    let v = walkin(&t, &token).await;
    let id = v["visitId"].as_str().unwrap().to_owned();
    provider_move(&t, &id, "start", "dr-nguyen").await;

    let mut patient = open(addr, &id, &browser(&token)).await.expect("patient");
    let ready = next(&mut patient).await;
    assert_eq!(ready["type"], "ready");
    let me = ready["you"].as_str().expect("you").to_owned();
    assert_eq!(
        ready["participants"],
        json!([{"participantId": me, "participantType": "PATIENT", "status": "JOINED",
                "lastSeenAt": "2026-01-01T00:00:00.000Z"}])
    );

    let mut doctor = open(addr, &id, &provider(&t, "dr-nguyen"))
        .await
        .expect("doctor");
    let ready = next(&mut doctor).await;
    let doc = ready["you"].as_str().expect("you").to_owned();
    assert_ne!(doc, me);
    assert_eq!(ready["participants"].as_array().unwrap().len(), 2);
    assert_eq!(
        presence_of(&next(&mut patient).await),
        (doc.as_str(), "PRACTITIONER", "JOINED")
    );

    // The doctor's page closes: DISCONNECTED at once, the patient told.
    doctor.close(None).await.unwrap();
    assert_eq!(
        presence_of(&next(&mut patient).await),
        (doc.as_str(), "PRACTITIONER", "DISCONNECTED")
    );
    // Back: JOINED.
    let mut doctor = open(addr, &id, &provider(&t, "dr-nguyen"))
        .await
        .expect("doctor");
    assert_eq!(
        next(&mut doctor).await["you"],
        doc.as_str(),
        "the same participant"
    );
    assert_eq!(presence_of(&next(&mut patient).await).2, "JOINED");

    // The doctor's socket stays open but falls silent: the patient's
    // ping (46 s on) finds it and says so, then pongs.
    t.clock.advance_ms(46 * S);
    say(&mut patient, json!({"type": "ping"})).await;
    assert_eq!(
        presence_of(&next(&mut patient).await),
        (doc.as_str(), "PRACTITIONER", "DISCONNECTED")
    );
    assert_eq!(next(&mut patient).await["type"], "pong");
    // The doctor pings again: JOINED, the patient told; the doctor is not
    // told of themselves.
    say(&mut doctor, json!({"type": "ping"})).await;
    assert_eq!(next(&mut doctor).await["type"], "pong");
    assert_eq!(
        presence_of(&next(&mut patient).await),
        (doc.as_str(), "PRACTITIONER", "JOINED")
    );
    // A sync's ready frame shows the presence as it is.
    say(&mut doctor, json!({"type": "sync"})).await;
    let r = next(&mut doctor).await;
    let all: Vec<_> = r["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].clone())
        .collect();
    assert_eq!(all, [json!("JOINED"), json!("JOINED")], "{r}");

    // The patient leaves through the API: the doctor is told. A heartbeat
    // of a participant who left brings them back to nothing (leaving is
    // deliberate; connecting again, or PUT …/alive, does).
    let r = call(
        &t,
        Method::POST,
        &format!("/v2/visits/{id}/end"),
        None,
        Some(&token),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        presence_of(&next(&mut doctor).await),
        (me.as_str(), "PATIENT", "LEFT")
    );
    say(&mut patient, json!({"type": "ping"})).await;
    assert_eq!(next(&mut patient).await["type"], "pong");
    let list = statuses(&t, &id).await;
    assert_eq!(status_of(&list, &me), "LEFT");
    assert_eq!(
        alive_as_patient(&t, &id, &token).await.json()["status"],
        "JOINED"
    );
    assert_eq!(
        presence_of(&next(&mut doctor).await),
        (me.as_str(), "PATIENT", "JOINED")
    );
}

#[tokio::test]
async fn a_dismissed_guest_is_closed_and_the_others_told() {
    let (t, addr) = served().await;
    let (_, token) = sso(&t, "P-PRES-6").await;
    let v = walkin(&t, &token).await;
    let id = v["visitId"].as_str().unwrap().to_owned();
    provider_move(&t, &id, "start", "dr-nguyen").await;
    let base = format!("/v2/visits/{id}/participants");
    let h = provider_header("dr-nguyen");
    let key = Some(t.world.api_key.as_str());
    let headers = [("x-integration-user", h.as_str())];
    let body = json!({"participantType": "GUEST", "firstName": "Sam", "lastName": "Lee"});
    let r = call(&t, Method::POST, &base, key, None, &headers, Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let gid = r.json()["participantId"].as_str().unwrap().to_owned();
    let r = call(
        &t,
        Method::POST,
        &format!("{base}/{gid}/tokens"),
        key,
        None,
        &headers,
        None,
    )
    .await;
    let link = r.json()["token"].as_str().unwrap().to_owned();
    let visit = shared::domain::VisitId::parse(&id).unwrap();
    let (session, _) = shared::services::clinic::participants::redeem(&t.app, &link, &visit)
        .await
        .expect("redeemed");

    let mut patient = open(addr, &id, &browser(&token)).await.expect("patient");
    next(&mut patient).await;
    let mut guest = open(addr, &id, &browser(&session.token))
        .await
        .expect("guest");
    let ready = next(&mut guest).await;
    assert_eq!(ready["you"], gid.as_str(), "the invitation's participant");
    assert_eq!(
        presence_of(&next(&mut patient).await),
        (gid.as_str(), "GUEST", "JOINED")
    );
    assert_eq!(live_count(&t, &id).await, 2);

    let r = call(
        &t,
        Method::POST,
        &format!("{base}/{gid}/dismiss"),
        key,
        None,
        &headers,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The guest is told why, and closed.
    assert_eq!(next(&mut guest).await["code"], 403);
    let closed = tokio::time::timeout(FRAME_WAIT, guest.next())
        .await
        .expect("closed in time");
    match closed {
        Some(Ok(Message::Close(Some(f)))) => assert_eq!(f.code, CloseCode::from(4403)),
        other => panic!("not closed with 4403: {other:?}"),
    }
    assert_eq!(
        presence_of(&next(&mut patient).await),
        (gid.as_str(), "GUEST", "DISMISSED")
    );
    assert_eq!(
        live_count(&t, &id).await,
        1,
        "the guest's connection is gone"
    );
    // Their session died with it: no way back in.
    assert!(open(addr, &id, &browser(&session.token)).await.is_err());
}

#[tokio::test]
async fn the_waiting_room_shows_who_is_connected() {
    let t = spawn_app().await;
    let (_, ana) = sso(&t, "P-PRES-7").await;
    let v = walkin(&t, &ana).await;
    let id = v["visitId"].as_str().unwrap().to_owned();
    let header = provider_header("dr-martin");
    let r = t
        .get(
            "/embeddable/visits/waiting-room?locale=en",
            &[
                ("x-integration-user", &header),
                ("accept", "application/json"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let url = r.json()["iframeUrl"].as_str().unwrap().to_owned();
    let s = crate::pages::open(&t, &url).await;
    let row = |html: &str| {
        let start = html.find(&format!("data-visit=\"{id}\"")).expect("the row");
        let end = start + html[start..].find("</li>").unwrap();
        html[start..end].to_owned()
    };
    assert!(
        row(&s.html).contains("Nobody connected"),
        "{}",
        row(&s.html)
    );
    // The patient's page beats: connected; silent, not any more.
    assert_eq!(alive_as_patient(&t, &id, &ana).await.status, 200);
    let html = s.view(&t, "visits/waiting-room").await.text();
    assert!(
        row(&html).contains("Connected: Ana Lopez (patient)"),
        "{}",
        row(&html)
    );
    t.clock.advance_ms(46 * S);
    let html = s.view(&t, "visits/waiting-room").await.text();
    assert!(row(&html).contains("Nobody connected"), "{}", row(&html));
}

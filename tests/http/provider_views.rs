//! The provider's views (`GET /embeddable/visits/waiting-room`,
//! `/embeddable/visits/schedule`) and their actions, on both stores: the
//! launch needs a provider of the room (`403`, unknown room `404`), the
//! waiting room lists the queue in order, the eConsults and today's
//! appointments; the moves go through the API's service (its state machine
//! and `409`s; of two concurrent accepts one wins); the visit's room shows
//! the chat both ways; the availability editor writes what
//! `GET /v2/providers/{id}/availability` reads; and the session reaches only
//! the rooms its user is a provider of.

use http::Method;
use serde_json::json;

use crate::clinic::{call, intake, provider_header, sso, walkin};
use crate::helpers::{TestApp, assert_error, spawn_app};
use crate::pages::{Session, open, unescape};

/// Launches a provider's view for `user` (optionally on `room`).
async fn launch(t: &TestApp, view: &str, user: &str, query: &str) -> crate::helpers::Reply {
    let header = provider_header(user);
    t.get(
        &format!("/embeddable/visits/{view}{query}"),
        &[
            ("x-integration-user", &header),
            ("accept", "application/json"),
        ],
    )
    .await
}

async fn session(t: &TestApp, view: &str, user: &str) -> Session {
    let r = launch(t, view, user, "?locale=en").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let url = r.json()["iframeUrl"].as_str().expect("url").to_owned();
    assert!(url.contains(&format!("/visits/{view}?session=")), "{url}");
    open(t, &url).await
}

/// The visit ids of an HTML list (`data-visit="…"`), in order, inside the
/// element of `id`.
fn visits_in(html: &str, id: &str) -> Vec<String> {
    let Some(start) = html.find(&format!("id=\"{id}\"")) else {
        return Vec::new();
    };
    let rest = &html[start..];
    let end = rest
        .find("</ol>")
        .or_else(|| rest.find("</ul>"))
        .unwrap_or(rest.len());
    rest[..end]
        .split("data-visit=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_owned())
        .collect()
}

async fn econsult(t: &TestApp, token: &str) -> String {
    let i = intake(t, token, "ECONSULT").await;
    let r = call(
        t,
        Method::POST,
        "/v2/visits/econsult",
        None,
        Some(token),
        &[],
        Some(&json!({"intakeId": i, "roomCode": "clinic"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["visitId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_launch_needs_a_provider_of_the_room() {
    let t = spawn_app().await;
    for view in ["waiting-room", "schedule"] {
        let r = launch(&t, view, "dr-martin", "?roomCode=clinic").await;
        assert_eq!(r.status, 200, "{view}: {}", r.text());
        // A user of the franchise who is no provider of any room.
        let r = launch(&t, view, "someone-else", "").await;
        assert_error(
            &r,
            403,
            "This user is not a provider",
            &format!("/embeddable/visits/{view}"),
        );
        let r = launch(&t, view, "someone-else", "?roomCode=clinic").await;
        assert_eq!(r.status, 403, "{}", r.text());
        // Bad input: a room code that cannot be, no user named.
        let r = launch(&t, view, "dr-martin", "?roomCode=Not%20A%20Code").await;
        assert_eq!(r.status, 400, "{}", r.text());
        let r = t.get(&format!("/embeddable/visits/{view}"), &[]).await;
        assert_eq!(r.status, 400, "{}", r.text());
        // A room this franchise does not have (another franchise's or none).
        let r = launch(&t, view, "dr-martin", "?roomCode=no-such-room").await;
        assert_eq!(r.status, 404, "{}", r.text());
    }
    // Another franchise's key: its franchise has no such room.
    let header = provider_header("dr-martin");
    let r = t
        .send(
            http::Request::builder()
                .uri("/embeddable/visits/waiting-room?roomCode=clinic")
                .header("Api-key", &t.world.other_account_api_key)
                .header("x-integration-user", &header)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
}

#[tokio::test]
async fn the_waiting_room_shows_the_queue_in_order_and_starts_a_visit_with_its_chat() {
    let t = spawn_app().await;
    let (_, ana) = sso(&t, "PV-1").await;
    let (_, bob) = sso(&t, "PV-2").await;
    let first = walkin(&t, &ana).await;
    t.clock.advance_ms(60_000);
    let second = walkin(&t, &bob).await;
    let (id1, id2) = (
        first["visitId"].as_str().unwrap().to_owned(),
        second["visitId"].as_str().unwrap().to_owned(),
    );
    t.clock.advance_ms(4 * 60_000);
    let s = session(&t, "waiting-room", "dr-martin").await;
    assert_eq!(s.ctx["ready"]["view"], "visits/waiting-room");
    assert_eq!(visits_in(&s.html, "queue"), vec![id1.clone(), id2.clone()]);
    assert!(s.html.contains("Sore throat"), "the reason is shown");
    assert!(s.html.contains("waiting 5 min"), "{}", s.html);
    assert!(s.html.contains("data-action=\"visit.start\""));
    assert!(s.html.contains("id=\"embed-live\""), "the live part");

    // Bad input: no visit, an impossible id; another page's id is 404.
    let r = s.act(&t, "visit.start", json!({})).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = s
        .act(&t, "visit.start", json!({"visitId": "no-such-visit"}))
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    let r = s.act(&t, "visit.bogus", json!({"visitId": id1})).await;
    assert_eq!(r.status, 404, "{}", r.text());

    // Start the first: the event, and the room of the visit next.
    let r = s.act(&t, "visit.start", json!({"visitId": id1})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let events = r.json()["events"].as_array().cloned().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["eventType"], "visit");
    assert_eq!(events[0]["status"], "IN_PROGRESS", "{}", events[0]);
    let room = r.json()["location"].as_str().unwrap().to_owned();
    assert!(room.ends_with(&format!("?visitId={id1}")), "{room}");
    // The API sees it started by dr-martin.
    let r = call(
        &t,
        Method::GET,
        &format!("/v2/visits/{id1}"),
        None,
        Some(&ana),
        &[],
        None,
    )
    .await;
    assert_eq!(r.json()["status"], "IN_PROGRESS");
    assert_eq!(r.json()["providerId"], "dr-martin");
    // Again: outside the state machine, 409.
    let r = s.act(&t, "visit.start", json!({"visitId": id1})).await;
    assert_eq!(r.status, 409, "{}", r.text());
    // The queue moved up.
    let r = s.view(&t, "visits/waiting-room").await;
    assert_eq!(visits_in(&r.text(), "queue"), vec![id2.clone()]);
    assert_eq!(visits_in(&r.text(), "in-progress"), vec![id1.clone()]);

    // The room: the chat both ways.
    let r = s.page(&t, &room).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("data-action=\"visit.message\""));
    let r = s
        .act(
            &t,
            "visit.message",
            json!({"visitId": id1, "text": "Hello Ana"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let path = format!("/v2/visits/{id1}/messages");
    let r = call(&t, Method::GET, &path, None, Some(&ana), &[], None).await;
    let items = r.json()["items"].as_array().cloned().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["author"], "PROVIDER");
    assert_eq!(items[0]["text"], "Hello Ana");
    t.clock.advance_ms(1000);
    let r = call(
        &t,
        Method::POST,
        &path,
        None,
        Some(&ana),
        &[],
        Some(&json!({"text": "Hi doctor"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s.page(&t, &room).await;
    assert!(r.text().contains("Hi doctor") && r.text().contains("Hello Ana"));
    // Bad input: an empty or too long message.
    for text in ["", &"x".repeat(2001)] {
        let r = s
            .act(&t, "visit.message", json!({"visitId": id1, "text": text}))
            .await;
        assert_eq!(r.status, 400, "{}", r.text());
    }
    // A message before the visit starts: 409.
    let r = s
        .act(&t, "visit.message", json!({"visitId": id2, "text": "Hi"}))
        .await;
    assert_eq!(r.status, 409, "{}", r.text());

    // Complete; then complete again is 409, a no-show of a walk-in too.
    let r = s.act(&t, "visit.complete", json!({"visitId": id1})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s.act(&t, "visit.complete", json!({"visitId": id1})).await;
    assert_eq!(r.status, 409, "{}", r.text());
    let r = s.act(&t, "visit.no-show", json!({"visitId": id2})).await;
    assert_eq!(r.status, 409, "{}", r.text());
}

#[tokio::test]
async fn of_two_providers_accepting_one_econsult_one_wins() {
    let t = spawn_app().await;
    let (_, ana) = sso(&t, "PV-3").await;
    let id = econsult(&t, &ana).await;
    let a = session(&t, "waiting-room", "dr-martin").await;
    let b = session(&t, "waiting-room", "dr-nguyen").await;
    assert_eq!(visits_in(&a.html, "econsults"), vec![id.clone()]);
    assert!(a.html.contains("data-action=\"visit.accept\""));
    let body = json!({"visitId": id});
    let (ra, rb) = tokio::join!(
        a.act(&t, "visit.accept", body.clone()),
        b.act(&t, "visit.accept", body.clone())
    );
    let mut statuses = [ra.status.as_u16(), rb.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", ra.text(), rb.text());
    let r = a.view(&t, "visits/waiting-room").await;
    assert!(visits_in(&r.text(), "econsults").is_empty());
}

#[tokio::test]
async fn the_schedule_shows_today_and_edits_the_availability() {
    let t = spawn_app().await;
    let s = session(&t, "schedule", "dr-nguyen").await;
    assert!(s.html.contains("data-action=\"availability.set\""));
    assert!(s.html.contains("data-room=\"clinic\""));
    let weekly = json!({"mon": [{"start": "09:00", "end": "12:00"}]}).to_string();
    let exceptions = json!([{"date": "2027-01-04", "spans": []}]).to_string();
    let r = s
        .act(
            &t,
            "availability.set",
            json!({"roomCode": "clinic", "weekly": weekly, "exceptions": exceptions}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let header = provider_header("dr-nguyen");
    let r = call(
        &t,
        Method::GET,
        "/v2/providers/dr-nguyen/availability?roomCode=clinic",
        Some(&t.world.api_key),
        None,
        &[("x-integration-user", &header)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["weekly"],
        json!({"mon": [{"start": "09:00", "end": "12:00"}]})
    );
    assert_eq!(r.json()["exceptions"][0]["date"], "2027-01-04");
    // The editor shows what is stored.
    let r = s.view(&t, "visits/schedule").await;
    assert!(unescape(&r.text()).contains("09:00"), "{}", r.text());
    // Bad input: no JSON, a bad day, a room of nobody's: 400, 400, 404.
    for (body, status) in [
        (json!({"roomCode": "clinic", "weekly": "{not json"}), 400),
        (
            json!({"roomCode": "clinic", "weekly": "{\"xyz\": []}"}),
            400,
        ),
        (json!({"roomCode": "clinic"}), 400),
        (json!({"roomCode": "no-such-room", "weekly": "{}"}), 404),
    ] {
        let r = s.act(&t, "availability.set", body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.text());
    }
    // Nothing was half-written: the stored availability is unchanged.
    let r = call(
        &t,
        Method::GET,
        "/v2/providers/dr-nguyen/availability?roomCode=clinic",
        Some(&t.world.api_key),
        None,
        &[("x-integration-user", &header)],
        None,
    )
    .await;
    assert_eq!(r.json()["exceptions"][0]["date"], "2027-01-04");
}

/// Who may do what: a provider session reaches its rooms' visits only; an
/// employee's session does no provider action; a provider's session no
/// employee action and opens no employee view.
#[tokio::test]
async fn a_provider_session_reaches_its_rooms_only() {
    let t = spawn_app().await;
    // A second room, of dr-nguyen only.
    let r = call(
        &t,
        Method::POST,
        "/v2/rooms",
        Some(&t.world.api_key),
        None,
        &[],
        Some(
            &json!({"code": "annex", "name": {"fr": "Annexe", "en": "Annex"},
                     "providerIds": ["dr-nguyen"], "visitTypes": ["WALKIN", "ECONSULT"]}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let (_, ana) = sso(&t, "PV-4").await;
    let i = call(
        &t,
        Method::POST,
        "/v2/intakes",
        None,
        Some(&ana),
        &[],
        Some(&json!({"reasonForVisit": "Rash", "type": "WALKIN", "roomCode": "annex"})),
    )
    .await;
    assert_eq!(i.status, 201, "{}", i.text());
    let r = call(
        &t,
        Method::POST,
        "/v2/visits/walkin",
        None,
        Some(&ana),
        &[],
        Some(&json!({"intakeId": i.json()["intakeId"]})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let annex_visit = r.json()["visitId"].as_str().unwrap().to_owned();

    let martin = session(&t, "waiting-room", "dr-martin").await;
    // Not a room of hers: the 404 state, and the actions 404.
    let r = martin.view(&t, "visits/waiting-room?roomCode=annex").await;
    assert_eq!(r.status, 404, "{}", r.text());
    let r = martin
        .view(&t, &format!("visits/waiting-room?visitId={annex_visit}"))
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(!r.text().contains("Rash"));
    for act in ["visit.start", "visit.no-show"] {
        let r = martin.act(&t, act, json!({"visitId": annex_visit})).await;
        assert_eq!(r.status, 404, "{act}: {}", r.text());
    }
    let weekly = json!({"mon": []}).to_string();
    let r = martin
        .act(
            &t,
            "availability.set",
            json!({"roomCode": "annex", "weekly": weekly}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    // Hers: shown.
    let nguyen = session(&t, "waiting-room", "dr-nguyen").await;
    let r = nguyen.view(&t, "visits/waiting-room?roomCode=annex").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(visits_in(&r.text(), "queue"), vec![annex_visit.clone()]);
    assert!(r.text().contains("Annex") && r.text().contains("Rash"));

    // A provider's session opens no employee view, takes no employee action.
    for view in [
        "consultation/dashboard",
        "statistics/dashboard",
        "administration/franchise-management",
    ] {
        assert_eq!(martin.view(&t, view).await.status, 403, "{view}");
    }
    let r = martin
        .act(&t, "consultation.create", json!({"patientId": "x"}))
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    // An employee's session (the whole franchise) takes no provider action
    // and opens no provider view.
    let header = provider_header("dr-martin");
    let r = t
        .get(
            "/embeddable/consultation/dashboard?scope=franchise",
            &[
                ("x-integration-user", &header),
                ("accept", "application/json"),
            ],
        )
        .await;
    let employee = open(&t, r.json()["iframeUrl"].as_str().unwrap()).await;
    assert_eq!(employee.view(&t, "visits/waiting-room").await.status, 403);
    let r = employee
        .act(&t, "visit.start", json!({"visitId": annex_visit}))
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    // Another franchise's path does not find the session.
    let other = martin.base.replace("/demo", "/other-franchise");
    let r = crate::pages::act(
        &t,
        &other,
        "visit.start",
        Some(&martin.token),
        json!({"visitId": annex_visit}),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text());
}

//! What time does to visits, with a clock that moves only when told to
//! (both stores): the sweep (the `visit-sweeper` function, the local
//! server's loop) moves the visits nobody reads — a scheduled visit nobody
//! started by its end to `NO_SHOW`, a walk-in still waiting when its room
//! closes and an eConsult nobody accepted in time to `EXPIRED` —, with
//! their events, and leaves the others; a walk-in whose room's hours
//! changed is looked at again later. The patient of a scheduled visit gets
//! its link at booking and its reminders 24 h and 1 h before, each once,
//! from the local scheduler kept in the store: across a restart too; a
//! cancelled visit's reminders are never sent.

use std::sync::Arc;

use http::Method;
use serde_json::{Value, json};
use shared::clock::ManualClock;
use shared::domain::{TenantKey, VisitId};
use shared::lambda::visits::on_input;
use shared::notify::local::LocalNotifier;
use shared::schedule::store::StoreScheduler;
use shared::services::clinic::due::{Swept, sweep};
use shared::store::embedded::EmbeddedStore;
use shared::store::{Store, Write, keys};
use shared::{App, Config};

use crate::clinic::{call, intake, provider_move, sso, walkin};
use crate::helpers::{BASE_URL, START_MS, TestApp, spawn_app, spawn_app_on};

const HOUR: i64 = 3_600_000;

/// The status of a visit as stored (no read lapses it here).
async fn stored_status(store: &dyn Store, id: &str) -> String {
    let key = keys::visit_key(
        &TenantKey::parse("demo").unwrap(),
        &VisitId::parse(id).unwrap(),
    );
    let item = store.get(&key).await.unwrap().expect("the visit");
    item.get_str("status").unwrap().to_owned()
}

/// The visit events written since the app started, as EventBridge
/// envelopes.
fn visit_events(t: &TestApp) -> Vec<Value> {
    t.store
        .written()
        .into_iter()
        .filter_map(|w| match w {
            Write::Put { item, .. } if item.get_str("type") == Some("outbox") => {
                let detail_type = item.get_str("detailType").unwrap_or_default().to_owned();
                let detail = item.attrs.get("detail").cloned().unwrap_or_default();
                let detail: Value = match detail {
                    Value::String(s) => serde_json::from_str(&s).unwrap(),
                    other => other,
                };
                detail_type.starts_with("Visit ").then(
                    || json!({"source": "embedcare", "detail-type": detail_type, "detail": detail}),
                )
            }
            _ => None,
        })
        .collect()
}

/// The event of `id` with this status.
fn event_of(t: &TestApp, id: &str, status: &str) -> Value {
    visit_events(t)
        .into_iter()
        .find(|e| e["detail"]["data"]["visitId"] == id && e["detail"]["status"] == status)
        .unwrap_or_else(|| panic!("no {status} event of {id}"))
}

/// A scheduled visit of the patient of `token` with `provider` at `start`.
async fn book(t: &TestApp, token: &str, provider: &str, start: &str) -> String {
    let i = intake(t, token, "SCHEDULED").await;
    let body = json!({"intakeId": i, "providerId": provider, "start": start});
    let r = call(
        t,
        Method::POST,
        "/v2/visits",
        None,
        Some(token),
        &[],
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["visitId"].as_str().unwrap().to_owned()
}

async fn patch_hours(t: &TestApp, code: &str, hours: Value) {
    let key = Some(t.world.api_key.as_str());
    let path = format!("/v2/rooms/{code}");
    let r = call(
        t,
        Method::PATCH,
        &path,
        key,
        None,
        &[],
        Some(&json!({"hours": hours})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn the_sweep_moves_the_visits_nobody_reads_and_only_those() {
    let t = spawn_app().await;
    let key = Some(t.world.api_key.as_str());
    // Open on Wednesdays (Toronto): at the start, Wednesday 19:00 there, it
    // closes in 5 hours.
    let room = json!({"code": "evening", "name": {"fr": "Soir", "en": "Evening"},
        "visitTypes": ["WALKIN"], "hours": {"wed": [{"start": "00:00", "end": "24:00"}]}});
    let r = call(&t, Method::POST, "/v2/rooms", key, None, &[], Some(&room)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let (patient, token) = sso(&t, "P-1100").await;
    let scheduled = book(&t, &token, "dr-martin", "2026-01-01T01:00:00Z").await;
    let evening_walkin = async |token: &str| {
        let body = json!({"patientId": patient, "reasonForVisit": "x", "type": "WALKIN", "roomCode": "evening"});
        let i = call(&t, Method::POST, "/v2/intakes", key, None, &[], Some(&body)).await;
        let body = json!({"intakeId": i.json()["intakeId"]});
        let r = call(
            &t,
            Method::POST,
            "/v2/visits/walkin",
            None,
            Some(token),
            &[],
            Some(&body),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["visitId"].as_str().unwrap().to_owned()
    };
    let evening = evening_walkin(&token).await;
    let always = walkin(&t, &token).await["visitId"]
        .as_str()
        .unwrap()
        .to_owned();
    let started = walkin(&t, &token).await["visitId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        provider_move(&t, &started, "start", "dr-martin")
            .await
            .status,
        200
    );
    let i = intake(&t, &token, "ECONSULT").await;
    let body = json!({"intakeId": i, "roomCode": "clinic"});
    let r = call(
        &t,
        Method::POST,
        "/v2/visits/econsult",
        None,
        Some(&token),
        &[],
        Some(&body),
    )
    .await;
    let econsult = r.json()["visitId"].as_str().unwrap().to_owned();

    // Nothing is due yet.
    assert_eq!(sweep(&t.app, None).await.unwrap(), Swept::default());
    // Past the scheduled visit's end: a no-show, with its event.
    t.clock.advance_ms(2 * HOUR);
    let s = sweep(&t.app, None).await.unwrap();
    assert_eq!((s.lapsed, s.failed), (1, 0), "{s:?}");
    assert_eq!(stored_status(t.store.as_ref(), &scheduled).await, "NO_SHOW");
    let e = event_of(&t, &scheduled, "NO_SHOW");
    assert_eq!(e["detail-type"], "Visit Updated");
    assert_eq!(e["detail"]["data"]["previousStatus"], "SCHEDULED");
    assert_eq!(stored_status(t.store.as_ref(), &evening).await, "WAITING");
    // The evening room closes: its walk-in expires; the others wait on.
    t.clock.advance_ms(3 * HOUR);
    let s = sweep(&t.app, None).await.unwrap();
    assert_eq!((s.lapsed, s.failed), (1, 0), "{s:?}");
    assert_eq!(stored_status(t.store.as_ref(), &evening).await, "EXPIRED");
    event_of(&t, &evening, "EXPIRED");
    assert_eq!(stored_status(t.store.as_ref(), &always).await, "WAITING");
    assert_eq!(
        stored_status(t.store.as_ref(), &started).await,
        "IN_PROGRESS"
    );
    // Done tasks are gone: the next sweep finds nothing.
    assert_eq!(sweep(&t.app, None).await.unwrap(), Swept::default());
    // Three days on: the eConsult nobody accepted expires.
    t.clock.advance_ms(67 * HOUR);
    let s = sweep(&t.app, None).await.unwrap();
    assert_eq!(stored_status(t.store.as_ref(), &econsult).await, "EXPIRED");
    assert_eq!((s.lapsed, s.failed), (1, 0), "{s:?}");

    // A room whose hours change before it closes: its walk-in is looked at
    // again at its closing, still waiting, and armed for later. It is now
    // Saturday 19:00 in Toronto.
    patch_hours(
        &t,
        "evening",
        json!({"sat": [{"start": "00:00", "end": "24:00"}]}),
    )
    .await;
    let (_, token) = sso(&t, "P-1100").await;
    let late = evening_walkin(&token).await;
    patch_hours(&t, "evening", Value::Null).await;
    t.clock.advance_ms(5 * HOUR);
    let s = sweep(&t.app, None).await.unwrap();
    assert_eq!((s.lapsed, s.rearmed, s.failed), (0, 1, 0), "{s:?}");
    assert_eq!(stored_status(t.store.as_ref(), &late).await, "WAITING");
    assert_eq!(sweep(&t.app, None).await.unwrap(), Swept::default());
    // Closed again. A week after it joined, the walk-in of the room open
    // around the clock is looked at again, and waits on; a week after its
    // first look, the other expires.
    patch_hours(
        &t,
        "evening",
        json!({"mon": [{"start": "09:00", "end": "10:00"}]}),
    )
    .await;
    t.clock.advance_ms(91 * HOUR);
    let s = sweep(&t.app, None).await.unwrap();
    assert_eq!((s.lapsed, s.rearmed, s.failed), (0, 1, 0), "{s:?}");
    assert_eq!(stored_status(t.store.as_ref(), &always).await, "WAITING");
    assert_eq!(stored_status(t.store.as_ref(), &late).await, "WAITING");
    t.clock.advance_ms(77 * HOUR);
    let s = sweep(&t.app, None).await.unwrap();
    assert_eq!((s.lapsed, s.rearmed, s.failed), (1, 0, 0), "{s:?}");
    assert_eq!(stored_status(t.store.as_ref(), &late).await, "EXPIRED");
}

#[tokio::test]
async fn reminders_are_sent_once_each_by_the_local_scheduler_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let clock = ManualClock::new(START_MS);
    let store = EmbeddedStore::open(&path, Arc::new(clock.clone())).unwrap();
    let t = spawn_app_on(Arc::new(store), clock.clone()).await;
    let (_, token) = sso(&t, "P-1200").await;
    // 30 hours ahead (01:00 in Toronto), and another to be cancelled.
    let kept = book(&t, &token, "dr-nguyen", "2026-01-02T06:00:00Z").await;
    let dropped = book(&t, &token, "dr-nguyen", "2026-01-02T08:00:00Z").await;
    let notifier = LocalNotifier::default();
    let scheduler = StoreScheduler::new(t.app.store.clone());
    let created = event_of(&t, &kept, "SCHEDULED");
    let r = on_input(&t.app, &scheduler, &notifier, &created)
        .await
        .unwrap();
    assert_eq!(r, json!({"done": "booked", "sent": true, "reminders": 2}));
    // The event delivered again: nothing sent twice, the same reminders.
    let r = on_input(&t.app, &scheduler, &notifier, &created)
        .await
        .unwrap();
    assert_eq!(r, json!({"done": "booked", "sent": false, "reminders": 2}));
    let sent = notifier.messages();
    assert_eq!(sent.len(), 1);
    let m = &sent[0].1;
    assert_eq!(m.to, "ana@example.com");
    assert!(
        m.link.starts_with(&format!(
            "{BASE_URL}/members/appointment/{kept}?token=demo."
        )),
        "{}",
        m.link
    );
    assert!(m.subject.contains("2026-01-02 01:00"), "{}", m.subject);
    assert!(m.text.contains(&m.link));
    // The other: booked, then cancelled: its reminders go.
    let e = event_of(&t, &dropped, "SCHEDULED");
    on_input(&t.app, &scheduler, &notifier, &e).await.unwrap();
    let r = call(
        &t,
        Method::POST,
        &format!("/v2/visits/{dropped}/cancel"),
        None,
        Some(&token),
        &[],
        None,
    )
    .await;
    assert_eq!(r.json()["status"], "CANCELLED", "{}", r.text());
    let e = event_of(&t, &dropped, "CANCELLED");
    let r = on_input(&t.app, &scheduler, &notifier, &e).await.unwrap();
    assert_eq!(r, json!({"done": "unscheduled"}));
    // Another franchise's event or any other event is ignored.
    let other = json!({"detail-type": "Consultation Created", "detail": {}});
    assert_eq!(
        on_input(&t.app, &scheduler, &notifier, &other)
            .await
            .unwrap(),
        json!({"done": "ignored"})
    );
    assert_eq!(notifier.messages().len(), 2);

    // 24 hours before: the first reminder, once.
    t.clock.advance_ms(6 * HOUR);
    let s = sweep(&t.app, Some(&notifier)).await.unwrap();
    assert_eq!((s.reminded, s.failed), (1, 0), "{s:?}");
    let sent = notifier.messages();
    assert_eq!(sent.len(), 3);
    assert!(sent[2].1.subject.contains("2026-01-02 01:00"));
    assert!(sent[2].1.link.contains(&kept));

    // A restart: the process and its memory are gone, the store is not.
    drop((t, scheduler));
    let store = EmbeddedStore::open(&path, Arc::new(clock.clone())).unwrap();
    let app = App::new(
        Arc::new(store),
        Arc::new(clock.clone()),
        Config::new(BASE_URL),
    );
    let notifier = LocalNotifier::default();
    assert_eq!(
        sweep(&app, Some(&notifier)).await.unwrap(),
        Swept::default()
    );
    // 1 hour before: the second reminder, once; the cancelled visit's never.
    clock.advance_ms(23 * HOUR);
    let s = sweep(&app, Some(&notifier)).await.unwrap();
    assert_eq!((s.reminded, s.failed), (1, 0), "{s:?}");
    clock.advance_ms(2 * HOUR);
    let s = sweep(&app, Some(&notifier)).await.unwrap();
    assert_eq!((s.reminded, s.lapsed, s.failed), (0, 1, 0), "{s:?}");
    let sent = notifier.messages();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].1.link.contains(&kept));
    assert_eq!(stored_status(app.store.as_ref(), &kept).await, "NO_SHOW");
}

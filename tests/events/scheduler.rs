//! Reminders under moto's EventBridge Scheduler: the visit notifier (the
//! same code as the `visit-notifier` function) reacts to a scheduled
//! visit's `Visit Created` with the booking's e-mail and one one-shot
//! schedule per reminder still ahead (`at(…)` in UTC, deleted after it ran,
//! in the stack's group, invoking the notifier with ids only, under the
//! scheduler's role); delivered twice, it makes the same two; `Visit
//! Updated` to `CANCELLED` deletes them, twice without error.

use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use shared::clock::{SystemClock, iso_ms};
use shared::domain::{TenantKey, VisitId};
use shared::lambda::visits::on_input;
use shared::notify::local::LocalNotifier;
use shared::schedule::eventbridge::{EventBridgeScheduler, ScheduleTarget, at_expression};
use shared::schedule::{Reminder, ReminderKind, schedule_name};
use shared::services::demo;
use shared::{App, Config};
use tower::ServiceExt;

use crate::{dynamo, sdk};

const TARGET: &str = "arn:aws:lambda:us-east-1:123456789012:function:visit-notifier";
const ROLE: &str = "arn:aws:iam::123456789012:role/embedcare-scheduler";

async fn send(
    router: &axum::Router,
    method: Method,
    path: &str,
    auth: (&str, &str),
    body: Value,
) -> Value {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(auth.0, auth.1)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let r = router.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

async fn names(client: &aws_sdk_scheduler::Client, group: &str) -> Vec<String> {
    let mut out: Vec<String> = client
        .list_schedules()
        .group_name(group)
        .send()
        .await
        .unwrap()
        .schedules()
        .iter()
        .filter_map(|s| s.name().map(str::to_owned))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_booking_makes_one_schedule_per_reminder_and_a_cancel_deletes_them() {
    let client = sdk(|c| aws_sdk_scheduler::Client::new(&c));
    let group = format!("embedcare-{}", uuid::Uuid::new_v4().simple());
    client
        .create_schedule_group()
        .name(&group)
        .send()
        .await
        .unwrap();
    let scheduler = EventBridgeScheduler::new(
        client.clone(),
        ScheduleTarget {
            group: group.clone(),
            target_arn: TARGET.into(),
            role_arn: ROLE.into(),
        },
    );
    let clock = Arc::new(SystemClock);
    let (store, _) = dynamo::store(clock.clone()).await;
    let app = App::new(
        Arc::new(store),
        clock,
        Config::new("https://app.embedcare.test"),
    );
    let world = demo::seed(&app, &[]).await.unwrap();
    let router = shared::http::app_router(app.clone());

    // A patient books a slot two days ahead (on the 15-minute grid).
    let quarter = 15 * 60_000;
    let start = (app.now_ms() / quarter + 2 * 24 * 4) * quarter;
    let key = ("Api-key", world.api_key.as_str());
    let sso = send(&router, Method::POST, "/v2/patients/sso", key, json!({"patient": {
        "keys": [{"subSystem": "portal", "key": "sched-1"}], "firstName": "Ana", "lastName": "Lopez",
        "email": "ana@example.com"}})).await;
    let bearer = format!("Bearer {}", sso["token"]["token"].as_str().unwrap());
    let auth = ("authorization", bearer.as_str());
    let intake = send(
        &router,
        Method::POST,
        "/v2/intakes",
        auth,
        json!({"reasonForVisit": "x", "type": "SCHEDULED", "roomCode": "clinic"}),
    )
    .await;
    let visit = send(
        &router,
        Method::POST,
        "/v2/visits",
        auth,
        json!({"intakeId": intake["intakeId"],
        "providerId": "dr-nguyen", "start": iso_ms(start)}),
    )
    .await;
    let id = visit["visitId"].as_str().unwrap().to_owned();
    let event = |detail_type: &str, status: &str| {
        json!({"source": "embedcare", "detail-type": detail_type, "detail": {"tenantKey": "demo",
            "status": status, "data": {"visitId": id, "type": "SCHEDULED"}}})
    };

    let notifier = LocalNotifier::default();
    let created = event("Visit Created", "SCHEDULED");
    let r = on_input(&app, &scheduler, &notifier, &created)
        .await
        .unwrap();
    assert_eq!(r, json!({"done": "booked", "sent": true, "reminders": 2}));
    let (tenant, vid) = (
        TenantKey::parse("demo").unwrap(),
        VisitId::parse(&id).unwrap(),
    );
    let mut expected: Vec<String> = ReminderKind::ALL
        .iter()
        .map(|k| schedule_name(&tenant, &vid, *k))
        .collect();
    expected.sort();
    assert_eq!(names(&client, &group).await, expected);
    for kind in ReminderKind::ALL {
        let s = client
            .get_schedule()
            .group_name(&group)
            .name(schedule_name(&tenant, &vid, kind))
            .send()
            .await
            .unwrap();
        assert_eq!(
            s.schedule_expression(),
            Some(at_expression(start - kind.before_ms()).as_str())
        );
        assert_eq!(s.schedule_expression_timezone(), Some("UTC"));
        assert_eq!(
            s.action_after_completion().map(|a| a.as_str()),
            Some("DELETE")
        );
        let target = s.target().unwrap();
        assert_eq!((target.arn(), target.role_arn()), (TARGET, ROLE));
        let input: Value = serde_json::from_str(target.input().unwrap()).unwrap();
        let reminder = Reminder {
            tenant: tenant.clone(),
            visit_id: vid.clone(),
            kind,
            at: 0,
        };
        assert_eq!(input, reminder.payload(), "ids only");
        assert!(!input.to_string().contains("ana@"));
    }
    // Delivered again: the same two schedules, no second e-mail.
    let r = on_input(&app, &scheduler, &notifier, &created)
        .await
        .unwrap();
    assert_eq!(r, json!({"done": "booked", "sent": false, "reminders": 2}));
    assert_eq!(names(&client, &group).await, expected);
    assert_eq!(notifier.messages().len(), 1);
    // A reminder's timer fires: the notifier sends it, once.
    let fired = Reminder {
        tenant: tenant.clone(),
        visit_id: vid.clone(),
        kind: ReminderKind::DayBefore,
        at: 0,
    }
    .payload();
    let r = on_input(&app, &scheduler, &notifier, &fired).await.unwrap();
    assert_eq!(r, json!({"reminder": "24h", "sent": true}));
    let r = on_input(&app, &scheduler, &notifier, &fired).await.unwrap();
    assert_eq!(r, json!({"reminder": "24h", "sent": false}));
    assert_eq!(notifier.messages().len(), 2);

    // Cancelled: both schedules go; delivered again, nothing fails.
    send(
        &router,
        Method::POST,
        &format!("/v2/visits/{id}/cancel"),
        auth,
        json!({}),
    )
    .await;
    let cancelled = event("Visit Updated", "CANCELLED");
    for _ in 0..2 {
        let r = on_input(&app, &scheduler, &notifier, &cancelled)
            .await
            .unwrap();
        assert_eq!(r, json!({"done": "unscheduled"}));
        assert!(names(&client, &group).await.is_empty());
    }
    // Its timer, had it fired anyway, sends nothing.
    let r = on_input(&app, &scheduler, &notifier, &fired).await.unwrap();
    assert_eq!(r, json!({"reminder": "24h", "sent": false}));
}

//! The patient side's functions, as Lambda runs them, on moto: each HTTP
//! function answers API Gateway events of its routes (the vendor's server
//! with its key, the patient's browser with its token and CORS, the
//! patient app's pages); the `visit-notifier` takes a `Visit Created`
//! envelope of EventBridge (the booking's e-mail through SES, one schedule
//! per reminder in moto's EventBridge Scheduler) and then the input a
//! schedule hands its target (the reminder, e-mailed once), and a `Visit
//! Updated` that cancels (the schedules deleted); the `visit-sweeper` takes
//! its schedule's event and moves a visit nobody joined to `NO_SHOW`.

use std::sync::Arc;

use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use shared::clock::{Clock, ManualClock, SystemClock, iso_ms};
use shared::services::demo;
use shared::store::dynamodb::DynamoStore;
use shared::{App, Config};
use tower::ServiceExt;

use super::{BASE_URL, Function, body_json, build, dynamo, sdk_config, seeded_table};

const ORIGIN: &str = "https://vendor.example.com";
const QUARTER: i64 = 15 * 60_000;

fn provider(id: &str) -> String {
    STANDARD.encode(json!({"userId": id}).to_string())
}

/// A JSON call through a router in this process (the setup, not under test).
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
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_patient_side_answers_api_gateway_events_as_lambda_runs_them() {
    let bins = build(&[
        "patient-sso",
        "rooms",
        "providers",
        "intakes",
        "visits",
        "patient-app",
    ]);
    let (table, world) = seeded_table().await;
    let key = json!({"api-key": world.api_key, "content-type": "application/json"});

    // patient-sso: the vendor's server gets a token for its patient.
    let mut sso = Function::start(&bins[0], &table).await;
    let body = r#"{"patient":{"keys":[{"subSystem":"portal","key":"lambda-p1"}],"firstName":"Ana","lastName":"Lopez","email":"ana.lambda@example.com"}}"#;
    let r = sso
        .invoke("POST", "/v2/patients/sso", key.clone(), Some(body))
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    let token = body_json(&r)["token"]["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("demo."));
    let bearer = json!({"authorization": format!("Bearer {token}"), "content-type": "application/json", "origin": ORIGIN});
    // Its preflight (the OPTIONS route): the franchise's origin, never another.
    let r = sso
        .invoke(
            "OPTIONS",
            "/v2/patients/logout",
            json!({"origin": ORIGIN, "access-control-request-method": "POST"}),
            None,
        )
        .await;
    assert_eq!(r["statusCode"], 204, "{r}");
    assert_eq!(r["headers"]["access-control-allow-origin"], ORIGIN);
    let r = sso
        .invoke(
            "OPTIONS",
            "/v2/patients/logout",
            json!({"origin": "https://evil.example", "access-control-request-method": "POST"}),
            None,
        )
        .await;
    assert!(
        r["headers"].get("access-control-allow-origin").is_none(),
        "{r}"
    );
    let r = sso
        .invoke(
            "POST",
            "/v2/patients/sso",
            json!({"api-key": "nope", "content-type": "application/json"}),
            Some(body),
        )
        .await;
    assert_eq!(r["statusCode"], 401);
    assert_eq!(body_json(&r)["path"], "/v2/patients/sso");
    let logs = sso.logs();
    for personal in ["Ana", "Lopez", "ana.lambda@", "lambda-p1", token.as_str()] {
        assert!(!logs.contains(personal), "{personal} in the logs");
    }

    // rooms: the public read, and the free slots of a provider.
    let mut rooms = Function::start(&bins[1], &table).await;
    let r = rooms
        .invoke(
            "GET",
            "/v2/rooms/clinic",
            json!({"x-tenant-key": "demo"}),
            None,
        )
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    assert!(
        body_json(&r).get("providerIds").is_none(),
        "public fields only"
    );
    let now = shared::clock::Clock::now_ms(&SystemClock);
    let from = (now / QUARTER + 8) * QUARTER;
    let q = format!(
        "/v2/availability?roomCode=clinic&providerId=dr-nguyen&from={}&to={}",
        iso_ms(from),
        iso_ms(from + 3_600_000)
    );
    let r = rooms
        .invoke("GET", &q, json!({"api-key": world.api_key}), None)
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    assert!(r["body"].as_str().unwrap().contains(&iso_ms(from)), "{r}");

    // providers: the franchise's providers (a listing by index).
    let mut providers = Function::start(&bins[2], &table).await;
    let r = providers
        .invoke(
            "GET",
            "/v2/providers",
            json!({"api-key": world.api_key}),
            None,
        )
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    assert!(r["body"].as_str().unwrap().contains("dr-nguyen"), "{r}");

    // intakes: from the patient's browser (its token, CORS for its franchise).
    let mut intakes = Function::start(&bins[3], &table).await;
    let r = intakes
        .invoke(
            "POST",
            "/v2/intakes",
            bearer.clone(),
            Some(r#"{"reasonForVisit":"Sore throat","type":"WALKIN","roomCode":"clinic"}"#),
        )
        .await;
    assert_eq!(r["statusCode"], 201, "{r}");
    assert_eq!(r["headers"]["access-control-allow-origin"], ORIGIN);
    let intake = body_json(&r)["intakeId"].as_str().unwrap().to_owned();
    let r = intakes
        .invoke(
            "GET",
            &format!("/v2/intakes/{intake}"),
            bearer.clone(),
            None,
        )
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");

    // visits: the walk-in, a provider's start (its own route), the chat.
    let mut visits = Function::start(&bins[4], &table).await;
    let walkin = json!({"intakeId": intake}).to_string();
    let r = visits
        .invoke("POST", "/v2/visits/walkin", bearer.clone(), Some(&walkin))
        .await;
    assert_eq!(r["statusCode"], 201, "{r}");
    let v = body_json(&r);
    assert_eq!(v["status"], "WAITING");
    let id = v["visitId"].as_str().unwrap().to_owned();
    let as_provider =
        json!({"api-key": world.api_key, "x-integration-user": provider("dr-nguyen")});
    let r = visits
        .invoke(
            "POST",
            &format!("/v2/visits/{id}/start"),
            as_provider.clone(),
            None,
        )
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    assert_eq!(body_json(&r)["status"], "IN_PROGRESS");
    let r = visits
        .invoke("POST", &format!("/v2/visits/{id}/start"), as_provider, None)
        .await;
    assert_eq!(r["statusCode"], 409, "a move outside the state machine");
    let r = visits
        .invoke(
            "POST",
            &format!("/v2/visits/{id}/messages"),
            bearer.clone(),
            Some(r#"{"text":"Hello from the patient"}"#),
        )
        .await;
    assert!(r["statusCode"] == 201 || r["statusCode"] == 200, "{r}");
    let r = visits
        .invoke(
            "GET",
            &format!("/v2/visits/{id}/messages"),
            bearer.clone(),
            None,
        )
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    assert!(
        r["body"]
            .as_str()
            .unwrap()
            .contains("Hello from the patient")
    );
    let r = visits
        .invoke(
            "OPTIONS",
            &format!("/v2/visits/{id}/messages"),
            json!({"origin": ORIGIN, "access-control-request-method": "POST"}),
            None,
        )
        .await;
    assert_eq!(r["statusCode"], 204, "{r}");
    assert_eq!(r["headers"]["access-control-allow-origin"], ORIGIN);
    let logs = visits.logs();
    assert!(
        !logs.contains("Hello from the patient"),
        "a chat message in the logs"
    );

    // patient-app: the shell of /auth (it redeems nothing), the sign-in
    // (its POST) and the script.
    let mut app_fn = Function::start(&bins[5], &table).await;
    let r = app_fn
        .invoke(
            "GET",
            &format!("/auth?sso_token={token}&next=/u/clinic"),
            json!({}),
            None,
        )
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    assert_eq!(r["headers"]["referrer-policy"], "no-referrer");
    assert!(
        !r["body"].as_str().unwrap().contains(&token),
        "the shell echoes nothing"
    );
    let form = format!("sso_token={token}&next=%2Fu%2Fclinic");
    let r = app_fn
        .invoke(
            "POST",
            "/auth",
            json!({"content-type": "application/x-www-form-urlencoded"}),
            Some(&form),
        )
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    assert!(
        r["headers"]["content-security-policy"]
            .as_str()
            .unwrap()
            .contains(&format!("frame-ancestors {ORIGIN}"))
    );
    let r = app_fn
        .invoke("GET", &format!("/visits/{id}"), json!({}), None)
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    let r = app_fn
        .invoke("GET", "/clinic/static/clinic.js", json!({}), None)
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
}

/// A scheduled visit two days ahead, booked through the routers in this
/// process: (the app, the router, the patient's bearer, the visit id).
async fn booked(
    store: DynamoStore,
    start: i64,
) -> (shared::AppState, axum::Router, String, String) {
    let clock = Arc::new(SystemClock);
    let app = App::new(Arc::new(store), clock, Config::new(BASE_URL));
    let world = demo::seed(&app, &[]).await.unwrap();
    let router = shared::http::app_router(app.clone());
    let key = ("Api-key", world.api_key.as_str());
    let sso = send(&router, Method::POST, "/v2/patients/sso", key, json!({"patient": {
        "keys": [{"subSystem": "portal", "key": "notify-1"}], "firstName": "Ana", "lastName": "Lopez",
        "email": "ana.notify@example.com"}})).await;
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
        json!({"intakeId": intake["intakeId"], "providerId": "dr-nguyen", "start": iso_ms(start)}),
    )
    .await;
    let id = visit["visitId"].as_str().unwrap().to_owned();
    (app, router, bearer, id)
}

async fn schedules(client: &aws_sdk_scheduler::Client, group: &str) -> Vec<String> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_visit_notifier_runs_on_visit_events_and_reminders_as_lambda_runs_it() {
    let bins = build(&["visit-notifier"]);
    let clock = Arc::new(SystemClock);
    let (store, _) = dynamo::store(clock.clone()).await;
    let table = store.table().to_owned();
    let start = (clock.now_ms() / QUARTER + 2 * 24 * 4) * QUARTER;
    let (_app, router, bearer, id) = booked(store, start).await;

    // moto: the stack's schedule group, a verified sender.
    let conf = sdk_config();
    let scheduler = aws_sdk_scheduler::Client::new(&conf);
    let group = format!("embedcare-{}-visits", uuid::Uuid::new_v4().simple());
    scheduler
        .create_schedule_group()
        .name(&group)
        .send()
        .await
        .unwrap();
    aws_sdk_sesv2::Client::new(&conf)
        .create_email_identity()
        .email_identity("care@clinic.example")
        .send()
        .await
        .unwrap();
    let target = "arn:aws:lambda:us-east-1:123456789012:function:embedcare-visit-notifier";
    let role = "arn:aws:iam::123456789012:role/embedcare-scheduler";
    let mut notifier = Function::start_with(
        &bins[0],
        &table,
        &[
            ("EMBEDCARE_SES_SENDER", "care@clinic.example"),
            ("EMBEDCARE_SCHEDULE_GROUP", &group),
            ("EMBEDCARE_SCHEDULE_TARGET_ARN", target),
            ("EMBEDCARE_SCHEDULER_ROLE_ARN", role),
        ],
    )
    .await;

    // The rule's target: an EventBridge envelope of the visit's event.
    let envelope = |detail_type: &str, status: &str| {
        json!({"version": "0", "id": uuid::Uuid::new_v4().to_string(), "detail-type": detail_type,
            "source": "embedcare", "account": "123456789012", "time": "2026-11-21T06:00:00Z",
            "region": "us-east-1", "resources": [],
            "detail": {"id": "e-1", "eventType": "visit", "operation": "create", "tenantKey": "demo",
                "status": status, "data": {"visitId": id, "type": "SCHEDULED", "previousStatus": null, "version": 1}}})
    };
    let r = notifier
        .invoke_raw(envelope("Visit Created", "SCHEDULED"))
        .await;
    assert_eq!(
        r,
        json!({"done": "booked", "sent": true, "reminders": 2}),
        "{r}"
    );
    let names = schedules(&scheduler, &group).await;
    assert_eq!(names.len(), 2, "{names:?}");

    // The schedules' target: what EventBridge Scheduler invokes it with is
    // the schedule's input, as it is (ids only).
    let day_before = names
        .iter()
        .find(|n| n.starts_with("visit-24h-"))
        .expect("the 24 h reminder");
    let s = scheduler
        .get_schedule()
        .group_name(&group)
        .name(day_before)
        .send()
        .await
        .unwrap();
    let t = s.target().unwrap();
    assert_eq!((t.arn(), t.role_arn()), (target, role));
    let input: Value = serde_json::from_str(t.input().unwrap()).unwrap();
    assert!(!input.to_string().contains("ana.notify"), "ids only");
    let r = notifier.invoke_raw(input.clone()).await;
    assert_eq!(r, json!({"reminder": "24h", "sent": true}), "{r}");
    // Fired twice (at least once): sent once.
    let r = notifier.invoke_raw(input.clone()).await;
    assert_eq!(r, json!({"reminder": "24h", "sent": false}), "{r}");

    // Cancelled: its schedules are deleted.
    let auth = ("authorization", bearer.as_str());
    send(
        &router,
        Method::POST,
        &format!("/v2/visits/{id}/cancel"),
        auth,
        json!({}),
    )
    .await;
    let r = notifier
        .invoke_raw(envelope("Visit Updated", "CANCELLED"))
        .await;
    assert_eq!(r, json!({"done": "unscheduled"}), "{r}");
    assert!(schedules(&scheduler, &group).await.is_empty());
    // A reminder that fires anyway sends nothing.
    let r = notifier.invoke_raw(input).await;
    assert_eq!(r, json!({"reminder": "24h", "sent": false}), "{r}");
    let logs = notifier.logs();
    for personal in ["Ana", "Lopez", "ana.notify@example.com", "notify-1"] {
        assert!(
            !logs.contains(personal),
            "{personal} in the notifier's logs"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_visit_sweeper_runs_on_its_schedule_as_lambda_runs_it() {
    use shared::domain::{TenantKey, VisitId};
    use shared::store::Store;

    let bins = build(&["visit-sweeper"]);
    // Booked four hours ago (a clock of the past), for an hour later:
    // nobody joined, and its end has passed.
    let now = SystemClock.now_ms();
    let then = ManualClock::new(now - 4 * 3_600_000);
    let (store, _) = dynamo::store(Arc::new(then.clone())).await;
    let table = store.table().to_owned();
    let reader = store.clone();
    let app = App::new(
        Arc::new(store),
        Arc::new(then.clone()),
        Config::new(BASE_URL),
    );
    let world = demo::seed(&app, &[]).await.unwrap();
    let router = shared::http::app_router(app.clone());
    let key = ("Api-key", world.api_key.as_str());
    let sso = send(&router, Method::POST, "/v2/patients/sso", key, json!({"patient": {
        "keys": [{"subSystem": "portal", "key": "sweep-1"}], "firstName": "Ana", "lastName": "Lopez"}})).await;
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
    let start = (then.now_ms() / QUARTER + 4) * QUARTER;
    let visit = send(
        &router,
        Method::POST,
        "/v2/visits",
        auth,
        json!({"intakeId": intake["intakeId"], "providerId": "dr-nguyen", "start": iso_ms(start)}),
    )
    .await;
    assert_eq!(visit["status"], "SCHEDULED");
    let id = visit["visitId"].as_str().unwrap().to_owned();

    let mut sweeper = Function::start(&bins[0], &table).await;
    let scheduled = json!({"version": "0", "id": "1", "detail-type": "Scheduled Event",
        "source": "aws.events", "time": "2026-11-21T06:00:00Z", "detail": {}});
    let r = sweeper.invoke_raw(scheduled.clone()).await;
    assert_eq!(r["lapsed"], 1, "{r}");
    assert_eq!(r["failed"], 0, "{r}");
    let key = shared::store::keys::visit_key(
        &TenantKey::parse("demo").unwrap(),
        &VisitId::parse(&id).unwrap(),
    );
    let item = reader.get(&key).await.unwrap().expect("the visit");
    assert_eq!(
        item.attrs.get("status").and_then(|s| s.as_str()),
        Some("NO_SHOW"),
        "{:?}",
        item.attrs
    );
    // Its task is done: the next run finds nothing.
    let r = sweeper.invoke_raw(scheduled).await;
    assert_eq!(r["lapsed"], 0, "{r}");
}

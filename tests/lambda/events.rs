//! Events for vendors outside AWS, as Lambda runs them, on moto: an event
//! on the bus reaches the events queue through the rule; the
//! `event-dispatcher` binary takes that SQS event, leaves a webhook attempt
//! on the work queue, takes it in turn and delivers it, signed, to a local
//! receiver (and reports a failed attempt for a later retry, its message
//! hidden meanwhile); the `event-stream` binary takes the WebSocket API's
//! `$connect`, `$default` and `$disconnect` events, and the frames of the
//! stream are posted through moto's API Gateway Management API.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use shared::clock::SystemClock;
use shared::domain::TenantKey;
use shared::events::BusEntry;
use shared::events::EventBus;
use shared::events::eventbridge::EventBridgeBus;
use shared::services::{demo, dispatch, event_list, event_queues, webhooks};
use shared::{App, AppState, Config};

use super::{BASE_URL, Function, build, dynamo, sdk_config};

/// One request a local server received.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub(super) method: Method,
    pub(super) path: String,
    headers: HeaderMap,
    pub(super) body: Bytes,
}

#[derive(Clone, Default)]
pub(super) struct Recorder {
    pub(super) seen: Arc<Mutex<Vec<Seen>>>,
    /// Where to forward (moto), if anywhere.
    pub(super) forward: Option<String>,
}

async fn record(
    State(r): State<Recorder>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    r.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        path: uri.path().to_owned(),
        headers: headers.clone(),
        body: body.clone(),
    });
    let Some(to) = &r.forward else {
        // The vendor: `/fail` fails, the rest is fine.
        return if uri.path() == "/fail" {
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        } else {
            StatusCode::OK.into_response()
        };
    };
    let mut req = reqwest::Client::new()
        .request(method, format!("{to}{uri}"))
        .body(body);
    for (k, v) in &headers {
        if k != "host" && k != "content-length" {
            req = req.header(k, v);
        }
    }
    match req.send().await {
        Ok(res) => {
            let status = StatusCode::from_u16(res.status().as_u16()).unwrap();
            (status, res.bytes().await.unwrap_or_default()).into_response()
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

pub(super) async fn server(recorder: Recorder) -> String {
    let app = axum::Router::new().fallback(record).with_state(recorder);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// An SQS queue on moto: (url, arn).
async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn_attr = aws_sdk_sqs::types::QueueAttributeName::QueueArn;
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(arn_attr.clone())
        .send()
        .await
        .unwrap();
    let arn = attrs.attributes.unwrap()[&arn_attr].clone();
    (url, arn)
}

/// Every message visible on a queue now, as the SQS event Lambda would get.
async fn sqs_event(sqs: &aws_sdk_sqs::Client, url: &str, arn: &str) -> (Value, Vec<Value>) {
    let mut records = Vec::new();
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() && !records.is_empty() {
            break;
        }
        for m in messages {
            let body = m.body.clone().unwrap_or_default();
            bodies.push(serde_json::from_str(&body).unwrap());
            records.push(json!({
                "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": body,
                "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "us-east-1"
            }));
        }
    }
    (json!({ "Records": records }), bodies)
}

/// An app on the functions' table, with their deployment secret (what it
/// seals, a webhook secret, they open).
async fn app_on(table_store: shared::store::dynamodb::DynamoStore) -> AppState {
    let mut config = Config::new(BASE_URL);
    config.webhook_allow_loopback = true;
    config.secret = shared::crypto::Secret::new(super::SECRET.as_bytes().to_vec()).unwrap();
    App::new(Arc::new(table_store), Arc::new(SystemClock), config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_run_from_the_bus_through_sqs_and_the_dispatcher() {
    let bins = build(&["event-dispatcher"]);
    let (store, _) = dynamo::store(Arc::new(SystemClock)).await;
    let table = store.table().to_owned();
    let app = app_on(store).await;
    let world = demo::seed(&app, &[]).await.unwrap();
    let tenant = TenantKey::parse("demo").unwrap();
    let vendor = Recorder::default();
    let vendor_url = server(vendor.clone()).await;
    let types = ["consultation.*".to_owned()];
    let (ok_url, fail_url) = (format!("{vendor_url}/ok"), format!("{vendor_url}/fail"));
    let new = |url| webhooks::NewEndpoint {
        url,
        event_types: &types,
        description: None,
    };
    let (_, secret) = webhooks::create_endpoint(&app, &tenant, new(&ok_url))
        .await
        .unwrap();
    webhooks::create_endpoint(&app, &tenant, new(&fail_url))
        .await
        .unwrap();

    // moto: the bus, the rule to the events queue, the work queue.
    let conf = sdk_config();
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let events = aws_sdk_eventbridge::Client::new(&conf);
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (events_url, events_arn) = queue(&sqs, &format!("events-{suffix}")).await;
    let (work_url, work_arn) = queue(&sqs, &format!("work-{suffix}")).await;
    let bus = format!("bus-{suffix}");
    events.create_event_bus().name(&bus).send().await.unwrap();
    events
        .put_rule()
        .name(format!("dispatch-{suffix}"))
        .event_bus_name(&bus)
        .event_pattern(json!({"source": ["embedcare"]}).to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(format!("dispatch-{suffix}"))
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("q")
                .arn(&events_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    // A change, relayed to the bus as the relay does.
    let patient_id = super::life::patient(&app, &world.api_key, "lambda-hooks-1").await;
    let (_, event) = super::life::consultation(&app, &tenant, patient_id, None).await;
    let published = event_list::published(&app, &tenant, &event.id)
        .await
        .unwrap()
        .unwrap();
    let bridge = EventBridgeBus::new(events.clone(), &bus);
    let entry = BusEntry {
        detail_type: event.detail_type(),
        detail: published.body(),
    };
    assert_eq!(bridge.put(&[entry]).await.unwrap(), [None]);

    // The dispatcher takes the events queue's message: one attempt per endpoint on the work queue.
    let env = [
        ("EMBEDCARE_WORK_QUEUE_URL", work_url.as_str()),
        ("EMBEDCARE_WEBSOCKET_ENDPOINT", dynamo::endpoint()),
        ("EMBEDCARE_WEBHOOK_ALLOW_LOOPBACK", "1"),
        ("EMBEDCARE_SES_SENDER", ""),
    ];
    let mut dispatcher = Function::start_with(&bins[0], &table, &env).await;
    let (sqs_ev, bodies) = sqs_event(&sqs, &events_url, &events_arn).await;
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        bodies[0]["detail"]["id"],
        json!(event.id),
        "the rule put the bus event on the queue"
    );
    let r = dispatcher.invoke_raw(sqs_ev.clone()).await;
    assert_eq!(r, json!({"batchItemFailures": []}));
    // The same event again (at least once): nothing new.
    let r = dispatcher.invoke_raw(sqs_ev).await;
    assert_eq!(r, json!({"batchItemFailures": []}));
    let (work_ev, work) = sqs_event(&sqs, &work_url, &work_arn).await;
    assert!(work.iter().all(|w| w["kind"] == "webhook"));
    let r = dispatcher.invoke_raw(work_ev.clone()).await;
    // `/ok` delivered; `/fail` reported for a retry, its message hidden
    // meanwhile. (A second copy of an attempt, sent when the event came
    // twice, may come while the first holds the delivery: it is handed back
    // for later too, and then finds the delivery done.)
    let failures = r["batchItemFailures"].as_array().unwrap().clone();
    let ids: Vec<&Value> = work_ev["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| &x["messageId"])
        .collect();
    assert!(!failures.is_empty() && failures.len() < ids.len(), "{r}");
    assert!(
        failures.iter().all(|f| ids.contains(&&f["itemIdentifier"])),
        "{r}"
    );
    let fail_attempts = vendor
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.path == "/fail")
        .count();
    assert_eq!(
        fail_attempts, 1,
        "one attempt at /fail so far, however many copies"
    );
    let seen = vendor.seen.lock().unwrap().clone();
    let ok: Vec<&Seen> = seen.iter().filter(|s| s.path == "/ok").collect();
    assert_eq!(
        ok.len(),
        1,
        "delivered once, though the event came twice and its attempt maybe twice"
    );
    let sig = ok[0].headers["embedcare-signature"].to_str().unwrap();
    let t: i64 = sig
        .split(',')
        .find_map(|p| p.strip_prefix("t="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(super::verify::verify_embedcare_signature(
        &ok[0].body,
        sig,
        &[&secret],
        300,
        t
    ));
    assert_eq!(ok[0].headers["embedcare-event-id"], event.id.as_str());
    let body: Value = serde_json::from_slice(&ok[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::to_value(&event).unwrap(),
        "the bus event's body"
    );
    let hidden = sqs
        .receive_message()
        .queue_url(&work_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert!(
        hidden.messages.unwrap_or_default().is_empty(),
        "the retry waits, hidden (no busy loop)"
    );
    let logs = dispatcher.logs();
    for personal in ["Ann", "lambda-hooks-1", secret.as_str()] {
        assert!(
            !logs.contains(personal),
            "{personal} in the dispatcher's logs"
        );
    }
}

/// A WebSocket API event of the stream.
fn ws_event(
    route: &str,
    connection: &str,
    headers: Value,
    query: Value,
    body: Option<&str>,
) -> Value {
    json!({
        "requestContext": {
            "routeKey": route, "connectionId": connection, "eventType": route.trim_start_matches('$').to_uppercase(),
            "domainName": "stream.execute-api.us-east-1.amazonaws.com", "stage": "events",
            "apiId": "stream", "requestId": format!("ws-{connection}"), "connectedAt": 1_795_327_200_000_i64
        },
        "headers": headers,
        "queryStringParameters": query,
        "body": body,
        "isBase64Encoded": false
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_runs_on_the_websocket_api_s_events_and_posts_through_moto() {
    let bins = build(&["event-stream", "event-dispatcher"]);
    let (store, _) = dynamo::store(Arc::new(SystemClock)).await;
    let table = store.table().to_owned();
    let app = app_on(store).await;
    let world = demo::seed(&app, &[]).await.unwrap();
    let tenant = TenantKey::parse("demo").unwrap();
    event_queues::create_queue(&app, &tenant, "pms", &["consultation.*".to_owned()])
        .await
        .unwrap();
    // A waiting event, fanned out as the dispatcher does.
    let events = {
        let patient_id = super::life::patient(&app, &world.api_key, "lambda-stream-1").await;
        let (_, e) = super::life::consultation(&app, &tenant, patient_id, None).await;
        let p = event_list::published(&app, &tenant, &e.id)
            .await
            .unwrap()
            .unwrap();
        dispatch::fan_out(&app, &p).await.unwrap();
        vec![e]
    };

    // The Management API: moto, behind a recorder that keeps the frames.
    let frames = Recorder {
        forward: Some(dynamo::endpoint().to_owned()),
        ..Recorder::default()
    };
    let endpoint = server(frames.clone()).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk_config());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (work_url, work_arn) = queue(&sqs, &format!("stream-work-{suffix}")).await;
    let env = [
        ("EMBEDCARE_WORK_QUEUE_URL", work_url.as_str()),
        ("EMBEDCARE_WEBSOCKET_ENDPOINT", endpoint.as_str()),
    ];
    let mut stream = Function::start_with(&bins[0], &table, &env).await;
    let auth = json!({"Authorization": format!("api-key {}", world.api_key)});
    let q = json!({"queue": "pms"});

    // $connect: authenticated, the queue claimed; a second client and bad credentials refused.
    let r = stream
        .invoke_raw(ws_event(
            "$connect",
            "conn-1",
            auth.clone(),
            q.clone(),
            None,
        ))
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    let r = stream
        .invoke_raw(ws_event(
            "$connect",
            "conn-2",
            auth.clone(),
            q.clone(),
            None,
        ))
        .await;
    assert_eq!(r["statusCode"], 409, "{r}");
    assert_eq!(
        serde_json::from_str::<Value>(r["body"].as_str().unwrap()).unwrap()["code"],
        4409
    );
    let bad = json!({"Authorization": "api-key ek_0123456789abcdef_notTheRightSecretAtAll0123"});
    let r = stream
        .invoke_raw(ws_event("$connect", "conn-3", bad, q.clone(), None))
        .await;
    assert_eq!(
        (
            r["statusCode"].as_u64(),
            r["body"].as_str().map(|b| b.contains("4401"))
        ),
        (Some(401), Some(true))
    );
    let r = stream
        .invoke_raw(ws_event(
            "$connect",
            "conn-4",
            auth.clone(),
            json!({"queue": "nope"}),
            None,
        ))
        .await;
    assert_eq!(r["statusCode"], 404);

    // The dispatcher takes the flush and posts the waiting event to conn-1.
    let mut dispatcher = Function::start_with(
        &bins[1],
        &table,
        &[
            ("EMBEDCARE_WORK_QUEUE_URL", work_url.as_str()),
            ("EMBEDCARE_WEBSOCKET_ENDPOINT", endpoint.as_str()),
            ("EMBEDCARE_SES_SENDER", ""),
        ],
    )
    .await;
    let (work_ev, work) = sqs_event(&sqs, &work_url, &work_arn).await;
    assert_eq!(
        work.iter()
            .map(|w| w["kind"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["flush"]
    );
    let r = dispatcher.invoke_raw(work_ev).await;
    assert_eq!(r, json!({"batchItemFailures": []}));
    let posted = |conn: &str| -> Vec<Value> {
        frames
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.method == Method::POST && s.path == format!("/@connections/{conn}"))
            .map(|s| serde_json::from_slice(&s.body).unwrap())
            .collect()
    };
    let sent = posted("conn-1");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["frameType"], "EVENT");
    assert_eq!(sent[0]["framePayload"]["eventId"], json!(events[0].id));
    assert_eq!(sent[0]["framePayload"]["queueName"], "pms");
    let receipt = sent[0]["framePayload"]["receiptId"]
        .as_str()
        .unwrap()
        .to_owned();

    // $default: an acknowledgement, a ping.
    let ack = json!({"frameType": "ACK_EVENT", "framePayload": {"receiptId": receipt}}).to_string();
    let r = stream
        .invoke_raw(ws_event(
            "$default",
            "conn-1",
            json!({}),
            json!(null),
            Some(&ack),
        ))
        .await;
    assert_eq!(r["statusCode"], 200);
    let ping = json!({"frameType": "PING", "framePayload": {}}).to_string();
    stream
        .invoke_raw(ws_event(
            "$default",
            "conn-1",
            json!({}),
            json!(null),
            Some(&ping),
        ))
        .await;
    let replies = posted("conn-1");
    assert_eq!(
        replies[1],
        json!({"frameType": "ACK_EVENT_REPLY", "framePayload": {"receiptId": receipt}})
    );
    assert_eq!(replies[2]["frameType"], "PONG");
    // $disconnect lets the queue go: another client may take it.
    let r = stream
        .invoke_raw(ws_event(
            "$disconnect",
            "conn-1",
            json!({}),
            json!(null),
            None,
        ))
        .await;
    assert_eq!(r["statusCode"], 200);
    let r = stream
        .invoke_raw(ws_event("$connect", "conn-5", auth, q, None))
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    let logs = stream.logs();
    assert!(
        !logs.contains(world.api_key.as_str()),
        "no key in the stream's logs"
    );
}

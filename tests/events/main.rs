//! Events, end to end under moto: state changes write their events to the
//! outbox in the same transaction; the table's stream carries them; the
//! relay (the same code as the `outbox-relay` function) puts them on an
//! EventBridge bus whose rules deliver to SQS queues. With a bus that is
//! down, then rejects some entries, every event still arrives; every event
//! validates against its JSON Schema in `events/schemas/`.

#[path = "../support/dynamo.rs"]
mod dynamo;
mod scheduler;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamAv, ShardIteratorType};
use serde_json::{Value, json};
use shared::clock::{SystemClock, day_of};
use shared::domain::{
    Answer, ConsultationStatus, DueDate, Frequency, ReasonCode, TenantKey, UserId, View,
};
use shared::events::eventbridge::EventBridgeBus;
use shared::events::relay::{RelayPolicy, StreamRecord, relay};
use shared::events::{BusEntry, Event, EventBus};
use shared::http::error::status;
use shared::http::wire::patient_input;
use shared::services::consultations::{self, NewConsultation};
use shared::services::followups::{self, FollowupPlan, NewFollowup};
use shared::services::launch::{self, LaunchRequest, PatientRef};
use shared::services::{admin, auth, demo};
use shared::{App, AppState, Config};

fn sdk<C>(f: impl FnOnce(aws_config::SdkConfig) -> C) -> C {
    let conf = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(dynamo::endpoint())
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("test", "test", None, None, "tests"),
            ),
        )
        .build();
    f(conf)
}

/// Every change of a walk through a consultation's life, through the services; returns the app,
/// the table, and the events the services returned (what the pages post).
async fn changes() -> (AppState, String, Vec<Event>) {
    let clock = Arc::new(SystemClock);
    let (store, _) = dynamo::store(clock.clone()).await;
    let table = store.table().to_owned();
    let app = App::new(
        Arc::new(store),
        clock,
        Config::new("https://app.embedcare.test"),
    );
    let world = demo::seed(&app, &[]).await.unwrap();
    let caller = auth::authenticate(&app, Some(&world.api_key), None)
        .await
        .unwrap();
    let tenant = TenantKey::parse("demo").unwrap();
    let mut req = LaunchRequest::new(View::ConsultationStart);
    req.patient = PatientRef::Upsert(
        patient_input(
            &json!({"keys":[{"subSystem":"pms","key":"ev-1"}],"firstName":"Ann","lastName":"Lee","email":"ann@example.com"}),
            day_of(app.now_ms()),
        )
        .unwrap(),
    );
    let patient_id = launch::issue(&app, &caller.key_auth(), &req)
        .await
        .unwrap()
        .patient_id
        .unwrap();
    let new = |send: bool, reason: Option<&str>| NewConsultation {
        patient_id: patient_id.clone(),
        created_by: UserId::parse("demo-owner").unwrap(),
        reason_code: reason.map(|r| ReasonCode::known(r).unwrap()),
        metadata: None,
        send,
    };
    let mut events = Vec::new();
    let (c, e) =
        consultations::create_consultation(&app, &tenant, new(true, Some("vaccination-screening")))
            .await
            .unwrap();
    events.push(e);
    let (_, e) = consultations::open_consultation(&app, &tenant, &c.consultation_id)
        .await
        .unwrap();
    events.push(e.unwrap());
    let answers: Vec<Answer> = [
        ("vaccine", json!("influenza")),
        ("feeling_unwell", json!(false)),
        ("allergy", json!(false)),
        ("previous_reaction", json!(false)),
        ("immunosuppressed", json!(false)),
    ]
    .into_iter()
    .map(|(q, v)| Answer {
        question_id: q.into(),
        value: v,
    })
    .collect();
    let (_, e) = consultations::answer_consultation(&app, &tenant, &c.consultation_id, &answers)
        .await
        .unwrap();
    events.push(e);
    let (_, e) =
        consultations::complete_consultation(&app, &tenant, &c.consultation_id, Some("ok".into()))
            .await
            .unwrap();
    events.push(e);
    let (draft, e) = consultations::create_consultation(&app, &tenant, new(false, None))
        .await
        .unwrap();
    events.push(e);
    let (_, e) = consultations::move_consultation(
        &app,
        &tenant,
        &draft.consultation_id,
        ConsultationStatus::Cancelled,
    )
    .await
    .unwrap();
    events.push(e);
    // An illegal move writes nothing (and no event).
    assert_eq!(
        status(
            &consultations::move_consultation(
                &app,
                &tenant,
                &draft.consultation_id,
                ConsultationStatus::Sent
            )
            .await
            .unwrap_err()
        ),
        409
    );
    let (_, e) = followups::create_followup(
        &app,
        &tenant,
        NewFollowup {
            patient_id: patient_id.clone(),
            created_by: UserId::parse("demo-owner").unwrap(),
            plan: FollowupPlan {
                consultation_id: Some(c.consultation_id.clone()),
                reason_code: ReasonCode::known("blood-pressure"),
                due_date: DueDate::parse("2026-12-01").unwrap(),
                frequency: Frequency::Weekly,
                notes: None,
                metadata: None,
            },
        },
    )
    .await
    .unwrap();
    events.push(e);
    let (_, e) = admin::onboard_franchise(&app, &tenant, &UserId::parse("demo-owner").unwrap())
        .await
        .unwrap();
    events.push(e);
    (app, table, events)
}

fn json_of_stream_av(av: &StreamAv) -> Value {
    match av {
        StreamAv::S(s) => Value::String(s.clone()),
        StreamAv::N(n) => n
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| n.parse::<f64>().map(Value::from))
            .unwrap_or(Value::Null),
        StreamAv::Bool(b) => Value::Bool(*b),
        StreamAv::Null(_) => Value::Null,
        StreamAv::M(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), json_of_stream_av(v)))
                .collect(),
        ),
        StreamAv::L(l) => Value::Array(l.iter().map(json_of_stream_av).collect()),
        _ => Value::Null,
    }
}

/// The table's stream, as the relay function's event source would deliver it.
async fn stream_records(table: &str) -> Vec<StreamRecord> {
    let ddb = sdk(|c| aws_sdk_dynamodb::Client::new(&c));
    let streams = sdk(|c| aws_sdk_dynamodbstreams::Client::new(&c));
    let arn = ddb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap()
        .latest_stream_arn
        .unwrap();
    let shards = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap()
        .shards
        .unwrap_or_default();
    let mut out = Vec::new();
    for shard in shards {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id.unwrap())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator;
        while let Some(it) = iterator {
            let page = streams
                .get_records()
                .shard_iterator(it)
                .send()
                .await
                .unwrap();
            let records = page.records.unwrap_or_default();
            if records.is_empty() {
                break;
            }
            for r in records {
                let data = r.dynamodb.unwrap();
                out.push(StreamRecord {
                    id: data.sequence_number.unwrap_or_default(),
                    event_name: r
                        .event_name
                        .map(|n| n.as_str().to_owned())
                        .unwrap_or_default(),
                    new_image: data.new_image.map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), json_of_stream_av(v)))
                            .collect()
                    }),
                });
            }
            iterator = page.next_shard_iterator;
        }
    }
    out
}

/// A bus that is down for its first call, then rejects (without passing it
/// on) the first attempt of every third entry it sees.
struct Faulty {
    inner: EventBridgeBus,
    calls: AtomicUsize,
    seen: Mutex<HashMap<String, usize>>,
    counter: AtomicUsize,
}

#[async_trait]
impl EventBus for Faulty {
    async fn put(&self, entries: &[BusEntry]) -> Result<Vec<Option<String>>, String> {
        assert!(entries.len() <= 10, "EventBridge takes at most ten entries");
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err("ServiceUnavailable".into());
        }
        let mut outcomes = vec![None; entries.len()];
        let mut pass = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let first_time = {
                let mut seen = self.seen.lock().unwrap();
                let n = seen.entry(e.detail.clone()).or_default();
                *n += 1;
                *n == 1
            };
            if first_time
                && self
                    .counter
                    .fetch_add(1, Ordering::SeqCst)
                    .is_multiple_of(3)
            {
                outcomes[i] = Some("InternalFailure".into());
            } else {
                pass.push(i);
            }
        }
        let forwarded: Vec<BusEntry> = pass.iter().map(|i| entries[*i].clone()).collect();
        if !forwarded.is_empty() {
            let results = self.inner.put(&forwarded).await?;
            for (j, i) in pass.iter().enumerate() {
                outcomes[*i] = results.get(j).cloned().unwrap_or(Some("NoResult".into()));
            }
        }
        Ok(outcomes)
    }
}

async fn queue_with_rule(
    events: &aws_sdk_eventbridge::Client,
    sqs: &aws_sdk_sqs::Client,
    bus: &str,
    name: &str,
    pattern: Value,
) -> String {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let arn = attrs.attributes.unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    events
        .put_rule()
        .name(name)
        .event_bus_name(bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(name)
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("q")
                .arn(arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    url
}

/// The event ids a queue received, with duplicates (the bus delivers at
/// least once; consumers deduplicate on `id`).
async fn received(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for _ in 0..20 {
        let page = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = page.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            out.push(serde_json::from_str(m.body.as_deref().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle.unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    out
}

fn schema_for(detail_type: &str) -> jsonschema::Validator {
    let file = detail_type.to_lowercase().replace(' ', "-");
    let path = format!(
        "{}/../events/schemas/{file}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_reaches_the_bus_once_from_the_outbox_even_when_the_bus_fails() {
    let (_app, table, returned) = changes().await;

    // One outbox item per change, carrying the very event the service returned.
    let records = stream_records(&table).await;
    let outbox: Vec<&StreamRecord> = records
        .iter()
        .filter(|r| {
            r.event_name == "INSERT"
                && r.new_image
                    .as_ref()
                    .is_some_and(|i| i.get("type") == Some(&json!("outbox")))
        })
        .collect();
    assert_eq!(outbox.len(), returned.len(), "one outbox event per change");
    let outbox_ids: Vec<String> = outbox
        .iter()
        .map(|r| {
            r.new_image.as_ref().unwrap()["detail"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let returned_ids: Vec<String> = returned.iter().map(|e| e.id.to_string()).collect();
    assert_eq!(
        outbox_ids.iter().collect::<HashSet<_>>(),
        returned_ids.iter().collect::<HashSet<_>>()
    );

    // Every event validates against its schema, as EventBridge carries it.
    for r in &outbox {
        let image = r.new_image.as_ref().unwrap();
        let detail_type = image["detailType"].as_str().unwrap();
        let envelope =
            json!({"source": "embedcare", "detail-type": detail_type, "detail": image["detail"]});
        let validator = schema_for(detail_type);
        let errors: Vec<String> = validator
            .iter_errors(&envelope)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{detail_type}: {errors:?}\n{envelope}");
        // Identifiers, statuses and timestamps only.
        let text = envelope.to_string();
        for personal in ["Ann", "Lee", "ann@example.com", "ev-1"] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
    }

    // The bus: a rule per consumer, each to its own queue.
    let events = sdk(|c| aws_sdk_eventbridge::Client::new(&c));
    let sqs = sdk(|c| aws_sdk_sqs::Client::new(&c));
    let bus = format!("bus-{}", uuid::Uuid::new_v4().simple());
    events.create_event_bus().name(&bus).send().await.unwrap();
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let all_url = queue_with_rule(
        &events,
        &sqs,
        &bus,
        &format!("all-{suffix}"),
        json!({"source": ["embedcare"]}),
    )
    .await;
    let filtered_url = queue_with_rule(
        &events,
        &sqs,
        &bus,
        &format!("to-analyze-{suffix}"),
        json!({"source": ["embedcare"], "detail-type": ["Consultation Updated"], "detail": {"status": ["TO_BE_ANALYZED"]}}),
    )
    .await;

    // The relay, as the function runs it, against a failing bus; the event
    // source retries from the first failed record, as Lambda does.
    let faulty = Faulty {
        inner: EventBridgeBus::new(events.clone(), &bus),
        calls: AtomicUsize::new(0),
        seen: Mutex::default(),
        counter: AtomicUsize::new(0),
    };
    let policy = RelayPolicy {
        attempts: 1,
        backoff: Duration::from_millis(1),
    };
    let mut batch: Vec<StreamRecord> = records.clone();
    let mut rounds = 0;
    loop {
        rounds += 1;
        assert!(rounds < 50, "the relay never finished");
        let failed = relay(&batch, &faulty, policy).await.failed;
        if failed.is_empty() {
            break;
        }
        let first = batch.iter().position(|r| r.id == failed[0]).unwrap();
        assert_eq!(
            failed.len(),
            batch.len() - first,
            "everything from the first failure is reported"
        );
        batch = batch[first..].to_vec();
    }
    assert!(rounds > 2, "the faults were not exercised");

    // Every event arrived; duplicates are possible (consumers dedupe on id).
    let all = received(&sqs, &all_url).await;
    let ids: HashSet<String> = all
        .iter()
        .map(|m| m["detail"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, returned_ids.iter().cloned().collect::<HashSet<_>>());
    for m in &all {
        assert_eq!(m["source"], "embedcare");
        let detail_type = m["detail-type"].as_str().unwrap();
        let envelope =
            json!({"source": m["source"], "detail-type": detail_type, "detail": m["detail"]});
        assert!(schema_for(detail_type).is_valid(&envelope), "{m}");
    }
    // The filtered rule got exactly the answered consultation's event.
    let filtered = received(&sqs, &filtered_url).await;
    let filtered_ids: HashSet<String> = filtered
        .iter()
        .map(|m| m["detail"]["id"].as_str().unwrap().to_owned())
        .collect();
    let expected: HashSet<String> = returned
        .iter()
        .filter(|e| e.detail_type() == "Consultation Updated" && e.status == "TO_BE_ANALYZED")
        .map(|e| e.id.to_string())
        .collect();
    assert_eq!(expected.len(), 1);
    assert_eq!(filtered_ids, expected);
}

#[tokio::test]
async fn the_relay_lambda_handler_reports_partial_batch_failures() {
    // A DynamoDB stream event as Lambda delivers it, with a bus that refuses
    // everything: every outbox record comes back as a batch item failure.
    struct Down;
    #[async_trait]
    impl EventBus for Down {
        async fn put(&self, entries: &[BusEntry]) -> Result<Vec<Option<String>>, String> {
            Ok(entries
                .iter()
                .map(|_| Some("InternalFailure".into()))
                .collect())
        }
    }
    let record = |seq: &str, kind: &str| {
        json!({"eventName": "INSERT", "dynamodb": {"SequenceNumber": seq, "NewImage": {
            "type": {"S": kind}, "detailType": {"S": "Consultation Created"},
            "detail": {"M": {"id": {"S": format!("id-{seq}")}}}}}})
    };
    let event =
        json!({"Records": [record("1", "patient"), record("2", "outbox"), record("3", "outbox")]});
    let policy = RelayPolicy {
        attempts: 2,
        backoff: Duration::from_millis(1),
    };
    let clock = SystemClock;
    let store = shared::store::embedded::EmbeddedStore::in_memory(Arc::new(clock)).unwrap();
    let out =
        shared::lambda::stream::handle_stream_event(&event, &Down, &store, &clock, policy).await;
    assert_eq!(
        out,
        json!({"batchItemFailures": [{"itemIdentifier": "2"}, {"itemIdentifier": "3"}]})
    );
}

/// The local server's event runtime: the embedded store's change feed is
/// relayed to the in-process bus, and a `SENT` consultation makes the local
/// notifier "send" the patient a single-use answer link, recorded on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locally_the_relay_and_the_notifier_send_the_patient_their_link() {
    use shared::domain::DeliveryStatus;
    use shared::events::local::{LocalBus, run_embedded_relay};
    use shared::notify::local::LocalNotifier;
    use shared::store::embedded::EmbeddedStore;

    let clock = Arc::new(SystemClock);
    let store = EmbeddedStore::in_memory(clock.clone()).unwrap();
    let app = App::new(
        Arc::new(store.clone()),
        clock,
        Config::new("http://127.0.0.1:3000"),
    );
    let world = demo::seed(&app, &[]).await.unwrap();
    let bus = Arc::new(LocalBus::new(false));
    let mut events = bus.subscribe();
    tokio::spawn(run_embedded_relay(store, bus.clone()));

    let caller = auth::authenticate(&app, Some(&world.api_key), None)
        .await
        .unwrap();
    let mut req = LaunchRequest::new(View::ConsultationStart);
    req.patient = PatientRef::Upsert(
        patient_input(
            &json!({"keys":[{"subSystem":"pms","key":"n-1"}],"firstName":"Ann","lastName":"Lee","email":"ann@example.com","preferredLanguage":"FR"}),
            day_of(app.now_ms()),
        )
        .unwrap(),
    );
    let patient_id = launch::issue(&app, &caller.key_auth(), &req)
        .await
        .unwrap()
        .patient_id
        .unwrap();
    let tenant = TenantKey::parse("demo").unwrap();
    let (c, created) = consultations::create_consultation(
        &app,
        &tenant,
        NewConsultation {
            patient_id,
            created_by: UserId::parse("demo-owner").unwrap(),
            reason_code: ReasonCode::known("uti"),
            metadata: None,
            send: true,
        },
    )
    .await
    .unwrap();

    // The relay delivers the outbox event, with the id the service returned.
    let delivered = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivered.detail["id"], json!(created.id));
    assert_eq!(delivered.detail_type, "Consultation Created");

    // The notifier reacts to it (what the patient-notifier function does).
    let notifier = LocalNotifier::default();
    let delivery = shared::lambda::eventbridge::on_event(&app, &notifier, &delivered.envelope())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivery.status, DeliveryStatus::Sent);
    let messages = notifier.messages();
    assert_eq!(messages.len(), 1);
    let message = &messages[0].1;
    assert_eq!(message.to, "ann@example.com");
    assert!(
        message.text.contains("Bonjour Ann"),
        "the patient's language"
    );
    assert!(
        message.link.starts_with(
            "http://127.0.0.1:3000/fr/embed/franchise/demo/consultation/answer?session="
        )
    );
    let stored = consultations::consultation(&app, &tenant, &c.consultation_id)
        .await
        .unwrap();
    assert_eq!(stored.delivery.unwrap().status, DeliveryStatus::Sent);
    // The same event again (at least once): nothing is sent twice.
    assert!(
        shared::lambda::eventbridge::on_event(&app, &notifier, &delivered.envelope())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(notifier.messages().len(), 1);
    // The link opens once, as the patient, on the answer view.
    let router = shared::http::app_router(app.clone());
    let path = message
        .link
        .strip_prefix("http://127.0.0.1:3000")
        .unwrap()
        .to_owned();
    // As the entry shell's script opens it: a POST of the launch token with
    // a nonce of the page.
    let (page, token) = path.split_once("?session=").unwrap();
    let load = |nonce: &str| {
        let router = router.clone();
        let req = http::Request::post(page)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(format!(
                "launch={token}&nonce={nonce}"
            )))
            .unwrap();
        async move {
            tower::ServiceExt::oneshot(router, req)
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(load("events-test-page-nonce-1").await, 200);
    assert_eq!(load("events-test-page-nonce-2").await, 410);
}

/// The local relay does not retry a poison record forever: a malformed
/// outbox item, and one the bus refuses round after round, are
/// dead-lettered (kept, marked, listed) and every later event still goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locally_a_poison_record_is_dead_lettered_instead_of_blocking_the_feed() {
    use shared::domain::FranchiseStatus;
    use shared::events::local::{LocalRelay, run_embedded_relay_with};
    use shared::events::outbox;
    use shared::events::redrive::stranded;
    use shared::store::embedded::EmbeddedStore;
    use shared::store::keys::OutboxState;
    use shared::store::{Item, Key, Store, Write};

    struct Picky {
        refuse: String,
        accepted: Mutex<Vec<String>>,
    }
    #[async_trait]
    impl EventBus for Picky {
        async fn put(&self, entries: &[BusEntry]) -> Result<Vec<Option<String>>, String> {
            Ok(entries
                .iter()
                .map(|e| {
                    let id = serde_json::from_str::<Value>(&e.detail).unwrap()["id"]
                        .as_str()
                        .unwrap()
                        .to_owned();
                    if id == self.refuse {
                        return Some("ValidationException".into());
                    }
                    self.accepted.lock().unwrap().push(id);
                    None
                })
                .collect())
        }
    }

    let clock = Arc::new(SystemClock);
    let store = EmbeddedStore::in_memory(clock.clone()).unwrap();
    let tenant = TenantKey::parse("demo").unwrap();
    let now = shared::clock::Clock::now_ms(clock.as_ref());
    let event = |v| {
        Event::franchise(
            &tenant,
            FranchiseStatus::Onboarded,
            FranchiseStatus::Active,
            v,
            now,
        )
    };
    let refused = event(1);
    let mut good = Vec::new();
    // The refused one first, then a malformed one, then good ones.
    store
        .write(outbox::write(&refused, now).unwrap())
        .await
        .unwrap();
    let mut attrs = serde_json::Map::new();
    attrs.insert("type".into(), "outbox".into());
    attrs.insert("detailType".into(), "Franchise Onboarded".into());
    let malformed = Key::new("T#demo#OUTBOX#malformed-1", "OUTBOX");
    store
        .write(Write::Put {
            item: Item::new(malformed.clone(), attrs),
            cond: None,
        })
        .await
        .unwrap();
    for v in 2..6 {
        let e = event(v);
        store.write(outbox::write(&e, now).unwrap()).await.unwrap();
        good.push(e.id.to_string());
    }
    let bus = Arc::new(Picky {
        refuse: refused.id.to_string(),
        accepted: Mutex::default(),
    });
    let pace = LocalRelay {
        policy: RelayPolicy {
            attempts: 1,
            backoff: Duration::from_millis(1),
        },
        pause: Duration::from_millis(5),
        poison_after: 3,
    };
    tokio::spawn(run_embedded_relay_with(store.clone(), bus.clone(), pace));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while bus.accepted.lock().unwrap().len() < good.len()
        || !store.pending_changes(10).await.unwrap().is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "later events stay blocked behind the poison record"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Every one, in order (a record after a refused one in the same round
    // is put again: at least once, consumers deduplicate on the id).
    let mut first_seen: Vec<String> = Vec::new();
    for id in bus.accepted.lock().unwrap().iter() {
        if !first_seen.contains(id) {
            first_seen.push(id.clone());
        }
    }
    assert_eq!(first_seen, good);
    let letters = stranded(&store, OutboxState::Dead, i64::MAX / 2)
        .await
        .unwrap();
    let keys: HashSet<String> = letters.iter().map(|i| i.key.pk.clone()).collect();
    assert_eq!(
        keys,
        HashSet::from([
            malformed.pk.clone(),
            shared::store::keys::outbox_key(&tenant, &refused.id).pk
        ])
    );
    for l in &letters {
        assert!(l.attrs["deadLetter"]["reason"].is_string(), "{:?}", l.attrs);
    }
    assert!(
        store.pending_changes(10).await.unwrap().is_empty(),
        "the feed moved on"
    );
    assert!(
        stranded(&store, OutboxState::Pending, i64::MAX / 2)
            .await
            .unwrap()
            .is_empty(),
        "the good ones are marked relayed"
    );
}

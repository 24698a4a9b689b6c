//! The real artifacts: the function binaries, built by cargo, run as Lambda
//! runs them — under a fake Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`
//! pointing here) that hands them API Gateway HTTP API (payload v2) events
//! and receives their responses — against DynamoDB on moto.

mod clinic;
#[path = "../support/dynamo.rs"]
mod dynamo;
mod events;
#[path = "../support/life.rs"]
mod life;
mod live;
mod metrics;
mod snapshots;
#[path = "../http/verify.rs"]
mod verify;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use shared::clock::SystemClock;
use shared::services::demo::{self, DemoWorld};
use shared::{App, Config};
use tokio::sync::{Notify, mpsc};

const BASE_URL: &str = "https://app.embedcare.test";
/// The deployment secret every function of the test is given.
const SECRET: &str = "lambda-test-secret-of-at-least-32-characters";

/// Builds the function binaries (debug profile) and returns their paths.
fn build(functions: &[&str]) -> Vec<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--message-format=json-render-diagnostics"]);
    for f in functions {
        cmd.args(["-p", f]);
    }
    let out = cmd.stderr(Stdio::inherit()).output().expect("cargo build");
    assert!(out.status.success(), "cargo build failed");
    let mut paths = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if let (true, Some(exe)) = (
            msg["reason"] == "compiler-artifact",
            msg["executable"].as_str(),
        ) {
            paths.push(PathBuf::from(exe));
        }
    }
    functions
        .iter()
        .map(|f| {
            paths
                .iter()
                .find(|p| p.file_name().is_some_and(|n| n == *f))
                .unwrap_or_else(|| panic!("no binary for {f}"))
                .clone()
        })
        .collect()
}

/// Where the fake Runtime API sends (invocation id, response).
type Responses = mpsc::UnboundedSender<(String, Value)>;

/// The fake Runtime API: a queue of events, and where responses go.
#[derive(Clone, Default)]
struct Runtime {
    events: Arc<Mutex<VecDeque<(String, Value)>>>,
    arrived: Arc<Notify>,
    responses: Arc<Mutex<Option<Responses>>>,
}

async fn next(State(rt): State<Runtime>) -> Response {
    loop {
        let event = rt.events.lock().unwrap().pop_front();
        if let Some((id, event)) = event {
            let deadline = (std::time::SystemTime::now() + Duration::from_secs(30))
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                .to_string();
            let headers = [
                ("lambda-runtime-aws-request-id", id),
                ("lambda-runtime-deadline-ms", deadline),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:test".to_owned(),
                ),
                (
                    "lambda-runtime-trace-id",
                    "Root=1-00000000-000000000000000000000000".to_owned(),
                ),
            ];
            let mut res = axum::Json(event).into_response();
            for (k, v) in headers {
                res.headers_mut().insert(k, v.parse().unwrap());
            }
            return res;
        }
        rt.arrived.notified().await;
    }
}

async fn respond(State(rt): State<Runtime>, Path(id): Path<String>, body: String) -> &'static str {
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    if let Some(tx) = rt.responses.lock().unwrap().as_ref() {
        let _ = tx.send((id, value));
    }
    "{}"
}

async fn error(
    State(rt): State<Runtime>,
    Path(id): Path<String>,
    _h: HeaderMap,
    body: String,
) -> &'static str {
    if let Some(tx) = rt.responses.lock().unwrap().as_ref() {
        let _ = tx.send((id, json!({"lambdaError": body})));
    }
    "{}"
}

async fn init_error(body: String) -> &'static str {
    panic!("the function failed to start: {body}");
}

struct Function {
    child: Child,
    runtime: Runtime,
    responses: mpsc::UnboundedReceiver<(String, Value)>,
    count: usize,
    /// Its stdout, read as it comes (a full pipe would block the function).
    stdout: Option<std::thread::JoinHandle<String>>,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Function {
    async fn start(binary: &PathBuf, table: &str) -> Function {
        Self::start_with(binary, table, &[]).await
    }

    async fn start_with(binary: &PathBuf, table: &str, env: &[(&str, &str)]) -> Function {
        let runtime = Runtime::default();
        let (tx, rx) = mpsc::unbounded_channel();
        *runtime.responses.lock().unwrap() = Some(tx);
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(respond),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(runtime.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let name = binary.file_name().unwrap().to_string_lossy().into_owned();
        let child = Command::new(binary)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", dynamo::endpoint())
            .env("EMBEDCARE_TABLE", table)
            .env("EMBEDCARE_APP_BASE_URL", BASE_URL)
            .env("EMBEDCARE_SECRET", SECRET)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the function");
        let mut child = child;
        let stdout = child.stdout.take().map(|mut out| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = std::io::Read::read_to_string(&mut out, &mut text);
                text
            })
        });
        Function {
            child,
            runtime,
            responses: rx,
            count: 0,
            stdout,
        }
    }

    /// One invocation with an API Gateway v2 event; returns the v2 response.
    async fn invoke(
        &mut self,
        method: &str,
        path_and_query: &str,
        headers: Value,
        body: Option<&str>,
    ) -> Value {
        let n = self.count + 1;
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api",
                "domainName": "api.embedcare.test",
                "domainPrefix": "api",
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "tests"},
                "requestId": format!("apigw-{n}"),
                "routeKey": "$default",
                "stage": "$default",
                "time": "21/Nov/2026:06:00:00 +0000",
                "timeEpoch": 1_795_327_200_000_i64
            },
            "body": body,
            "isBase64Encoded": false
        });
        self.invoke_raw(event).await
    }

    /// One invocation with any event payload; returns the function's response.
    async fn invoke_raw(&mut self, event: Value) -> Value {
        self.count += 1;
        let id = format!("invocation-{}", self.count);
        self.runtime
            .events
            .lock()
            .unwrap()
            .push_back((id.clone(), event));
        self.runtime.arrived.notify_waiters();
        self.runtime.arrived.notify_one();
        let (got, response) = tokio::time::timeout(Duration::from_secs(30), self.responses.recv())
            .await
            .expect("a response within 30 s")
            .expect("runtime open");
        assert_eq!(got, id);
        assert!(response.get("lambdaError").is_none(), "{response}");
        response
    }

    /// What the function printed (its JSON logs), after it is stopped.
    fn logs(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stdout
            .take()
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default()
    }
}

fn body_json(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().expect("a body")).expect("a JSON body")
}

async fn seeded_table() -> (String, DemoWorld) {
    let clock = Arc::new(SystemClock);
    let (store, _) = dynamo::store(clock.clone()).await;
    let table = store.table().to_owned();
    let app = App::new(Arc::new(store), clock, Config::new(BASE_URL));
    let world = demo::seed(&app, &["https://vendor.example.com".to_owned()])
        .await
        .unwrap();
    (table, world)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_answer_api_gateway_events_as_lambda_runs_them() {
    let bins = build(&[
        "consultation-create",
        "embed-pages",
        "embeddable-url",
        "consultation-view",
    ]);
    let (table, world) = seeded_table().await;
    let json_headers = json!({"api-key": world.api_key, "content-type": "application/json"});

    // consultation-create: a valid call, then a bad key.
    let mut create = Function::start(&bins[0], &table).await;
    let body = r#"{"patient":{"keys":[{"subSystem":"pms","key":"lambda-1"}],"firstName":"Ann","lastName":"Lee","dateOfBirth":"1958-03-14"},"locale":"en"}"#;
    let r = create
        .invoke(
            "POST",
            "/embeddable/consultation/create",
            json_headers.clone(),
            Some(body),
        )
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    let launch = body_json(&r);
    let url = launch["iframeUrl"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!(
        "{BASE_URL}/en/embed/franchise/demo/consultation/start?session="
    )));
    // A warm instance: the same patient again.
    let r = create
        .invoke(
            "POST",
            "/embeddable/consultation/create",
            json_headers.clone(),
            Some(body),
        )
        .await;
    assert_eq!(body_json(&r)["patientId"], launch["patientId"]);
    let r = create
        .invoke(
            "POST",
            "/embeddable/consultation/create",
            json!({"api-key": "nope", "content-type": "application/json"}),
            Some(body),
        )
        .await;
    assert_eq!(r["statusCode"], 401);
    let err = body_json(&r);
    assert_eq!(err["message"], "Authentication failed");
    assert_eq!(err["path"], "/embeddable/consultation/create");
    let logs = create.logs();
    assert!(!logs.is_empty(), "the function logged nothing");
    for line in logs.lines() {
        let entry: Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
        // A metrics line (CloudWatch EMF: tests/lambda/metrics.rs reads
        // them) is not a log entry; every other line is.
        if entry.get("_aws").is_some() {
            assert_eq!(
                entry["_aws"]["CloudWatchMetrics"][0]["Namespace"], "embedcare",
                "{line}"
            );
            continue;
        }
        assert!(entry.get("level").is_some(), "{line}");
    }
    for personal in ["Ann", "Lee", "1958", "lambda-1", world.api_key.as_str()] {
        assert!(!logs.contains(personal), "{personal} in the logs");
    }
    assert!(
        logs.contains("apigw-1"),
        "the API Gateway request id is not in the logs"
    );

    // embed-pages: a GET is the entry shell (it redeems nothing); the
    // shell's POST opens the URL once, then it is expired.
    let mut pages = Function::start(&bins[1], &table).await;
    let path = url.strip_prefix(BASE_URL).unwrap();
    let r = pages.invoke("GET", path, json!({}), None).await;
    assert_eq!(r["statusCode"], 200, "{r}");
    assert!(r["body"].as_str().unwrap().contains("\"state\":\"shell\""));
    let (page, token) = path.split_once("?session=").unwrap();
    let form = format!("launch={token}&nonce=lambda-test-page-nonce-0001");
    let form_headers = json!({"content-type": "application/x-www-form-urlencoded"});
    let r = pages
        .invoke("POST", page, form_headers.clone(), Some(&form))
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    let csp = r["headers"]["content-security-policy"].as_str().unwrap();
    assert!(csp.contains("frame-ancestors https://vendor.example.com"));
    assert!(r["body"].as_str().unwrap().contains("embed.ready"));
    let form = format!("launch={token}&nonce=another-page-nonce-0002");
    let r = pages.invoke("POST", page, form_headers, Some(&form)).await;
    assert_eq!(r["statusCode"], 410);
    let r = pages
        .invoke("GET", "/embed/static/app.js", json!({}), None)
        .await;
    assert_eq!(r["statusCode"], 200);

    // embeddable-url: text by default, JSON on request.
    let mut urls = Function::start(&bins[2], &table).await;
    let r = urls
        .invoke(
            "GET",
            "/embeddable/consultation/view?patientKey=lambda-1&locale=fr",
            json!({"api-key": world.api_key}),
            None,
        )
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    assert!(r["body"].as_str().unwrap().starts_with(&format!(
        "{BASE_URL}/fr/embed/franchise/demo/consultation/start?session="
    )));
    let r = urls
        .invoke(
            "GET",
            "/embeddable/statistics",
            json!({"api-key": world.api_key, "accept": "application/json", "x-integration-user": "eyJ1c2VySWQiOiJlbXA0NTYifQ=="}),
            None,
        )
        .await;
    assert_eq!(body_json(&r)["userId"], "emp456");

    // consultation-view: the details of the patient's consultation.
    let mut view = Function::start(&bins[3], &table).await;
    let r = view
        .invoke(
            "POST",
            "/embeddable/consultation/view",
            json_headers,
            Some(r#"{"patientKey":"lambda-1"}"#),
        )
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    assert!(
        body_json(&r)["iframeUrl"]
            .as_str()
            .unwrap()
            .contains("/consultation/details?session=")
    );
}

/// Whatever `EMBEDCARE_LOG` says, the runtime, the HTTP and TLS stacks and
/// the AWS SDK stay at `info`: at `trace` they would print the event (its
/// headers: the API key), the requests to DynamoDB (the patient's data) and
/// the responses (launch tokens). Only our own code follows the filter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_at_trace_show_no_key_token_or_body() {
    let bins = build(&["consultation-create"]);
    let (table, world) = seeded_table().await;
    let mut create = Function::start_with(
        &bins[0],
        &table,
        &[(
            "EMBEDCARE_LOG",
            "trace,lambda_runtime=trace,[request]=trace",
        )],
    )
    .await;
    let body = r#"{"patient":{"keys":[{"subSystem":"pms","key":"trace-key-1"}],"firstName":"Tracey","lastName":"Zebulon","dateOfBirth":"1958-03-14","email":"tracey.z@example.com"},"locale":"en"}"#;
    let headers = json!({"api-key": world.api_key, "content-type": "application/json"});
    let r = create
        .invoke(
            "POST",
            "/embeddable/consultation/create",
            headers,
            Some(body),
        )
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    let url = body_json(&r)["iframeUrl"].as_str().unwrap().to_owned();
    let token = url.split_once("?session=").unwrap().1.to_owned();
    let logs = create.logs();
    assert!(
        logs.contains("\"handled\""),
        "the request was logged: {logs}"
    );
    let secret = world.api_key.splitn(3, '_').nth(2).unwrap();
    for leak in [
        world.api_key.as_str(),
        secret,
        token.as_str(),
        SECRET,
        "Tracey",
        "Zebulon",
        "trace-key-1",
        "tracey.z@example.com",
        "1958-03-14",
    ] {
        assert!(!logs.contains(leak), "{leak} in the logs at trace");
    }
}

/// A function without `EMBEDCARE_SECRET` refuses to start: it must never
/// make one up (what one instance seals, another must open).
#[test]
fn a_function_without_the_secret_does_not_start() {
    let bins = build(&["consultation-create"]);
    let out = Command::new(&bins[0])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("EMBEDCARE_APP_BASE_URL", BASE_URL)
        .stdin(Stdio::null())
        .output()
        .expect("run the function");
    assert!(!out.status.success(), "it started without a secret");
    let said =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("EMBEDCARE_SECRET must be set"), "{said}");
}

fn sdk_config() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(dynamo::endpoint())
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("test", "test", None, None, "tests"),
            ),
        )
        .build()
}

/// The two event-driven functions, as Lambda runs them: the relay takes a
/// DynamoDB stream event and puts its outbox event on the bus (a rule
/// delivers it to SQS); the notifier takes that EventBridge event and
/// e-mails the patient through SES.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_and_the_notifier_run_as_lambda_runs_them() {
    use shared::clock::day_of;
    use shared::domain::{DeliveryStatus, ReasonCode, TenantKey, UserId, View};
    use shared::http::wire::patient_input;
    use shared::services::consultations::{self, NewConsultation};
    use shared::services::launch::{self, LaunchRequest, PatientRef};

    let bins = build(&["outbox-relay", "patient-notifier"]);
    let clock = Arc::new(SystemClock);
    let (store, _) = dynamo::store(clock.clone()).await;
    let table = store.table().to_owned();
    let app = App::new(Arc::new(store), clock, Config::new(BASE_URL));
    let world = demo::seed(&app, &[]).await.unwrap();
    let caller = shared::services::auth::authenticate(&app, Some(&world.api_key), None)
        .await
        .unwrap();
    let mut req = LaunchRequest::new(View::ConsultationStart);
    req.patient = PatientRef::Upsert(
        patient_input(
            &json!({"keys":[{"subSystem":"pms","key":"relay-1"}],"firstName":"Ann","lastName":"Lee","email":"ann@example.com"}),
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
    let (c, event) = consultations::create_consultation(
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

    // The bus, a rule and a queue on moto.
    let conf = sdk_config();
    let (bus, url, sqs) = bus_to_queue(&conf).await;

    // The relay, with the stream record of the outbox item (DynamoDB JSON).
    let outbox_key = shared::store::keys::outbox_key(&tenant, &event.id);
    let item = raw_item(&conf, &table, &outbox_key).await;
    let image = serde_json::to_value(
        item.iter()
            .map(|(k, v)| (k.clone(), dynamodb_json(v)))
            .collect::<serde_json::Map<String, Value>>(),
    )
    .unwrap();
    let stream_event = json!({"Records": [{"eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
        "dynamodb": {"SequenceNumber": "100", "NewImage": image}}]});
    let mut relay = Function::start_with(&bins[0], &table, &[("EMBEDCARE_EVENT_BUS", &bus)]).await;
    let r = relay.invoke_raw(stream_event).await;
    assert_eq!(r, json!({"batchItemFailures": []}));
    let bodies = queued(&sqs, &url).await;
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["detail"]["id"], json!(event.id));
    assert_eq!(bodies[0]["detail-type"], "Consultation Created");
    // Marked relayed in the table: out of the outbox's pending index.
    let item = raw_item(&conf, &table, &outbox_key).await;
    assert!(item.contains_key("relayedAt"), "{item:?}");
    assert!(!item.contains_key("gsi1pk"), "{item:?}");

    // The notifier, with that EventBridge event; SES (moto) needs a verified sender.
    let ses = aws_sdk_sesv2::Client::new(&conf);
    ses.create_email_identity()
        .email_identity("care@pharmacy.example")
        .send()
        .await
        .unwrap();
    let mut notifier = Function::start_with(
        &bins[1],
        &table,
        &[("EMBEDCARE_SES_SENDER", "care@pharmacy.example")],
    )
    .await;
    let r = notifier.invoke_raw(bodies[0].clone()).await;
    assert_eq!(r, json!({"delivered": true}), "{r}");
    let stored = consultations::consultation(&app, &tenant, &c.consultation_id)
        .await
        .unwrap();
    let delivery = stored.delivery.expect("a delivery");
    assert_eq!(
        (delivery.channel.as_str(), delivery.status),
        ("email", DeliveryStatus::Sent)
    );
    // Delivered at least once: the same event again sends nothing.
    let r = notifier.invoke_raw(bodies[0].clone()).await;
    assert_eq!(r, json!({"delivered": false}));
    let logs = notifier.logs();
    for personal in ["Ann", "ann@example.com", "relay-1"] {
        assert!(
            !logs.contains(personal),
            "{personal} in the notifier's logs"
        );
    }
}

/// The scheduled re-drive, as Lambda runs it: an outbox item still pending
/// `EMBEDCARE_REDRIVE_AFTER_MINUTES` after it was written (its stream
/// record lost) is put on the bus and marked relayed; a young one is left
/// to the stream relay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redrive_runs_on_its_schedule_as_lambda_runs_it() {
    use shared::domain::{FranchiseStatus, TenantKey};
    use shared::events::Event;
    use shared::events::outbox;
    use shared::store::Store;

    let bins = build(&["outbox-redrive"]);
    let clock = Arc::new(SystemClock);
    let (store, _) = dynamo::store(clock.clone()).await;
    let table = store.table().to_owned();
    let tenant = TenantKey::parse("demo").unwrap();
    let now = shared::clock::Clock::now_ms(clock.as_ref());
    let (old, young) = (now - 3 * 60_000, now);
    let events: Vec<Event> = [old, young]
        .into_iter()
        .map(|at| {
            Event::franchise(
                &tenant,
                FranchiseStatus::Onboarded,
                FranchiseStatus::Active,
                2,
                at,
            )
        })
        .collect();
    for (e, at) in events.iter().zip([old, young]) {
        store.write(outbox::write(e, at).unwrap()).await.unwrap();
    }
    let conf = sdk_config();
    let (bus, url, sqs) = bus_to_queue(&conf).await;
    let mut redrive = Function::start_with(
        &bins[0],
        &table,
        &[
            ("EMBEDCARE_EVENT_BUS", &bus),
            ("EMBEDCARE_REDRIVE_AFTER_MINUTES", "2"),
        ],
    )
    .await;
    let scheduled = json!({"version": "0", "id": "1", "detail-type": "Scheduled Event",
        "source": "aws.events", "time": "2026-11-21T06:00:00Z", "detail": {}});
    let r = redrive.invoke_raw(scheduled.clone()).await;
    assert_eq!(r["delivered"], 1, "{r}");
    let bodies = queued(&sqs, &url).await;
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["detail"]["id"], json!(events[0].id));
    let old_key = shared::store::keys::outbox_key(&tenant, &events[0].id);
    let item = store.get(&old_key).await.unwrap().unwrap();
    assert!(item.attrs.contains_key("relayedAt"));
    let young_key = shared::store::keys::outbox_key(&tenant, &events[1].id);
    let item = store.get(&young_key).await.unwrap().unwrap();
    assert!(
        !item.attrs.contains_key("relayedAt"),
        "the stream relay's still"
    );
    // The next run finds nothing more to do.
    let r = redrive.invoke_raw(scheduled).await;
    assert_eq!(r["delivered"], 0, "{r}");
}

/// An item as DynamoDB holds it (the SDK's attribute values).
async fn raw_item(
    conf: &aws_config::SdkConfig,
    table: &str,
    key: &shared::store::Key,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    aws_sdk_dynamodb::Client::new(conf)
        .get_item()
        .table_name(table)
        .key("pk", Av::S(key.pk.clone()))
        .key("sk", Av::S(key.sk.clone()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the item")
}

/// A bus on moto whose rule sends every embedcare event to a new queue:
/// (bus name, queue URL, the SQS client).
async fn bus_to_queue(conf: &aws_config::SdkConfig) -> (String, String, aws_sdk_sqs::Client) {
    let events = aws_sdk_eventbridge::Client::new(conf);
    let sqs = aws_sdk_sqs::Client::new(conf);
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let bus = format!("bus-{suffix}");
    events.create_event_bus().name(&bus).send().await.unwrap();
    let url = sqs
        .create_queue()
        .queue_name(format!("q-{suffix}"))
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
    let queue_arn = attrs.attributes.unwrap()[&arn_attr].clone();
    events
        .put_rule()
        .name(format!("r-{suffix}"))
        .event_bus_name(&bus)
        .event_pattern(json!({"source": ["embedcare"]}).to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(format!("r-{suffix}"))
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("q")
                .arn(queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    (bus, url, sqs)
}

/// The messages the queue holds (up to ten), as JSON.
async fn queued(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Value> {
    let received = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    received
        .messages
        .unwrap_or_default()
        .iter()
        .map(|m| serde_json::from_str(m.body.as_deref().unwrap()).unwrap())
        .collect()
}

/// An attribute value in DynamoDB's JSON, as a stream record carries it.
fn dynamodb_json(v: &aws_sdk_dynamodb::types::AttributeValue) -> Value {
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    match v {
        Av::S(s) => json!({"S": s}),
        Av::N(n) => json!({"N": n}),
        Av::Bool(b) => json!({"BOOL": b}),
        Av::Null(_) => json!({"NULL": true}),
        Av::M(m) => {
            json!({"M": m.iter().map(|(k, v)| (k.clone(), dynamodb_json(v))).collect::<serde_json::Map<String, Value>>()})
        }
        Av::L(l) => json!({"L": l.iter().map(dynamodb_json).collect::<Vec<_>>()}),
        _ => Value::Null,
    }
}

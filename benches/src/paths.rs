//! Cold starts of every Lambda function in `functions/` (the local server
//! `functions/local` aside), each with a realistic first event: an API
//! Gateway HTTP API (payload v2) event with a real API key or patient token
//! against the seeded moto table, or the SQS / EventBridge / scheduler /
//! WebSocket API event that function takes (the shapes of
//! `tests/lambda/*.rs`). What each first event costs on the wire is counted
//! in one more, untimed, cold start whose AWS endpoint is a counting proxy
//! in front of moto ([`count`]).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use shared::clock::SystemClock;
use shared::store::dynamodb::DynamoStore;
use shared::{App, AppState};
use tower::ServiceExt;

use crate::cold::{self, Sample};
use crate::util::Res;

/// The deployment secret of every function of the run (`main.rs` gives
/// the same one to the first functions).
pub const SECRET: &str = "bench-secret-of-at-least-thirty-two-chars";
pub const PROVIDER: &str = "dr-nguyen";
const QUARTER: i64 = 15 * 60_000;

/// One cold-start case: a function and the event it is started with.
#[derive(Debug, Clone)]
pub struct Case {
    /// Row label (the binary, and the route when one binary has several).
    pub label: String,
    pub bin: &'static str,
    /// What the event is, for the table.
    pub event: &'static str,
}

fn case(label: &str, bin: &'static str, event: &'static str) -> Case {
    Case {
        label: label.to_owned(),
        bin,
        event,
    }
}

/// The cases of the run: the floors, then every function (one row per
/// WebSocket route of `visit-live` and `event-stream`).
pub fn cases(floors: &[&'static str], functions: &[&'static str]) -> Vec<Case> {
    let mut out: Vec<Case> = floors
        .iter()
        .map(|f| {
            let what = match *f {
                "hello-sdk" => "one `GetItem`",
                "hello-http" => "API Gateway `GET /hello`",
                _ => "`{}`",
            };
            case(f, f, what)
        })
        .collect();
    for f in functions {
        match *f {
            "visit-live" => {
                out.push(case(
                    "visit-live $connect",
                    f,
                    "WebSocket `$connect` of the visit's patient (token in the subprotocol)",
                ));
                out.push(case("visit-live message", f, "WebSocket `$default`: a chat message (stored, posted to the visit's connections)"));
                out.push(case(
                    "visit-live $disconnect",
                    f,
                    "WebSocket `$disconnect` of that connection",
                ));
            }
            "event-stream" => {
                out.push(case(
                    "event-stream $connect",
                    f,
                    "WebSocket `$connect` (API key) claiming an event queue",
                ));
                out.push(case(
                    "event-stream $disconnect",
                    f,
                    "WebSocket `$disconnect` of that client",
                ));
            }
            _ => out.push(case(f, f, event_of(f))),
        }
    }
    out
}

fn event_of(f: &str) -> &'static str {
    match f {
        "consultation-create" => "`POST /embeddable/consultation/create`, existing patient",
        "consultation-view" => "`POST /embeddable/consultation/view`",
        "embeddable-url" => "`GET /embeddable/consultation/dashboard`",
        "embed-pages" => "launch redemption page, unknown token",
        "v2-consultations" => "`GET /v2/consultation-reasons`",
        "v2-followups" => "`GET /v2/followups?patientKey`",
        "v2-embed" => "`POST /v2/embed/consultation/details`",
        "outbox-relay" => "DynamoDB stream, empty batch",
        "patient-notifier" => {
            "EventBridge `Consultation Created`, unknown consultation (error response)"
        }
        "intakes" => "`POST /v2/intakes` (patient token, walk-in)",
        "patient-app" => "`POST /auth` (the sign-in form, a fresh SSO token)",
        "patient-sso" => "`POST /v2/patients/sso` (existing patient)",
        "providers" => "`GET /v2/providers`",
        "rooms" => "`GET /v2/availability` (a provider's free slots, 1 h)",
        "visits" => {
            "`POST /v2/visits/{id}/messages` (patient token; posted to the visit's live connections)"
        }
        "visit-notifier" => {
            "EventBridge `Visit Created` of a new booking (2 reminders scheduled, 1 e-mail)"
        }
        "visit-sweeper" => "EventBridge Scheduler's scheduled event (the sweep)",
        "v2-events" => "`GET /v2/events?limit=10`",
        "event-dispatcher" => {
            "SQS record of the events queue: a new `consultation.created` (fan-out to 1 endpoint + 1 queue)"
        }
        "outbox-redrive" => "EventBridge scheduled event (nothing to re-drive)",
        _ => "—",
    }
}

/// Everything the events refer to: made once on the cold table, in this
/// process, through the routers (a few things again per round).
pub struct Fixture {
    app: AppState,
    router: Router,
    endpoint: String,
    pub table: String,
    pub key: String,
    bearer: String,
    visit: String,
    work_queue: String,
    schedule_group: String,
    sender: String,
    sqs_arn: String,
}

fn conf_parts() -> (
    aws_sdk_dynamodb::config::Region,
    aws_sdk_dynamodb::config::Credentials,
) {
    (
        aws_sdk_dynamodb::config::Region::new("us-east-1"),
        aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "bench"),
    )
}

fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    let (region, creds) = conf_parts();
    aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .region(region)
            .endpoint_url(endpoint)
            .credentials_provider(creds)
            .http_client(shared::http_client::sdk_http_client())
            .build(),
    )
}

pub fn provider_header(id: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(json!({ "userId": id }).to_string())
}

/// A JSON call through the router (the setup, not measured).
pub async fn call(
    router: &Router,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Res<Value> {
    let mut b = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = match body {
        Some(j) => b
            .header("content-type", "application/json")
            .body(Body::from(j.to_string()))?,
        None => b.body(Body::empty())?,
    };
    let res = router.clone().oneshot(req).await?;
    let status = res.status();
    let bytes = res.into_body().collect().await?.to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(format!("setup {path}: {status} {v}").into());
    }
    Ok(v)
}

pub async fn sso(router: &Router, key: &str, patient: &str) -> Res<String> {
    let body = json!({"patient": {"keys": [{"subSystem": "portal", "key": patient}], "firstName": "Ana", "lastName": "Lopez", "email": "ana.bench@example.com"}});
    let r = call(
        router,
        Method::POST,
        "/v2/patients/sso",
        &[("api-key", key)],
        Some(body),
    )
    .await?;
    r["token"]["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("sso: {r}").into())
}

/// A walk-in visit of the patient of `bearer`, started by `PROVIDER`.
pub async fn started_walkin(router: &Router, key: &str, bearer: &str) -> Res<String> {
    let intake = call(
        router,
        Method::POST,
        "/v2/intakes",
        &[("authorization", bearer)],
        Some(json!({"reasonForVisit": "Cough", "type": "WALKIN", "roomCode": "clinic"})),
    )
    .await?;
    let visit = call(
        router,
        Method::POST,
        "/v2/visits/walkin",
        &[("authorization", bearer)],
        Some(json!({"intakeId": intake["intakeId"]})),
    )
    .await?;
    let id = visit["visitId"].as_str().ok_or("no visitId")?.to_owned();
    let doctor = provider_header(PROVIDER);
    call(
        router,
        Method::POST,
        &format!("/v2/visits/{id}/start"),
        &[("api-key", key), ("x-integration-user", &doctor)],
        None,
    )
    .await?;
    Ok(id)
}

pub fn iso_ms(ms: i64) -> String {
    shared::clock::iso_ms(ms)
}

impl Fixture {
    pub async fn new(endpoint: &str, table: &str, key: &str, scratch: &Path) -> Res<Fixture> {
        let client = crate::dynamo_client(endpoint);
        let clock = Arc::new(SystemClock);
        let store = DynamoStore::new(client, table.to_owned(), clock.clone());
        let mut config = crate::util::config(cold::BASE_URL);
        config.secret =
            shared::crypto::Secret::new(SECRET.as_bytes().to_vec()).ok_or("a secret")?;
        config.webhook_allow_loopback = true;
        let ports = shared::app::Ports {
            blobs: Arc::new(shared::blobs::LocalBlobs::new(
                scratch.join("cold-blobs"),
                cold::BASE_URL,
                &shared::crypto::Secret::ephemeral(),
            )),
            ..shared::app::Ports::default()
        };
        let app = App::with_ports(Arc::new(store), clock, config, ports);
        let router = shared::http::app_router(app.clone());
        let token = sso(&router, key, "cold-portal-1").await?;
        let bearer = format!("Bearer {token}");
        let visit = started_walkin(&router, key, &bearer).await?;
        // The event queue `event-stream`'s clients claim, and a webhook
        // endpoint: what the dispatcher fans a new event out to.
        call(
            &router,
            Method::POST,
            "/v2/event-queues",
            &[("api-key", key)],
            Some(json!({"queueName": "cold", "eventTypes": ["consultation.*"]})),
        )
        .await?;
        call(
            &router,
            Method::POST,
            "/v2/webhook-endpoints",
            &[("api-key", key)],
            Some(json!({"url": "http://127.0.0.1:9/cold", "eventTypes": ["consultation.*"], "description": "cold"})),
        )
        .await?;
        // moto: the work queue, a schedule group, a verified sender.
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let sqs = sqs_client(endpoint);
        let q = sqs
            .create_queue()
            .queue_name(format!("cold-work-{suffix}"))
            .send()
            .await?;
        let work_queue = q.queue_url.ok_or("no queue url")?;
        let (region, creds) = conf_parts();
        let scheduler = aws_sdk_scheduler::Client::from_conf(
            aws_sdk_scheduler::Config::builder()
                .behavior_version(aws_sdk_scheduler::config::BehaviorVersion::latest())
                .region(region.clone())
                .endpoint_url(endpoint)
                .credentials_provider(creds.clone())
                .http_client(shared::http_client::sdk_http_client())
                .build(),
        );
        let schedule_group = format!("embedcare-cold-{suffix}");
        scheduler
            .create_schedule_group()
            .name(&schedule_group)
            .send()
            .await?;
        let ses = aws_sdk_sesv2::Client::from_conf(
            aws_sdk_sesv2::Config::builder()
                .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
                .region(region)
                .endpoint_url(endpoint)
                .credentials_provider(creds)
                .http_client(shared::http_client::sdk_http_client())
                .build(),
        );
        let sender = "care@clinic.example".to_owned();
        ses.create_email_identity()
            .email_identity(&sender)
            .send()
            .await?;
        Ok(Fixture {
            app,
            router,
            endpoint: endpoint.to_owned(),
            table: table.to_owned(),
            key: key.to_owned(),
            bearer,
            visit,
            work_queue,
            schedule_group,
            sender,
            sqs_arn: format!("arn:aws:sqs:us-east-1:123456789012:cold-events-{suffix}"),
        })
    }

    /// The environment every function gets, `aws` being where its AWS
    /// clients go (moto, or the counting proxy in front of it).
    fn env(&self, aws: &str) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", aws),
            ("EMBEDCARE_TABLE", self.table.as_str()),
            ("EMBEDCARE_APP_BASE_URL", cold::BASE_URL),
            ("EMBEDCARE_SECRET", SECRET),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    /// The event of `c` in round `round`, and its environment (AWS clients
    /// pointed at `aws`).
    pub async fn event(
        &self,
        c: &Case,
        round: usize,
        aws: &str,
    ) -> Res<(Value, Vec<(String, String)>)> {
        let mut env = self.env(aws);
        let mut add = |k: &str, v: &str| env.push((k.to_owned(), v.to_owned()));
        let key = self.key.as_str();
        let bearer = json!({"authorization": self.bearer, "content-type": "application/json"});
        let conn = format!("cold-{round}");
        let event = match c.label.as_str() {
            "intakes" => cold::apigw(
                "POST",
                "/v2/intakes",
                bearer,
                Some(r#"{"reasonForVisit":"Sore throat","type":"WALKIN","roomCode":"clinic"}"#),
            ),
            "patient-sso" => cold::apigw(
                "POST",
                "/v2/patients/sso",
                json!({"api-key": key, "content-type": "application/json"}),
                Some(
                    r#"{"patient":{"keys":[{"subSystem":"portal","key":"cold-portal-1"}],"firstName":"Ana","lastName":"Lopez"}}"#,
                ),
            ),
            "patient-app" => {
                let token = sso(&self.router, key, "cold-portal-1").await?;
                cold::apigw(
                    "POST",
                    "/auth",
                    json!({"content-type": "application/x-www-form-urlencoded"}),
                    Some(&format!("sso_token={token}&next=%2Fu%2Fclinic")),
                )
            }
            "providers" => cold::apigw("GET", "/v2/providers", json!({"api-key": key}), None),
            "rooms" => {
                let now = self.app.now_ms();
                let from = (now / QUARTER + 8) * QUARTER;
                let q = format!(
                    "/v2/availability?roomCode=clinic&providerId={PROVIDER}&from={}&to={}",
                    iso_ms(from),
                    iso_ms(from + 3_600_000)
                );
                cold::apigw("GET", &q, json!({"api-key": key}), None)
            }
            "visits" => {
                add("EMBEDCARE_VISIT_LIVE_ENDPOINT", aws);
                cold::apigw(
                    "POST",
                    &format!("/v2/visits/{}/messages", self.visit),
                    bearer,
                    Some(&json!({"text": format!("Hello {round}")}).to_string()),
                )
            }
            "v2-events" => {
                add("EMBEDCARE_WORK_QUEUE_URL", &self.work_queue);
                add("EMBEDCARE_WEBSOCKET_ENDPOINT", aws);
                cold::apigw("GET", "/v2/events?limit=10", json!({"api-key": key}), None)
            }
            "visit-live $connect" | "visit-live message" | "visit-live $disconnect" => {
                add("EMBEDCARE_VISIT_LIVE_ENDPOINT", aws);
                let token = self.bearer.trim_start_matches("Bearer ");
                match c.label.as_str() {
                    "visit-live $connect" => ws_event(
                        "$connect",
                        &conn,
                        json!({"Sec-WebSocket-Protocol": format!("embedcare.live.v1, bearer.{token}")}),
                        json!({"visitId": self.visit}),
                        None,
                    ),
                    "visit-live message" => ws_event(
                        "$default",
                        &conn,
                        json!({}),
                        Value::Null,
                        Some(
                            &json!({"type": "chat", "text": format!("Hello {round}")}).to_string(),
                        ),
                    ),
                    _ => ws_event("$disconnect", &conn, json!({}), Value::Null, None),
                }
            }
            "event-stream $connect" | "event-stream $disconnect" => {
                add("EMBEDCARE_WORK_QUEUE_URL", &self.work_queue);
                add("EMBEDCARE_WEBSOCKET_ENDPOINT", aws);
                if c.label.ends_with("$connect") {
                    ws_event(
                        "$connect",
                        &conn,
                        json!({"Authorization": format!("api-key {key}")}),
                        json!({"queue": "cold"}),
                        None,
                    )
                } else {
                    ws_event("$disconnect", &conn, json!({}), Value::Null, None)
                }
            }
            "event-dispatcher" => {
                add("EMBEDCARE_WORK_QUEUE_URL", &self.work_queue);
                add("EMBEDCARE_WEBSOCKET_ENDPOINT", aws);
                add("EMBEDCARE_WEBHOOK_ALLOW_LOOPBACK", "1");
                add("EMBEDCARE_SES_SENDER", "");
                let envelope = self.new_event(round).await?;
                json!({"Records": [{
                    "messageId": format!("cold-{round}"), "receiptHandle": format!("cold-rh-{round}"),
                    "body": envelope.to_string(),
                    "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                    "eventSource": "aws:sqs", "eventSourceARN": self.sqs_arn, "awsRegion": "us-east-1"
                }]})
            }
            "visit-notifier" => {
                add("EMBEDCARE_SES_SENDER", &self.sender);
                add("EMBEDCARE_SCHEDULE_GROUP", &self.schedule_group);
                add(
                    "EMBEDCARE_SCHEDULE_TARGET_ARN",
                    "arn:aws:lambda:us-east-1:123456789012:function:embedcare-visit-notifier",
                );
                add(
                    "EMBEDCARE_SCHEDULER_ROLE_ARN",
                    "arn:aws:iam::123456789012:role/embedcare-scheduler",
                );
                let visit = self.booked(round).await?;
                json!({"version": "0", "id": uuid::Uuid::new_v4().to_string(), "detail-type": "Visit Created",
                    "source": "embedcare", "account": "123456789012", "time": "2026-11-21T06:00:00Z",
                    "region": "us-east-1", "resources": [],
                    "detail": {"id": format!("e-cold-{round}"), "eventType": "visit", "operation": "create", "tenantKey": "demo",
                        "status": "SCHEDULED", "data": {"visitId": visit, "type": "SCHEDULED", "previousStatus": null, "version": 1}}})
            }
            "visit-sweeper" | "outbox-redrive" => {
                add("EMBEDCARE_EVENT_BUS", "bench-bus");
                json!({"version": "0", "id": "1", "detail-type": "Scheduled Event",
                    "source": "aws.events", "time": "2026-11-21T06:00:00Z", "detail": {}})
            }
            other => {
                // The first functions: `main.rs`'s events.
                let (event, extra) = crate::cold_case(other, aws, &self.table, key);
                for (k, v) in extra {
                    if !env.iter().any(|(e, _)| *e == k) {
                        env.push((k, v));
                    }
                }
                event
            }
        };
        Ok((event, env))
    }

    /// A new `consultation.created` of the demo franchise, as the rule puts
    /// it on the events queue (an EventBridge envelope).
    async fn new_event(&self, round: usize) -> Res<Value> {
        let body = json!({"patient": {"keys": [{"subSystem": "pms", "key": format!("cold-hook-{round}-{}", uuid::Uuid::new_v4().simple())}], "firstName": "Ann", "lastName": "Lee"}, "reason": "uti"});
        let made = call(
            &self.router,
            Method::POST,
            "/v2/consultations",
            &[("api-key", &self.key)],
            Some(body),
        )
        .await?;
        let id = made["consultation"]["consultationId"]
            .as_str()
            .ok_or("no consultationId")?
            .to_owned();
        let mut after: Option<String> = None;
        for _ in 0..100 {
            let mut path = "/v2/events?types=consultation.*&limit=100".to_owned();
            if let Some(a) = &after {
                path.push_str(&format!("&after={a}"));
            }
            let page = call(
                &self.router,
                Method::GET,
                &path,
                &[("api-key", &self.key)],
                None,
            )
            .await?;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            if let Some(e) = items
                .iter()
                .find(|e| e["data"]["consultationId"] == id.as_str())
            {
                let detail_type = "Consultation Created";
                shared::events::Published::parse(detail_type, e.clone())
                    .map_err(|e| format!("the listed event is not a bus event: {e}"))?;
                return Ok(
                    json!({"version": "0", "id": uuid::Uuid::new_v4().to_string(),
                    "detail-type": detail_type, "source": "embedcare", "account": "123456789012",
                    "time": "2026-11-21T06:00:00Z", "region": "us-east-1", "resources": [], "detail": e}),
                );
            }
            after = page["nextCursor"].as_str().map(str::to_owned);
            if items.is_empty() || page["hasMore"] != true {
                break;
            }
        }
        Err(format!("the event of consultation {id} is not listed (last page: {after:?})").into())
    }

    /// A scheduled visit two days ahead (a distinct hour each round).
    async fn booked(&self, round: usize) -> Res<String> {
        let token = sso(&self.router, &self.key, &format!("cold-notify-{round}")).await?;
        let bearer = format!("Bearer {token}");
        let intake = call(
            &self.router,
            Method::POST,
            "/v2/intakes",
            &[("authorization", &bearer)],
            Some(json!({"reasonForVisit": "x", "type": "SCHEDULED", "roomCode": "clinic"})),
        )
        .await?;
        let now = self.app.now_ms();
        // Two days ahead, one hour per round (a booking is 30 minutes by
        // default: no round's slot overlaps another's).
        let start = (now / QUARTER + 2 * 24 * 4 + round as i64 * 4) * QUARTER;
        let v = call(
            &self.router,
            Method::POST,
            "/v2/visits",
            &[("authorization", &bearer)],
            Some(json!({"intakeId": intake["intakeId"], "providerId": PROVIDER, "start": iso_ms(start)})),
        )
        .await?;
        v["visitId"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("booking: {v}").into())
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

/// A WebSocket API event (`tests/lambda/live.rs`'s shape).
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
            "domainName": "live.execute-api.us-east-1.amazonaws.com", "stage": "live",
            "apiId": "live", "requestId": format!("ws-{connection}"), "connectedAt": 1_795_327_200_000_i64
        },
        "headers": headers,
        "queryStringParameters": query,
        "body": body,
        "isBase64Encoded": false
    })
}

/// Whether a first response counts (no error, the answer the event must
/// get).
pub fn check(c: &Case, s: &Sample) -> Res<()> {
    let status = s.response["statusCode"].as_u64();
    let fine = match c.label.as_str() {
        "patient-notifier" => true,
        "outbox-relay" | "event-dispatcher" => {
            !s.error
                && s.response["batchItemFailures"]
                    .as_array()
                    .is_some_and(Vec::is_empty)
                || (c.label == "outbox-relay"
                    && !s.error
                    && s.response.get("batchItemFailures").is_some())
        }
        "hello-world" | "hello-sdk" => !s.error,
        "visit-notifier" => !s.error && s.response["done"] == "booked",
        "visit-sweeper" | "outbox-redrive" => !s.error && s.response.is_object(),
        "intakes" => !s.error && status == Some(201),
        "visits" => !s.error && matches!(status, Some(200 | 201)),
        l if l.starts_with("visit-live") || l.starts_with("event-stream") => {
            !s.error && status == Some(200)
        }
        "patient-sso" | "providers" | "rooms" | "v2-events" | "patient-app" => {
            !s.error && status == Some(200)
        }
        _ => !s.error && status.is_some_and(|c| c < 500),
    };
    if fine {
        Ok(())
    } else {
        Err(format!("{}: unexpected first response {}", c.label, s.response).into())
    }
}

/// What a first event sent to AWS, by service: operation names in order.
#[derive(Debug, Clone, Default)]
pub struct Wire {
    pub ops: Vec<String>,
    /// The time AWS (moto) took to answer them, in ms: each request timed
    /// at the proxy from its forwarding to the answer, summed.
    pub aws_ms: f64,
}

impl Wire {
    pub fn dynamodb(&self) -> usize {
        self.ops
            .iter()
            .filter(|o| o.starts_with("DynamoDB."))
            .count()
    }
    pub fn total(&self) -> usize {
        self.ops.len()
    }
    pub fn summary(&self) -> String {
        let mut by: BTreeMap<&str, usize> = BTreeMap::new();
        for o in &self.ops {
            *by.entry(o.as_str()).or_default() += 1;
        }
        if by.is_empty() {
            return "none".into();
        }
        by.iter()
            .map(|(k, n)| {
                if *n > 1 {
                    format!("{n}× {k}")
                } else {
                    (*k).to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    client: reqwest::Client,
    seen: Arc<Mutex<Vec<String>>>,
    /// Microseconds moto took, summed over the requests seen.
    upstream_us: Arc<std::sync::atomic::AtomicU64>,
}

/// The operation of a request to an AWS endpoint: the JSON protocols'
/// `X-Amz-Target`, else the service of the signature's scope and the path.
fn op_of(method: &http::Method, path: &str, headers: &http::HeaderMap) -> String {
    if let Some(t) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (svc, op) = t.split_once('.').unwrap_or(("?", t));
        let svc = if svc.starts_with("DynamoDB") {
            "DynamoDB"
        } else if svc.starts_with("AmazonSQS") {
            "SQS"
        } else if svc.starts_with("AWSEvents") {
            "EventBridge"
        } else {
            svc
        };
        return format!("{svc}.{op}");
    }
    let scope = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("?");
    let path = if path.starts_with("/@connections/") {
        "/@connections/{id}"
    } else {
        path.split('?').next().unwrap_or(path)
    };
    format!("{scope}.{method} {path}")
}

async fn forward(State(p): State<Proxy>, req: Request<Body>) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let op = op_of(&parts.method, &path, &parts.headers);
    p.seen.lock().unwrap_or_else(|e| e.into_inner()).push(op);
    let Ok(bytes) = body.collect().await.map(|b| b.to_bytes()) else {
        return http::StatusCode::BAD_REQUEST.into_response();
    };
    let mut b = p
        .client
        .request(parts.method.clone(), format!("{}{path}", p.upstream));
    for (k, v) in &parts.headers {
        if k != http::header::HOST && k != http::header::CONTENT_LENGTH {
            b = b.header(k, v);
        }
    }
    let sent = std::time::Instant::now();
    match b.body(bytes).send().await {
        Ok(r) => {
            let status = r.status();
            let headers = r.headers().clone();
            let body = r.bytes().await.unwrap_or_default();
            let us = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
            p.upstream_us
                .fetch_add(us, std::sync::atomic::Ordering::Relaxed);
            let mut res = Response::new(Body::from(body));
            *res.status_mut() = status;
            for (k, v) in &headers {
                if k != http::header::CONTENT_LENGTH && k != http::header::TRANSFER_ENCODING {
                    res.headers_mut().insert(k, v.clone());
                }
            }
            res
        }
        Err(_) => http::StatusCode::BAD_GATEWAY.into_response(),
    }
}

/// What the counting proxy saw: the operations, and moto's time (µs).
pub struct Seen {
    pub ops: Arc<Mutex<Vec<String>>>,
    pub upstream_us: Arc<std::sync::atomic::AtomicU64>,
}

/// A counting proxy in front of moto: its URL, and what it saw.
pub async fn proxy(upstream: &str) -> Res<(String, Seen, tokio::task::JoinHandle<()>)> {
    let seen = Seen {
        ops: Arc::new(Mutex::new(Vec::new())),
        upstream_us: Arc::new(std::sync::atomic::AtomicU64::new(0)),
    };
    let p = Proxy {
        upstream: upstream.trim_end_matches('/').to_owned(),
        client: reqwest::Client::builder().build()?,
        seen: seen.ops.clone(),
        upstream_us: seen.upstream_us.clone(),
    };
    let app = Router::new().fallback(forward).with_state(p);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((format!("http://{addr}"), seen, task))
}

/// One more cold start of every case, its AWS clients pointed at the
/// counting proxy: what each first event sent, by operation.
pub async fn count(
    fixture: &Fixture,
    cases: &[Case],
    bins: &HashMap<String, PathBuf>,
    round: usize,
) -> Res<HashMap<String, Wire>> {
    let (url, seen, task) = proxy(fixture.endpoint()).await?;
    let mut out = HashMap::new();
    for c in cases {
        let (event, env) = fixture.event(c, round, &url).await?;
        let bin = bins
            .get(c.bin)
            .ok_or_else(|| format!("no binary {}", c.bin))?;
        seen.ops.lock().unwrap_or_else(|e| e.into_inner()).clear();
        seen.upstream_us
            .store(0, std::sync::atomic::Ordering::Relaxed);
        let s = cold::cold_start(bin, &event, &env).await?;
        check(c, &s)?;
        let ops = std::mem::take(&mut *seen.ops.lock().unwrap_or_else(|e| e.into_inner()));
        let us = seen.upstream_us.load(std::sync::atomic::Ordering::Relaxed);
        out.insert(
            c.label.clone(),
            Wire {
                ops,
                aws_ms: us as f64 / 1000.0,
            },
        );
    }
    task.abort();
    Ok(out)
}

/// The functions, each built as it is packaged: one `cargo build` per set
/// of `shared` features (cargo unifies the features of the packages of one
/// build, which would link e.g. `visits`' Chime and S3 clients into every
/// function). The sets are read from each `functions/<name>/Cargo.toml`.
pub fn build_functions(
    root: &Path,
    release: bool,
    functions: &[&str],
) -> Res<HashMap<String, PathBuf>> {
    let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for f in functions {
        let manifest = std::fs::read_to_string(root.join("functions").join(f).join("Cargo.toml"))?;
        let features = manifest
            .lines()
            .find(|l| l.trim_start().starts_with("shared"))
            .and_then(|l| l.split("features").nth(1))
            .map(|s| {
                s.chars()
                    .filter(|c| !c.is_whitespace() && !matches!(c, '=' | '{' | '}'))
                    .collect::<String>()
            })
            .unwrap_or_default();
        groups.entry(features).or_default().push(f);
    }
    let mut bins = HashMap::new();
    for (features, fs) in &groups {
        eprintln!(
            "    functions with shared features {features}: {}",
            fs.join(", ")
        );
        bins.extend(crate::util::build(release, fs, &[], None)?);
    }
    Ok(bins)
}

/// The cold-start targets, as measured: (case, ratio) of the worst init
/// and first response, (binary, bytes) of the largest zip.
#[derive(Debug, Clone, Default)]
pub struct ColdTargets {
    pub worst_init: (String, f64),
    pub worst_first: (String, f64),
    pub biggest_zip: (String, u64),
    pub missed: Vec<String>,
}

pub const ZIP_LIMIT: u64 = 2_500_000;
pub const INIT_LIMIT: f64 = 1.5;
pub const FIRST_LIMIT: f64 = 1.25;

fn med(v: &[Sample], f: impl Fn(&Sample) -> f64) -> (f64, f64) {
    let s = crate::util::sorted(v.iter().map(f).collect());
    (crate::util::pct(&s, 50.0), crate::util::pct(&s, 90.0))
}

/// §1: every case's init, first response and size against the floors.
pub fn cold_section(
    r: &mut crate::Report,
    plan: &crate::Plan,
    cases: &[Case],
    cold: &HashMap<String, Vec<Sample>>,
    sizes: &crate::Sizes,
    wire: &HashMap<String, Wire>,
    moto_rtt: f64,
) -> ColdTargets {
    use crate::util::mb;
    let ok = crate::ok;
    r.line("\n## 1. Cold start, size, memory\n");
    let floor_init = med(&cold["hello-world"], |s| s.init_ms).0;
    let (sdk_first, _) = med(&cold["hello-sdk"], |s| s.first_ms);
    let sdk_n = wire.get("hello-sdk").map_or(1, Wire::total).max(1);
    let sdk_rest = sdk_first - wire.get("hello-sdk").map_or(0.0, |w| w.aws_ms);
    r.line(format!(
        "{} cold starts per case (cases interleaved round-robin), medians. *init* = exec → first `GET /invocation/next`; ratio to `hello-world`'s init ({floor_init:.2} ms), target ≤ {INIT_LIMIT}×. *first response* = exec → the response to its one event; its reference is `hello-sdk` (default `aws-config` chain, a DynamoDB client, one `GetItem`: {sdk_first:.2} ms) scaled to the case's number of AWS requests *n*: reference = {sdk_first:.2} ms + (n − {sdk_n}) × {moto_rtt:.2} ms (one warm `GetItem` on moto from this process, measured above), target ≤ {FIRST_LIMIT}×. *n* counts every request the first event sent to AWS — DynamoDB and the others (SQS, Scheduler, SES, the WebSocket API's `PostToConnection`), all on the same moto — counted in one more, untimed, cold start of each case whose `AWS_ENDPOINT_URL` is a counting proxy in front of moto (`benches/src/paths.rs`). Zip: deflate zip of the single `bootstrap`, as cargo-lambda ships it, target ≤ 2.5 MB. Each function is built with its own `shared` features (one `cargo build` per feature set, as `cargo lambda build` packages each crate). *moto ms*: the time moto took to answer those requests in the counted start (each timed at the proxy, summed); *rest ms* = first response − moto ms: the process's own time (exec, init, its work, the runtime's round trips), against `hello-sdk`'s ({sdk_rest:.2} ms).\n",
        plan.cold_starts
    ));
    r.line("| case | first event | AWS requests in it (DynamoDB) | init ms | init ÷ hello-world | first response ms (p90) | reference ms | ÷ reference | moto ms | rest ms | peak RSS MiB | binary | zip | zip ≤ 2.5 MB |");
    r.line("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    let mut t = ColdTargets::default();
    for c in cases {
        let Some(v) = cold.get(&c.label) else {
            continue;
        };
        let (init, _) = med(v, |s| s.init_ms);
        let (first, p90) = med(v, |s| s.first_ms);
        let rss = crate::util::sorted(v.iter().map(|s| s.rss_kib as f64).collect());
        let (b, _, z) = sizes.get(c.bin).copied().unwrap_or_default();
        let w = wire.get(&c.label).cloned().unwrap_or_default();
        let n = w.total();
        let reference = sdk_first + (n as f64 - sdk_n as f64) * moto_rtt;
        let init_ratio = init / floor_init;
        let first_ratio = first / reference;
        let is_floor = matches!(c.bin, "hello-world" | "hello-http" | "hello-sdk");
        if !is_floor {
            if init_ratio > t.worst_init.1 {
                t.worst_init = (c.label.clone(), init_ratio);
            }
            if first_ratio > t.worst_first.1 {
                t.worst_first = (c.label.clone(), first_ratio);
            }
            if z > t.biggest_zip.1 {
                t.biggest_zip = (c.bin.to_owned(), z);
            }
            if init_ratio > INIT_LIMIT {
                t.missed.push(format!("{} init {init_ratio:.2}×", c.label));
            }
            if first_ratio > FIRST_LIMIT {
                t.missed.push(format!(
                    "{} first response {first_ratio:.2}× reference",
                    c.label
                ));
            }
        }
        let mark = |good: bool| {
            if is_floor {
                ""
            } else if good {
                " ✅"
            } else {
                " ❌"
            }
        };
        r.line(format!(
            "| `{}` | {} | {} ({}) | {init:.2} | {init_ratio:.2}×{} | {first:.2} ({p90:.2}) | {reference:.2} | {first_ratio:.2}×{} | {:.2} | {:.2} | {:.1} | {} | {} | {} |",
            c.label,
            c.event,
            w.summary(),
            w.dynamodb(),
            mark(init_ratio <= INIT_LIMIT),
            mark(first_ratio <= FIRST_LIMIT),
            w.aws_ms,
            first - w.aws_ms,
            crate::util::pct(&rss, 50.0) / 1024.0,
            mb(b),
            mb(z),
            if is_floor { "" } else { ok(z <= ZIP_LIMIT) }
        ));
    }
    t
}

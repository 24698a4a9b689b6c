//! Warm DynamoDB round trips of the vendor calls added since the first
//! table (`warm.rs`): the clinic (SSO, intakes, rooms, availability,
//! providers, bookings, walk-ins, eConsults and their moves, the chat),
//! the encounter (participants, their tokens, video keys, presence,
//! snapshots, the intake's concerns), the events API (`/v2/events`, event
//! queues) and the webhook endpoints. One scenario, run twice on one app
//! over moto: the first run fills the caches, the second is counted on
//! the wire (`warm::WireLog`), call by call, against each call's budget.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use shared::App;
use shared::clock::SystemClock;
use shared::store::dynamodb::DynamoStore;
use tower::ServiceExt;

use crate::paths::{PROVIDER, iso_ms, provider_header};
use crate::util::Res;
use crate::warm::WireLog;

/// The budget of a vendor call that only reads or changes one thing: the
/// API key (or session) and the franchise come from the warm caches, so at
/// most the item read and the item written.
pub const DEFAULT_BUDGET: usize = 2;
/// What the table says of a call held at its measured count.
pub const GUARD: &str = "over the default of 2: its count as measured when this table was added, held so that one more round trip fails quick mode; the reads before its work (e.g. a patient's session token, the visit) are in the requests column";

/// One counted call.
pub struct Counted {
    pub name: String,
    pub status: u16,
    pub ops: Vec<String>,
    pub budget: usize,
    /// Why the budget is above `DEFAULT_BUDGET` (empty: it is not).
    pub why: &'static str,
}

struct Run {
    router: Router,
    log: WireLog,
    key: String,
    counting: bool,
    out: Vec<Counted>,
}

/// Who makes a call.
#[derive(Clone, Copy)]
enum Who<'a> {
    Key,
    Provider(&'a str),
    Bearer(&'a str),
    Public,
}

struct Call<'a> {
    name: &'a str,
    method: Method,
    uri: String,
    who: Who<'a>,
    body: Option<(&'static str, Vec<u8>)>,
    ok: &'a [u16],
    budget: usize,
    why: &'static str,
}

fn c<'a>(name: &'a str, method: Method, uri: impl Into<String>, who: Who<'a>) -> Call<'a> {
    Call {
        name,
        method,
        uri: uri.into(),
        who,
        body: None,
        ok: &[200],
        budget: DEFAULT_BUDGET,
        why: "",
    }
}

impl<'a> Call<'a> {
    fn json(mut self, v: Value) -> Self {
        self.body = Some(("application/json", v.to_string().into_bytes()));
        self
    }
    fn ok(mut self, ok: &'a [u16]) -> Self {
        self.ok = ok;
        self
    }
    /// A call over `DEFAULT_BUDGET` today: held at its measured count
    /// (a regression guard, so that quick mode fails on one more round
    /// trip), and reported as over the default.
    fn guard(mut self, n: usize) -> Self {
        self.budget = n;
        self.why = GUARD;
        self
    }
}

impl Run {
    async fn send(&mut self, call: Call<'_>) -> Res<Value> {
        let mut b = Request::builder()
            .method(call.method.clone())
            .uri(&call.uri);
        match call.who {
            Who::Key => b = b.header("api-key", &self.key),
            Who::Provider(p) => {
                b = b
                    .header("api-key", &self.key)
                    .header("x-integration-user", provider_header(p));
            }
            Who::Bearer(t) => b = b.header("authorization", format!("Bearer {t}")),
            Who::Public => b = b.header("x-tenant-key", "demo"),
        }
        let req = match call.body {
            Some((ct, bytes)) => b.header("content-type", ct).body(Body::from(bytes))?,
            None => b.body(Body::empty())?,
        };
        self.log.take();
        let res = self.router.clone().oneshot(req).await?;
        let status = res.status().as_u16();
        let bytes = res.into_body().collect().await?.to_bytes();
        let sent = self.log.take();
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !call.ok.contains(&status) {
            return Err(format!("{}: status {status} ({v})", call.name).into());
        }
        if self.counting {
            self.out.push(Counted {
                name: call.name.to_owned(),
                status,
                ops: sent.into_iter().map(|s| s.op).collect(),
                budget: call.budget,
                why: call.why,
            });
        }
        Ok(v)
    }
}

fn field(v: &Value, k: &str) -> Res<String> {
    v[k].as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no {k} in {v}").into())
}

/// A tiny PNG (the signature, then filler): what a snapshot upload sends.
fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend((0..2000).map(|i| (i * 7 % 251) as u8));
    b
}

/// The scenario, once; `round` makes its patients and slots unique.
async fn scenario(r: &mut Run, round: usize) -> Res<()> {
    let tag = format!("{round}-{}", uuid::Uuid::new_v4().simple());
    let portal = format!("warm-{tag}");
    // --- the patient's side -------------------------------------------------
    let sso = r
        .send(
            c("POST /v2/patients/sso (existing patient)", Method::POST, "/v2/patients/sso", Who::Key)
                .json(json!({"patient": {"keys": [{"subSystem": "portal", "key": "warm-p"}], "firstName": "Ana", "lastName": "Lopez"}})),
        )
        .await?;
    let _ = sso;
    // A new patient each round (its SSO creates it).
    let sso = r
        .send(
            c("POST /v2/patients/sso (new patient)", Method::POST, "/v2/patients/sso", Who::Key)
                .json(json!({"patient": {"keys": [{"subSystem": "portal", "key": portal}], "firstName": "Ana", "lastName": "Lopez", "email": "ana.warm@example.com"}})),
        )
        .await?;
    let token = sso["token"]["token"].as_str().ok_or("no token")?.to_owned();
    let t = Who::Bearer(&token);
    r.send(c("GET /v2/rooms", Method::GET, "/v2/rooms", Who::Key))
        .await?;
    r.send(c(
        "GET /v2/rooms/{code} (public)",
        Method::GET,
        "/v2/rooms/clinic",
        Who::Public,
    ))
    .await?;
    r.send(c("GET /v2/concerns", Method::GET, "/v2/concerns", Who::Key))
        .await?;
    r.send(c(
        "GET /v2/providers",
        Method::GET,
        "/v2/providers",
        Who::Key,
    ))
    .await?;
    let now = shared::clock::Clock::now_ms(&SystemClock);
    let quarter = 15 * 60_000;
    let from = (now / quarter + 8) * quarter;
    r.send(
        c(
            "GET /v2/availability (1 provider, 1 h)",
            Method::GET,
            format!(
                "/v2/availability?roomCode=clinic&providerId={PROVIDER}&from={}&to={}",
                iso_ms(from),
                iso_ms(from + 3_600_000)
            ),
            Who::Key,
        )
        .guard(3),
    )
    .await?;
    let intake = r
        .send(
            c("POST /v2/intakes (scheduled)", Method::POST, "/v2/intakes", t).guard(4)
                .json(json!({"reasonForVisit": "Sore throat", "type": "SCHEDULED", "roomCode": "clinic", "concerns": [{"text": "fever", "primary": true}]}))
                .ok(&[201]),
        )
        .await?;
    let intake = field(&intake, "intakeId")?;
    r.send(c(
        "GET /v2/intakes/{id}",
        Method::GET,
        format!("/v2/intakes/{intake}"),
        t,
    ))
    .await?;
    // A booking: a slot of its own (days ahead, one per round).
    let day = 5 + (uuid::Uuid::new_v4().as_u128() % 40) as i64;
    let start = (now / quarter + day * 96 + round as i64 * 4) * quarter;
    let booked = r
        .send(
            c("POST /v2/visits (booking)", Method::POST, "/v2/visits", t).guard(5)
                .json(json!({"intakeId": intake, "providerId": PROVIDER, "start": iso_ms(start), "duration": 30}))
                .ok(&[201]),
        )
        .await?;
    let booked = field(&booked, "visitId")?;
    r.send(c(
        "GET /v2/visits/{id} (patient)",
        Method::GET,
        format!("/v2/visits/{booked}"),
        t,
    ))
    .await?;
    r.send(c(
        "GET /v2/visits?providerId (page)",
        Method::GET,
        format!("/v2/visits?providerId={PROVIDER}&limit=10"),
        Who::Key,
    ))
    .await?;
    r.send(
        c(
            "POST /v2/visits/{id}/cancel (patient)",
            Method::POST,
            format!("/v2/visits/{booked}/cancel"),
            t,
        )
        .guard(3),
    )
    .await?;

    // --- a walk-in and its encounter -------------------------------------------
    let wi = r
        .send(
            c("POST /v2/intakes (walk-in)", Method::POST, "/v2/intakes", t)
                .guard(4)
                .json(json!({"reasonForVisit": "Cough", "type": "WALKIN", "roomCode": "clinic"}))
                .ok(&[201]),
        )
        .await?;
    let wi = field(&wi, "intakeId")?;
    let walkin = r
        .send(
            c(
                "POST /v2/visits/walkin",
                Method::POST,
                "/v2/visits/walkin",
                t,
            )
            .guard(5)
            .json(json!({"intakeId": wi}))
            .ok(&[201]),
        )
        .await?;
    let v = field(&walkin, "visitId")?;
    let me = Who::Provider(PROVIDER);
    r.send(
        c(
            "POST /v2/visits/{id}/start",
            Method::POST,
            format!("/v2/visits/{v}/start"),
            me,
        )
        .guard(5),
    )
    .await?;
    r.send(
        c("PUT /v2/visits/{id}/intake (concerns)", Method::PUT, format!("/v2/visits/{v}/intake"), t).guard(5)
            .json(json!({"concerns": [{"code": "fever", "primary": true}, {"text": "Tingling hands", "primary": false}], "allergies": ["penicillin"]})),
    )
    .await?;
    r.send(
        c(
            "POST /v2/visits/{id}/messages (patient)",
            Method::POST,
            format!("/v2/visits/{v}/messages"),
            t,
        )
        .guard(4)
        .json(json!({"text": "Hello doctor"}))
        .ok(&[200, 201]),
    )
    .await?;
    r.send(
        c(
            "GET /v2/visits/{id}/messages",
            Method::GET,
            format!("/v2/visits/{v}/messages"),
            t,
        )
        .guard(4),
    )
    .await?;
    let g = r
        .send(
            c(
                "POST /v2/visits/{id}/participants (guest)",
                Method::POST,
                format!("/v2/visits/{v}/participants"),
                me,
            )
            .guard(3)
            .json(json!({"participantType": "GUEST", "firstName": "Sam", "lastName": "Lee"}))
            .ok(&[200, 201]),
        )
        .await?;
    let gid = field(&g, "participantId")?;
    r.send(c(
        "GET /v2/visits/{id}/participants",
        Method::GET,
        format!("/v2/visits/{v}/participants"),
        me,
    ))
    .await?;
    r.send(c(
        "GET /v2/visits/{id}/participants/{pid}",
        Method::GET,
        format!("/v2/visits/{v}/participants/{gid}"),
        me,
    ))
    .await?;
    r.send(
        c(
            "POST /v2/visits/{id}/participants/{pid}/tokens",
            Method::POST,
            format!("/v2/visits/{v}/participants/{gid}/tokens"),
            me,
        )
        .guard(3)
        .ok(&[200, 201]),
    )
    .await?;
    r.send(
        c(
            "GET /v2/visits/{id}/participants/{pid}/video-key",
            Method::GET,
            format!("/v2/visits/{v}/participants/{gid}/video-key"),
            me,
        )
        .guard(5),
    )
    .await?;
    r.send(
        c(
            "PUT /v2/visits/{id}/alive (patient)",
            Method::PUT,
            format!("/v2/visits/{v}/alive"),
            t,
        )
        .guard(5)
        .ok(&[200, 204]),
    )
    .await?;
    r.send(c(
        "GET /v2/visits/{id}/connection-status",
        Method::GET,
        format!("/v2/visits/{v}/connection-status"),
        Who::Key,
    ))
    .await?;
    let snap = r
        .send(Call {
            body: Some(("image/png", png())),
            ok: &[201],
            ..c(
                "POST /v2/visits/{id}/snapshots",
                Method::POST,
                format!("/v2/visits/{v}/snapshots"),
                me,
            )
            .guard(5)
        })
        .await?;
    let sid = field(&snap, "snapshotId")?;
    r.send(
        c(
            "GET /v2/visits/{id}/snapshots",
            Method::GET,
            format!("/v2/visits/{v}/snapshots"),
            me,
        )
        .guard(4),
    )
    .await?;
    r.send(
        c(
            "GET /v2/visits/{id}/snapshots/{sid}",
            Method::GET,
            format!("/v2/visits/{v}/snapshots/{sid}"),
            me,
        )
        .guard(4),
    )
    .await?;
    r.send(
        c(
            "POST /v2/visits/{id}/complete",
            Method::POST,
            format!("/v2/visits/{v}/complete"),
            me,
        )
        .guard(4),
    )
    .await?;

    // --- an eConsult accepted --------------------------------------------------
    let ei = r
        .send(
            c("POST /v2/intakes (eConsult)", Method::POST, "/v2/intakes", t).guard(4)
                .json(json!({"reasonForVisit": "Rash", "type": "ECONSULT", "roomCode": "clinic", "concerns": [{"text": "rash", "primary": true}]}))
                .ok(&[201]),
        )
        .await?;
    let ei = field(&ei, "intakeId")?;
    let e = r
        .send(
            c(
                "POST /v2/visits/econsult",
                Method::POST,
                "/v2/visits/econsult",
                t,
            )
            .guard(4)
            .json(json!({"intakeId": ei}))
            .ok(&[201]),
        )
        .await?;
    let e = field(&e, "visitId")?;
    r.send(
        c(
            "POST /v2/visits/{id}/accept",
            Method::POST,
            format!("/v2/visits/{e}/accept"),
            me,
        )
        .guard(4),
    )
    .await?;

    // --- events and webhook endpoints ----------------------------------------
    r.send(c(
        "GET /v2/events?limit=10",
        Method::GET,
        "/v2/events?limit=10",
        Who::Key,
    ))
    .await?;
    let qname = format!("w{}", &tag[..tag.len().min(20)].replace('-', ""));
    r.send(
        c(
            "POST /v2/event-queues",
            Method::POST,
            "/v2/event-queues",
            Who::Key,
        )
        .json(json!({"queueName": qname, "eventTypes": ["visit.*"]}))
        .ok(&[200, 201]),
    )
    .await?;
    r.send(c(
        "GET /v2/event-queues",
        Method::GET,
        "/v2/event-queues",
        Who::Key,
    ))
    .await?;
    r.send(c(
        "GET /v2/event-queues/{name}",
        Method::GET,
        format!("/v2/event-queues/{qname}"),
        Who::Key,
    ))
    .await?;
    r.send(
        c(
            "DELETE /v2/event-queues/{name}",
            Method::DELETE,
            format!("/v2/event-queues/{qname}"),
            Who::Key,
        )
        .guard(3)
        .ok(&[200, 204]),
    )
    .await?;
    let ep = r
        .send(
            c("POST /v2/webhook-endpoints", Method::POST, "/v2/webhook-endpoints", Who::Key)
                .json(json!({"url": format!("http://127.0.0.1:9/warm/{tag}"), "eventTypes": ["visit.*"], "description": "warm"}))
                .ok(&[200, 201]),
        )
        .await?;
    let eid = field(&ep, "id").or_else(|_| field(&ep, "endpointId"))?;
    r.send(c(
        "GET /v2/webhook-endpoints",
        Method::GET,
        "/v2/webhook-endpoints",
        Who::Key,
    ))
    .await?;
    r.send(c(
        "GET /v2/webhook-endpoints/{id}",
        Method::GET,
        format!("/v2/webhook-endpoints/{eid}"),
        Who::Key,
    ))
    .await?;
    r.send(
        c(
            "PATCH /v2/webhook-endpoints/{id}",
            Method::PATCH,
            format!("/v2/webhook-endpoints/{eid}"),
            Who::Key,
        )
        .json(json!({"description": "warm, renamed"})),
    )
    .await?;
    r.send(c(
        "GET /v2/webhook-endpoints/{id}/deliveries",
        Method::GET,
        format!("/v2/webhook-endpoints/{eid}/deliveries"),
        Who::Key,
    ))
    .await?;
    r.send(
        c(
            "POST /v2/webhook-endpoints/{id}/rotate-secret",
            Method::POST,
            format!("/v2/webhook-endpoints/{eid}/rotate-secret"),
            Who::Key,
        )
        .ok(&[200, 201]),
    )
    .await?;
    r.send(
        c(
            "DELETE /v2/webhook-endpoints/{id}",
            Method::DELETE,
            format!("/v2/webhook-endpoints/{eid}"),
            Who::Key,
        )
        .ok(&[200, 204]),
    )
    .await?;
    Ok(())
}

/// The scenario twice on moto; the second run's calls, counted.
pub async fn count_on_moto(endpoint: &str, scratch: &std::path::Path) -> Res<Vec<Counted>> {
    let (log, client, table) = crate::warm::logged_table(endpoint, "clinic").await?;
    let clock = Arc::new(SystemClock);
    let store = DynamoStore::new(client, table, clock.clone());
    let mut config = crate::util::config(crate::warm::BASE_URL);
    config.webhook_allow_loopback = true;
    let ports = shared::app::Ports {
        blobs: Arc::new(shared::blobs::LocalBlobs::new(
            scratch.join("warm-blobs"),
            crate::warm::BASE_URL,
            &shared::crypto::Secret::ephemeral(),
        )),
        ..shared::app::Ports::default()
    };
    let app = App::with_ports(Arc::new(store), clock, config, ports);
    let world = shared::services::demo::seed(&app, &[]).await?;
    let mut run = Run {
        router: shared::http::app_router(app),
        log,
        key: world.api_key.clone(),
        counting: false,
        out: Vec::new(),
    };
    scenario(&mut run, 0).await?;
    run.counting = true;
    scenario(&mut run, 1).await?;
    Ok(run.out)
}

/// The table of §2, and a failure per call over its budget.
pub fn section(r: &mut crate::Report, counted: &[Counted]) {
    r.line("\n### DynamoDB requests per vendor call: the clinic, the encounter, events and webhooks (counted on the wire, moto)\n");
    r.line(format!("One scenario (`benches/src/clinic_warm.rs`) run twice through `app_router` on one app over moto: a patient's SSO, intakes, a booking and its cancel, a walk-in through its encounter (start, the intake's concerns, the chat, a guest, its token and video key, presence, a snapshot, complete), an eConsult accepted, the events API and a webhook endpoint's life. The first run fills the caches (API key, franchise, rooms, providers); the second is counted by the same SDK interceptor as above. Budget: {DEFAULT_BUDGET} round trips (with the API key and franchise cached: the item read, the item written). The calls over it are held at their count as measured when this table was added (*guard*: quick mode fails on one more round trip), and each is reported as over the default: they are not justified budgets, they are what remains to fold.\n"));
    let over = counted
        .iter()
        .filter(|c| c.ops.len() > DEFAULT_BUDGET)
        .count();
    r.line(format!(
        "{over} of {} calls are over the default of {DEFAULT_BUDGET}.\n",
        counted.len()
    ));
    r.line("| vendor call | status | round trips | requests | ≤ 2 | budget (assert) | |");
    r.line("| --- | ---: | ---: | --- | --- | ---: | --- |");
    for c in counted {
        let within = c.ops.len() <= c.budget;
        if !within {
            r.failures.push(format!(
                "{}: {} DynamoDB round trips (budget {}): {:?}",
                c.name,
                c.ops.len(),
                c.budget,
                c.ops
            ));
        }
        r.line(format!(
            "| {} | {} | {} | {} | {} | {}{} | {} |",
            c.name,
            c.status,
            c.ops.len(),
            c.ops.join(" + "),
            crate::ok(c.ops.len() <= DEFAULT_BUDGET),
            c.budget,
            if c.why.is_empty() { "" } else { " (guard)" },
            crate::ok(within)
        ));
    }
}

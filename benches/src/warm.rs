//! The warm path: DynamoDB requests and request bytes per vendor call
//! (counted by an SDK interceptor, on moto), and in-process handler latency
//! on the embedded store (`tower::ServiceExt::oneshot` on `app_router`).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use axum::Router;
use axum::body::Body;
use http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::json;
use shared::App;
use shared::clock::SystemClock;
use shared::services::demo::{self, DemoWorld};
use shared::store::Store;
use shared::store::dynamodb::{DynamoStore, create_table};
use shared::store::embedded::EmbeddedStore;
use shared::store::metered::MeteredStore;
use shared::store::{Key, keys};
use tower::ServiceExt;

use crate::util::{Res, pct, sorted};

pub const BASE_URL: &str = "http://127.0.0.1:3000";

/// One request the DynamoDB client sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub op: String,
    pub body_bytes: usize,
    pub header_bytes: usize,
}

/// `RequestLog`, extended: the operation and the bytes of every request the
/// client actually puts on the wire (retries included).
#[derive(Debug, Clone, Default)]
pub struct WireLog(Arc<Mutex<Vec<Sent>>>);

impl WireLog {
    pub fn take(&self) -> Vec<Sent> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Intercept for WireLog {
    fn name(&self) -> &'static str {
        "benchmarks-wire-log"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let req = context.request();
        let op = req
            .headers()
            .get("x-amz-target")
            .map(|t| t.rsplit('.').next().unwrap_or(t).to_owned())
            .unwrap_or_else(|| "?".to_owned());
        let header_bytes = req
            .headers()
            .iter()
            .map(|(k, v)| k.len() + v.len() + 4)
            .sum();
        let body_bytes = req.body().bytes().map_or(0, <[u8]>::len);
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(Sent {
            op,
            body_bytes,
            header_bytes,
        });
        Ok(())
    }
}

/// One vendor call of the benchmark.
pub struct Call {
    pub name: String,
    pub method: Method,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// The `x-integration-user` names an existing user by id only: the call
    /// must write nothing to that user.
    pub id_only_user: Option<String>,
    /// Statuses that count as success.
    pub ok: &'static [u16],
}

fn b64(s: &str) -> String {
    use base64_lite::encode;
    encode(s.as_bytes())
}

/// Standard base64 (no dependency needed for a few headers).
mod base64_lite {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    pub fn encode(b: &[u8]) -> String {
        let mut out = String::new();
        for c in b.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

pub const EXISTING_USER: &str = "bench-user";
pub const PATIENT: &str = "bench-p";

/// The vendor calls, `round` making new patients/users unique per round.
pub fn calls(key: &str, round: usize) -> Vec<Call> {
    let id_only = b64(&format!(r#"{{"userId":"{EXISTING_USER}"}}"#));
    let full_new = b64(&format!(
        r#"{{"userId":"new-{round}-{}","firstName":"Jo","lastName":"Ng","email":"jo@clinic.example"}}"#,
        uuid::Uuid::new_v4().simple()
    ));
    let patient =
        json!({"keys":[{"subSystem":"pms","key":PATIENT}],"firstName":"Ann","lastName":"Lee"});
    let api = |extra: &[(&str, &str)]| {
        let mut h = vec![("api-key".to_owned(), key.to_owned())];
        h.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        h
    };
    let json_h = |extra: &[(&str, &str)]| {
        let mut h = api(extra);
        h.push(("content-type".into(), "application/json".into()));
        h
    };
    let get = |name: &str, uri: &str| Call {
        name: name.to_owned(),
        method: Method::GET,
        uri: uri.to_owned(),
        headers: api(&[("x-integration-user", &id_only)]),
        body: None,
        id_only_user: Some(EXISTING_USER.into()),
        ok: &[200],
    };
    let q = format!("patientKey={PATIENT}");
    let mut out = vec![
        Call {
            name: "POST create — existing patient, id-only user".into(),
            method: Method::POST,
            uri: "/embeddable/consultation/create".into(),
            headers: json_h(&[("x-integration-user", &id_only)]),
            body: Some(json!({ "patient": patient }).to_string()),
            id_only_user: Some(EXISTING_USER.into()),
            ok: &[200],
        },
        Call {
            name: "POST create — changed patient".into(),
            method: Method::POST,
            uri: "/embeddable/consultation/create".into(),
            headers: json_h(&[]),
            body: Some(
                json!({"patient": {"keys":[{"subSystem":"pms","key":PATIENT}],"phone": format!("514-555-{:04}", round)}})
                    .to_string(),
            ),
            id_only_user: None,
            ok: &[200],
        },
        Call {
            name: "POST create — new patient, new user".into(),
            method: Method::POST,
            uri: "/embeddable/consultation/create".into(),
            headers: json_h(&[("x-integration-user", &full_new)]),
            body: Some(
                json!({"patient": {"keys":[{"subSystem":"pms","key":format!("new-{round}-{}", uuid::Uuid::new_v4().simple())},{"subSystem":"ramq","key":format!("R-{round}")}],"firstName":"B","lastName":"C"}})
                    .to_string(),
            ),
            id_only_user: None,
            ok: &[200],
        },
        Call {
            name: "POST view".into(),
            method: Method::POST,
            uri: "/embeddable/consultation/view".into(),
            headers: json_h(&[("x-integration-user", &id_only)]),
            body: Some(json!({ "patientKey": PATIENT }).to_string()),
            id_only_user: Some(EXISTING_USER.into()),
            ok: &[200],
        },
    ];
    for (path, query) in [
        ("/embeddable/consultation/view", q.as_str()),
        ("/embeddable/consultation/dashboard", ""),
        ("/embeddable/consultation/specific", q.as_str()),
        ("/embeddable/consultation/answer", q.as_str()),
        ("/embeddable/followup/view", q.as_str()),
        ("/embeddable/followup/dashboard", ""),
        ("/embeddable/followup/specific", q.as_str()),
        ("/embeddable/followup/plan", q.as_str()),
        ("/embeddable/administration/franchise-management", ""),
        ("/embeddable/administration/franchise-onboarding", ""),
        ("/embeddable/administration/franchise-offboarding", ""),
        ("/embeddable/statistics", ""),
    ] {
        let uri = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        };
        out.push(get(&format!("GET {path}"), &uri));
    }
    out.push(Call {
        ok: &[200],
        ..get("GET /v2/consultation-reasons", "/v2/consultation-reasons")
    });
    out.push(Call {
        name: "POST /v2/consultations (existing patient, sent)".into(),
        method: Method::POST,
        uri: "/v2/consultations".into(),
        headers: json_h(&[("x-integration-user", &id_only)]),
        body: Some(json!({"patient": patient, "reason": "uti"}).to_string()),
        id_only_user: Some(EXISTING_USER.into()),
        ok: &[201],
    });
    out.push(get(
        "GET /v2/consultations?patientKey",
        &format!("/v2/consultations?patientKey={PATIENT}&limit=5"),
    ));
    out.push(get(
        "GET /v2/followups?patientKey",
        &format!("/v2/followups?patientKey={PATIENT}&limit=5"),
    ));
    out
}

pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

pub async fn send(router: &Router, call: &Call) -> Res<Reply> {
    let mut b = Request::builder()
        .method(call.method.clone())
        .uri(&call.uri);
    for (k, v) in &call.headers {
        b = b.header(k, v);
    }
    let body = call
        .body
        .clone()
        .map(Body::from)
        .unwrap_or_else(Body::empty);
    let res = router.clone().oneshot(b.body(body)?).await?;
    let status = res.status().as_u16();
    let body = res.into_body().collect().await?.to_bytes().to_vec();
    Ok(Reply { status, body })
}

/// Creates the existing user (full header) and the patient, so that later
/// calls are on an existing user and patient.
pub async fn prime(router: &Router, key: &str) -> Res<()> {
    let full = b64(&format!(
        r#"{{"userId":"{EXISTING_USER}","firstName":"Jo","lastName":"Ng","email":"jo@clinic.example"}}"#
    ));
    let call = Call {
        name: "prime".into(),
        method: Method::POST,
        uri: "/embeddable/consultation/create".into(),
        headers: vec![
            ("api-key".into(), key.into()),
            ("content-type".into(), "application/json".into()),
            ("x-integration-user".into(), full),
        ],
        body: Some(json!({"patient": {"keys":[{"subSystem":"pms","key":PATIENT}],"firstName":"Ann","lastName":"Lee"}}).to_string()),
        id_only_user: None,
        ok: &[200],
    };
    let r = send(router, &call).await?;
    if r.status != 200 {
        return Err(format!(
            "priming failed: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        )
        .into());
    }
    Ok(())
}

/// Per call: what the DynamoDB client sent once caches were warm, and
/// (`cold_ops`) on an instance whose caches are empty.
pub struct Counted {
    pub name: String,
    pub status: u16,
    pub ops: Vec<String>,
    pub cold_ops: Vec<String>,
    pub body_bytes: usize,
    pub header_bytes: usize,
    pub user_writes: Option<usize>,
}

/// A DynamoDB client on moto whose requests the returned log records, and a
/// new table named `{prefix}-{uuid}` on it.
pub async fn logged_table(
    endpoint: &str,
    prefix: &str,
) -> Res<(WireLog, aws_sdk_dynamodb::Client, String)> {
    let log = WireLog::default();
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "bench"))
        .http_client(shared::http_client::sdk_http_client())
        .interceptor(log.clone())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let table = format!("{prefix}-{}", uuid::Uuid::new_v4().simple());
    create_table(&client, &table).await?;
    Ok((log, client, table))
}

pub async fn count_on_moto(endpoint: &str) -> Res<Vec<Counted>> {
    let (log, client, table) = logged_table(endpoint, "bench").await?;
    let clock = Arc::new(SystemClock);
    let store = Arc::new(MeteredStore::new(Arc::new(DynamoStore::new(
        client,
        table,
        clock.clone(),
    ))));
    // One configuration for every instance: its secret keys the patient-key
    // hash, so a cold instance with another secret would find no patient
    // (as two Lambda instances share EMBEDCARE_SECRET).
    let config = crate::util::config(BASE_URL);
    let app = App::new(store.clone(), clock.clone(), config.clone());
    let world = demo::seed(&app, &[]).await?;
    let router = shared::http::app_router(app);
    prime(&router, &world.api_key).await?;
    let mut out: Vec<Counted> = Vec::new();
    for round in 0..3 {
        for (i, call) in calls(&world.api_key, round).into_iter().enumerate() {
            // Round 2: each call on an instance of its own, caches empty
            // (a cold Lambda's first call), over the same table.
            let cold = round == 2;
            let router = if cold {
                shared::http::app_router(App::new(store.clone(), clock.clone(), config.clone()))
            } else {
                router.clone()
            };
            log.take();
            store.reset();
            let r = send(&router, &call).await?;
            let sent = log.take();
            if round == 0 {
                continue; // the first round fills the caches
            }
            // A count is of a call that did its work, warm or cold.
            if !call.ok.contains(&r.status) {
                return Err(format!(
                    "{}{}: status {} ({})",
                    call.name,
                    if cold { " (cold)" } else { "" },
                    r.status,
                    String::from_utf8_lossy(&r.body)
                )
                .into());
            }
            if cold {
                if let Some(c) = out.get_mut(i) {
                    c.cold_ops = sent.iter().map(|s| s.op.clone()).collect();
                }
                continue;
            }
            let user_writes = match &call.id_only_user {
                Some(u) => {
                    let key = user_key(&world.account_id, u)?;
                    Some(store.written().iter().filter(|w| *w.key() == key).count())
                }
                None => None,
            };
            out.push(Counted {
                name: call.name.clone(),
                status: r.status,
                ops: sent.iter().map(|s| s.op.clone()).collect(),
                cold_ops: Vec::new(),
                body_bytes: sent.iter().map(|s| s.body_bytes).sum(),
                header_bytes: sent.iter().map(|s| s.header_bytes).sum(),
                user_writes,
            });
        }
    }
    Ok(out)
}

/// Latency of one call, in-process.
pub struct Timed {
    pub name: String,
    pub p50_us: f64,
    pub p99_us: f64,
}

/// The floor: a bare axum handler through the same oneshot path.
fn bare_router() -> Router {
    Router::new().route(
        "/bare",
        axum::routing::get(|| async { axum::Json(json!({"iframeUrl": "http://127.0.0.1:3000/x", "expiresAt": "2026-01-01T00:05:00.000Z"})) }),
    )
}

pub async fn time_in_process(iterations: usize) -> Res<(Timed, Vec<Timed>)> {
    let clock = Arc::new(SystemClock);
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::in_memory(clock.clone())?);
    let app = App::new(store, clock, crate::util::config(BASE_URL));
    let world: DemoWorld = demo::seed(&app, &[]).await?;
    let router = shared::http::app_router(app);
    prime(&router, &world.api_key).await?;

    let bare = bare_router();
    let bare_call = Call {
        name: "bare axum handler (floor)".into(),
        method: Method::GET,
        uri: "/bare".into(),
        headers: vec![("api-key".into(), world.api_key.clone())],
        body: None,
        id_only_user: None,
        ok: &[200],
    };
    let floor = time_call(&bare, iterations, |_| bare_call_clone(&bare_call)).await?;

    let names: Vec<String> = calls(&world.api_key, 0)
        .into_iter()
        .map(|c| c.name)
        .collect();
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let key = world.api_key.clone();
        let t = time_call(&router, iterations, move |n| {
            calls(&key, n + 10).into_iter().nth(i).expect("call")
        })
        .await?;
        out.push(Timed {
            name: name.clone(),
            ..t
        });
    }
    Ok((floor, out))
}

fn bare_call_clone(c: &Call) -> Call {
    Call {
        name: c.name.clone(),
        method: c.method.clone(),
        uri: c.uri.clone(),
        headers: c.headers.clone(),
        body: c.body.clone(),
        id_only_user: None,
        ok: c.ok,
    }
}

async fn time_call(router: &Router, iterations: usize, make: impl Fn(usize) -> Call) -> Res<Timed> {
    let mut samples = Vec::with_capacity(iterations);
    let warmup = (iterations / 10).max(1);
    let mut name = String::new();
    for n in 0..iterations + warmup {
        let call = make(n);
        let t = Instant::now();
        let r = send(router, &call).await?;
        let us = t.elapsed().as_secs_f64() * 1e6;
        if !call.ok.contains(&r.status) {
            return Err(format!(
                "{}: status {} ({})",
                call.name,
                r.status,
                String::from_utf8_lossy(&r.body)
            )
            .into());
        }
        if n >= warmup {
            samples.push(us);
        }
        name = call.name;
    }
    let s = sorted(samples);
    Ok(Timed {
        name,
        p50_us: pct(&s, 50.0),
        p99_us: pct(&s, 99.0),
    })
}

/// The store key of a user, from the demo world's strings.
fn user_key(account: &str, user: &str) -> Res<Key> {
    let account = shared::domain::AccountId::parse(account).ok_or("an account id")?;
    let user = shared::domain::UserId::parse(user).ok_or("a user id")?;
    Ok(keys::user_key(&account, &user))
}

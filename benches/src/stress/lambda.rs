//! The Lambdas under a fake Runtime API, on DynamoDB (moto): a race of `n`
//! requests is `n` instances of the function's binary (what Lambda runs for
//! `n` concurrent requests), each given one API Gateway event once all `n`
//! have polled `invocation/next`, so the `n` calls start together. Set-up
//! and checks go through the same router in process, on the same table.
//!
//! DynamoDB makes each conditional write atomic; moto does not under
//! concurrent requests (its `TransactWriteItems` checks the conditions,
//! then writes: two transactions putting `attribute_not_exists` on one new
//! key both succeed, seen in 2 of 8 trials of 20). So the functions reach
//! moto through [`serialized`], a loopback proxy that passes one request at
//! a time: the conditions then hold as DynamoDB holds them, and a race
//! still runs its `n` instances at once (only their DynamoDB requests
//! queue).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use serde_json::Value;
use shared::App;
use shared::clock::SystemClock;
use shared::crypto::Secret;
use shared::store::dynamodb::{DynamoStore, create_table};
use tokio::sync::{Barrier, mpsc};
use tower::ServiceExt;

use super::client::{Req, Resp, Target};
use crate::cold::{BASE_URL, apigw};
use crate::util::{Guard, Res};

const SECRET: &str = "load-secret-of-at-least-thirty-two-characters";

pub struct Lambdas {
    bins: HashMap<String, PathBuf>,
    env: Vec<(String, String)>,
    router: Router,
    pub api_key: String,
}

impl Lambdas {
    /// A fresh table on moto with the demo world.
    pub async fn new(moto: &str, bins: HashMap<String, PathBuf>) -> Res<Lambdas> {
        use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
        let endpoint = &serialized(moto).await?;
        let client = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .endpoint_url(endpoint)
                .credentials_provider(Credentials::new("test", "test", None, None, "load"))
                .http_client(shared::http_client::sdk_http_client())
                .build(),
        );
        let table = format!("load-{}", uuid::Uuid::new_v4().simple());
        create_table(&client, &table).await?;
        let clock = Arc::new(SystemClock);
        let store = DynamoStore::new(client, table.clone(), clock.clone());
        let mut config = crate::util::config(BASE_URL);
        config.secret = Secret::new(SECRET.as_bytes()).ok_or("secret")?;
        let app = App::new(Arc::new(store), clock, config);
        let world = shared::services::demo::seed(&app, &[]).await?;
        let env = vec![
            ("AWS_ENDPOINT_URL".to_owned(), endpoint.to_owned()),
            ("EMBEDCARE_TABLE".to_owned(), table),
            ("EMBEDCARE_APP_BASE_URL".to_owned(), BASE_URL.to_owned()),
            ("EMBEDCARE_SECRET".to_owned(), SECRET.to_owned()),
            ("EMBEDCARE_RATE_LIMIT_PER_SECOND".to_owned(), "0".to_owned()),
        ];
        Ok(Lambdas {
            bins,
            env,
            router: shared::http::app_router(app),
            api_key: world.api_key,
        })
    }
}

/// A proxy to `upstream` that forwards one request at a time; its URL.
async fn serialized(upstream: &str) -> Res<String> {
    let client = reqwest::Client::builder().build()?;
    let state = Arc::new((client, upstream.to_owned(), tokio::sync::Mutex::new(())));
    let app = Router::new().fallback(move |req: axum::extract::Request| {
        let state = state.clone();
        async move {
            let (client, upstream, one) = &*state;
            let (parts, body) = req.into_parts();
            let Ok(body) = axum::body::to_bytes(body, 64 << 20).await else {
                return http::StatusCode::BAD_REQUEST.into_response();
            };
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let mut b = client.request(parts.method, format!("{upstream}{path}"));
            for (k, v) in &parts.headers {
                if k != http::header::HOST && k != http::header::CONTENT_LENGTH {
                    b = b.header(k, v);
                }
            }
            let _one = one.lock().await;
            let Ok(r) = b.body(body).send().await else {
                return http::StatusCode::BAD_GATEWAY.into_response();
            };
            let status = r.status();
            let headers = r.headers().clone();
            let bytes = r.bytes().await.unwrap_or_default();
            let mut res = (status, bytes).into_response();
            for (k, v) in &headers {
                if k != http::header::CONTENT_LENGTH && k != http::header::TRANSFER_ENCODING {
                    res.headers_mut().insert(k, v.clone());
                }
            }
            res
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}

impl Target for Lambdas {
    fn label(&self) -> &'static str {
        "Lambdas under a fake Runtime API (DynamoDB on moto)"
    }

    async fn one(&self, req: Req) -> Res<Resp> {
        let t = Instant::now();
        let mut b = http::Request::builder()
            .method(req.method)
            .uri(&req.path)
            .header("host", "api.embedcare.test");
        for (k, v) in &req.headers {
            b = b.header(k, v);
        }
        let r = self
            .router
            .clone()
            .oneshot(b.body(Body::from(req.body.unwrap_or_default()))?)
            .await?;
        let status = r.status().as_u16();
        let bytes = r.into_body().collect().await?.to_bytes();
        Ok(Resp {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            ms: t.elapsed().as_secs_f64() * 1e3,
        })
    }

    async fn all(&self, function: &str, reqs: Vec<Req>) -> Res<Vec<Resp>> {
        let bin = self
            .bins
            .get(function)
            .ok_or_else(|| format!("no binary {function}"))?;
        let events = reqs
            .iter()
            .map(|r| {
                let headers: serde_json::Map<String, Value> = r
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                apigw(r.method, &r.path, Value::Object(headers), r.body.as_deref())
            })
            .collect();
        pool(bin, &self.env, events).await
    }
}

#[derive(Clone)]
struct Rt {
    events: Arc<Vec<Value>>,
    next: Arc<AtomicUsize>,
    gate: Arc<Barrier>,
    started: Arc<Mutex<Vec<Option<Instant>>>>,
    tx: mpsc::UnboundedSender<(usize, Instant, Value)>,
}

async fn next(State(rt): State<Rt>) -> Response {
    let i = rt.next.fetch_add(1, Ordering::SeqCst);
    let Some(event) = rt.events.get(i).cloned() else {
        // One invocation per instance: the next poll waits for the kill.
        return std::future::pending::<Response>().await;
    };
    rt.gate.wait().await;
    if let Some(slot) = rt
        .started
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_mut(i)
    {
        *slot = Some(Instant::now());
    }
    let deadline = (std::time::SystemTime::now() + Duration::from_secs(60))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        .to_string();
    let mut res = axum::Json(event).into_response();
    for (k, v) in [
        ("lambda-runtime-aws-request-id", i.to_string()),
        ("lambda-runtime-deadline-ms", deadline),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:load".to_owned(),
        ),
    ] {
        if let Ok(v) = v.parse() {
            res.headers_mut().insert(k, v);
        }
    }
    res
}

async fn done(State(rt): State<Rt>, Path(id): Path<String>, body: String) -> &'static str {
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    if let Ok(i) = id.parse() {
        let _ = rt.tx.send((i, Instant::now(), value));
    }
    "{}"
}

/// `events.len()` instances of `bin`, one event each, released together.
async fn pool(
    bin: &std::path::Path,
    env: &[(String, String)],
    events: Vec<Value>,
) -> Res<Vec<Resp>> {
    let n = events.len();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let rt = Rt {
        events: Arc::new(events),
        next: Arc::default(),
        gate: Arc::new(Barrier::new(n)),
        started: Arc::new(Mutex::new(vec![None; n])),
        tx,
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(done))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(done))
        .with_state(rt.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let name = bin
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let mut guards = Vec::with_capacity(n);
    for _ in 0..n {
        let mut cmd = Command::new(bin);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        guards.push(Guard(cmd.spawn()?));
    }
    let mut out: Vec<Option<Resp>> = vec![None; n];
    let mut got = 0;
    while got < n {
        let Ok(Some((i, at, v))) = tokio::time::timeout(Duration::from_secs(120), rx.recv()).await
        else {
            break;
        };
        let start = rt.started.lock().unwrap_or_else(|p| p.into_inner())[i].unwrap_or(at);
        if let Some(slot) = out.get_mut(i)
            && slot.is_none()
        {
            *slot = Some(Resp {
                status: v["statusCode"].as_u64().map_or(0, |s| s as u16),
                body: v["body"].as_str().unwrap_or_default().to_owned(),
                ms: (at - start).as_secs_f64() * 1e3,
            });
            got += 1;
        }
    }
    drop(guards);
    server.abort();
    if got < n {
        return Err(format!("{name}: {got} of {n} instances answered within 120 s").into());
    }
    Ok(out.into_iter().flatten().collect())
}

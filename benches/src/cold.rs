//! Cold starts: each binary exec'd under a fake Lambda Runtime API (one
//! event, then silence), timed from just before `exec` to the moment its
//! response reaches the fake API; peak RSS read from `/proc/<pid>/status`
//! before the process is killed.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::util::{Res, vm_hwm_kib};

pub const BASE_URL: &str = "https://app.embedcare.test";

/// What one cold start measured.
#[derive(Debug, Clone)]
pub struct Sample {
    /// exec → the first `GET /invocation/next` (init done).
    pub init_ms: f64,
    /// exec → the response of the first invocation.
    pub first_ms: f64,
    pub rss_kib: u64,
    pub response: Value,
    pub error: bool,
}

#[derive(Clone)]
struct Rt {
    event: Arc<Mutex<Option<Value>>>,
    tx: mpsc::UnboundedSender<(Instant, Value, bool)>,
}

async fn next(State(rt): State<Rt>) -> Response {
    let now = Instant::now();
    let event = rt.event.lock().unwrap_or_else(|p| p.into_inner()).take();
    let Some(event) = event else {
        // One invocation per process: the next poll waits until the kill.
        return std::future::pending::<Response>().await;
    };
    let _ = rt.tx.send((now, Value::Null, false));
    let deadline = (std::time::SystemTime::now() + Duration::from_secs(30))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        .to_string();
    let mut res = axum::Json(event).into_response();
    for (k, v) in [
        ("lambda-runtime-aws-request-id", "cold-1".to_owned()),
        ("lambda-runtime-deadline-ms", deadline),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:bench".to_owned(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000".to_owned(),
        ),
    ] {
        if let Ok(v) = v.parse() {
            res.headers_mut().insert(k, v);
        }
    }
    res
}

async fn respond(State(rt): State<Rt>, body: String) -> &'static str {
    let now = Instant::now();
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    let _ = rt.tx.send((now, value, false));
    "{}"
}

async fn error(State(rt): State<Rt>, body: String) -> &'static str {
    let now = Instant::now();
    let _ = rt.tx.send((now, Value::String(body), true));
    "{}"
}

/// One cold start of `binary` with `event` and the extra environment.
pub async fn cold_start(binary: &Path, event: &Value, env: &[(String, String)]) -> Res<Sample> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let rt = Rt {
        event: Arc::new(Mutex::new(Some(event.clone()))),
        tx,
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(respond),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(rt);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let name = binary
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let mut cmd = Command::new(binary);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
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
    let t0 = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let pid = child.id();
    let result = async {
        let mut init = None;
        loop {
            let got = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await;
            let Ok(Some((at, body, is_error))) = got else {
                return Err(format!("{name}: no response within 30 s").into());
            };
            if init.is_none() && body.is_null() && !is_error {
                init = Some(at);
                continue;
            }
            let rss = vm_hwm_kib(pid).unwrap_or(0);
            let init = init.unwrap_or(at);
            return Ok::<Sample, crate::util::BoxError>(Sample {
                init_ms: (init - t0).as_secs_f64() * 1e3,
                first_ms: (at - t0).as_secs_f64() * 1e3,
                rss_kib: rss,
                response: body,
                error: is_error,
            });
        }
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    result
}

/// An API Gateway HTTP API (payload v2) event.
pub fn apigw(method: &str, path_and_query: &str, headers: Value, body: Option<&str>) -> Value {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    json!({
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
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "bench"},
            "requestId": "apigw-cold",
            "routeKey": "$default",
            "stage": "$default",
            "time": "21/Nov/2026:06:00:00 +0000",
            "timeEpoch": 1_795_327_200_000_i64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

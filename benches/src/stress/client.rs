//! Requests and answers, and the two ways of sending them: to the local
//! server over loopback HTTP, or to Lambda functions (`lambda.rs`). A race
//! sends all its requests at once and keeps each answer with its latency.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use crate::util::Res;

/// One request: method, path with its query, headers, body.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl Req {
    pub fn new(method: &'static str, path: impl Into<String>) -> Req {
        Req {
            method,
            path: path.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn header(mut self, k: &str, v: &str) -> Req {
        self.headers.push((k.to_owned(), v.to_owned()));
        self
    }

    pub fn key(self, api_key: &str) -> Req {
        self.header("api-key", api_key)
    }

    pub fn bearer(self, token: &str) -> Req {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn json(mut self, body: &Value) -> Req {
        self.body = Some(body.to_string());
        self.header("content-type", "application/json")
    }

    /// A form body (what the embedded app's shell posts).
    pub fn form(mut self, fields: &[(&str, &str)]) -> Req {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        self.body = Some(body);
        self.header("content-type", "application/x-www-form-urlencoded")
    }
}

/// An answer: status (0: no answer — connection refused or cut), body,
/// and the latency of the call in ms.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub body: String,
    pub ms: f64,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn str(&self, field: &str) -> Option<String> {
        self.json()[field].as_str().map(str::to_owned)
    }
}

/// Where a scenario sends its requests.
pub trait Target {
    fn label(&self) -> &'static str;
    /// One call, for setting a scenario up and checking its outcome.
    async fn one(&self, req: Req) -> Res<Resp>;
    /// All at once; `function` names the Lambda that serves them.
    async fn all(&self, function: &str, reqs: Vec<Req>) -> Res<Vec<Resp>>;
}

/// The local server over loopback HTTP.
#[derive(Clone)]
pub struct Http {
    pub base: String,
    client: reqwest::Client,
}

impl Http {
    pub fn new(port: u16) -> Res<Http> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .pool_max_idle_per_host(2000)
            .build()?;
        Ok(Http {
            base: format!("http://127.0.0.1:{port}"),
            client,
        })
    }

    /// One call; a connection error is status 0.
    pub async fn send(&self, req: &Req) -> Resp {
        let t = Instant::now();
        let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap_or_default();
        let mut b = self
            .client
            .request(method, format!("{}{}", self.base, req.path));
        for (k, v) in &req.headers {
            b = b.header(k, v);
        }
        if let Some(body) = &req.body {
            b = b.body(body.clone());
        }
        match b.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                match r.text().await {
                    Ok(body) => Resp {
                        status,
                        body,
                        ms: t.elapsed().as_secs_f64() * 1e3,
                    },
                    Err(_) => Resp {
                        status: 0,
                        body: String::new(),
                        ms: t.elapsed().as_secs_f64() * 1e3,
                    },
                }
            }
            Err(_) => Resp {
                status: 0,
                body: String::new(),
                ms: t.elapsed().as_secs_f64() * 1e3,
            },
        }
    }

    /// Every request at once (each on its own task, released together).
    pub async fn concurrently(&self, reqs: Vec<Req>) -> Vec<Resp> {
        let gate = Arc::new(tokio::sync::Barrier::new(reqs.len()));
        let tasks: Vec<_> = reqs
            .into_iter()
            .map(|r| {
                let (me, gate) = (self.clone(), gate.clone());
                tokio::spawn(async move {
                    gate.wait().await;
                    me.send(&r).await
                })
            })
            .collect();
        let mut out = Vec::with_capacity(tasks.len());
        for t in tasks {
            out.push(t.await.unwrap_or(Resp {
                status: 0,
                body: String::new(),
                ms: 0.0,
            }));
        }
        out
    }
}

impl Target for Http {
    fn label(&self) -> &'static str {
        "local server (embedded store)"
    }

    async fn one(&self, req: Req) -> Res<Resp> {
        Ok(self.send(&req).await)
    }

    async fn all(&self, _function: &str, reqs: Vec<Req>) -> Res<Vec<Resp>> {
        Ok(self.concurrently(reqs).await)
    }
}

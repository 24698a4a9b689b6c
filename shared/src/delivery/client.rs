//! The webhook sender on reqwest (feature `webhooks`): rustls (the TLS
//! configuration of `http_client.rs`), no proxy, no
//! redirects followed (a 3xx is the answer, and a failure), a 10-second
//! timeout for the whole attempt, and a resolver that refuses private,
//! loopback, link-local and metadata addresses at every connection (so a
//! name checked at creation cannot be rebound to `169.254.169.254`). An IP
//! literal bypasses resolution: it is checked against the same rules here,
//! before the request.

use std::error::Error as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::resolver::{Resolver, Unreachable, public_addresses};
use super::sender::{Attempt, Headers, TIMEOUT_MS, USER_AGENT, WebhookSender};
use crate::domain::net::{Host, WebhookUrl};

/// The one HTTP client of a process that delivers webhooks.
pub struct HttpSender {
    client: reqwest::Client,
}

struct Filtering {
    resolver: Arc<dyn Resolver>,
    allow_loopback: bool,
}

impl reqwest::dns::Resolve for Filtering {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = Arc::clone(&self.resolver);
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = public_addresses(resolver.as_ref(), &host, allow_loopback).await?;
            let addrs: reqwest::dns::Addrs =
                Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

impl HttpSender {
    /// `allow_loopback`: local mode's exception (loopback names may
    /// resolve to loopback).
    pub fn new(resolver: Arc<dyn Resolver>, allow_loopback: bool) -> Result<Self, String> {
        // The SDK client's TLS configuration: one crypto provider in the
        // binary, the compiled-in roots (`http_client.rs`).
        let tls = (*crate::http_client::tls_config()).clone();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_millis(TIMEOUT_MS))
            .connect_timeout(Duration::from_millis(TIMEOUT_MS))
            .pool_max_idle_per_host(4)
            .dns_resolver(Filtering {
                resolver,
                allow_loopback,
            })
            .build()
            .map_err(|e| format!("the webhook client could not be built: {e}"))?;
        Ok(Self { client })
    }
}

/// Why a request failed, in the deliveries log's words.
fn kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        return "timeout";
    }
    let mut source = e.source();
    while let Some(s) = source {
        if s.downcast_ref::<Unreachable>().is_some() {
            return "refused-address";
        }
        source = s.source();
    }
    "connection"
}

#[async_trait]
impl WebhookSender for HttpSender {
    async fn post(&self, url: &WebhookUrl, headers: Headers, body: Vec<u8>) -> Attempt {
        let started = Instant::now();
        let elapsed =
            |started: Instant| u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if let Host::Ip(ip) = url.host
            && !url.may_reach(ip)
        {
            return Attempt {
                status: None,
                error: Some("refused-address"),
                duration_ms: 0,
            };
        }
        let mut request = self
            .client
            .post(&url.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                // Read (a little of) the answer so the connection can be
                // reused; its content is never kept.
                let _ = tokio::time::timeout(Duration::from_secs(1), response.bytes()).await;
                Attempt {
                    status: Some(status),
                    error: None,
                    duration_ms: elapsed(started),
                }
            }
            Err(e) => Attempt {
                status: None,
                error: Some(kind(&e)),
                duration_ms: elapsed(started),
            },
        }
    }
}

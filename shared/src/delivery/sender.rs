//! The webhook sender port: one `POST` of a delivery, its outcome. The
//! adapter (`client.rs`, feature `webhooks`) follows no redirect, times out
//! after 10 s, and connects only to addresses its resolver allows.

use async_trait::async_trait;

use crate::domain::net::WebhookUrl;

/// The headers of a delivery, besides `Content-Type` and `User-Agent`
/// (which the client sets).
pub type Headers = Vec<(&'static str, String)>;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The response's status, when there was a response.
    pub status: Option<u16>,
    /// Why there was no response: `timeout`, `connection`, `refused-address`.
    pub error: Option<&'static str>,
    pub duration_ms: u64,
}

impl Attempt {
    pub fn is_success(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The time an attempt may take, connection included.
pub const TIMEOUT_MS: u64 = 10_000;
pub const USER_AGENT: &str = "embedcare-webhooks/1";

#[async_trait]
pub trait WebhookSender: Send + Sync {
    async fn post(&self, url: &WebhookUrl, headers: Headers, body: Vec<u8>) -> Attempt;
}

/// The sender of a process that delivers no webhooks.
pub struct NoSender;

#[async_trait]
impl WebhookSender for NoSender {
    async fn post(&self, _: &WebhookUrl, _: Headers, _: Vec<u8>) -> Attempt {
        Attempt {
            status: None,
            error: Some("connection"),
            duration_ms: 0,
        }
    }
}

//! The Amazon SES (v2) adapter of the notifier port.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message as SesMessage};

use super::{Message, Notifier};

pub struct SesNotifier {
    client: Client,
    sender: String,
}

impl SesNotifier {
    /// `sender`: a verified SES identity (`EMBEDCARE_SES_SENDER`).
    pub fn new(client: Client, sender: impl Into<String>) -> Self {
        Self {
            client,
            sender: sender.into(),
        }
    }
}

fn content(text: &str) -> Result<Content, String> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| e.to_string())
}

#[async_trait]
impl Notifier for SesNotifier {
    async fn send(&self, message: &Message) -> Result<String, String> {
        let body = Body::builder().text(content(&message.text)?).build();
        let email = SesMessage::builder()
            .subject(content(&message.subject)?)
            .body(body)
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&self.sender)
            .destination(Destination::builder().to_addresses(&message.to).build())
            .content(EmailContent::builder().simple(email).build())
            .send()
            .await
            // Only the error's code: SES's messages can quote the recipient
            // (e.g. "identities failed the check: <address>"), and this
            // reason is logged.
            .map_err(|e| {
                let code = e
                    .as_service_error()
                    .and_then(|se| se.code())
                    .unwrap_or("unreachable");
                format!("SES SendEmail failed: {code}")
            })?;
        Ok(out.message_id.unwrap_or_default())
    }
}

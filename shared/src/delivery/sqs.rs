//! The work queue on SQS (feature `aws-events`): `SendMessageBatch` (ten
//! at a time, every entry's result checked), and the visibility of a
//! message being handled (`ChangeMessageVisibility`: how a retry waits,
//! without a busy loop).

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use super::queue::{MAX_SEND_DELAY_S, Work, WorkQueue};

pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// Makes a received message visible again after `seconds` (at most 12
    /// hours, SQS's bound).
    pub async fn retry_after(&self, receipt_handle: &str, seconds: i32) -> Result<(), String> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds.clamp(0, 43_200))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "SQS ChangeMessageVisibility failed: {}",
                    e.code().unwrap_or("unreachable")
                )
            })
    }
}

#[async_trait]
impl WorkQueue for SqsQueue {
    async fn send(&self, work: &[(Work, u32)]) -> Result<(), String> {
        for chunk in work.chunks(10) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, (w, delay)) in chunk.iter().enumerate() {
                let body = serde_json::to_string(w).map_err(|e| e.to_string())?;
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .delay_seconds(i32::try_from((*delay).min(MAX_SEND_DELAY_S)).unwrap_or(0))
                    .build()
                    .map_err(|e| e.to_string())?;
                entries.push(entry);
            }
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "SQS SendMessageBatch failed: {}",
                        e.code().unwrap_or("unreachable")
                    )
                })?;
            if let Some(f) = out.failed.first() {
                return Err(format!("SQS refused a message: {}", f.code));
            }
        }
        Ok(())
    }
}

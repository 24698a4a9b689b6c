//! The dispatcher function's input: an SQS event from its two queues, one
//! record each — an EventBridge envelope (`{detail-type, detail, …}`, put
//! on the events queue by the rule on every embedcare event) to fan out,
//! or a message of the work queue (`delivery::queue::Work`, with its
//! `kind`). Out: the partial batch response. A message to retry later is
//! made visible again after its pause (`ChangeMessageVisibility`) and
//! reported failed, so SQS hands it back then — no busy loop; one that
//! failed is reported failed (SQS retries it after the visibility timeout,
//! then dead-letters it).

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::delivery::queue::{Handled, Work};
use crate::services::dispatch::{self, Dispatcher};
use crate::services::work;

/// One SQS record, as the dispatcher reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct SqsRecord {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
}

pub fn records_of(event: &Value) -> Vec<SqsRecord> {
    event["Records"]
        .as_array()
        .map(|records| {
            records
                .iter()
                .map(|r| SqsRecord {
                    message_id: r["messageId"].as_str().unwrap_or_default().to_owned(),
                    receipt_handle: r["receiptHandle"].as_str().unwrap_or_default().to_owned(),
                    body: r["body"].as_str().unwrap_or_default().to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// How a message is handed back later (the work queue's visibility).
#[async_trait]
pub trait Visibility: Send + Sync {
    async fn retry_after(&self, receipt_handle: &str, seconds: i32) -> Result<(), String>;
}

#[cfg(feature = "aws-events")]
#[async_trait]
impl Visibility for crate::delivery::sqs::SqsQueue {
    async fn retry_after(&self, receipt_handle: &str, seconds: i32) -> Result<(), String> {
        crate::delivery::sqs::SqsQueue::retry_after(self, receipt_handle, seconds).await
    }
}

/// Whether the record went through (`false`: report it failed).
async fn one(d: &Dispatcher, r: &SqsRecord, visibility: &dyn Visibility) -> bool {
    let Ok(body) = serde_json::from_str::<Value>(&r.body) else {
        tracing::error!(message = %r.message_id, "an SQS message that is not JSON was dropped");
        return true;
    };
    if body.get("kind").is_some() {
        let Ok(work) = serde_json::from_value::<Work>(body) else {
            tracing::error!(message = %r.message_id, "an unknown work message was dropped");
            return true;
        };
        return match work::handle(d, &work).await {
            Ok(Handled::Done) => true,
            Ok(Handled::Later(ms)) => {
                let seconds = i32::try_from(ms.div_euclid(1000) + 1).unwrap_or(43_200);
                if let Err(e) = visibility.retry_after(&r.receipt_handle, seconds).await {
                    tracing::warn!(error = %e, "the retry pause was not set; SQS's timeout applies");
                }
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, message = %r.message_id, "work failed; SQS retries it");
                false
            }
        };
    }
    match dispatch::fan_out_envelope(&d.app, &body).await {
        Ok(()) => true,
        Err(crate::error::Error::Invalid(why)) => {
            tracing::error!(message = %r.message_id, %why, "a message that is not an embedcare event was dropped");
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, message = %r.message_id, "fan-out failed; SQS retries it");
            false
        }
    }
}

/// Every record at once (deliveries to different endpoints never wait for
/// each other); `{"batchItemFailures": [{"itemIdentifier": messageId}]}`.
pub async fn handle_sqs_event(d: &Dispatcher, event: &Value, visibility: &dyn Visibility) -> Value {
    let records = records_of(event);
    let done = futures_util::future::join_all(records.iter().map(|r| one(d, r, visibility))).await;
    let failures: Vec<Value> = records
        .iter()
        .zip(done)
        .filter(|(_, ok)| !ok)
        .map(|(r, _)| json!({"itemIdentifier": r.message_id}))
        .collect();
    json!({ "batchItemFailures": failures })
}

//! The work queue: what the dispatcher does later, one message each —
//! a webhook attempt, the first sending of a queue's waiting events to a
//! new connection, a check that an event sent on the stream was
//! acknowledged. At least once: every handler tolerates a repeated message.
//! A message is retried later by making it visible again after a pause
//! (SQS's visibility timeout; the local queue's own timer), never by a busy
//! loop.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::subscription::QueueName;
use crate::domain::{EndpointId, EventId, TenantKey};

/// One unit of work. Serialized as the message body (`kind` names it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Work {
    /// An attempt at delivering one event to one endpoint (of a delivery
    /// generation: a redelivery starts a new one).
    Webhook {
        tenant_key: TenantKey,
        endpoint_id: EndpointId,
        event_id: EventId,
        event_at: i64,
        generation: u32,
    },
    /// Send a queue's waiting events to the connection that just claimed it
    /// (API Gateway: frames can be posted only once `$connect` returned).
    Flush {
        tenant_key: TenantKey,
        queue_name: QueueName,
        connection_id: String,
        requested_at: i64,
    },
    /// An event was sent with `receipt_id`: if it is still not
    /// acknowledged, send it again (same event id, a new receipt id).
    Redeliver {
        tenant_key: TenantKey,
        queue_name: QueueName,
        queue_id: String,
        sort: String,
        receipt_id: String,
    },
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// Done with it (also when there was nothing left to do).
    Done,
    /// Hand it back after this many milliseconds.
    Later(i64),
}

/// The longest delay a message can be sent with (SQS: 15 minutes).
pub const MAX_SEND_DELAY_S: u32 = 900;

/// The work queue port.
#[async_trait]
pub trait WorkQueue: Send + Sync {
    /// Sends every message, each visible after its delay in seconds (at
    /// most [`MAX_SEND_DELAY_S`]). All or an error.
    async fn send(&self, work: &[(Work, u32)]) -> Result<(), String>;
}

/// The queue of a process that has none (the HTTP functions that never
/// send work): every send fails, loudly.
pub struct NoQueue;

#[async_trait]
impl WorkQueue for NoQueue {
    async fn send(&self, _: &[(Work, u32)]) -> Result<(), String> {
        Err("this process has no work queue (EMBEDCARE_WORK_QUEUE_URL)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_their_kind() {
        let w = Work::Webhook {
            tenant_key: TenantKey::parse("demo").unwrap(),
            endpoint_id: EndpointId::parse("e1").unwrap(),
            event_id: EventId::parse("ev1").unwrap(),
            event_at: 5,
            generation: 1,
        };
        let v = serde_json::to_value(&w).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"kind": "webhook", "tenantKey": "demo", "endpointId": "e1",
                               "eventId": "ev1", "eventAt": 5, "generation": 1})
        );
        assert_eq!(serde_json::from_value::<Work>(v).unwrap(), w);
        assert!(serde_json::from_value::<Work>(serde_json::json!({"kind": "nope"})).is_err());
    }
}

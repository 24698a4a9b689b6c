//! Events: every change of state of a consultation, a follow-up or a
//! franchise becomes one event, written in the same transaction as the change
//! (the transactional outbox), then relayed to the bus from the table's
//! stream. Delivery is at least once and never lost; consumers deduplicate
//! on `id`. The page where the change happened posts the same body (same
//! `id`) to the host as a browser message.
//!
//! The bus is a port (`EventBus`): EventBridge in AWS (`eventbridge.rs`), an
//! in-process bus on the local server (`local.rs`).

pub mod eventbridge;
pub mod local;

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock::iso_ms;
use crate::domain::TenantKey;
use crate::domain::consultation::{Consultation, ConsultationStatus, Followup, FollowupStatus};
use crate::error::{Error, Result};
use crate::repo;
use crate::store::{Cond, Item, Key, Write};

/// The `source` of every event on the bus.
pub const SOURCE: &str = "embedcare";
/// How long an outbox item stays in the table after it was written (the
/// stream keeps records for 24 h; a week leaves room to replay by hand).
pub const OUTBOX_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// An event body, as the seeds' message events and DESIGN.md shape it.
/// Identifiers, statuses and timestamps only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: String,
    pub created_at: String,
    pub event_type: String,
    pub operation: String,
    pub status: String,
    pub tenant_key: String,
    pub data: Value,
}

impl Event {
    /// EventBridge's `detail-type`: `Consultation Created`, `Followup Updated`…
    pub fn detail_type(&self) -> String {
        match (
            self.event_type.as_str(),
            self.operation.as_str(),
            self.status.as_str(),
        ) {
            ("franchise", _, "OFFBOARDED") => "Franchise Offboarded".into(),
            ("franchise", _, _) => "Franchise Onboarded".into(),
            (kind, op, _) => {
                let noun = if kind == "followup" {
                    "Followup"
                } else {
                    "Consultation"
                };
                let verb = if op == "create" { "Created" } else { "Updated" };
                format!("{noun} {verb}")
            }
        }
    }

    fn new(
        event_type: &str,
        operation: &str,
        status: &str,
        tenant: &TenantKey,
        data: Value,
        now: i64,
    ) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            created_at: iso_ms(now),
            event_type: event_type.into(),
            operation: operation.into(),
            status: status.into(),
            tenant_key: tenant.as_str().into(),
            data,
        }
    }

    /// A consultation was created (`previous` is `None`) or changed.
    pub fn consultation(c: &Consultation, previous: Option<ConsultationStatus>, now: i64) -> Self {
        let data = json!({
            "consultationId": c.consultation_id,
            "patientId": c.patient_id,
            "previousStatus": previous.map(ConsultationStatus::as_str),
            "version": c.version,
            "reasonCode": c.reason_code,
        });
        let op = if previous.is_none() {
            "create"
        } else {
            "update"
        };
        Self::new(
            "consultation",
            op,
            c.status.as_str(),
            &c.tenant_key,
            data,
            now,
        )
    }

    pub fn followup(f: &Followup, previous: Option<FollowupStatus>, now: i64) -> Self {
        let data = json!({
            "followupId": f.followup_id,
            "patientId": f.patient_id,
            "consultationId": f.consultation_id,
            "previousStatus": previous.map(FollowupStatus::as_str),
            "version": f.version,
            "dueDate": f.due_date,
        });
        let op = if previous.is_none() {
            "create"
        } else {
            "update"
        };
        Self::new("followup", op, f.status.as_str(), &f.tenant_key, data, now)
    }

    /// A franchise onboarded (`ONBOARDED`) or offboarded (`OFFBOARDED`).
    pub fn franchise(
        tenant: &TenantKey,
        status: &str,
        previous: &str,
        version: u64,
        now: i64,
    ) -> Self {
        let data = json!({"previousStatus": previous, "version": version});
        Self::new("franchise", "update", status, tenant, data, now)
    }

    /// The outbox item of this event: to be written in the same transaction
    /// as the change it reports.
    pub fn outbox_write(&self, now: i64) -> Result<Write> {
        let tenant = TenantKey::parse(&self.tenant_key)
            .ok_or_else(|| Error::internal("event without a tenant"))?;
        let detail = serde_json::to_value(self).map_err(|e| Error::internal(e.to_string()))?;
        let mut attrs = serde_json::Map::new();
        attrs.insert(repo::TYPE.into(), "outbox".into());
        attrs.insert("detailType".into(), self.detail_type().into());
        attrs.insert("detail".into(), detail);
        let item = Item::new(outbox_key(&tenant, &self.id), attrs);
        Ok(Write::Put {
            item: repo::with_ttl(item, now + OUTBOX_TTL_MS),
            cond: Some(Cond::NotExists),
        })
    }
}

pub fn outbox_key(tenant: &TenantKey, event_id: &str) -> Key {
    Key::new(format!("T#{tenant}#OUTBOX#{event_id}"), "OUTBOX")
}

/// One entry for the bus.
#[derive(Debug, Clone, PartialEq)]
pub struct BusEntry {
    pub detail_type: String,
    /// The event body, as JSON text.
    pub detail: String,
}

/// The bus port. `put` takes at most ten entries (EventBridge's limit) and
/// says, entry by entry, which failed (`Some(reason)`).
#[async_trait]
pub trait EventBus: Send + Sync {
    async fn put(&self, entries: &[BusEntry]) -> std::result::Result<Vec<Option<String>>, String>;
}

/// A record of the table's stream, as the relay sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRecord {
    /// What the event source reports back on failure (the sequence number).
    pub id: String,
    /// `INSERT`, `MODIFY` or `REMOVE`.
    pub event_name: String,
    /// The new image, as JSON attributes (with `pk`/`sk`), when there is one.
    pub new_image: Option<serde_json::Map<String, Value>>,
}

/// The bus entry of an inserted outbox item; `None` for any other record.
/// A malformed outbox item is an error: it must not be skipped silently.
pub fn entry_of(record: &StreamRecord) -> std::result::Result<Option<BusEntry>, String> {
    let Some(image) = &record.new_image else {
        return Ok(None);
    };
    if record.event_name != "INSERT"
        || image.get(repo::TYPE).and_then(Value::as_str) != Some("outbox")
    {
        return Ok(None);
    }
    let detail_type = image.get("detailType").and_then(Value::as_str);
    let detail = image.get("detail").filter(|d| d.is_object());
    match (detail_type, detail) {
        (Some(t), Some(d)) => Ok(Some(BusEntry {
            detail_type: t.to_owned(),
            detail: d.to_string(),
        })),
        _ => Err(format!(
            "outbox record {} lacks detailType or detail",
            record.id
        )),
    }
}

/// How hard the relay tries before it reports a record as failed.
#[derive(Debug, Clone, Copy)]
pub struct RelayPolicy {
    pub attempts: u32,
    pub backoff: Duration,
}

impl Default for RelayPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            backoff: Duration::from_millis(100),
        }
    }
}

/// Puts the outbox events of `records` on the bus, in order, ten at a time,
/// checking every entry of every response and retrying the failed ones.
/// Returns the ids of the records that could not be delivered: the first
/// failure and everything after it (the event source retries from the first
/// one, so later records must not be acknowledged either). Empty means the
/// whole batch is done.
pub async fn relay(
    records: &[StreamRecord],
    bus: &dyn EventBus,
    policy: RelayPolicy,
) -> Vec<String> {
    let mut pending: Vec<(usize, BusEntry)> = Vec::new();
    for (i, record) in records.iter().enumerate() {
        match entry_of(record) {
            Ok(Some(entry)) => pending.push((i, entry)),
            Ok(None) => {}
            Err(reason) => {
                tracing::error!(record = %record.id, %reason, "malformed outbox record");
                return failed_from(records, i);
            }
        }
    }
    for chunk in pending.chunks(10) {
        let mut todo: Vec<&(usize, BusEntry)> = chunk.iter().collect();
        for attempt in 0..policy.attempts {
            if attempt > 0 {
                tokio::time::sleep(policy.backoff * 2u32.pow(attempt - 1)).await;
            }
            let entries: Vec<BusEntry> = todo.iter().map(|(_, e)| e.clone()).collect();
            match bus.put(&entries).await {
                Ok(outcomes) => {
                    let mut still = Vec::new();
                    for (j, item) in todo.iter().enumerate() {
                        // A missing outcome counts as a failure, never as success.
                        match outcomes.get(j) {
                            Some(None) => {}
                            Some(Some(reason)) => {
                                tracing::warn!(attempt, %reason, "bus rejected an event");
                                still.push(*item);
                            }
                            None => still.push(*item),
                        }
                    }
                    todo = still;
                }
                Err(reason) => tracing::warn!(attempt, %reason, "bus unavailable"),
            }
            if todo.is_empty() {
                break;
            }
        }
        if let Some(first) = todo.iter().map(|(i, _)| *i).min() {
            return failed_from(records, first);
        }
    }
    Vec::new()
}

fn failed_from(records: &[StreamRecord], first: usize) -> Vec<String> {
    records[first..].iter().map(|r| r.id.clone()).collect()
}

/// The relay Lambda's whole job: a DynamoDB stream event in, the partial
/// batch response out (`{"batchItemFailures": [{"itemIdentifier": seq}]}`),
/// so that the event source mapping retries from the first failed record
/// and nothing is dropped.
pub async fn handle_stream_event(event: &Value, bus: &dyn EventBus, policy: RelayPolicy) -> Value {
    let records = records_of_lambda_event(event);
    let failed = relay(&records, bus, policy).await;
    if !failed.is_empty() {
        tracing::warn!(
            failed = failed.len(),
            of = records.len(),
            "records left for a retry"
        );
    }
    let failures: Vec<Value> = failed
        .into_iter()
        .map(|id| json!({"itemIdentifier": id}))
        .collect();
    json!({"batchItemFailures": failures})
}

/// Converts a stream image in DynamoDB's JSON (`{"S": "…"}`, `{"N": "1"}`…)
/// to plain JSON, as the relay Lambda receives it.
pub fn from_dynamodb_json(v: &Value) -> Value {
    let Some(obj) = v.as_object() else {
        return Value::Null;
    };
    let Some((tag, inner)) = obj.iter().next() else {
        return Value::Null;
    };
    match (tag.as_str(), inner) {
        ("S", Value::String(s)) => Value::String(s.clone()),
        ("N", Value::String(n)) => n
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| n.parse::<f64>().map(Value::from))
            .unwrap_or(Value::Null),
        ("BOOL", Value::Bool(b)) => Value::Bool(*b),
        ("NULL", _) => Value::Null,
        ("M", Value::Object(m)) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), from_dynamodb_json(v)))
                .collect(),
        ),
        ("L", Value::Array(l)) => Value::Array(l.iter().map(from_dynamodb_json).collect()),
        ("SS", Value::Array(l)) => Value::Array(l.clone()),
        ("NS", Value::Array(l)) => Value::Array(
            l.iter()
                .map(|n| {
                    n.as_str()
                        .and_then(|s| s.parse::<f64>().ok())
                        .map_or(Value::Null, Value::from)
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// Reads the records of a Lambda DynamoDB stream event.
pub fn records_of_lambda_event(event: &Value) -> Vec<StreamRecord> {
    event["Records"]
        .as_array()
        .map(|records| {
            records
                .iter()
                .map(|r| StreamRecord {
                    id: r["dynamodb"]["SequenceNumber"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    event_name: r["eventName"].as_str().unwrap_or_default().to_owned(),
                    new_image: r["dynamodb"]["NewImage"].as_object().map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), from_dynamodb_json(v)))
                            .collect()
                    }),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A bus that fails the first `fail_first` puts of each entry, and records
    /// what it accepted.
    struct Flaky {
        fail_first: usize,
        seen: Mutex<std::collections::HashMap<String, usize>>,
        accepted: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl EventBus for Flaky {
        async fn put(
            &self,
            entries: &[BusEntry],
        ) -> std::result::Result<Vec<Option<String>>, String> {
            assert!(entries.len() <= 10);
            let mut seen = self.seen.lock().unwrap();
            Ok(entries
                .iter()
                .map(|e| {
                    let n = seen.entry(e.detail.clone()).or_default();
                    *n += 1;
                    if *n <= self.fail_first {
                        Some("ThrottlingException".to_owned())
                    } else {
                        self.accepted.lock().unwrap().push(e.detail.clone());
                        None
                    }
                })
                .collect())
        }
    }

    fn outbox(i: usize) -> StreamRecord {
        let mut image = serde_json::Map::new();
        image.insert("type".into(), "outbox".into());
        image.insert("detailType".into(), "Consultation Created".into());
        image.insert("detail".into(), json!({"id": format!("e{i}")}));
        StreamRecord {
            id: format!("seq-{i}"),
            event_name: "INSERT".into(),
            new_image: Some(image),
        }
    }

    fn quick(attempts: u32) -> RelayPolicy {
        RelayPolicy {
            attempts,
            backoff: Duration::from_millis(1),
        }
    }

    #[tokio::test]
    async fn retries_rejected_entries_until_every_event_is_accepted() {
        let records: Vec<_> = (0..25).map(outbox).collect();
        let bus = Flaky {
            fail_first: 2,
            seen: Mutex::default(),
            accepted: Mutex::default(),
        };
        assert!(relay(&records, &bus, quick(4)).await.is_empty());
        let accepted = bus.accepted.lock().unwrap();
        assert_eq!(accepted.len(), 25);
        assert_eq!(
            accepted
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len(),
            25
        );
    }

    #[tokio::test]
    async fn reports_the_first_failure_and_everything_after_it() {
        let records: Vec<_> = (0..12).map(outbox).collect();
        let bus = Flaky {
            fail_first: 9,
            seen: Mutex::default(),
            accepted: Mutex::default(),
        };
        let failed = relay(&records, &bus, quick(2)).await;
        assert_eq!(failed.first().map(String::as_str), Some("seq-0"));
        assert_eq!(failed.len(), 12);
    }

    #[tokio::test]
    async fn other_records_are_skipped_and_malformed_outbox_records_fail() {
        let mut other = outbox(0);
        other.event_name = "MODIFY".into();
        let mut malformed = outbox(1);
        malformed.new_image.as_mut().unwrap().remove("detail");
        let bus = Flaky {
            fail_first: 0,
            seen: Mutex::default(),
            accepted: Mutex::default(),
        };
        assert!(relay(&[other.clone()], &bus, quick(1)).await.is_empty());
        assert_eq!(
            relay(&[other, malformed, outbox(2)], &bus, quick(1)).await,
            ["seq-1", "seq-2"]
        );
    }

    #[test]
    fn dynamodb_json_converts() {
        let v = json!({"M": {"a": {"S": "x"}, "n": {"N": "5"}, "l": {"L": [{"BOOL": true}, {"NULL": true}]}}});
        assert_eq!(
            from_dynamodb_json(&v),
            json!({"a": "x", "n": 5, "l": [true, null]})
        );
    }
}

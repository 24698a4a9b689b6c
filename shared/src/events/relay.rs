//! The relay: the outbox items of the table's stream, put on the bus in
//! order, ten at a time, every entry of every response checked, the failed
//! ones retried; what could not be delivered is reported so that the stream
//! delivers it again. The Lambda event shape is `lambda::stream`'s; the
//! local server feeds the embedded store's change feed (`local.rs`).

use std::time::Duration;

use serde_json::Value;

use super::{BusEntry, EventBus};
use crate::store::Attrs;
use crate::store::items::{DETAIL, DETAIL_TYPE, OUTBOX, TYPE};

/// A record of the table's stream, as the relay sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRecord {
    /// What the event source reports back on failure (the sequence number).
    pub id: String,
    /// `INSERT`, `MODIFY` or `REMOVE`.
    pub event_name: String,
    /// The new image, as JSON attributes (with `pk`/`sk`), when there is one.
    pub new_image: Option<Attrs>,
}

/// The bus entry of an inserted outbox item; `None` for any other record.
/// A malformed outbox item is an error: it must not be skipped silently.
pub fn entry_of(record: &StreamRecord) -> std::result::Result<Option<BusEntry>, String> {
    let Some(image) = &record.new_image else {
        return Ok(None);
    };
    if record.event_name != "INSERT" || image.get(TYPE).and_then(Value::as_str) != Some(OUTBOX) {
        return Ok(None);
    }
    let detail_type = image.get(DETAIL_TYPE).and_then(Value::as_str);
    let detail = image.get(DETAIL).filter(|d| d.is_object());
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

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use serde_json::json;
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
}

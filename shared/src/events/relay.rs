//! The relay: the outbox items of the table's stream, put on the bus in
//! order, ten at a time, every entry of every response checked, the failed
//! ones retried; what could not be delivered is reported so that the stream
//! delivers it again. What was delivered is marked relayed (out of the
//! outbox's pending index, `outbox.rs`); a record that can never be
//! delivered (malformed) is dead-lettered instead of failing the batch, so
//! it cannot block every later event. The Lambda event shape is
//! `lambda::stream`'s; the local server feeds the embedded store's change
//! feed (`local.rs`).

use std::time::Duration;

use serde_json::Value;

use super::outbox::{self, CREATED_AT};
use super::{BusEntry, EventBus};
use crate::metrics::{Counter, Sample};
use crate::store::items::{DETAIL, DETAIL_TYPE, OUTBOX, TYPE};
use crate::store::{Attrs, Key, PK, SK, Store};

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

impl StreamRecord {
    /// The key of the item the record is about, when its image has one.
    pub fn key(&self) -> Option<Key> {
        key_of(self.new_image.as_ref()?)
    }
}

/// The key in an image (`pk`/`sk` among its attributes).
pub fn key_of(image: &Attrs) -> Option<Key> {
    match (image.get(PK)?.as_str(), image.get(SK)?.as_str()) {
        (Some(pk), Some(sk)) => Some(Key::new(pk, sk)),
        _ => None,
    }
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
    entry_of_item(image).map(Some)
}

/// The bus entry of an outbox item's attributes, or what is wrong with it
/// (never its content).
pub fn entry_of_item(attrs: &Attrs) -> std::result::Result<BusEntry, String> {
    let detail_type = attrs.get(DETAIL_TYPE).and_then(Value::as_str);
    let detail = attrs.get(DETAIL).filter(|d| d.is_object());
    match (detail_type, detail) {
        (Some(t), Some(d)) => Ok(BusEntry {
            detail_type: t.to_owned(),
            detail: d.to_string(),
        }),
        _ => Err("an outbox item lacks detailType or detail".to_owned()),
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

/// Why the first undelivered record was not delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The bus refused that entry (the reason is its error code).
    Rejected(String),
    /// The bus could not be reached.
    Unavailable(String),
}

/// What one relay of a batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Relayed {
    /// The ids of the records that could not be delivered: the first
    /// failure and everything after it (the event source retries from the
    /// first one, so later records must not be acknowledged either).
    pub failed: Vec<String>,
    /// Why the first of `failed` was not.
    pub failure: Option<Failure>,
    /// The outbox items delivered, to mark relayed.
    pub delivered: Vec<Key>,
    /// Outbox records that can never be delivered: (record id, the item's
    /// key when the image has one, why), to dead-letter.
    pub poison: Vec<(String, Option<Key>, String)>,
}

/// Puts the outbox events of `records` on the bus, in order, ten at a time,
/// checking every entry of every response and retrying the failed ones.
/// Nothing is written: [`settle`] records what happened.
pub async fn relay(records: &[StreamRecord], bus: &dyn EventBus, policy: RelayPolicy) -> Relayed {
    let mut out = Relayed::default();
    let mut pending: Vec<(usize, BusEntry)> = Vec::new();
    for (i, record) in records.iter().enumerate() {
        match entry_of(record) {
            Ok(Some(entry)) => pending.push((i, entry)),
            Ok(None) => {}
            Err(reason) => {
                tracing::error!(record = %record.id, %reason, "malformed outbox record: dead-lettered");
                out.poison.push((record.id.clone(), record.key(), reason));
            }
        }
    }
    for chunk in pending.chunks(10) {
        let mut todo: Vec<&(usize, BusEntry)> = chunk.iter().collect();
        let mut why = None;
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
                            Some(None) => out.delivered.extend(records[item.0].key()),
                            Some(Some(reason)) => {
                                tracing::warn!(attempt, %reason, "bus rejected an event");
                                if still.is_empty() {
                                    why = Some(Failure::Rejected(reason.clone()));
                                }
                                still.push(*item);
                            }
                            None => {
                                if still.is_empty() {
                                    why = Some(Failure::Rejected("NoOutcome".into()));
                                }
                                still.push(*item);
                            }
                        }
                    }
                    todo = still;
                }
                Err(reason) => {
                    tracing::warn!(attempt, %reason, "bus unavailable");
                    why = Some(Failure::Unavailable(reason));
                }
            }
            if todo.is_empty() {
                break;
            }
        }
        if let Some(first) = todo.iter().map(|(i, _)| *i).min() {
            out.failed = records[first..].iter().map(|r| r.id.clone()).collect();
            out.failure = why;
            // Not acknowledged: they will come again (and be marked then).
            let later: Vec<Key> = records[first..]
                .iter()
                .filter_map(StreamRecord::key)
                .collect();
            out.delivered.retain(|k| !later.contains(k));
            out.poison.retain(|(id, _, _)| !out.failed.contains(id));
            return out;
        }
    }
    out
}

/// Counts what a relay of `records` delivered (`EventsRelayed`, and each
/// one's `RelayLag`: `now` − when its item was written).
pub fn measure(records: &[StreamRecord], relayed: &Relayed, now: i64) {
    for key in &relayed.delivered {
        let at = records
            .iter()
            .find(|r| r.key().as_ref() == Some(key))
            .and_then(|r| r.new_image.as_ref().and_then(created_at));
        count_relayed(at, now);
    }
}

/// An event put on the bus (`EventsRelayed`) and its lag (`RelayLag`,
/// relay time − event time), when its item says when it was written.
pub fn count_relayed(created_at: Option<i64>, now: i64) {
    let m = crate::metrics::global();
    m.count(Counter::EventsRelayed, 1);
    if let Some(at) = created_at {
        m.sample(Sample::RelayLag, (now - at).max(0) as f64);
    }
}

/// Records what a relay did: the delivered items marked relayed, the poison
/// ones dead-lettered. A failed write is only logged: an item left pending
/// is re-driven later (a duplicate, which consumers drop by id).
pub async fn settle(store: &dyn Store, relayed: &Relayed, now: i64) {
    for key in &relayed.delivered {
        if let Err(e) = store.write(outbox::relayed(key, now)).await
            && !e.is_condition_failure()
        {
            tracing::warn!(error = %e, "an outbox item was not marked relayed");
        }
    }
    for (record, key, reason) in &relayed.poison {
        dead_letter(store, record, key.as_ref(), None, reason, now).await;
    }
}

/// Dead-letters one outbox record (its item, when the record names one),
/// with a log line an operator will see.
pub async fn dead_letter(
    store: &dyn Store,
    record: &str,
    key: Option<&Key>,
    created_at: Option<i64>,
    reason: &str,
    now: i64,
) {
    tracing::error!(%record, %reason, "outbox record dead-lettered: embedcare outbox dead-letters lists it");
    let Some(key) = key else { return };
    if let Err(e) = store
        .write(outbox::dead_letter(key, created_at, reason, now))
        .await
    {
        tracing::error!(error = %e, %record, "the dead letter was not recorded");
    }
}

/// When an outbox item's image says it was written.
pub fn created_at(image: &Attrs) -> Option<i64> {
    image.get(CREATED_AT).and_then(Value::as_i64)
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
        let key = item_key(i);
        image.insert("pk".into(), key.pk.into());
        image.insert("sk".into(), key.sk.into());
        StreamRecord {
            id: format!("seq-{i}"),
            event_name: "INSERT".into(),
            new_image: Some(image),
        }
    }

    fn item_key(i: usize) -> Key {
        let tenant = crate::domain::TenantKey::parse("demo").unwrap();
        let id = crate::domain::EventId::parse(&format!("e{i}")).unwrap();
        crate::store::keys::outbox_key(&tenant, &id)
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
        let done = relay(&records, &bus, quick(4)).await;
        assert!(done.failed.is_empty());
        assert_eq!(done.delivered.len(), 25, "every delivered item, to mark");
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
        let done = relay(&records, &bus, quick(2)).await;
        assert_eq!(done.failed.first().map(String::as_str), Some("seq-0"));
        assert_eq!(done.failed.len(), 12);
        assert_eq!(
            done.failure,
            Some(Failure::Rejected("ThrottlingException".into()))
        );
        assert!(
            done.delivered.is_empty(),
            "nothing of the batch is acknowledged"
        );
    }

    #[tokio::test]
    async fn other_records_are_skipped_and_malformed_ones_do_not_block_the_rest() {
        let mut other = outbox(0);
        other.event_name = "MODIFY".into();
        let mut malformed = outbox(1);
        malformed.new_image.as_mut().unwrap().remove("detail");
        let bus = Flaky {
            fail_first: 0,
            seen: Mutex::default(),
            accepted: Mutex::default(),
        };
        assert_eq!(
            relay(&[other.clone()], &bus, quick(1)).await,
            Relayed::default()
        );
        let done = relay(&[other, malformed, outbox(2)], &bus, quick(1)).await;
        assert!(done.failed.is_empty(), "{done:?}");
        assert_eq!(done.delivered, [item_key(2)]);
        assert_eq!(done.poison.len(), 1);
        assert_eq!(done.poison[0].0, "seq-1");
        assert_eq!(done.poison[0].1, Some(item_key(1)));
        assert_eq!(bus.accepted.lock().unwrap().len(), 1);
    }
}

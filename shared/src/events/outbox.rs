//! The transactional outbox: an event is an item (`type` `outbox`) written
//! in the same transaction as the change it reports; the table's stream
//! (the embedded store's change feed, locally) hands it to the relay.
//!
//! "Never lost" does not rest on the stream alone (it keeps records 24 h,
//! and the relay gives a record up after its retries): an item stays in
//! the outbox's sparse index (`keys::outbox_index`, pending) until it is
//! relayed, and the re-drive (`redrive.rs`: the `outbox-redrive` function
//! on a schedule, `embedcare outbox redrive`) puts on the bus every item
//! still pending after some minutes. A record that can never be delivered
//! (malformed, or refused by the bus again and again) is dead-lettered: it
//! moves to the dead-letter partitions, with why, for an operator.
//!
//! The item also stays 30 days in its franchise's event list (gsi2, oldest
//! first: `GET /v2/events`).

use serde_json::{Map, Value, json};

use super::Event;
use crate::error::{Error, Result};
use crate::store::items::{self, DETAIL, DETAIL_TYPE, OUTBOX, TYPE};
use crate::store::keys::{self, OutboxState};
use crate::store::table::{GSI1, GSI2};
use crate::store::{Cond, Item, Key, Write};

/// How long an outbox item stays in the table after it was written: the
/// stream keeps records for 24 h; the outbox is the events' own record
/// (the re-drive reads it, and the event list shows the last 30 days).
pub const OUTBOX_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

/// When the event was written (epoch ms), on every outbox item.
pub const CREATED_AT: &str = "createdAt";
/// When the event was put on the bus (epoch ms), once relayed.
pub const RELAYED_AT: &str = "relayedAt";
/// `{at, reason}` of a dead-lettered item.
pub const DEAD_LETTER: &str = "deadLetter";
/// How many re-drives failed to deliver the item.
pub const ATTEMPTS: &str = "relayAttempts";

/// The outbox item of `event`: to be written in the same transaction as the
/// change it reports. Pending in the outbox's index until relayed.
pub fn write(event: &Event, now: i64) -> Result<Write> {
    let detail = serde_json::to_value(event).map_err(|e| Error::internal(e.to_string()))?;
    let key = keys::outbox_key(&event.tenant_key, &event.id);
    let mut attrs = Map::new();
    attrs.insert(TYPE.into(), OUTBOX.into());
    attrs.insert(DETAIL_TYPE.into(), Value::from(event.detail_type()));
    attrs.insert(DETAIL.into(), detail);
    attrs.insert(CREATED_AT.into(), now.into());
    attrs.insert(
        GSI1.pk.into(),
        keys::outbox_index(OutboxState::Pending, keys::outbox_shard(&key)).into(),
    );
    attrs.insert(GSI1.sk.into(), keys::outbox_sort(now, &key).into());
    // The franchise's event list (gsi2): what `GET /v2/events` reads.
    attrs.insert(GSI2.pk.into(), keys::events_list(&event.tenant_key).into());
    let sort = keys::events_sort(event.created_ms, &event.id);
    attrs.insert(GSI2.sk.into(), sort.into());
    let item = Item::new(key, attrs);
    Ok(items::put_new(items::with_ttl(item, now + OUTBOX_TTL_MS)))
}

/// `change` (the write of an entity) and its event, to be written together.
pub fn with_event(change: Write, event: &Event, now: i64) -> Result<Vec<Write>> {
    Ok(vec![change, write(event, now)?])
}

/// The outbox item at `key` was put on the bus: out of the index (pending
/// or dead), stamped. A no-op when it is gone (expired).
pub fn relayed(key: &Key, now: i64) -> Write {
    let mut set = Map::new();
    set.insert(RELAYED_AT.into(), now.into());
    Write::Update {
        key: key.clone(),
        set,
        remove: vec![
            GSI1.pk.into(),
            GSI1.sk.into(),
            DEAD_LETTER.into(),
            ATTEMPTS.into(),
        ],
        add: vec![],
        cond: Some(Cond::Exists),
    }
}

/// The outbox item at `key` can never be delivered as it is: into the
/// dead-letter partitions with `reason` (a bus error code or what is
/// malformed: never the event's content), for an operator.
pub fn dead_letter(key: &Key, created_at: Option<i64>, reason: &str, now: i64) -> Write {
    let mut set = Map::new();
    set.insert(DEAD_LETTER.into(), json!({"at": now, "reason": reason}));
    set.insert(
        GSI1.pk.into(),
        keys::outbox_index(OutboxState::Dead, keys::outbox_shard(key)).into(),
    );
    set.insert(
        GSI1.sk.into(),
        keys::outbox_sort(created_at.unwrap_or(now), key).into(),
    );
    Write::Update {
        key: key.clone(),
        set,
        remove: vec![],
        add: vec![],
        cond: Some(Cond::Exists),
    }
}

/// A re-drive failed to deliver the item: counted (`attempts` so far).
pub fn attempted(key: &Key, attempts: u64) -> Write {
    let mut set = Map::new();
    set.insert(ATTEMPTS.into(), attempts.into());
    Write::Update {
        key: key.clone(),
        set,
        remove: vec![],
        add: vec![],
        cond: Some(Cond::Exists),
    }
}

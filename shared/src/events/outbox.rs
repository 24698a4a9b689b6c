//! The transactional outbox: an event is an item (`type` `outbox`) written
//! in the same transaction as the change it reports; the table's stream
//! (the embedded store's change feed, locally) hands it to the relay. The
//! item stays 30 days, in its franchise's event list (gsi1, oldest first:
//! `GET /v2/events`).

use serde_json::{Map, Value};

use super::Event;
use crate::error::{Error, Result};
use crate::store::items::{self, DETAIL, DETAIL_TYPE, OUTBOX, TYPE};
use crate::store::table::GSI1;
use crate::store::{Item, Write, keys};

/// How long an outbox item stays in the table after it was written: the
/// event list shows the last 30 days (the stream keeps records 24 h).
pub const OUTBOX_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

/// The outbox item of `event`: to be written in the same transaction as the
/// change it reports.
pub fn write(event: &Event, now: i64) -> Result<Write> {
    let detail = serde_json::to_value(event).map_err(|e| Error::internal(e.to_string()))?;
    let mut attrs = Map::new();
    attrs.insert(TYPE.into(), OUTBOX.into());
    attrs.insert(DETAIL_TYPE.into(), Value::from(event.detail_type()));
    attrs.insert(DETAIL.into(), detail);
    attrs.insert(GSI1.pk.into(), keys::events_list(&event.tenant_key).into());
    let sort = keys::events_sort(event.created_ms, &event.id);
    attrs.insert(GSI1.sk.into(), sort.into());
    let item = Item::new(keys::outbox_key(&event.tenant_key, &event.id), attrs);
    Ok(items::put_new(items::with_ttl(item, now + OUTBOX_TTL_MS)))
}

/// `change` (the write of an entity) and its event, to be written together.
pub fn with_event(change: Write, event: &Event, now: i64) -> Result<Vec<Write>> {
    Ok(vec![change, write(event, now)?])
}

//! The transactional outbox: an event is an item (`type` `outbox`) written
//! in the same transaction as the change it reports; the table's stream
//! (the embedded store's change feed, locally) hands it to the relay.

use serde_json::{Map, Value};

use super::Event;
use crate::error::{Error, Result};
use crate::store::items::{self, DETAIL, DETAIL_TYPE, OUTBOX, TYPE};
use crate::store::{Item, Write, keys};

/// How long an outbox item stays in the table after it was written (the
/// stream keeps records for 24 h; a week leaves room to replay by hand).
pub const OUTBOX_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// The outbox item of `event`: to be written in the same transaction as the
/// change it reports.
pub fn write(event: &Event, now: i64) -> Result<Write> {
    let detail = serde_json::to_value(event).map_err(|e| Error::internal(e.to_string()))?;
    let mut attrs = Map::new();
    attrs.insert(TYPE.into(), OUTBOX.into());
    attrs.insert(DETAIL_TYPE.into(), Value::from(event.detail_type()));
    attrs.insert(DETAIL.into(), detail);
    let item = Item::new(keys::outbox_key(&event.tenant_key, &event.id), attrs);
    Ok(items::put_new(items::with_ttl(item, now + OUTBOX_TTL_MS)))
}

/// `change` (the write of an entity) and its event, to be written together.
pub fn with_event(change: Write, event: &Event, now: i64) -> Result<Vec<Write>> {
    Ok(vec![change, write(event, now)?])
}

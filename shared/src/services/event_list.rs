//! The event list: a franchise's events of the last 30 days, oldest first,
//! for reconciliation after an outage — the outbox items themselves, in
//! their franchise's gsi2 partition (`keys::events_list`; gsi1 holds the
//! outbox's pending index), with the ids and
//! bodies every other channel carries. A page ends with a sealed cursor of
//! where it stopped, even at the end of the list: handed back later as
//! `after`, it gives the events that came since.

use serde_json::Value;

use super::lists::BAD_CURSOR;
use crate::app::App;
use crate::domain::subscription::{TypePattern, picks};
use crate::domain::{EventId, TenantKey};
use crate::error::{Error, Result};
use crate::events::Published;
use crate::store::items::{DETAIL, DETAIL_TYPE};
use crate::store::table::GSI2;
use crate::store::{Cursor, Index, Item, Query, keys};

/// Rounds of a filtered page (a type filter may skip many events).
const MAX_ROUNDS: usize = 10;

/// The event an outbox item holds.
fn read(item: &Item) -> Result<Published> {
    let detail_type = item.get_str(DETAIL_TYPE).unwrap_or_default();
    let detail = item.attrs.get(DETAIL).cloned().unwrap_or(Value::Null);
    Published::parse(detail_type, detail)
        .map_err(|why| Error::internal(format!("an outbox item is not an event: {why}")))
}

/// One event of the franchise's last 30 days, by id.
pub async fn published(app: &App, tenant: &TenantKey, id: &EventId) -> Result<Option<Published>> {
    let item = app.store.get(&keys::outbox_key(tenant, id)).await?;
    item.as_ref().map(read).transpose()
}

#[derive(Debug)]
pub struct EventPage {
    pub events: Vec<Published>,
    /// Where this page stopped (`after` of the next call); `None` only
    /// when the list is empty and no `after` was given.
    pub cursor: Option<String>,
    /// More events were there when this page was read.
    pub has_more: bool,
}

/// The query of the list (its cursors are sealed for it).
fn list_query(tenant: &TenantKey) -> Query {
    Query::partition(Index::Gsi2, keys::events_list(tenant))
}

/// Where the list stands after `item`.
fn after_item(item: &Item) -> Cursor {
    Cursor {
        pk: item.key.pk.clone(),
        sk: item.key.sk.clone(),
        ipk: item.get_str(GSI2.pk).map(str::to_owned),
        isk: item.get_str(GSI2.sk).map(str::to_owned),
    }
}

/// Up to `limit` events after `after` (a cursor of this list), of the
/// types `types` picks (all when empty).
pub async fn list(
    app: &App,
    tenant: &TenantKey,
    after: Option<&str>,
    types: &[TypePattern],
    limit: usize,
) -> Result<EventPage> {
    let mut q = list_query(tenant);
    let limit = limit.clamp(1, 100);
    if let Some(sealed) = after {
        let opened = app.cursors.open(sealed, tenant, &q);
        q.start_after = Some(opened.ok_or_else(|| Error::invalid(BAD_CURSOR))?);
    }
    let mut at = q.start_after.clone();
    let mut events = Vec::new();
    let mut has_more = false;
    for _ in 0..MAX_ROUNDS {
        q.limit = limit - events.len();
        let page = app.store.query(&q).await?;
        for item in &page.items {
            let e = read(item)?;
            if types.is_empty() || picks(types, &e.type_name) {
                events.push(e);
            }
            at = Some(after_item(item));
        }
        has_more = page.next.is_some();
        match page.next {
            Some(next) => {
                at = Some(next.clone());
                q.start_after = Some(next);
            }
            None => break,
        }
        if events.len() >= limit {
            break;
        }
    }
    let query = list_query(tenant);
    Ok(EventPage {
        events,
        cursor: at.map(|c| app.cursors.seal(&c, tenant, &query)),
        has_more,
    })
}

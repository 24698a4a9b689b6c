//! A visit's snapshots as items: one record per image, in the visit's
//! partition (its bytes are in the blob store). Keys come from `keys.rs`.

use super::items::item_of;
use super::{Index, Item, Query, SortCond, keys};
use crate::domain::clinic::Snapshot;
use crate::domain::{TenantKey, VisitId};
use crate::error::Result;

pub fn snapshot_item(s: &Snapshot) -> Result<Item> {
    let key = keys::snapshot_key(&s.tenant_key, &s.visit_id, &s.snapshot_id);
    item_of(key, s, "snapshot")
}

/// Every snapshot of a visit: one `Query` of its partition.
pub fn snapshots_query(tenant: &TenantKey, visit: &VisitId) -> Query {
    let mut q = Query::partition(Index::Table, keys::visit_partition(tenant, visit));
    q.sort = SortCond::BeginsWith(keys::SNAPSHOT_PREFIX.to_owned());
    q.limit = 1000;
    q
}

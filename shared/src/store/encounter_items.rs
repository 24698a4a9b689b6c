//! The live encounter's entities as items: a visit's participants (in the
//! visit's partition) and a franchise's own concerns. Keys come from
//! `keys.rs`.

use super::items::item_of;
use super::{Index, Item, Query, SortCond, keys};
use crate::domain::clinic::{CatalogueConcern, Participant};
use crate::domain::{TenantKey, VisitId};
use crate::error::Result;

pub fn participant_item(p: &Participant) -> Result<Item> {
    let key = keys::participant_key(&p.tenant_key, &p.visit_id, &p.participant_id);
    item_of(key, p, "participant")
}

/// Every participant of a visit: one `Query` of its partition.
pub fn participants_query(tenant: &TenantKey, visit: &VisitId) -> Query {
    let mut q = Query::partition(Index::Table, keys::visit_partition(tenant, visit));
    q.sort = SortCond::BeginsWith(keys::PARTICIPANT_PREFIX.to_owned());
    q.limit = 1000;
    q
}

pub fn concern_item(tenant: &TenantKey, c: &CatalogueConcern) -> Result<Item> {
    item_of(keys::concern_key(tenant, &c.code), c, "concern")
}

/// A franchise's own concerns: one `Query` of their partition.
pub fn concerns_query(tenant: &TenantKey) -> Query {
    let mut q = Query::partition(Index::Table, keys::concerns_partition(tenant));
    q.limit = 1000;
    q
}

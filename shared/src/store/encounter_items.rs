//! The live encounter's entities as items: a visit's participants (in the
//! visit's partition), a franchise's own concerns and the visits'
//! statistics rows. Keys come from `keys.rs`.

use super::items::item_of;
use super::{Index, Item, Query, SortCond, Write, keys};
use crate::domain::clinic::{CatalogueConcern, Participant, RoomCode, VisitStatus, VisitType};
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

/// A visit's statistics row (`keys::visit_stat_key`): what the statistics
/// count of it, ids, codes and times only — a concern of free text counts
/// as `other`, never its text.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitStatRow {
    pub visit_id: VisitId,
    pub visit_type: VisitType,
    pub status: VisitStatus,
    pub room_code: RoomCode,
    /// The visit's time: its start when scheduled, else its creation.
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_ms: Option<i64>,
    /// The codes of its intake's concerns (`other` for free text); absent
    /// when the row was written by a move (they stay as they were).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concerns: Option<Vec<String>>,
}

const STAT_TYPE: &str = "visitStat";

/// The whole row, as a visit's creation writes it.
pub fn visit_stat_put(tenant: &TenantKey, row: &VisitStatRow) -> Result<Write> {
    let key = keys::visit_stat_key(tenant, row.at, &row.visit_id);
    Ok(super::items::put_new(item_of(key, row, STAT_TYPE)?))
}

/// The row's attributes that `row` holds (the concerns only when it has
/// them): a move leaves the intake's concerns as they are; a visit made
/// before the rows existed gets one.
pub fn visit_stat_update(tenant: &TenantKey, row: &VisitStatRow) -> Result<Write> {
    let key = keys::visit_stat_key(tenant, row.at, &row.visit_id);
    let item = item_of(key.clone(), row, STAT_TYPE)?;
    Ok(Write::Update {
        key,
        set: item.attrs,
        remove: Vec::new(),
        add: Vec::new(),
        cond: None,
    })
}

/// One page of a month's rows between `from` and `to` (inclusive).
pub fn visit_stats_query(tenant: &TenantKey, month_at: i64, from: i64, to: i64) -> Query {
    let mut q = Query::partition(Index::Table, keys::visit_stats_month(tenant, month_at));
    let (a, b) = keys::visit_stats_range(from, to);
    q.sort = SortCond::Between(a, b);
    q.limit = 1000;
    q
}

//! Reading visits: lists by patient and by provider (by index, sealed
//! cursors; a status filter reads on until the page is full), a room's queue in ticket order and its eConsults waiting for
//! a provider, a waiting visit's live place in the queue and its estimated
//! wait.

use super::Actor;
use super::visits::with_lapse;
use crate::app::App;
use crate::domain::clinic::{Room, Visit, VisitStatus, VisitType};
use crate::domain::{PatientId, UserId};
use crate::error::{Error, Result};
use crate::services::lists::{BAD_CURSOR, Listing};
use crate::store::clinic_items::entities;
use crate::store::table::gsi;
use crate::store::{Cursor, Index, Item, Query, SortCond, items, keys};

/// Whose visits a list holds.
#[derive(Debug, Clone)]
pub enum VisitFilter {
    Patient(PatientId),
    Provider(UserId),
}

#[derive(Debug, Clone)]
pub struct VisitQuery {
    pub filter: Option<VisitFilter>,
    pub status: Option<VisitStatus>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub limit: usize,
    pub cursor: Option<String>,
}

fn bounds(prefix: &str, from: Option<i64>, to: Option<i64>) -> SortCond {
    match (from, to) {
        (None, None) => SortCond::BeginsWith(prefix.to_owned()),
        (f, t) => SortCond::Between(
            format!("{prefix}{:013}", f.unwrap_or(0).max(0)),
            format!("{prefix}{:013}~", t.unwrap_or(9_999_999_999_999).max(0)),
        ),
    }
}

/// `GET /v2/visits?patientId=|providerId=&status=&from=&to=`: newest first
/// by patient (creation), by start for a provider; a patient sees only
/// their own.
pub async fn list(app: &App, actor: &Actor, q: VisitQuery) -> Result<Listing<Visit>> {
    let tenant = actor.tenant();
    let filter = match (actor, q.filter.clone()) {
        (Actor::Patient { patient_id, .. }, None) => VisitFilter::Patient(patient_id.clone()),
        (Actor::Patient { patient_id, .. }, Some(VisitFilter::Patient(p))) if &p == patient_id => {
            VisitFilter::Patient(p)
        }
        (Actor::Patient { .. } | Actor::Guest { .. }, _) => {
            return Err(Error::not_found("Patient not found"));
        }
        (_, Some(f)) => f,
        (Actor::Provider { user, .. }, None) => VisitFilter::Provider(user.clone()),
        (_, None) => return Err(Error::invalid("Give patientId or providerId")),
    };
    let mut query = match &filter {
        VisitFilter::Patient(p) => {
            let mut query = Query::partition(Index::Gsi3, keys::patient_list(tenant, p));
            query.sort = bounds(keys::PATIENT_VISITS_PREFIX, q.from, q.to);
            query.forward = false;
            query
        }
        VisitFilter::Provider(u) => {
            let mut query = Query::partition(Index::Gsi1, keys::provider_visits(tenant, u));
            query.sort = bounds("", q.from, q.to);
            query
        }
    };
    if let Some(sealed) = &q.cursor {
        let opened = app.cursors.open(sealed, tenant, &query);
        query.start_after = Some(opened.ok_or_else(|| Error::invalid(BAD_CURSOR))?);
    }
    let (visits, next) = filled_page(app, actor, &mut query, &q).await?;
    let next = next.map(|c| app.cursors.seal(&c, tenant, &query));
    Ok(Listing {
        items: visits,
        next,
    })
}

/// At most this many queries make one page of a filtered list.
const MAX_ROUNDS: usize = 10;
/// How many index items a round examines when a status filters them.
const FILTERED_ROUND: usize = 100;

/// Where a list stands after `item` (an item of `query`'s index).
fn after_item(item: &Item, query: &Query) -> Cursor {
    let def = gsi(query.index);
    let attr = |name: Option<&str>| name.and_then(|n| item.get_str(n)).map(str::to_owned);
    Cursor {
        pk: item.key.pk.clone(),
        sk: item.key.sk.clone(),
        ipk: attr(def.map(|d| d.pk)),
        isk: attr(def.map(|d| d.sk)),
    }
}

/// A page of the list, honest with a status filter (applied after the
/// index, which is by time): the index is read on until the page holds
/// `limit` visits or the index ends, in at most [`MAX_ROUNDS`] queries.
/// The next cursor stands right after the last visit returned (or, when
/// the rounds ran out, after the last one examined): a page is short only
/// when the index ends (no cursor) or after [`MAX_ROUNDS`] reads (with
/// one), never empty with a cursor but in that case.
async fn filled_page(
    app: &App,
    actor: &Actor,
    query: &mut Query,
    q: &VisitQuery,
) -> Result<(Vec<Visit>, Option<Cursor>)> {
    let mut visits = Vec::with_capacity(q.limit);
    let mut next = None;
    for _ in 0..MAX_ROUNDS {
        let want = q.limit - visits.len();
        query.limit = if q.status.is_some() {
            FILTERED_ROUND.max(want)
        } else {
            want
        };
        let page = app.store.query(query).await?;
        let count = page.items.len();
        for (i, item) in page.items.iter().enumerate() {
            let v: Visit = items::entity_of(item)?;
            let v = with_lapse(app, actor.franchise(), v).await?;
            if q.status.is_none_or(|s| s == v.status) {
                visits.push(v);
            }
            if visits.len() == q.limit {
                let last = i + 1 == count;
                return Ok((
                    visits,
                    if last {
                        page.next
                    } else {
                        Some(after_item(item, query))
                    },
                ));
            }
        }
        next = page.next;
        match &next {
            Some(c) => query.start_after = Some(c.clone()),
            None => break,
        }
    }
    Ok((visits, next))
}

/// The visits waiting in a room's queue, in ticket order.
pub async fn queue(app: &App, room: &Room) -> Result<Vec<Visit>> {
    let mut q = Query::partition(Index::Gsi2, keys::room_queue(&room.tenant_key, &room.code));
    q.limit = 500;
    let page = app.store.query(&q).await?;
    entities(&page.items)
}

/// The eConsults of a room that wait for a provider, oldest first.
pub async fn pending_econsults(app: &App, room: &Room) -> Result<Vec<Visit>> {
    let mut q = Query::partition(
        Index::Gsi2,
        keys::room_econsults(&room.tenant_key, &room.code),
    );
    q.limit = 500;
    let page = app.store.query(&q).await?;
    entities(&page.items)
}

/// A waiting visit's place in its queue now: its rank among the waiting
/// tickets (one query of the queue index up to its ticket).
pub async fn position(app: &App, v: &Visit) -> Result<Option<u64>> {
    let (VisitStatus::Waiting, Some(ticket)) = (v.status, v.ticket) else {
        return Ok(None);
    };
    let mut q = Query::partition(Index::Gsi2, keys::room_queue(&v.tenant_key, &v.room_code));
    q.sort = SortCond::Between(keys::ticket_sort(0), keys::ticket_sort(ticket));
    q.limit = 1000;
    let page = app.store.query(&q).await?;
    Ok(Some(page.items.len().max(1) as u64))
}

/// The estimated wait of the visit at `position`, in minutes: the visits
/// ahead, each a walk-in's duration, shared by the room's providers.
pub fn estimated_wait(room: &Room, position: u64) -> u64 {
    let providers = room.provider_ids.len().max(1) as u64;
    let each = u64::from(room.durations.of(VisitType::Walkin));
    position.saturating_sub(1) * each / providers
}

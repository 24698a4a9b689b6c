//! The patient side's entities as items: rooms, providers, availability,
//! intakes, visits (with their sparse index attributes), booked calendar
//! cells, chat messages, patient-side tokens, join codes, due tasks and
//! the origin index of browser preflights. Keys come from `keys.rs`.

use serde_json::{Value, json};

use super::items::{TYPE, entity_of, item_of, with_ttl};
use super::keys;
use super::table::{GSI1, GSI2, GSI3};
use super::{Attrs, Cond, Item, Key, Write};
use crate::domain::clinic::{
    Availability, ChatMessage, ClinicToken, Intake, Provider, Room, Visit, VisitStatus,
};
use crate::domain::{TenantKey, UserId, VisitId};
use crate::error::Result;

/// The attributes that hold a room's walk-in queue counters.
pub const TICKETS_ISSUED: &str = "ticketsIssued";
pub const TICKETS_LEFT: &str = "ticketsLeft";

fn index(item: &mut Item, def: super::table::GsiDef, pk: String, sk: String) {
    item.attrs.insert(def.pk.into(), pk.into());
    item.attrs.insert(def.sk.into(), sk.into());
}

pub fn room_item(r: &Room) -> Result<Item> {
    let mut item = item_of(keys::room_key(&r.tenant_key, &r.code), r, "room")?;
    index(
        &mut item,
        GSI1,
        keys::rooms_index(&r.tenant_key),
        r.code.to_string(),
    );
    Ok(item)
}

/// A room's changed attributes (never its counters), at the version read.
pub fn room_update(r: &Room, changed: &[&str], expected: u64) -> Result<Write> {
    super::items::update_of(keys::room_key(&r.tenant_key, &r.code), r, changed, expected)
}

pub fn provider_item(p: &Provider) -> Result<Item> {
    let mut item = item_of(keys::provider_key(&p.tenant_key, &p.user_id), p, "provider")?;
    index(
        &mut item,
        GSI1,
        keys::providers_index(&p.tenant_key),
        p.user_id.to_string(),
    );
    Ok(item)
}

pub fn availability_item(a: &Availability) -> Result<Item> {
    let key = keys::availability_key(&a.tenant_key, &a.provider_id, &a.room_code);
    item_of(key, a, "availability")
}

pub fn intake_item(i: &Intake) -> Result<Item> {
    item_of(keys::intake_key(&i.tenant_key, &i.intake_id), i, "intake")
}

/// A visit, in the lists its status and provider put it in.
pub fn visit_item(v: &Visit) -> Result<Item> {
    let t = &v.tenant_key;
    let mut item = item_of(keys::visit_key(t, &v.visit_id), v, "visit")?;
    if let Some(p) = &v.provider_id {
        let at = v.start.unwrap_or(v.created_at);
        index(
            &mut item,
            GSI1,
            keys::provider_visits(t, p),
            keys::visit_time_sort(at, &v.visit_id),
        );
    }
    match (v.status, v.ticket) {
        (VisitStatus::Waiting, Some(ticket)) => index(
            &mut item,
            GSI2,
            keys::room_queue(t, &v.room_code),
            keys::ticket_sort(ticket),
        ),
        (VisitStatus::PendingAccept, _) => index(
            &mut item,
            GSI2,
            keys::room_econsults(t, &v.room_code),
            keys::visit_time_sort(v.created_at, &v.visit_id),
        ),
        _ => {}
    }
    index(
        &mut item,
        GSI3,
        keys::patient_list(t, &v.patient_id),
        keys::patient_visit_sort(v.created_at, &v.visit_id),
    );
    Ok(item)
}

/// The claim of one calendar cell by a visit: must not be claimed yet.
/// It lives until a day after the cell.
pub fn cell_claim(tenant: &TenantKey, provider: &UserId, start: i64, visit: &VisitId) -> Write {
    let mut attrs = Attrs::new();
    attrs.insert(TYPE.into(), "cell".into());
    attrs.insert("visitId".into(), visit.as_str().into());
    let item = with_ttl(
        Item::new(keys::cell_key(tenant, provider, start), attrs),
        start + 24 * 3_600_000,
    );
    Write::Put {
        item,
        cond: Some(Cond::NotExists),
    }
}

/// The release of a cell a visit holds.
pub fn cell_release(tenant: &TenantKey, provider: &UserId, start: i64, visit: &VisitId) -> Write {
    Write::Delete {
        key: keys::cell_key(tenant, provider, start),
        cond: Some(Cond::Or(vec![
            Cond::NotExists,
            Cond::AttrEq("visitId".into(), visit.as_str().into()),
        ])),
    }
}

/// The start of a booked cell item (its sort key), if it is one.
pub fn cell_start(item: &Item) -> Option<i64> {
    item.key.sk.parse().ok()
}

pub fn message_item(tenant: &TenantKey, m: &ChatMessage, expires_at: i64) -> Result<Item> {
    let key = keys::message_key(tenant, &m.visit_id, m.at, &m.message_id);
    Ok(with_ttl(item_of(key, m, "message")?, expires_at))
}

pub fn token_item(t: &ClinicToken) -> Result<Item> {
    let key = keys::clinic_token_key(&t.tenant_key, &t.token_id);
    Ok(with_ttl(item_of(key, t, "clinicToken")?, t.expires_at))
}

/// A join code's item: the visit it opens.
pub fn join_code_item(tenant: &TenantKey, code_hash: &str, visit: &VisitId) -> Item {
    let mut attrs = Attrs::new();
    attrs.insert(TYPE.into(), "joinCode".into());
    attrs.insert("visitId".into(), visit.as_str().into());
    Item::new(keys::join_code_key(tenant, code_hash), attrs)
}

/// The visit a join code item names.
pub fn join_code_visit(item: &Item) -> Option<VisitId> {
    item.get_str("visitId").and_then(VisitId::parse)
}

/// A task due at `at` for a visit (a reminder, a lapse check), in the
/// hour's due list; it lives a week past its time.
pub fn due_item(tenant: &TenantKey, visit: &VisitId, kind: &str, at: i64) -> Item {
    let mut attrs = Attrs::new();
    attrs.insert(TYPE.into(), "due".into());
    attrs.insert("tenantKey".into(), tenant.as_str().into());
    attrs.insert("visitId".into(), visit.as_str().into());
    attrs.insert("kind".into(), kind.into());
    attrs.insert("at".into(), at.into());
    let mut item = Item::new(keys::due_key(tenant, visit, kind), attrs);
    index(
        &mut item,
        GSI1,
        keys::due_hour(at),
        keys::due_sort(at, tenant, visit, kind),
    );
    with_ttl(item, at + 7 * 24 * 3_600_000)
}

/// A due task as read: (tenant, visit, kind, at).
pub fn due_of(item: &Item) -> Option<(TenantKey, VisitId, String, i64)> {
    Some((
        TenantKey::parse(item.get_str("tenantKey")?)?,
        VisitId::parse(item.get_str("visitId")?)?,
        item.get_str("kind")?.to_owned(),
        item.attrs.get("at")?.as_i64()?,
    ))
}

fn tenant_attr(tenant: &TenantKey) -> String {
    format!("t:{tenant}")
}

/// The origin index writes of a franchise that now allows `added` and no
/// longer `removed`.
pub fn cors_origin_writes(tenant: &TenantKey, added: &[&str], removed: &[&str]) -> Vec<Write> {
    let mut writes = Vec::new();
    for o in added {
        let mut set = Attrs::new();
        set.insert(TYPE.into(), "corsOrigin".into());
        set.insert(tenant_attr(tenant), Value::Bool(true));
        writes.push(Write::Update {
            key: keys::cors_origin_key(o),
            set,
            remove: vec![],
            cond: None,
        });
    }
    for o in removed {
        let mut set = Attrs::new();
        set.insert(TYPE.into(), "corsOrigin".into());
        writes.push(Write::Update {
            key: keys::cors_origin_key(o),
            set,
            remove: vec![tenant_attr(tenant)],
            cond: None,
        });
    }
    writes
}

/// Whether an origin index item names at least one franchise.
pub fn origin_allowed_somewhere(item: Option<&Item>) -> bool {
    item.is_some_and(|i| {
        i.attrs
            .iter()
            .any(|(k, v)| k.starts_with("t:") && *v == json!(true))
    })
}

/// Reads the entities among `items` (a query's page), skipping none.
pub fn entities<T: serde::de::DeserializeOwned>(items: &[Item]) -> Result<Vec<T>> {
    items.iter().map(entity_of).collect()
}

/// The key of a visit's room item (for reads that go with a visit's).
pub fn visit_room_key(v: &Visit) -> Key {
    keys::room_key(&v.tenant_key, &v.room_code)
}

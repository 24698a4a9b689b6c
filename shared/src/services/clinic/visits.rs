//! Visits: made from an intake (walk-in through the room's queue,
//! scheduled in a provider's free slot, eConsult for the room's providers
//! to accept), moved through their state machine by who may move them,
//! and lapsed by time (checked on every read). Every change is written
//! with its event, conditionally on the version read: of concurrent moves
//! one wins, the others are a `409`.

use super::Actor;
use super::rooms::{self, require_provider};
use super::slots;
use crate::app::App;
use crate::crypto::{TagKey, ct_eq, hash_secret, hex};
use crate::domain::clinic::availability::on_grid;
use crate::domain::clinic::{
    DueTask, Durations, Intake, PresentedToken, Room, RoomCode, Visit, VisitStatus, VisitType,
};
use crate::domain::{IntakeId, UserId, VisitId};
use crate::error::{Error, Result};
use crate::events::{Event, outbox};
use crate::metrics::Counter;
use crate::store::clinic_items::{
    TICKETS_ISSUED, TICKETS_LEFT, due_put, due_removal, join_code_item, visit_item,
};
use crate::store::{Cond, Write, items, keys};

pub const VISIT_NOT_FOUND: &str = "Visit not found";

/// A new visit, with its one-time appointment token when it has one.
#[derive(Debug, Clone)]
pub struct Created {
    pub visit: Visit,
    pub event: Event,
    pub link_token: Option<String>,
}

fn join_key(app: &App) -> TagKey {
    app.config.secret.derive("embedcare/join/v1")
}

fn link_key(app: &App) -> TagKey {
    app.config.secret.derive("embedcare/appointment/v1")
}

/// The guest join code of a visit: `{tenant}.{128 bits, hex}`, derived
/// from the deployment secret (so it can be shown again), looked up by
/// its hash.
pub fn join_code(app: &App, v: &Visit) -> String {
    let tag = join_key(app).tag(&[
        v.tenant_key.as_str().as_bytes(),
        v.visit_id.as_str().as_bytes(),
    ]);
    format!("{}.{}", v.tenant_key, hex(&tag[..16]))
}

fn link_secret(app: &App, v: &Visit) -> String {
    link_key(app).token(&[
        v.tenant_key.as_str().as_bytes(),
        v.visit_id.as_str().as_bytes(),
    ])
}

/// A scheduled visit's one-time appointment token,
/// `{tenant}.{visitId}.{secret}`, if it has one.
pub fn appointment_token(app: &App, v: &Visit) -> Option<String> {
    v.link_hash.as_ref()?;
    Some(format!(
        "{}.{}.{}",
        v.tenant_key,
        v.visit_id,
        link_secret(app, v)
    ))
}

/// The appointment link may open the visit's room from 15 minutes before
/// its start, and again after a disconnection, until the visit ends.
pub const LINK_OPENS_BEFORE_MS: i64 = 15 * 60 * 1000;

/// The visit an appointment token opens now (`401` for a bad token, `409`
/// too early or once the visit is over).
pub async fn visit_of_link(app: &App, raw: &str) -> Result<Visit> {
    let t = PresentedToken::parse(raw).ok_or(Error::Unauthorized)?;
    let id = VisitId::parse(&t.id).ok_or(Error::Unauthorized)?;
    let v: Visit = crate::services::find(app, &keys::visit_key(&t.tenant, &id))
        .await?
        .ok_or(Error::Unauthorized)?;
    let ok = v
        .link_hash
        .as_ref()
        .is_some_and(|h| ct_eq(&hash_secret(&t.secret), h));
    if !ok {
        return Err(Error::Unauthorized);
    }
    let franchise = crate::services::auth::franchise(app, &t.tenant)
        .await?
        .ok_or(Error::Unauthorized)?;
    let v = with_lapse(app, &franchise, v).await?;
    let now = app.now_ms();
    if !v.is_live() || v.end.is_some_and(|e| e <= now) {
        return Err(Error::conflict("This appointment is over"));
    }
    if v.start.is_some_and(|s| now < s - LINK_OPENS_BEFORE_MS) {
        return Err(Error::conflict(
            "This appointment opens 15 minutes before it starts",
        ));
    }
    Ok(v)
}

fn blank_visit(intake: &Intake, t: VisitType, room: &RoomCode, now: i64) -> Visit {
    Visit {
        tenant_key: intake.tenant_key.clone(),
        visit_id: VisitId::generate(),
        visit_type: t,
        status: VisitStatus::Waiting,
        room_code: room.clone(),
        patient_id: intake.patient_id.clone(),
        provider_id: None,
        intake_id: intake.intake_id.clone(),
        start: None,
        end: None,
        actual_start: None,
        actual_end: None,
        ticket: None,
        queue_position: None,
        link_hash: None,
        fulfilment: None,
        durations: None,
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// Writes a new visit with its join code, its lapse (when time will move
/// it, for the sweeper: `closes`, a walk-in's room's next closing) and
/// its event, after `writes` (a booking's cell claims: their failure is
/// reported by index).
async fn insert(
    app: &App,
    v: &Visit,
    intake: &Intake,
    mut writes: Vec<Write>,
    closes: Option<i64>,
) -> Result<Event> {
    let now = app.now_ms();
    let event = Event::visit(v, None, now);
    if let Some(at) = v.lapse_due(now, closes) {
        writes.push(due_put(&v.tenant_key, &v.visit_id, DueTask::Lapse, at));
    }
    let code = join_code(app, v);
    let code_hash = code
        .split_once('.')
        .map(|(_, c)| hash_secret(c))
        .unwrap_or_default();
    writes.push(items::put_new(visit_item(v)?));
    writes.push(super::statistics::row_put(v, &intake.concerns)?);
    writes.push(items::put_new(join_code_item(
        &v.tenant_key,
        &code_hash,
        &v.visit_id,
    )));
    writes.push(outbox::write(&event, now)?);
    app.store.transact(writes).await?;
    Ok(event)
}

/// The intake a visit is made from, of the type asked.
async fn intake_for(app: &App, actor: &Actor, id: &IntakeId, t: VisitType) -> Result<Intake> {
    let intake = super::intakes::intake(app, actor, id).await?;
    if intake.visit_type != t {
        return Err(Error::invalid(format!(
            "This intake is for a {} visit",
            intake.visit_type.as_str()
        )));
    }
    Ok(intake)
}

fn room_takes(room: &Room, t: VisitType) -> Result<()> {
    if room.takes(t) {
        Ok(())
    } else {
        Err(Error::conflict(format!(
            "This room takes no {} visits",
            t.as_str()
        )))
    }
}

/// `POST /v2/visits/walkin`: a ticket of the room's queue (an atomic
/// addition on the room, which also says how many left the queue: the
/// place at creation is their difference), status `WAITING`; `409` when
/// the room is closed or takes no walk-ins.
pub async fn walkin(
    app: &App,
    actor: &Actor,
    intake_id: &IntakeId,
    room_code: Option<RoomCode>,
    provider: Option<UserId>,
) -> Result<Created> {
    let intake = intake_for(app, actor, intake_id, VisitType::Walkin).await?;
    let code = room_code.unwrap_or_else(|| intake.room_code.clone());
    let room = rooms::room(app, actor.tenant(), &code).await?;
    room_takes(&room, VisitType::Walkin)?;
    let now = app.now_ms();
    if !room.is_open(now, &actor.franchise().time_zone) {
        let message = room
            .closed_message
            .as_ref()
            .map_or("This room is closed now", |m| m.en.as_str());
        return Err(Error::conflict(message.to_owned()));
    }
    if let Some(p) = &provider
        && !room.has_provider(p)
    {
        return Err(Error::invalid("providerId is not a provider of this room"));
    }
    let counters = app
        .store
        .add(
            &keys::room_key(actor.tenant(), &code),
            &[(TICKETS_ISSUED, 1)],
            Some(Cond::Exists),
        )
        .await
        .map_err(|e| {
            if e.is_condition_failure() {
                Error::not_found(rooms::ROOM_NOT_FOUND)
            } else {
                e.into()
            }
        })?;
    let number = |name: &str| {
        counters
            .attrs
            .get(name)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    };
    let (issued, left) = (number(TICKETS_ISSUED), number(TICKETS_LEFT));
    let mut v = blank_visit(&intake, VisitType::Walkin, &code, now);
    v.ticket = Some(issued);
    v.queue_position = Some(issued.saturating_sub(left).max(1));
    v.provider_id = provider;
    let closes = room.closes_after(now, &actor.franchise().time_zone);
    let event = insert(app, &v, &intake, Vec::new(), closes).await?;
    Ok(Created {
        visit: v,
        event,
        link_token: None,
    })
}

/// `POST /v2/visits`: a scheduled visit in a free slot of the provider
/// (`force` with the API key: outside availability, never over another
/// booking). The booking claims the slot's cells in the same transaction
/// as the visit: of concurrent bookings of one slot, one lands, the others
/// are a `409`.
pub async fn schedule(
    app: &App,
    actor: &Actor,
    intake_id: &IntakeId,
    provider: &UserId,
    start: i64,
    duration: Option<u32>,
    force: bool,
) -> Result<Created> {
    if force && !matches!(actor, Actor::Vendor { .. }) {
        return Err(Error::forbidden(
            "Only the vendor's server may force a booking",
        ));
    }
    let intake = intake_for(app, actor, intake_id, VisitType::Scheduled).await?;
    let franchise = actor.franchise();
    let room = rooms::room(app, actor.tenant(), &intake.room_code).await?;
    room_takes(&room, VisitType::Scheduled)?;
    if !room.has_provider(provider) {
        return Err(Error::invalid("providerId is not a provider of this room"));
    }
    let minutes = duration.unwrap_or(room.durations.scheduled);
    if !Durations::valid(minutes) {
        return Err(Error::invalid(format!("duration {}", Durations::RULE)));
    }
    if !on_grid(start) {
        return Err(Error::invalid("start must be on a quarter hour"));
    }
    let now = app.now_ms();
    let end = start + i64::from(minutes) * 60_000;
    if start < now {
        return Err(Error::invalid("start must be in the future"));
    }
    if !force {
        let avail = rooms::availabilities(
            app,
            actor.tenant(),
            &room.code,
            std::slice::from_ref(provider),
        )
        .await?;
        let covered = avail
            .iter()
            .any(|a| a.covers(start, end, &franchise.time_zone));
        if !covered {
            return Err(Error::conflict(
                "This slot is not in the provider's availability",
            ));
        }
    }
    let mut v = blank_visit(&intake, VisitType::Scheduled, &room.code, now);
    v.status = VisitStatus::Scheduled;
    v.provider_id = Some(provider.clone());
    v.start = Some(start);
    v.end = Some(end);
    if room.one_time_links {
        v.link_hash = Some(hash_secret(&link_secret(app, &v)));
    }
    let claims = slots::claims(franchise, provider, start, end, &v.visit_id);
    let inserted = insert(app, &v, &intake, claims, None).await;
    if matches!(inserted, Err(Error::Contention { .. })) {
        app.metrics().count(Counter::BookingConflicts, 1);
    }
    let event = crate::services::retry::conflict(inserted, "This slot is no longer free")?;
    app.metrics().count(Counter::Bookings, 1);
    let link_token = appointment_token(app, &v);
    Ok(Created {
        visit: v,
        event,
        link_token,
    })
}

/// `POST /v2/visits/econsult`: `PENDING_ACCEPT`, seen by every provider
/// of the room.
pub async fn econsult(
    app: &App,
    actor: &Actor,
    intake_id: &IntakeId,
    room_code: Option<RoomCode>,
) -> Result<Created> {
    let intake = intake_for(app, actor, intake_id, VisitType::Econsult).await?;
    let code = room_code.unwrap_or_else(|| intake.room_code.clone());
    let room = rooms::room(app, actor.tenant(), &code).await?;
    room_takes(&room, VisitType::Econsult)?;
    let mut v = blank_visit(&intake, VisitType::Econsult, &code, app.now_ms());
    v.status = VisitStatus::PendingAccept;
    let event = insert(app, &v, &intake, Vec::new(), None).await?;
    Ok(Created {
        visit: v,
        event,
        link_token: None,
    })
}

/// Whether `actor` may see this visit (another patient's, another visit's
/// guest: not found).
fn in_reach(actor: &Actor, v: &Visit) -> bool {
    match actor {
        Actor::Patient { patient_id, .. } => *patient_id == v.patient_id,
        Actor::Guest { visit_id, .. } => *visit_id == v.visit_id,
        Actor::Vendor { .. } | Actor::Provider { .. } => true,
    }
}

/// A visit within the actor's reach, with what time did to it.
pub async fn visit_for(app: &App, actor: &Actor, id: &VisitId) -> Result<Visit> {
    let v: Visit =
        crate::services::get(app, &keys::visit_key(actor.tenant(), id), VISIT_NOT_FOUND).await?;
    if !in_reach(actor, &v) {
        return Err(Error::not_found(VISIT_NOT_FOUND));
    }
    with_lapse(app, actor.franchise(), v).await
}

/// The visit after the move time made by itself (saved with its event),
/// if any.
pub async fn with_lapse(
    app: &App,
    franchise: &crate::domain::Franchise,
    v: Visit,
) -> Result<Visit> {
    let now = app.now_ms();
    let room_open = if v.status == VisitStatus::Waiting {
        match rooms::room(app, &v.tenant_key, &v.room_code).await {
            Ok(r) => r.is_open(now, &franchise.time_zone),
            Err(Error::NotFound(_)) => false,
            Err(e) => return Err(e),
        }
    } else {
        true
    };
    let Some(to) = v.lapsed(now, room_open) else {
        return Ok(v);
    };
    match save_move(app, franchise, v.clone(), to, |_| Ok(())).await {
        Ok((moved, _)) => Ok(moved),
        // Someone else moved it meanwhile: what is stored now is the truth.
        Err(Error::Conflict(_)) => {
            crate::services::get(
                app,
                &keys::visit_key(&v.tenant_key, &v.visit_id),
                VISIT_NOT_FOUND,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// A move someone asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// A provider takes an eConsult (one of concurrent accepts wins).
    Accept,
    /// A provider starts a waiting or scheduled visit.
    Start,
    Complete,
    NoShow,
    Cancel,
}

impl Move {
    fn status(self) -> VisitStatus {
        match self {
            Move::Accept | Move::Start => VisitStatus::InProgress,
            Move::Complete => VisitStatus::Completed,
            Move::NoShow => VisitStatus::NoShow,
            Move::Cancel => VisitStatus::Cancelled,
        }
    }
}

/// Moves a visit as `actor` asks: provider moves need a provider of the
/// room (`403` otherwise); a patient may only cancel their own; a guest
/// moves nothing.
pub async fn act(app: &App, actor: &Actor, id: &VisitId, mv: Move) -> Result<(Visit, Event)> {
    let v = visit_for(app, actor, id).await?;
    let provider = match (mv, actor) {
        (Move::Cancel, Actor::Patient { .. } | Actor::Vendor { user: None, .. }) => None,
        (_, Actor::Guest { .. } | Actor::Patient { .. }) => {
            return Err(Error::forbidden("Only a provider of the room may do this"));
        }
        _ => {
            let user = actor
                .provider_user()
                .ok_or_else(|| Error::forbidden("Name the provider in x-integration-user"))?;
            let room = rooms::room(app, actor.tenant(), &v.room_code).await?;
            require_provider(app, &room, user).await?;
            Some(user.clone())
        }
    };
    if mv == Move::Accept && v.status != VisitStatus::PendingAccept {
        return Err(Error::conflict(
            "This visit is not an eConsult waiting to be accepted",
        ));
    }
    if mv == Move::Start && v.status == VisitStatus::PendingAccept {
        return Err(Error::conflict("Accept this eConsult to start it"));
    }
    let to = mv.status();
    let result = save_move(app, actor.franchise(), v, to, |v| {
        if matches!(mv, Move::Accept | Move::Start) && v.provider_id.is_none() {
            v.provider_id = provider.clone();
        }
        Ok(())
    })
    .await;
    match (mv, result) {
        (Move::Accept, Err(Error::Conflict(_))) => Err(Error::conflict(
            "Another provider accepted this eConsult first",
        )),
        (_, r) => r,
    }
}

/// Saves `v` moved to `to` (after `edit`) with its event, at the version
/// read and the status read; frees a cancelled booking's cells; counts a
/// walk-in that left the queue on its room, in the same transaction (an
/// addition: concurrent moves each add theirs); then tells the visit's
/// live connections (every move is saved here).
async fn save_move(
    app: &App,
    franchise: &crate::domain::Franchise,
    v: Visit,
    to: VisitStatus,
    edit: impl FnOnce(&mut Visit) -> Result<()>,
) -> Result<(Visit, Event)> {
    save_move_with(app, franchise, v, to, edit, Vec::new(), false).await
}

/// [`save_move`] with `more` writes in its transaction (the encounter's:
/// its participants' moves); with `stay`, `to` may be the status it has (a
/// fulfilment of a completed visit): a change at the version read, with
/// its event.
pub(crate) async fn save_move_with(
    app: &App,
    franchise: &crate::domain::Franchise,
    mut v: Visit,
    to: VisitStatus,
    edit: impl FnOnce(&mut Visit) -> Result<()>,
    more: Vec<Write>,
    stay: bool,
) -> Result<(Visit, Event)> {
    let expected = v.version;
    let now = app.now_ms();
    let previous = if stay && to == v.status {
        v.updated_at = now;
        v.version += 1;
        v.status
    } else {
        v.move_to(to, now)?
    };
    edit(&mut v)?;
    let event = Event::visit(&v, Some(previous), now);
    let cond = Cond::And(vec![
        items::at_version(expected),
        Cond::AttrEq("status".into(), previous.as_str().into()),
    ]);
    let mut writes = vec![Write::Put {
        item: visit_item(&v)?,
        cond: Some(cond),
    }];
    writes.push(super::statistics::row_update(&v, None)?);
    if let (VisitStatus::Cancelled, VisitType::Scheduled, Some(p), Some(s), Some(e)) =
        (to, v.visit_type, &v.provider_id, v.start, v.end)
    {
        writes.extend(slots::releases(franchise, p, s, e, &v.visit_id));
    }
    if matches!(
        previous,
        VisitStatus::Scheduled | VisitStatus::Waiting | VisitStatus::PendingAccept
    ) {
        // Time will move it no more: its lapse goes with the move.
        writes.push(due_removal(
            &v.tenant_key,
            &v.visit_id,
            DueTask::Lapse,
            None,
        ));
    }
    if previous == VisitStatus::Waiting {
        writes.push(Write::add(
            keys::room_key(&v.tenant_key, &v.room_code),
            &[(TICKETS_LEFT, 1)],
            Some(Cond::Exists),
        ));
    }
    writes.extend(more);
    writes.push(outbox::write(&event, now)?);
    // The room's counter is written by every walk-in that joins its queue:
    // a move cancelled by one of those (no condition failed) is run again.
    let saved = crate::services::retry::retry_conflicting(|| async {
        app.store.transact(writes.clone()).await.map_err(Into::into)
    })
    .await;
    crate::services::retry::conflict(
        saved,
        "The visit changed meanwhile; reload it and try again",
    )?;
    super::fanout::visit_moved(app, &v, previous).await;
    super::meeting::visit_moved(app, &v, previous).await;
    Ok((v, event))
}

//! Presence: who of a visit's people is in the room now. A live
//! connection belongs to a participant (found, or made for the visit's
//! patient, its provider and a guest of its join code: a made one has an
//! id derived from the visit and the person, so two connections at once
//! make one); connecting (or `PUT …/alive`) makes them `JOINED`, every
//! heartbeat (the socket's `ping`, `alive`) records `lastSeenAt`, and a
//! `DISCONNECTED` one comes back to `JOINED` on their next.
//!
//! No timer, in AWS or locally: a `JOINED` participant silent for more
//! than 45 s ([`SILENCE_MS`](crate::domain::clinic::participant::SILENCE_MS)) is found `DISCONNECTED` wherever presence
//! is read (the connection status, a `ready` frame, the participants'
//! list, the provider's waiting room) or another of the visit's people
//! beats, and the move is written at the version read (of two deciding at
//! once, one writes). The last connection of a participant closing makes
//! them `DISCONNECTED` at once.
//!
//! Every change of status is told to the visit's other connections
//! (`fanout::presence_changed`); a plain heartbeat of someone `JOINED` is
//! an `UpdateItem` of `lastSeenAt` alone and tells no one. Presence is
//! not an event: nothing here writes to the outbox.

use serde_json::Value;

use super::visits::visit_for;
use super::{Actor, fanout, rooms};
use crate::app::App;
use crate::domain::clinic::{
    LiveConnection, Participant, ParticipantStatus, ParticipantType, Visit,
};
use crate::domain::{ParticipantId, PatientId, TenantKey, UserId, VisitId};
use crate::error::{Error, Result};
use crate::services::people;
use crate::store::clinic_items::entities;
use crate::store::encounter_items::{participant_item, participants_query};
use crate::store::{Cond, Write, items, keys};

/// A lost race is planned again from a fresh read this many times.
const ATTEMPTS: usize = 3;

/// Who the actor is among a visit's participants.
enum Who {
    Patient(PatientId),
    Provider(UserId),
    /// A guest: an invitation's participant, or a join code's (found by
    /// the session it holds).
    Guest {
        token_id: String,
        participant_id: Option<ParticipantId>,
        name: String,
    },
}

fn who(actor: &Actor) -> Result<Who> {
    match actor {
        Actor::Patient { patient_id, .. } => Ok(Who::Patient(patient_id.clone())),
        Actor::Guest {
            token_id,
            participant_id,
            name,
            ..
        } => Ok(Who::Guest {
            token_id: token_id.clone(),
            participant_id: participant_id.clone(),
            name: name.clone(),
        }),
        other => other
            .provider_user()
            .map(|u| Who::Provider(u.clone()))
            .ok_or_else(|| Error::forbidden("Name the provider in x-integration-user")),
    }
}

impl Who {
    fn is(&self, p: &Participant) -> bool {
        match self {
            Who::Patient(_) => p.participant_type == ParticipantType::Patient,
            Who::Provider(u) => {
                p.participant_type == ParticipantType::Practitioner && p.user_id.as_ref() == Some(u)
            }
            Who::Guest {
                participant_id: Some(id),
                ..
            } => &p.participant_id == id,
            Who::Guest { token_id, .. } => p.session_id.as_deref() == Some(token_id.as_str()),
        }
    }

    /// The id of the participant made for them: derived, so that two
    /// arrivals at once write one (the second's `put_new` fails).
    fn derived_id(&self, visit: &VisitId) -> ParticipantId {
        let seat = match self {
            Who::Patient(id) => format!("patient:{id}"),
            Who::Provider(u) => format!("provider:{u}"),
            Who::Guest { token_id, .. } => format!("guest:{token_id}"),
        };
        let digest = crate::crypto::hash_secret(&format!("{visit}|{seat}"));
        ParticipantId::parse(&format!("pr-{}", &digest[..32]))
            .unwrap_or_else(ParticipantId::generate)
    }
}

/// Every participant of a visit, oldest first (one `Query`).
async fn all(app: &App, tenant: &TenantKey, visit: &VisitId) -> Result<Vec<Participant>> {
    let page = app.store.query(&participants_query(tenant, visit)).await?;
    let mut list: Vec<Participant> = entities(&page.items)?;
    list.sort_by(|a, b| (a.created_at, &a.participant_id).cmp(&(b.created_at, &b.participant_id)));
    Ok(list)
}

/// The participant's put at the version it was read at.
fn put_at(p: &Participant, expected: u64) -> Result<Write> {
    Ok(Write::Put {
        item: participant_item(p)?,
        cond: Some(items::at_version(expected)),
    })
}

/// Writes `w`; `Ok(false)` when its condition did not hold (a lost race).
async fn try_write(app: &App, w: Write) -> Result<bool> {
    match app.store.write(w).await {
        Ok(()) => Ok(true),
        Err(e) if e.is_condition_failure() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The silent among `list` (all but `except`) found `DISCONNECTED` and
/// written so, each told to the others; the list as it now is. Never
/// fails: what it could not write goes to the log, and the stored truth
/// is read again.
async fn settle(
    app: &App,
    list: Vec<Participant>,
    except: Option<&ParticipantId>,
) -> Vec<Participant> {
    let now = app.now_ms();
    let mut out = Vec::with_capacity(list.len());
    for p in list {
        if !p.is_silent(now) || Some(&p.participant_id) == except {
            out.push(p);
            continue;
        }
        let mut gone = p.clone();
        let expected = gone.version;
        if gone.move_to(ParticipantStatus::Disconnected, now).is_err() {
            out.push(p);
            continue;
        }
        // They were last seen then: the time disconnected counts from it.
        gone.disconnected_at = p.last_seen_at.map(|at| at.min(now));
        let written = match put_at(&gone, expected) {
            Ok(w) => try_write(app, w).await,
            Err(e) => Err(e),
        };
        match written {
            Ok(true) => {
                fanout::presence_changed(app, &gone).await;
                out.push(gone);
            }
            Ok(false) => {
                let key = keys::participant_key(&p.tenant_key, &p.visit_id, &p.participant_id);
                match crate::services::find::<Participant>(app, &key).await {
                    Ok(Some(now_stored)) => out.push(now_stored),
                    Ok(None) => {}
                    Err(_) => out.push(p),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "a silent participant was not marked disconnected");
                out.push(p);
            }
        }
    }
    out
}

/// The participants of `list` with presence decided now (the silent
/// `DISCONNECTED`): what every reader of presence calls.
pub async fn settled(app: &App, list: Vec<Participant>) -> Vec<Participant> {
    settle(app, list, None).await
}

/// A visit's people as presence sees them now (all but the declined and
/// the dismissed), the silent decided.
pub async fn present(app: &App, tenant: &TenantKey, visit: &VisitId) -> Result<Vec<Participant>> {
    let list = settle(app, all(app, tenant, visit).await?, None).await;
    Ok(list
        .into_iter()
        .filter(|p| p.status.shown_by_default())
        .collect())
}

/// A heartbeat of `p` at `now`: `lastSeenAt` recorded; `JOINED` if they
/// were `DISCONNECTED` or `JOINING` (or, when `arriving`, invited or
/// gone). `Ok(None)`: a lost race, to plan again.
async fn beat(app: &App, p: &Participant, now: i64, arriving: bool) -> Result<Option<Participant>> {
    use ParticipantStatus as S;
    match p.status {
        S::Joined => {
            let key = keys::participant_key(&p.tenant_key, &p.visit_id, &p.participant_id);
            let mut set = crate::store::Attrs::new();
            set.insert("lastSeenAt".into(), Value::from(now));
            let w = Write::Update {
                key,
                set,
                remove: vec![],
                add: vec![],
                cond: Some(Cond::And(vec![
                    Cond::Exists,
                    Cond::AttrEq("status".into(), Value::from(S::Joined.as_str())),
                ])),
            };
            if !try_write(app, w).await? {
                return Ok(None);
            }
            let mut p = p.clone();
            p.last_seen_at = Some(now);
            Ok(Some(p))
        }
        S::Disconnected | S::Joining | S::Invited | S::Left
            if arriving || matches!(p.status, S::Disconnected | S::Joining) =>
        {
            let mut back = p.clone();
            let expected = back.version;
            back.move_to(S::Joined, now)?;
            back.last_seen_at = Some(now);
            if !try_write(app, put_at(&back, expected)?).await? {
                return Ok(None);
            }
            fanout::presence_changed(app, &back).await;
            Ok(Some(back))
        }
        _ => Ok(Some(p.clone())),
    }
}

/// The participant made for a person arriving in the room, `JOINED`.
async fn newcomer(app: &App, who: &Who, v: &Visit, now: i64) -> Result<Participant> {
    let (participant_type, first_name, last_name, user_id, session_id) = match who {
        Who::Patient(id) => {
            let p = people::patient(app, &v.tenant_key, id).await?;
            (
                ParticipantType::Patient,
                p.first_name.clone(),
                p.last_name.clone(),
                None,
                None,
            )
        }
        Who::Provider(u) => {
            let name = rooms::provider(app, &v.tenant_key, u)
                .await?
                .map(|p| p.display_name)
                .unwrap_or_else(|| u.to_string());
            let (first, last) = match name.rsplit_once(' ') {
                Some((first, last)) => (first.to_owned(), last.to_owned()),
                None => (name, String::new()),
            };
            (
                ParticipantType::Practitioner,
                first,
                last,
                Some(u.clone()),
                None,
            )
        }
        Who::Guest { token_id, name, .. } => (
            ParticipantType::Guest,
            name.clone(),
            String::new(),
            None,
            Some(token_id.clone()),
        ),
    };
    Ok(Participant {
        tenant_key: v.tenant_key.clone(),
        visit_id: v.visit_id.clone(),
        participant_id: who.derived_id(&v.visit_id),
        participant_type,
        status: ParticipantStatus::Joined,
        first_name,
        last_name,
        email: None,
        user_id,
        invited_at: None,
        invitation_id: None,
        session_id,
        joined_at: Some(now),
        left_at: None,
        last_seen_at: Some(now),
        disconnected_at: None,
        disconnected_ms: 0,
        created_at: now,
        updated_at: now,
        version: 1,
    })
}

/// `actor` arrives in the room of `v` (a new connection, `PUT …/alive`):
/// their participant, found or made, `JOINED` and seen now; the others'
/// silence decided. `None` once the visit has ended (nothing is written).
/// A dismissed participant may not come back (`403`).
pub async fn arrive(app: &App, actor: &Actor, v: &Visit) -> Result<Option<Participant>> {
    if !v.is_live() {
        return Ok(None);
    }
    let who = who(actor)?;
    for _ in 0..ATTEMPTS {
        let list = all(app, &v.tenant_key, &v.visit_id).await?;
        let now = app.now_ms();
        let mine: Vec<&Participant> = list.iter().filter(|p| who.is(p)).collect();
        let found = mine
            .iter()
            .find(|p| !p.status.is_final())
            .or_else(|| mine.first())
            .map(|p| (*p).clone());
        let me = match found {
            Some(p) if p.status == ParticipantStatus::Dismissed => {
                return Err(Error::forbidden("You were dismissed from this visit"));
            }
            Some(p) if p.status.is_final() => {
                return Err(Error::forbidden("You declined this visit's invitation"));
            }
            Some(p) => match beat(app, &p, now, true).await? {
                Some(p) => p,
                None => continue,
            },
            None => {
                let p = newcomer(app, &who, v, now).await?;
                if !try_write(app, items::put_new(participant_item(&p)?)).await? {
                    continue;
                }
                fanout::presence_changed(app, &p).await;
                p
            }
        };
        settle(app, list, Some(&me.participant_id)).await;
        return Ok(Some(me));
    }
    Err(Error::conflict(
        "The participant changed meanwhile; try again",
    ))
}

/// A heartbeat of a connection (its `ping`): its participant seen now,
/// back to `JOINED` if they were `DISCONNECTED`; the visit's others
/// judged. A connection of no participant beats for no one.
pub async fn heartbeat(app: &App, c: &LiveConnection) -> Result<()> {
    let Some(pid) = &c.participant_id else {
        return Ok(());
    };
    for _ in 0..ATTEMPTS {
        let list = all(app, &c.tenant_key, &c.visit_id).await?;
        let now = app.now_ms();
        let Some(me) = list.iter().find(|p| &p.participant_id == pid).cloned() else {
            return Ok(());
        };
        if beat(app, &me, now, false).await?.is_none() {
            continue;
        }
        settle(app, list, Some(pid)).await;
        return Ok(());
    }
    Ok(())
}

/// `PUT /v2/visits/{visitId}/alive`: the REST heartbeat of one of the
/// visit's people (a client without the socket), which is also how they
/// arrive; `409` once the visit has ended.
pub async fn alive(app: &App, actor: &Actor, id: &VisitId) -> Result<Participant> {
    let v = visit_for(app, actor, id).await?;
    require_people(app, actor, &v).await?;
    arrive(app, actor, &v)
        .await?
        .ok_or_else(|| Error::conflict("This visit has ended"))
}

/// `GET /v2/visits/{visitId}/connection-status`: each participant's
/// presence (all but the declined and the dismissed), for the visit's
/// people and the franchise's API key.
pub async fn status(app: &App, actor: &Actor, id: &VisitId) -> Result<Vec<Participant>> {
    let v = visit_for(app, actor, id).await?;
    if !matches!(actor, Actor::Vendor { user: None, .. }) {
        require_people(app, actor, &v).await?;
    }
    present(app, &v.tenant_key, &v.visit_id).await
}

/// A provider must be one of the room's (`403`); the patient and the
/// guests are the visit's already (`visit_for`).
async fn require_people(app: &App, actor: &Actor, v: &Visit) -> Result<()> {
    if let Some(user) = actor.provider_user() {
        let room = rooms::room(app, actor.tenant(), &v.room_code).await?;
        rooms::require_provider(app, &room, user).await?;
    } else if matches!(actor, Actor::Vendor { .. }) {
        return Err(Error::forbidden("Name the provider in x-integration-user"));
    }
    Ok(())
}

/// A connection closed: when it was its participant's last, they are
/// `DISCONNECTED` now (the page closed), and the others are told.
pub async fn depart(app: &App, c: &LiveConnection) -> Result<()> {
    let Some(pid) = &c.participant_id else {
        return Ok(());
    };
    let others = fanout::connections(app, &c.tenant_key, &c.visit_id).await?;
    if others
        .iter()
        .any(|o| o.participant_id.as_ref() == Some(pid) && o.connection_id != c.connection_id)
    {
        return Ok(());
    }
    let key = keys::participant_key(&c.tenant_key, &c.visit_id, pid);
    for _ in 0..ATTEMPTS {
        let Some(p) = crate::services::find::<Participant>(app, &key).await? else {
            return Ok(());
        };
        if p.status != ParticipantStatus::Joined {
            return Ok(());
        }
        let mut gone = p.clone();
        gone.move_to(ParticipantStatus::Disconnected, app.now_ms())?;
        if try_write(app, put_at(&gone, p.version)?).await? {
            fanout::presence_changed(app, &gone).await;
            return Ok(());
        }
    }
    Ok(())
}

/// A participant taken out of the room (dismissed): their connections are
/// told, closed (`4403`) and forgotten at once; the others are told.
pub async fn removed(app: &App, p: &Participant) -> Result<()> {
    let found = fanout::connections(app, &p.tenant_key, &p.visit_id).await?;
    for c in found
        .iter()
        .filter(|c| c.participant_id.as_ref() == Some(&p.participant_id))
    {
        if let Some(live) = app.visit_live.as_ref() {
            let _ = live
                .send(
                    &c.connection_id,
                    &fanout::error_frame(403, "You were dismissed from this visit"),
                )
                .await;
            if let Err(e) = live.close(&c.connection_id, 4403, "Dismissed").await {
                tracing::warn!(error = ?e, "a dismissed participant's connection was not closed");
            }
        }
        fanout::forget(app, c).await?;
    }
    fanout::presence_changed(app, p).await;
    Ok(())
}

//! The people of a visit's room: added by who manages the visit (a
//! provider of its room, the franchise's API key; a patient may add a
//! related person when the room allows it), invited with a single-use link
//! (24 h, its token stored as its hash, e-mailed when they have an
//! address), redeemed once for a guest session of that visit only;
//! declined, dismissed (their session revoked at once). Every change is
//! written at the version read.

use super::rooms::{self, require_provider};
use super::tokens::{Issued, new_token, verify};
use super::visits::visit_for;
use super::{Actor, fanout, presence};
use crate::app::App;
use crate::domain::clinic::participant::{INVITATION_TTL_MS, MAX_PARTICIPANTS};
use crate::domain::clinic::{
    ClinicToken, Participant, ParticipantStatus, ParticipantType, TokenKind, Visit,
};
use crate::domain::{Email, ParticipantId, TenantKey, UserId, VisitId};
use crate::error::{Error, Result};
use crate::notify::Message;
use crate::store::clinic_items::{entities, token_item};
use crate::store::encounter_items::{participant_item, participants_query};
use crate::store::{Cond, Write, items, keys};

pub const PARTICIPANT_NOT_FOUND: &str = "Participant not found";

/// What a new participant gives.
#[derive(Debug, Clone)]
pub struct NewParticipant {
    pub participant_type: ParticipantType,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<Email>,
    pub user_id: Option<UserId>,
}

/// What a change of a participant gives (absent: unchanged).
#[derive(Debug, Clone, Default)]
pub struct ParticipantChange {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<Email>,
    pub status: Option<ParticipantStatus>,
}

/// What the actor may do with a visit's participants.
enum Role {
    /// A provider of the room or the API key: everything.
    Manager,
    /// The visit's patient: related persons, when the room allows it.
    Patient { related_persons: bool },
    /// A guest of the visit: reads only.
    Guest,
}

/// The visit (within reach) and the actor's role in it.
async fn role(app: &App, actor: &Actor, id: &VisitId) -> Result<(Visit, Role)> {
    let v = visit_for(app, actor, id).await?;
    let role = match actor {
        Actor::Vendor { .. } => Role::Manager,
        Actor::Provider { user, .. } => {
            let room = rooms::room(app, actor.tenant(), &v.room_code).await?;
            require_provider(app, &room, user).await?;
            Role::Manager
        }
        Actor::Patient { .. } => {
            let room = rooms::room(app, actor.tenant(), &v.room_code).await?;
            Role::Patient {
                related_persons: room.related_person_invites,
            }
        }
        Actor::Guest { .. } => Role::Guest,
    };
    Ok((v, role))
}

/// Managers only (`403` otherwise).
async fn manager(app: &App, actor: &Actor, id: &VisitId) -> Result<Visit> {
    match role(app, actor, id).await? {
        (v, Role::Manager) => Ok(v),
        _ => Err(Error::forbidden(
            "Only a provider of the room or the API key manages participants",
        )),
    }
}

/// A manager, or the patient acting on a related person of theirs when
/// the room allows it.
async fn inviter(app: &App, actor: &Actor, id: &VisitId, t: ParticipantType) -> Result<Visit> {
    match role(app, actor, id).await? {
        (v, Role::Manager) => Ok(v),
        (v, Role::Patient { related_persons })
            if related_persons && t == ParticipantType::RelatedPerson =>
        {
            Ok(v)
        }
        (_, Role::Patient { .. }) => Err(Error::forbidden(
            "A patient may invite a related person only, when the room allows it",
        )),
        (_, Role::Guest) => Err(Error::forbidden("A guest invites no one")),
    }
}

fn live(v: &Visit) -> Result<()> {
    if v.is_live() {
        Ok(())
    } else {
        Err(Error::conflict("This visit has ended"))
    }
}

/// Every participant of a visit, oldest first (one `Query`).
pub async fn all(app: &App, tenant: &TenantKey, visit: &VisitId) -> Result<Vec<Participant>> {
    let page = app.store.query(&participants_query(tenant, visit)).await?;
    let mut list: Vec<Participant> = entities(&page.items)?;
    list.sort_by(|a, b| (a.created_at, &a.participant_id).cmp(&(b.created_at, &b.participant_id)));
    Ok(list)
}

async fn one(app: &App, v: &Visit, id: &ParticipantId) -> Result<Participant> {
    crate::services::get(
        app,
        &keys::participant_key(&v.tenant_key, &v.visit_id, id),
        PARTICIPANT_NOT_FOUND,
    )
    .await
}

/// The participant's put at the version it was read at.
fn put_at(p: &Participant, expected: u64) -> Result<Write> {
    Ok(Write::Put {
        item: participant_item(p)?,
        cond: Some(items::at_version(expected)),
    })
}

async fn commit(app: &App, writes: Vec<Write>) -> Result<()> {
    let r = if writes.len() == 1 {
        let mut writes = writes;
        match writes.pop() {
            Some(w) => app.store.write(w).await,
            None => Ok(()),
        }
    } else {
        app.store.transact(writes).await
    };
    crate::services::retry::conflict(
        r.map_err(Into::into),
        "The participant changed meanwhile; reload it and try again",
    )
}

/// `POST /v2/visits/{visitId}/participants`: status `INVITED`.
pub async fn add(
    app: &App,
    actor: &Actor,
    id: &VisitId,
    new: NewParticipant,
) -> Result<Participant> {
    let v = inviter(app, actor, id, new.participant_type).await?;
    live(&v)?;
    if all(app, &v.tenant_key, &v.visit_id).await?.len() >= MAX_PARTICIPANTS {
        return Err(Error::conflict(format!(
            "A visit has at most {MAX_PARTICIPANTS} participants"
        )));
    }
    let now = app.now_ms();
    let p = Participant {
        tenant_key: v.tenant_key.clone(),
        visit_id: v.visit_id.clone(),
        participant_id: ParticipantId::generate(),
        participant_type: new.participant_type,
        status: ParticipantStatus::Invited,
        first_name: new.first_name,
        last_name: new.last_name,
        email: new.email,
        user_id: new.user_id,
        invited_at: None,
        invitation_id: None,
        session_id: None,
        joined_at: None,
        left_at: None,
        last_seen_at: None,
        disconnected_at: None,
        disconnected_ms: 0,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    app.store
        .write(items::put_new(participant_item(&p)?))
        .await?;
    Ok(p)
}

/// `GET /v2/visits/{visitId}/participants`: those whose status `shown`
/// keeps (every role that reaches the visit may read them).
pub async fn list(
    app: &App,
    actor: &Actor,
    id: &VisitId,
    shown: impl Fn(ParticipantStatus) -> bool,
) -> Result<Vec<Participant>> {
    let (v, _) = role(app, actor, id).await?;
    let list = presence::settled(app, all(app, &v.tenant_key, &v.visit_id).await?).await;
    Ok(list.into_iter().filter(|p| shown(p.status)).collect())
}

/// `GET /v2/visits/{visitId}/participants/{participantId}`.
pub async fn get(
    app: &App,
    actor: &Actor,
    id: &VisitId,
    pid: &ParticipantId,
) -> Result<Participant> {
    let (v, _) = role(app, actor, id).await?;
    one(app, &v, pid).await
}

/// `PATCH …/participants/{participantId}`: names, address, or a move of
/// its status within the state machine (`409` outside it; dismissal and
/// declining have their own endpoints).
pub async fn update(
    app: &App,
    actor: &Actor,
    id: &VisitId,
    pid: &ParticipantId,
    change: ParticipantChange,
) -> Result<Participant> {
    let v = manager(app, actor, id).await?;
    let mut p = one(app, &v, pid).await?;
    let expected = p.version;
    let now = app.now_ms();
    if let Some(to) = change.status {
        if matches!(
            to,
            ParticipantStatus::Dismissed | ParticipantStatus::Declined
        ) {
            return Err(Error::invalid(
                "Invalid participant: status DISMISSED and DECLINED have their own endpoints",
            ));
        }
        if to != p.status {
            p.move_to(to, now)?;
        }
    }
    let mut changed = p.version != expected;
    for (field, value) in [
        (&mut p.first_name, change.first_name),
        (&mut p.last_name, change.last_name),
    ] {
        if let Some(value) = value.filter(|s| s != field) {
            *field = value;
            changed = true;
        }
    }
    if change.email.is_some() && change.email != p.email {
        p.email = change.email;
        changed = true;
    }
    if !changed {
        return Ok(p);
    }
    let moved = p.version != expected;
    if !moved {
        p.version += 1;
        p.updated_at = now;
    }
    commit(app, vec![put_at(&p, expected)?]).await?;
    if moved {
        fanout::presence_changed(app, &p).await;
    }
    Ok(p)
}

/// An invitation just issued: the link's token (shown once) and whether
/// it was e-mailed.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub participant: Participant,
    pub token: String,
    pub url: String,
    pub expires_at: i64,
    pub emailed: bool,
}

/// `{base}/members/invitation/{visitId}?token=…`: the shell of the patient
/// app, whose script posts the token (a `GET` burns nothing).
pub fn invitation_url(app: &App, visit: &VisitId, token: &str) -> String {
    format!(
        "{}{}?token={token}",
        app.config.app_base_url,
        crate::domain::links::clinic_invitation(visit.as_str())
    )
}

/// `POST …/participants/{participantId}/tokens`: a new single-use link
/// (24 h) replaces the one before; e-mailed when the participant has an
/// address and the process a notifier (the mail holds the link and the
/// franchise's name only: no health data).
pub async fn invite(
    app: &App,
    actor: &Actor,
    id: &VisitId,
    pid: &ParticipantId,
) -> Result<Invitation> {
    let v = match role(app, actor, id).await? {
        (v, Role::Manager) => v,
        (v, Role::Patient { .. }) => {
            let p = one(app, &v, pid).await?;
            inviter(app, actor, id, p.participant_type).await?
        }
        (_, Role::Guest) => return Err(Error::forbidden("A guest invites no one")),
    };
    live(&v)?;
    let mut p = one(app, &v, pid).await?;
    if p.status.is_final() || p.status == ParticipantStatus::Joined {
        return Err(Error::conflict(format!(
            "A {} participant cannot be invited",
            p.status.as_str()
        )));
    }
    let expected = p.version;
    let now = app.now_ms();
    let mut issued = new_token(
        &v.tenant_key,
        TokenKind::Invitation,
        None,
        Some(v.visit_id.clone()),
        Some(p.first_name.clone()),
        now,
        INVITATION_TTL_MS,
    )?;
    issued.record.participant_id = Some(p.participant_id.clone());
    let mut writes = vec![items::put_new(token_item(&issued.record)?)];
    if let Some(old) = p.invitation_id.take() {
        writes.push(Write::Delete {
            key: keys::clinic_token_key(&v.tenant_key, &old),
            cond: None,
        });
    }
    p.invitation_id = Some(issued.record.token_id.clone());
    p.invited_at = Some(now);
    p.version += 1;
    p.updated_at = now;
    writes.push(put_at(&p, expected)?);
    commit(app, writes).await?;
    let url = invitation_url(app, &v.visit_id, &issued.token);
    let emailed = match (&p.email, app.notifier.get()) {
        (Some(to), Some(notifier)) => {
            let message = Message {
                to: to.to_string(),
                subject: format!("{}: you are invited to a visit", actor.franchise().name),
                text: format!(
                    "Hello {},\n\nYou are invited to join a video visit. Open this link to enter \
                     (it works once, for 24 hours):\n\n{url}\n",
                    p.first_name
                ),
                link: url.clone(),
            };
            match notifier.send(&message).await {
                Ok(_) => true,
                Err(e) => {
                    tracing::warn!(participant = %p.participant_id, error = %e, "invitation not sent");
                    false
                }
            }
        }
        _ => false,
    };
    Ok(Invitation {
        participant: p,
        token: issued.token,
        url,
        expires_at: issued.record.expires_at,
        emailed,
    })
}

/// The live invitation token `raw` stands for (else `401`).
pub async fn invitation_of(app: &App, raw: &str) -> Result<ClinicToken> {
    let (t, _) = verify(app, raw, &[TokenKind::Invitation]).await?;
    Ok(t)
}

/// `DELETE …/participants/{participantId}/invitation`: the participant
/// declines (by a manager, or with the invitation's own token: it dies
/// with it). `DECLINED` is final.
pub async fn decline(
    app: &App,
    actor: Option<&Actor>,
    invitation: Option<&ClinicToken>,
    id: &VisitId,
    pid: &ParticipantId,
) -> Result<()> {
    let v = match (actor, invitation) {
        (Some(actor), _) => manager(app, actor, id).await?,
        (None, Some(t))
            if t.visit_id.as_ref() == Some(id) && t.participant_id.as_ref() == Some(pid) =>
        {
            crate::services::get(
                app,
                &keys::visit_key(&t.tenant_key, id),
                PARTICIPANT_NOT_FOUND,
            )
            .await?
        }
        _ => return Err(Error::not_found(PARTICIPANT_NOT_FOUND)),
    };
    let mut p = one(app, &v, pid).await?;
    let expected = p.version;
    p.move_to(ParticipantStatus::Declined, app.now_ms())?;
    let mut writes = vec![put_at(&p, expected)?];
    if let Some(old) = p.invitation_id.take() {
        writes.push(Write::Delete {
            key: keys::clinic_token_key(&v.tenant_key, &old),
            cond: None,
        });
    }
    commit(app, writes).await
}

/// `POST …/participants/{participantId}/dismiss` (a manager): the
/// participant is out of the room at once: `DISMISSED` (final), its
/// session and its invitation revoked in the same transaction (its next
/// call is a `401`), then [`on_removed`].
pub async fn dismiss(
    app: &App,
    actor: &Actor,
    id: &VisitId,
    pid: &ParticipantId,
) -> Result<Participant> {
    let v = manager(app, actor, id).await?;
    let mut p = one(app, &v, pid).await?;
    let expected = p.version;
    p.move_to(ParticipantStatus::Dismissed, app.now_ms())?;
    let mut writes = vec![put_at(&p, expected)?];
    for token in [p.session_id.take(), p.invitation_id.take()]
        .into_iter()
        .flatten()
    {
        writes.push(Write::Delete {
            key: keys::clinic_token_key(&v.tenant_key, &token),
            cond: None,
        });
    }
    commit(app, writes).await?;
    on_removed(app, &p).await?;
    Ok(p)
}

/// The hook of a participant taken out of the room (dismissed): what their
/// session held is revoked already (their token, so every call and every
/// new connection is refused); their live connections are closed at once
/// (`4403`) and the visit's others told (`presence::removed`).
pub async fn on_removed(app: &App, p: &Participant) -> Result<()> {
    presence::removed(app, p).await
}

/// An invitation's redemption (`POST /members/invitation/{visitId}`):
/// the token dies, a guest session of that visit only is made for its
/// participant, who is `JOINING` — all in one transaction, so of two
/// redemptions one wins.
pub async fn redeem(app: &App, raw: &str, visit: &VisitId) -> Result<(Issued, Visit)> {
    let t = invitation_of(app, raw).await?;
    let pid = t.participant_id.clone().ok_or(Error::Unauthorized)?;
    if t.visit_id.as_ref() != Some(visit) {
        return Err(Error::Unauthorized);
    }
    let v: Visit = crate::services::get(
        app,
        &keys::visit_key(&t.tenant_key, visit),
        PARTICIPANT_NOT_FOUND,
    )
    .await?;
    live(&v)?;
    let mut p = one(app, &v, &pid).await?;
    if p.invitation_id.as_deref() != Some(t.token_id.as_str()) {
        return Err(Error::Unauthorized);
    }
    let expected = p.version;
    let now = app.now_ms();
    if p.status != ParticipantStatus::Joining {
        p.move_to(ParticipantStatus::Joining, now)?;
    }
    let mut session = new_token(
        &v.tenant_key,
        TokenKind::Guest,
        None,
        Some(v.visit_id.clone()),
        Some(p.first_name.clone()),
        now,
        app.config.session_ttl_s * 1000,
    )?;
    session.record.participant_id = Some(pid);
    let mut writes = vec![
        Write::Delete {
            key: keys::clinic_token_key(&v.tenant_key, &t.token_id),
            cond: Some(Cond::Exists),
        },
        items::put_new(token_item(&session.record)?),
    ];
    if let Some(old) = p.session_id.replace(session.record.token_id.clone()) {
        writes.push(Write::Delete {
            key: keys::clinic_token_key(&v.tenant_key, &old),
            cond: None,
        });
    }
    p.invitation_id = None;
    if p.version == expected {
        p.version += 1;
        p.updated_at = now;
    }
    writes.push(put_at(&p, expected)?);
    app.store.transact(writes).await.map_err(|e| {
        if e.is_condition_failure() {
            Error::Unauthorized
        } else {
            e.into()
        }
    })?;
    Ok((session, v))
}

/// The participant the actor is in the visit (a guest's own; the visit's
/// patient's, for its patient), if any.
pub async fn own(app: &App, actor: &Actor, v: &Visit) -> Result<Option<Participant>> {
    match actor {
        Actor::Guest {
            participant_id: Some(pid),
            ..
        } => Ok(Some(one(app, v, pid).await?)),
        Actor::Patient { .. } => Ok(all(app, &v.tenant_key, &v.visit_id)
            .await?
            .into_iter()
            .find(|p| p.participant_type == ParticipantType::Patient && !p.status.is_final())),
        _ => Ok(None),
    }
}

/// The participant's move to `to` at the version read, as a write.
pub fn moved(p: &Participant, to: ParticipantStatus, now: i64) -> Result<(Participant, Write)> {
    let mut p = p.clone();
    let expected = p.version;
    p.move_to(to, now)?;
    let w = put_at(&p, expected)?;
    Ok((p, w))
}

/// Writes `w` (a participant's move) alone.
pub async fn save(app: &App, w: Write) -> Result<()> {
    commit(app, vec![w]).await
}

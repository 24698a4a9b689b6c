//! A visit's video, over the port `crate::video::VideoRooms`:
//!
//! - the meeting opens when the visit starts and closes when it ends
//!   (`meeting.rs`, called by the one save of a visit's moves);
//! - `GET /v2/visits/{visitId}/participants/{participantId}/video-key`
//!   ([`video_key`]): the adapter's join data for that participant, asked
//!   by that participant's own session or by a provider of the visit's
//!   room (the franchise's key alone names no one: `403`), once the visit
//!   is in progress (`409` before and after);
//! - the room page's own join data ([`page_join`]): WebRTC always (the
//!   page's client; Chime's is for vendors' own clients), with a
//!   signalling token of the page's seat;
//! - a signalling token as the live connection's credential
//!   ([`socket_actor`]): it holds for its visit only, and as the seat it
//!   names, whose own credential must still hold.

use serde_json::{Value, json};

use super::participants;
use super::rooms::{self, require_provider};
use super::visits::visit_for;
use super::{Actor, tokens};
use crate::app::App;
use crate::clock::iso_ms;
use crate::domain::clinic::live::Seat;
use crate::domain::clinic::{LiveConnection, Participant, ParticipantType, Visit, VisitStatus};
use crate::domain::{FranchiseStatus, ParticipantId, VisitId};
use crate::error::{Error, Result};
use crate::services::auth;
use crate::video::Room;
use crate::video::webrtc::SIGNAL_PREFIX;

fn room(v: &Visit) -> Room<'_> {
    Room {
        tenant: &v.tenant_key,
        visit: &v.visit_id,
    }
}

/// The seat an actor takes on the visit's live connection, if it takes
/// one.
fn seat_of(actor: &Actor) -> Option<Seat> {
    match actor {
        Actor::Patient {
            patient_id,
            token_id,
            ..
        } => Some(Seat::Patient {
            patient_id: patient_id.clone(),
            token_id: token_id.clone(),
        }),
        Actor::Guest { token_id, .. } => Some(Seat::Guest {
            token_id: token_id.clone(),
        }),
        other => other
            .provider_user()
            .map(|u| Seat::Provider { user_id: u.clone() }),
    }
}

fn seat_json(seat: &Seat) -> Option<Value> {
    serde_json::to_value(seat).ok()
}

/// The seat the key's signalling token gives: the caller's own, when the
/// caller is that participant (a guest's session, the patient's for the
/// `PATIENT` participant, the provider for a practitioner participant of
/// theirs); `None` for a provider asking for someone else's (a token is
/// never a way to act as another person). Another participant's key asked
/// by a patient or a guest is a `403`.
fn participant_seat(actor: &Actor, p: &Participant) -> Result<Option<Seat>> {
    let forbidden = || Error::forbidden("Only this participant or the provider gets its video key");
    match actor {
        Actor::Guest { participant_id, .. } => {
            if participant_id.as_ref() == Some(&p.participant_id) {
                Ok(seat_of(actor))
            } else {
                Err(forbidden())
            }
        }
        Actor::Patient { .. } => {
            if p.participant_type == ParticipantType::Patient {
                Ok(seat_of(actor))
            } else {
                Err(forbidden())
            }
        }
        _ => Ok(
            match (p.participant_type, &p.user_id, actor.provider_user()) {
                (ParticipantType::Practitioner, Some(user), Some(me)) if user == me => {
                    seat_of(actor)
                }
                _ => None,
            },
        ),
    }
}

/// `GET …/participants/{participantId}/video-key`.
pub async fn video_key(
    app: &App,
    actor: &Actor,
    id: &VisitId,
    pid: &ParticipantId,
) -> Result<Value> {
    let v = visit_for(app, actor, id).await?;
    if matches!(actor, Actor::Vendor { .. } | Actor::Provider { .. }) {
        let user = actor
            .provider_user()
            .ok_or_else(|| Error::forbidden("Name the provider in x-integration-user"))?;
        let r = rooms::room(app, actor.tenant(), &v.room_code).await?;
        require_provider(app, &r, user).await?;
    }
    let p = participants::get(app, actor, id, pid).await?;
    if p.status.is_final() {
        return Err(Error::conflict(format!(
            "A {} participant has no video key",
            p.status.as_str()
        )));
    }
    let seat = participant_seat(actor, &p)?;
    if v.status != VisitStatus::InProgress {
        return Err(Error::conflict("The video opens when the visit starts"));
    }
    let seat = seat.as_ref().and_then(seat_json);
    let attendee = crate::video::Attendee {
        participant_id: &p.participant_id,
        seat: seat.as_ref(),
    };
    app.video()
        .join(room(&v), attendee, app.now_ms())
        .await
        .map_err(|e| Error::Unavailable(format!("video rooms: {e}")))
}

/// The room page's join data (WebRTC), for the actor's seat.
pub fn page_join(app: &App, actor: &Actor, v: &Visit) -> Value {
    let seat = seat_of(actor).as_ref().and_then(seat_json);
    app.webrtc.join_data(room(v), seat.as_ref(), app.now_ms())
}

/// A fresh signalling token for a live connection's seat, `{token,
/// expiresAt}`: each `pong` carries one, so a page whose socket opened
/// with a signalling token (the provider's room) reopens it with the
/// newest after a drop, however long the call has lasted. (The seat is
/// checked again at every ping: a revoked person gets a `401`, no token.)
pub fn renewed_signalling(app: &App, c: &LiveConnection) -> Option<Value> {
    let seat = seat_json(&c.seat)?;
    let room = Room {
        tenant: &c.tenant_key,
        visit: &c.visit_id,
    };
    let (token, expires_at) = app.webrtc.key().issue(room, &seat, app.now_ms());
    Some(json!({"token": token, "expiresAt": iso_ms(expires_at)}))
}

/// The actor a live connection's credential stands for when it is a
/// signalling token (`None`: it is not one, the usual credentials
/// apply). A token of another visit, forged or expired is a `401`.
pub async fn socket_actor(app: &App, token: &str, visit: &str) -> Option<Result<Actor>> {
    if !token.starts_with(SIGNAL_PREFIX) {
        return None;
    }
    Some(signal_actor(app, token, visit).await)
}

async fn signal_actor(app: &App, token: &str, visit: &str) -> Result<Actor> {
    let claims = app
        .webrtc
        .key()
        .open(token, app.now_ms())
        .filter(|c| c.visit.as_str() == visit)
        .ok_or(Error::Unauthorized)?;
    let seat: Seat = serde_json::from_value(claims.seat).map_err(|_| Error::Unauthorized)?;
    match seat {
        Seat::Patient { token_id, .. } | Seat::Guest { token_id } => {
            tokens::actor_of_held(app, &claims.tenant, &token_id).await
        }
        Seat::Provider { user_id } => {
            let franchise = auth::franchise(app, &claims.tenant)
                .await?
                .filter(|f| f.status != FranchiseStatus::Offboarded)
                .ok_or(Error::Unauthorized)?;
            Ok(Actor::Provider {
                franchise,
                user: user_id,
            })
        }
    }
}

/// The room of the visit a provider's room view is launched for (`GET
/// /embeddable/visits/room?visitId=`): `404` for a visit the franchise
/// does not have, `403` for a user who is not a provider of its room.
pub async fn provider_room_launch(
    app: &App,
    franchise: &crate::domain::Franchise,
    user: &crate::domain::UserId,
    id: &VisitId,
) -> Result<crate::domain::clinic::RoomCode> {
    let actor = Actor::Vendor {
        franchise: franchise.clone(),
        user: Some(user.clone()),
    };
    let v = visit_for(app, &actor, id).await?;
    let r = rooms::room(app, &franchise.tenant_key, &v.room_code).await?;
    if !r.has_provider(user) {
        return Err(Error::forbidden(
            "This user is not a provider of the visit's room",
        ));
    }
    Ok(v.room_code)
}

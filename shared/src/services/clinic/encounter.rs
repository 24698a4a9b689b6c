//! Ending and fulfilling a visit. A provider's end ends it for everyone
//! (`IN_PROGRESS → COMPLETED`, every participant in the room `LEFT`, the
//! durations recorded); a patient's or a guest's is their leaving (their
//! participant `LEFT`). A fulfilment (provider or patient) records who and
//! when, completing a visit in progress. Moves outside the state machines
//! are a `409`; every change of the visit is written with its `Visit
//! Updated` event.

use super::Actor;
use super::participants::{self, moved};
use super::rooms::{self, require_provider};
use super::visits::{save_move_with, visit_for};
use crate::app::App;
use crate::domain::VisitId;
use crate::domain::clinic::{
    Fulfilment, Participant, ParticipantStatus, ParticipantType, Visit, VisitStatus,
};
use crate::error::{Error, Result};
use crate::store::{MAX_TRANSACT_ITEMS, Write};

/// What an end did.
#[derive(Debug, Clone)]
pub enum Ended {
    /// The provider ended the visit for everyone.
    Visit(Visit),
    /// A patient or a guest left.
    Left(Participant),
}

/// The provider the actor acts as, checked against the visit's room.
async fn provider_of(app: &App, actor: &Actor, v: &Visit) -> Result<crate::domain::UserId> {
    let user = actor
        .provider_user()
        .ok_or_else(|| Error::forbidden("Name the provider in x-integration-user"))?;
    let room = rooms::room(app, actor.tenant(), &v.room_code).await?;
    require_provider(app, &room, user).await?;
    Ok(user.clone())
}

/// When the visit's patient's participant first joined, if it did.
fn patient_joined(list: &[Participant]) -> Option<i64> {
    list.iter()
        .filter(|p| p.participant_type == ParticipantType::Patient)
        .filter_map(|p| p.joined_at)
        .min()
}

/// The moves of everyone still in the room to `LEFT`, as writes.
fn everyone_leaves(list: &[Participant], now: i64) -> Result<Vec<Write>> {
    let mut writes = Vec::new();
    for p in list {
        if matches!(
            p.status,
            ParticipantStatus::Joining
                | ParticipantStatus::Joined
                | ParticipantStatus::Disconnected
        ) {
            writes.push(moved(p, ParticipantStatus::Left, now)?.1);
        }
    }
    // The visit, its statistics row, its lapse, its room's counter and its
    // event share the transaction.
    writes.truncate(MAX_TRANSACT_ITEMS - 5);
    Ok(writes)
}

/// The visit completed now, with its durations, `edit` after.
async fn complete(
    app: &App,
    actor: &Actor,
    v: Visit,
    edit: impl FnOnce(&mut Visit),
    stay: bool,
) -> Result<Visit> {
    let list = participants::all(app, &v.tenant_key, &v.visit_id).await?;
    let now = app.now_ms();
    let joined = patient_joined(&list);
    // What presence recorded of the patient's time disconnected.
    let disconnected: i64 = list
        .iter()
        .filter(|p| p.participant_type == ParticipantType::Patient)
        .map(|p| p.disconnected_until(now))
        .sum();
    let more = if v.status == VisitStatus::InProgress {
        everyone_leaves(&list, now)?
    } else {
        Vec::new()
    };
    let (v, _) = save_move_with(
        app,
        actor.franchise(),
        v,
        VisitStatus::Completed,
        |v| {
            if v.durations.is_none() {
                v.durations = Some(v.durations_at(now, joined, disconnected));
            }
            edit(v);
            Ok(())
        },
        more,
        stay,
    )
    .await?;
    Ok(v)
}

/// `POST /v2/visits/{visitId}/end`.
pub async fn end(app: &App, actor: &Actor, id: &VisitId) -> Result<Ended> {
    let v = visit_for(app, actor, id).await?;
    match actor {
        Actor::Patient { .. } | Actor::Guest { .. } => {
            let p = participants::own(app, actor, &v)
                .await?
                .ok_or_else(|| Error::conflict("You are not a participant of this visit"))?;
            let (p, w) = moved(&p, ParticipantStatus::Left, app.now_ms())?;
            participants::save(app, w).await?;
            Ok(Ended::Left(p))
        }
        _ => {
            provider_of(app, actor, &v).await?;
            if v.status != VisitStatus::InProgress {
                return Err(Error::conflict(format!(
                    "A {} visit cannot be ended",
                    v.status.as_str()
                )));
            }
            Ok(Ended::Visit(complete(app, actor, v, |_| {}, false).await?))
        }
    }
}

/// `POST /v2/visits/{visitId}/fulfil`: by a provider of the room or the
/// visit's patient; a visit in progress is completed with it; a completed
/// one is fulfilled once (`409` again, or in any other status).
pub async fn fulfil(app: &App, actor: &Actor, id: &VisitId) -> Result<Visit> {
    let v = visit_for(app, actor, id).await?;
    let (by, by_id) = match actor {
        Actor::Patient { patient_id, .. } => ("PATIENT", patient_id.to_string()),
        Actor::Guest { .. } => {
            return Err(Error::forbidden(
                "Only a provider or the patient fulfils a visit",
            ));
        }
        _ => ("PROVIDER", provider_of(app, actor, &v).await?.to_string()),
    };
    if v.fulfilment.is_some() {
        return Err(Error::conflict("This visit is fulfilled already"));
    }
    if !matches!(v.status, VisitStatus::InProgress | VisitStatus::Completed) {
        return Err(Error::conflict(format!(
            "A {} visit cannot be fulfilled",
            v.status.as_str()
        )));
    }
    let at = app.now_ms();
    let fulfilment = Fulfilment {
        at,
        by: by.to_owned(),
        by_id,
    };
    complete(app, actor, v, |v| v.fulfilment = Some(fulfilment), true).await
}

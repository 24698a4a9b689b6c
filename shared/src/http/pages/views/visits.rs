//! The provider's views (launched by `GET /embeddable/visits/waiting-room`
//! and `/embeddable/visits/schedule`): the waiting room of one of their
//! rooms (its queue in order, the eConsults to accept, their visits in
//! progress, today's appointments), a visit's room with its chat
//! (`?visitId=`), and the schedule with the availability editor.
//!
//! The session reaches the rooms of the franchise its user is a provider
//! of: a room or a visit of another room is the 404 state, like an unknown
//! one. The moves go through the same services as the API
//! (`services::clinic::visits::act`), as `Actor::Provider`. Each visit of
//! a list shows its live state: who of its people is connected now
//! (`services::clinic::presence`, which decides the silent on this read).

use std::collections::HashMap;

use super::{Built, Ctx};
use crate::domain::View;
use crate::domain::clinic::hours::{local, local_label};
use crate::domain::clinic::{
    ParticipantStatus, ParticipantType, Room, Visit, VisitStatus, VisitType,
};
use crate::domain::{Locale, VisitId};
use crate::error::{Error, Result};
use crate::http::pages::templates::{
    AvailabilityEditor, Body, ChatLine, Fact, NavLink, ProviderWords, ScheduleModel,
    VisitRoomModel, VisitRow, WaitingRoomModel,
};
use crate::services::clinic::reads::{self, VisitFilter, VisitQuery};
use crate::services::clinic::{Actor, chat, intakes, presence, rooms, visits};

pub fn words(locale: Locale) -> ProviderWords {
    let fr = locale == Locale::Fr;
    let w = |en: &'static str, f: &'static str| if fr { f } else { en };
    ProviderWords {
        rooms: w("Rooms", "Salles"),
        queue: w("Queue", "File d'attente"),
        queue_empty: w("Nobody is waiting.", "Personne n'attend."),
        position: w("No.", "N°"),
        waiting: w("waiting", "attend depuis"),
        minutes: w("min", "min"),
        reason: w("Reason", "Motif"),
        econsults: w("eConsults to accept", "eConsultations à accepter"),
        econsults_empty: w("No eConsult waits.", "Aucune eConsultation en attente."),
        today: w("Today's appointments", "Rendez-vous du jour"),
        today_empty: w("No appointment today.", "Aucun rendez-vous aujourd'hui."),
        in_progress: w("My visits in progress", "Mes visites en cours"),
        start: w("Start", "Commencer"),
        accept: w("Accept", "Accepter"),
        complete: w("Complete", "Terminer"),
        no_show: w("No-show", "Absent"),
        open_room: w("Open the room", "Ouvrir la salle"),
        chat: w("Chat", "Clavardage"),
        chat_empty: w("No message yet.", "Aucun message pour l'instant."),
        message: w("Message", "Message"),
        send: w("Send", "Envoyer"),
        back: w("Back to the waiting room", "Retour à la salle d'attente"),
        availability: w("Availability", "Disponibilités"),
        weekly: w("Weekly hours", "Heures de la semaine"),
        weekly_hint: w(
            "JSON: {\"mon\": [{\"start\": \"09:00\", \"end\": \"17:00\"}], …}; a day not named is off.",
            "JSON : {\"mon\": [{\"start\": \"09:00\", \"end\": \"17:00\"}], …} ; un jour absent est fermé.",
        ),
        exceptions: w("Dated exceptions", "Exceptions datées"),
        exceptions_hint: w(
            "JSON: [{\"date\": \"2026-12-24\", \"spans\": []}]; no spans: off that day.",
            "JSON : [{\"date\": \"2026-12-24\", \"spans\": []}] ; sans plage : fermé ce jour-là.",
        ),
        save: w("Save", "Enregistrer"),
        status: w("Status", "Statut"),
        when: w("When", "Quand"),
        connected: w("Connected:", "Connectés :"),
        nobody_connected: w("Nobody connected", "Personne n'est connecté"),
    }
}

fn actor(ctx: &Ctx<'_>) -> Actor {
    Actor::Provider {
        franchise: ctx.franchise.clone(),
        user: ctx.scope.user_id.clone(),
    }
}

/// The rooms the session reaches, and the one the view shows: asked for,
/// else the launch's, else the first. `None`: the room asked for is not
/// one of them (the 404 state).
async fn rooms_and_current(ctx: &Ctx<'_>) -> Result<Option<(Vec<Room>, usize)>> {
    let mine = rooms::rooms_of_provider(ctx.app, ctx.tenant, &ctx.scope.user_id).await?;
    let launched = match ctx.scope.reach() {
        Some(crate::domain::Reach::Provider { room_code }) => room_code,
        _ => None,
    };
    let wanted = ctx.asked.room_code.as_ref().or(launched.as_ref());
    let index = match wanted {
        Some(code) => match mine.iter().position(|r| r.code == *code) {
            Some(i) => i,
            None if ctx.asked.room_code.is_some() => return Ok(None),
            None => 0,
        },
        None => 0,
    };
    if mine.is_empty() {
        return Ok(None);
    }
    Ok(Some((mine, index)))
}

/// The reasons of these visits' intakes, by intake id (shown to the
/// provider only, never in a URL or an event).
async fn reasons(ctx: &Ctx<'_>, list: &[&Visit]) -> Result<HashMap<String, String>> {
    let actor = actor(ctx);
    let mut out = HashMap::new();
    for v in list {
        match intakes::intake(ctx.app, &actor, &v.intake_id).await {
            Ok(i) => {
                out.insert(v.intake_id.to_string(), i.reason_for_visit);
            }
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The live state of these visits, by visit id: who is connected (their
/// names and what they are), or that nobody is; nothing for a visit that
/// has ended. One `Query` per visit.
async fn live_states(ctx: &Ctx<'_>, list: &[&Visit]) -> Result<HashMap<String, String>> {
    let w = words(ctx.locale);
    let fr = ctx.locale == Locale::Fr;
    let mut out = HashMap::new();
    for v in list.iter().filter(|v| v.is_live()) {
        let people = presence::present(ctx.app, ctx.tenant, &v.visit_id).await?;
        let here: Vec<String> = people
            .iter()
            .filter(|p| p.status == ParticipantStatus::Joined)
            .map(|p| {
                let what = match (p.participant_type, fr) {
                    (ParticipantType::Patient, _) => "patient",
                    (ParticipantType::Practitioner, false) => "practitioner",
                    (ParticipantType::Practitioner, true) => "praticien",
                    (ParticipantType::RelatedPerson, false) => "related person",
                    (ParticipantType::RelatedPerson, true) => "proche",
                    (ParticipantType::Guest, false) => "guest",
                    (ParticipantType::Guest, true) => "invité",
                };
                let name = format!("{} {}", p.first_name, p.last_name);
                format!("{} ({what})", name.trim())
            })
            .collect();
        let label = if here.is_empty() {
            w.nobody_connected.to_owned()
        } else {
            format!("{} {}", w.connected, here.join(", "))
        };
        out.insert(v.visit_id.to_string(), label);
    }
    Ok(out)
}

fn row(ctx: &Ctx<'_>, v: &Visit, reasons: &HashMap<String, String>) -> VisitRow {
    let now = ctx.app.now_ms();
    let zone = &ctx.franchise.time_zone;
    let mine = v.provider_id.as_ref() == Some(&ctx.scope.user_id);
    let startable = matches!(v.status, VisitStatus::Waiting | VisitStatus::Scheduled);
    VisitRow {
        id: v.visit_id.to_string(),
        position: String::new(),
        waiting_minutes: if v.status == VisitStatus::Waiting {
            ((now - v.created_at).max(0) / 60_000).to_string()
        } else {
            String::new()
        },
        when: v.start.map(|s| local_label(s, zone)).unwrap_or_default(),
        reason: reasons
            .get(v.intake_id.as_str())
            .cloned()
            .unwrap_or_default(),
        status: v.status.as_str().to_owned(),
        can_start: startable,
        can_accept: v.status == VisitStatus::PendingAccept,
        can_no_show: v.status == VisitStatus::Scheduled,
        href: (mine && v.status == VisitStatus::InProgress)
            .then(|| ctx.href(View::VisitsWaitingRoom, &[("visitId", v.visit_id.as_str())])),
        live: String::new(),
    }
}

/// [`row`] with its live state.
fn live_row(
    ctx: &Ctx<'_>,
    v: &Visit,
    reasons: &HashMap<String, String>,
    live: &HashMap<String, String>,
) -> VisitRow {
    let mut r = row(ctx, v, reasons);
    r.live = live.get(v.visit_id.as_str()).cloned().unwrap_or_default();
    r
}

/// The provider's visits of today (local day of the franchise), by start.
async fn today(ctx: &Ctx<'_>) -> Result<Vec<Visit>> {
    let now = ctx.app.now_ms();
    let (_, minute) = local(now, &ctx.franchise.time_zone);
    let from = now - i64::from(minute) * 60_000 - (now % 60_000);
    let q = VisitQuery {
        filter: Some(VisitFilter::Provider(ctx.scope.user_id.clone())),
        status: None,
        from: Some(from),
        to: Some(from + 24 * 3_600_000),
        limit: 100,
        cursor: None,
    };
    Ok(reads::list(ctx.app, &actor(ctx), q).await?.items)
}

/// `GET …/visits/waiting-room[?roomCode=][&visitId=]`.
pub async fn waiting_room(ctx: &Ctx<'_>) -> Result<Built> {
    if let Some(id) = &ctx.asked.visit_id {
        return visit_room(ctx, id).await;
    }
    let Some((mine, i)) = rooms_and_current(ctx).await? else {
        return Ok(ctx.not_found());
    };
    let room = &mine[i];
    let queue = reads::queue(ctx.app, room).await?;
    let econsults = reads::pending_econsults(ctx.app, room).await?;
    let day = today(ctx).await?;
    let (scheduled, started): (Vec<&Visit>, Vec<&Visit>) = day
        .iter()
        .partition(|v| v.status != VisitStatus::InProgress);
    let scheduled: Vec<&Visit> = scheduled
        .into_iter()
        .filter(|v| v.visit_type == VisitType::Scheduled)
        .collect();
    let all: Vec<&Visit> = queue
        .iter()
        .chain(econsults.iter())
        .chain(scheduled.iter().copied())
        .chain(started.iter().copied())
        .collect();
    let reasons = reasons(ctx, &all).await?;
    let live = live_states(ctx, &all).await?;
    let queue_rows = queue
        .iter()
        .enumerate()
        .map(|(n, v)| {
            let mut r = live_row(ctx, v, &reasons, &live);
            r.position = (n + 1).to_string();
            r
        })
        .collect();
    let locale = ctx.locale;
    let links = mine
        .iter()
        .enumerate()
        .map(|(n, r)| {
            NavLink::new(
                ctx.href(View::VisitsWaitingRoom, &[("roomCode", r.code.as_str())]),
                r.name.get(locale),
                n == i,
            )
        })
        .collect();
    Ok(Built::ok(Body::WaitingRoom(Box::new(WaitingRoomModel {
        w: words(locale),
        rooms: links,
        room_name: room.name.get(locale).to_owned(),
        queue: queue_rows,
        econsults: econsults
            .iter()
            .map(|v| live_row(ctx, v, &reasons, &live))
            .collect(),
        today: scheduled
            .iter()
            .map(|v| live_row(ctx, v, &reasons, &live))
            .collect(),
        in_progress: started
            .iter()
            .map(|v| live_row(ctx, v, &reasons, &live))
            .collect(),
    }))))
}

/// A visit's room, for a provider of its room (else the 404 state).
async fn visit_room(ctx: &Ctx<'_>, id: &VisitId) -> Result<Built> {
    let actor = actor(ctx);
    let v = match visits::visit_for(ctx.app, &actor, id).await {
        Ok(v) => v,
        Err(Error::NotFound(_)) => return Ok(ctx.not_found()),
        Err(e) => return Err(e),
    };
    let room = match rooms::room(ctx.app, ctx.tenant, &v.room_code).await {
        Ok(r) if r.has_provider(&ctx.scope.user_id) => r,
        Ok(_) | Err(Error::NotFound(_)) => return Ok(ctx.not_found()),
        Err(e) => return Err(e),
    };
    let w = words(ctx.locale);
    let messages = if matches!(v.status, VisitStatus::InProgress | VisitStatus::Completed) {
        chat::messages(ctx.app, &actor, id, None).await?
    } else {
        Vec::new()
    };
    let reasons = reasons(ctx, &[&v]).await?;
    let zone = &ctx.franchise.time_zone;
    let mut facts = vec![
        Fact::new(w.rooms, room.name.get(ctx.locale)),
        Fact::new(
            w.reason,
            reasons
                .get(v.intake_id.as_str())
                .cloned()
                .unwrap_or_default(),
        ),
    ];
    if let Some(s) = v.actual_start.or(v.start) {
        facts.push(Fact::new(w.when, local_label(s, zone)));
    }
    let back = NavLink::new(
        ctx.href(View::VisitsWaitingRoom, &[("roomCode", room.code.as_str())]),
        w.back,
        false,
    );
    Ok(Built::ok(Body::VisitRoom(Box::new(VisitRoomModel {
        id: v.visit_id.to_string(),
        status: v.status.as_str().to_owned(),
        facts,
        messages: messages
            .into_iter()
            .map(|m| ChatLine {
                id: m.message_id.to_string(),
                author: m.author_name,
                text: m.text,
            })
            .collect(),
        chat_open: v.status == VisitStatus::InProgress,
        can_complete: v.status == VisitStatus::InProgress,
        can_no_show: v.status == VisitStatus::Scheduled,
        back,
        w,
    })))
    .patient(Some(&v.patient_id)))
}

/// `GET …/visits/schedule`: today's appointments and, per room, the
/// availability editor (prefilled with what is stored).
pub async fn schedule(ctx: &Ctx<'_>) -> Result<Built> {
    let Some((mine, _)) = rooms_and_current(ctx).await? else {
        return Ok(ctx.not_found());
    };
    let day = today(ctx).await?;
    let booked: Vec<&Visit> = day
        .iter()
        .filter(|v| v.visit_type == VisitType::Scheduled)
        .collect();
    let reasons = reasons(ctx, &booked).await?;
    let mut editors = Vec::with_capacity(mine.len());
    for r in &mine {
        let found = rooms::availabilities(
            ctx.app,
            ctx.tenant,
            &r.code,
            std::slice::from_ref(&ctx.scope.user_id),
        )
        .await?;
        let (weekly, exceptions) = match found.first() {
            Some(a) => (
                serde_json::to_string_pretty(&a.weekly),
                serde_json::to_string_pretty(&a.exceptions),
            ),
            None => (Ok("{}".to_owned()), Ok("[]".to_owned())),
        };
        let shown = |r: serde_json::Result<String>| {
            r.map_err(|e| Error::internal(format!("availability did not serialize: {e}")))
        };
        editors.push(AvailabilityEditor {
            room_code: r.code.to_string(),
            room_name: r.name.get(ctx.locale).to_owned(),
            weekly_json: shown(weekly)?,
            exceptions_json: shown(exceptions)?,
        });
    }
    Ok(Built::ok(Body::Schedule(Box::new(ScheduleModel {
        w: words(ctx.locale),
        today: booked.iter().map(|v| row(ctx, v, &reasons)).collect(),
        editors,
    }))))
}

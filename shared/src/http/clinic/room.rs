//! The visit's room page (patient and guest): the waiting room, then the
//! visit with its video (`static/video.js`: WebRTC peer to peer, its
//! signalling over the visit's live socket, which `static/clinic.js`
//! opens), the chat beside it and the list of who is in the room; and the
//! way in that the guest's join, the invitation's redemption and the
//! appointment link share ([`enter`]).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::page::{MessageRow, Page, Posted, Seat, context, ended, words};
use crate::app::App;
use crate::clock::iso_ms;
use crate::domain::clinic::VisitStatus;
use crate::domain::{Locale, VisitId};
use crate::error::Result;
use crate::http::pages::shell::{Framers, socket_origin};
use crate::http::pages::templates::script_json;
use crate::services::clinic::tokens::{self, Issued};
use crate::services::clinic::{Actor, chat, reads, rooms, video, visits};

/// A new session's way into the visit's room: its actor, its seat, the
/// room at `path` (the expired page when any of it fails).
pub(super) async fn enter(
    app: &App,
    posted: &Posted,
    issued: Issued,
    visit: &VisitId,
    nav: bool,
    path: &str,
) -> Response {
    let locale = Locale::parse(&posted.locale).unwrap_or(Locale::En);
    let Ok(actor) = tokens::actor_of(app, &issued.token).await else {
        return ended(locale);
    };
    let seat = Seat {
        locale: posted.locale(actor.franchise()),
        nav,
        new_session: Some(issued.token),
        actor,
    };
    room_page(app, &seat, visit, path)
        .await
        .unwrap_or_else(|_| ended(locale))
}

/// What `video.js` needs: the join data of the page's seat (WebRTC) and
/// the words of its controls and states.
pub fn video_context(app: &App, seat: &Seat, v: &crate::domain::clinic::Visit) -> Value {
    let w = words(seat.locale);
    json!({
        "visitId": v.visit_id,
        "join": video::page_join(app, &seat.actor, v),
        "ownSocket": false,
        "words": {
            "mute": w.mute, "unmute": w.unmute,
            "cameraOff": w.camera_off, "cameraOn": w.camera_on,
            "noCamera": w.no_camera, "noMedia": w.no_media,
            "waiting": w.waiting_video, "left": w.left_call,
        },
    })
}

pub(super) async fn room_page(
    app: &App,
    seat: &Seat,
    id: &VisitId,
    path: &str,
) -> Result<Response> {
    let w = words(seat.locale);
    let v = visits::visit_for(app, &seat.actor, id).await?;
    let room = rooms::room(app, &v.tenant_key, &v.room_code).await?;
    let position = reads::position(app, &v).await?;
    let mut extra = json!({"page": "room", "visitId": v.visit_id, "status": v.status});
    if let Some(url) = &app.config.visit_live_url {
        extra["liveUrl"] = json!(format!("{url}?visitId={}", v.visit_id));
    }
    let mut p = Page::new(
        w,
        "room",
        room.name.get(seat.locale).to_owned(),
        context(seat, path, extra),
    );
    p.nav = seat.nav && matches!(seat.actor, Actor::Patient { .. });
    p.status = v.status.as_str().to_owned();
    p.status_text = status_text(seat.locale, v.status);
    if let Some(n) = position {
        p.position_text = position_text(seat.locale, n, reads::estimated_wait(&room, n));
        p.leave = matches!(seat.actor, Actor::Patient { .. });
    }
    p.chat_open = v.status == VisitStatus::InProgress;
    if let Some(url) = &app.config.visit_live_url {
        p.connect_origin = socket_origin(url);
    }
    if p.chat_open {
        p.video = true;
        p.video_json = script_json(&video_context(app, seat, &v));
    }
    if p.chat_open {
        for m in chat::messages(app, &seat.actor, id, None).await? {
            p.messages.push(MessageRow {
                id: m.message_id.to_string(),
                at: iso_ms(m.at),
                author: m.author_name,
                text: m.text,
            });
        }
    }
    Ok(p.respond(StatusCode::OK, Framers::Franchise(seat.actor.franchise())))
}

pub fn status_text(locale: Locale, s: VisitStatus) -> String {
    let (en, fr) = match s {
        VisitStatus::Waiting => (
            "You are in the waiting room.",
            "Vous êtes dans la salle d'attente.",
        ),
        VisitStatus::Scheduled => (
            "Your appointment is booked.",
            "Votre rendez-vous est réservé.",
        ),
        VisitStatus::PendingAccept => (
            "A provider will answer soon.",
            "Un professionnel répondra bientôt.",
        ),
        VisitStatus::InProgress => ("Your visit has started.", "Votre visite a commencé."),
        VisitStatus::Completed => ("Your visit is over.", "Votre visite est terminée."),
        _ => ("This visit has ended.", "Cette visite est terminée."),
    };
    match locale {
        Locale::En => en.to_owned(),
        Locale::Fr => fr.to_owned(),
    }
}

pub fn position_text(locale: Locale, position: u64, wait: u64) -> String {
    match locale {
        Locale::En => format!("Place in the queue: {position}. Estimated wait: {wait} min."),
        Locale::Fr => format!("Place dans la file : {position}. Attente estimée : {wait} min."),
    }
}

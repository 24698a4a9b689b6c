//! The provider's room with video (launched by `GET
//! /embeddable/visits/room?visitId=…`, a provider's view like the waiting
//! room): the visit's facts, its moves and chat (the waiting room's visit
//! room, `parts/visit_room.html`), and beside them the video
//! (`static/video.js`: WebRTC peer to peer; the page opens its own live
//! socket with the signalling token of its join data, the provider's
//! seat). A visit of a room the user is not a provider of, or of another
//! franchise, is the 404 state.

use serde_json::json;

use super::visits::words;
use super::{Built, Ctx};
use crate::domain::View;
use crate::domain::clinic::VisitStatus;
use crate::domain::clinic::hours::local_label;
use crate::error::{Error, Result};
use crate::http::pages::templates::{
    Body, ChatLine, Fact, NavLink, ProviderRoomModel, VideoWords, VisitRoomModel, script_json,
};
use crate::services::clinic::{Actor, chat, intakes, rooms, video, visits};

/// The words of the video, in the page's language.
pub fn video_words(fr: bool) -> VideoWords {
    let w = |en: &'static str, f: &'static str| if fr { f } else { en };
    VideoWords {
        video: w("Video", "Vidéo"),
        mute: w("Mute", "Couper le micro"),
        unmute: w("Unmute", "Rétablir le micro"),
        camera_off: w("Turn the camera off", "Couper la caméra"),
        camera_on: w("Turn the camera on", "Rétablir la caméra"),
        hang_up: w("Leave the call", "Quitter l'appel"),
        no_camera: w(
            "Your camera is not available: the others hear you, and the chat works.",
            "Votre caméra n'est pas disponible : les autres vous entendent, et le clavardage fonctionne.",
        ),
        no_media: w(
            "Your camera and microphone are not available: the chat still works.",
            "Votre caméra et votre micro ne sont pas disponibles : le clavardage fonctionne toujours.",
        ),
        waiting: w(
            "Waiting for the others to join the call…",
            "En attente des autres participants…",
        ),
        left: w("You left the call.", "Vous avez quitté l'appel."),
        presence: w("In the room", "Dans la salle"),
    }
}

/// `GET …/visits/room?visitId=…`.
pub async fn provider_room(ctx: &Ctx<'_>) -> Result<Built> {
    let Some(id) = ctx.asked.visit_id.clone() else {
        return Ok(ctx.not_found());
    };
    let actor = Actor::Provider {
        franchise: ctx.franchise.clone(),
        user: ctx.scope.user_id.clone(),
    };
    let v = match visits::visit_for(ctx.app, &actor, &id).await {
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
        chat::messages(ctx.app, &actor, &id, None).await?
    } else {
        Vec::new()
    };
    let reason = match intakes::intake(ctx.app, &actor, &v.intake_id).await {
        Ok(i) => i.reason_for_visit,
        Err(Error::NotFound(_)) => String::new(),
        Err(e) => return Err(e),
    };
    let mut facts = vec![
        Fact::new(w.rooms, room.name.get(ctx.locale)),
        Fact::new(w.reason, reason),
    ];
    if let Some(s) = v.actual_start.or(v.start) {
        facts.push(Fact::new(w.when, local_label(s, &ctx.franchise.time_zone)));
    }
    let back = NavLink::new(
        ctx.href(View::VisitsWaitingRoom, &[("roomCode", room.code.as_str())]),
        w.back,
        false,
    );
    let vw = video_words(ctx.locale == crate::domain::Locale::Fr);
    let live = v.status == VisitStatus::InProgress;
    let config = &ctx.app.config;
    let video_json = live.then(|| {
        script_json(&json!({
            "visitId": v.visit_id,
            "join": video::page_join(ctx.app, &actor, &v),
            "ownSocket": true,
            "liveUrl": config
                .visit_live_url
                .as_ref()
                .map(|u| format!("{u}?visitId={}", v.visit_id)),
            "words": {
                "mute": vw.mute, "unmute": vw.unmute,
                "cameraOff": vw.camera_off, "cameraOn": vw.camera_on,
                "noCamera": vw.no_camera, "noMedia": vw.no_media,
                "waiting": vw.waiting, "left": vw.left,
            },
        }))
    });
    let room_model = VisitRoomModel {
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
        chat_open: live,
        can_complete: live,
        can_no_show: v.status == VisitStatus::Scheduled,
        back,
        w,
    };
    Ok(Built::ok(Body::ProviderRoom(Box::new(ProviderRoomModel {
        room: room_model,
        video_json,
        v: vw,
    })))
    .patient(Some(&v.patient_id)))
}

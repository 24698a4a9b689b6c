//! What the patient app's pages are made of: their words in both
//! languages, the page's model (`templates/clinic.html`), the shell, the
//! ended page, what every form posts and the seat a request takes.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::app::App;
use crate::domain::{Franchise, Locale};
use crate::error::{Error, Result};
use crate::http::pages::shell::{Framers, html, with_connect};
use crate::http::pages::templates::script_json;
use crate::services::clinic::{Actor, tokens};

/// The words of the pages, in both languages.
pub(super) struct Words {
    pub(super) lang: &'static str,
    pub(super) opening: &'static str,
    pub(super) needs_script: &'static str,
    pub(super) dashboard: &'static str,
    pub(super) nav: &'static str,
    pub(super) rooms: &'static str,
    pub(super) see_now: &'static str,
    pub(super) closed: &'static str,
    pub(super) upcoming: &'static str,
    pub(super) econsults: &'static str,
    pub(super) past: &'static str,
    pub(super) leave: &'static str,
    pub(super) chat: &'static str,
    pub(super) message: &'static str,
    pub(super) send: &'static str,
    pub(super) name: &'static str,
    pub(super) enter: &'static str,
    pub(super) expired: &'static str,
    pub(super) join_title: &'static str,
    pub(super) video: &'static str,
    pub(super) mute: &'static str,
    pub(super) unmute: &'static str,
    pub(super) camera_off: &'static str,
    pub(super) camera_on: &'static str,
    pub(super) hang_up: &'static str,
    pub(super) no_camera: &'static str,
    pub(super) no_media: &'static str,
    pub(super) waiting_video: &'static str,
    pub(super) left_call: &'static str,
    pub(super) presence: &'static str,
}

const EN: Words = Words {
    lang: "en",
    opening: "Opening…",
    needs_script: "This page needs JavaScript.",
    dashboard: "My visits",
    nav: "Clinic",
    rooms: "See a provider now",
    see_now: "Join the queue",
    closed: "Closed",
    upcoming: "Upcoming visits",
    econsults: "Consultations waiting for an answer",
    past: "Past visits",
    leave: "Leave the queue",
    chat: "Chat",
    message: "Message",
    send: "Send",
    name: "Your name",
    enter: "Enter the visit",
    expired: "This session has ended. Sign in again from your portal.",
    join_title: "Join a visit",
    video: "Video",
    mute: "Mute",
    unmute: "Unmute",
    camera_off: "Turn the camera off",
    camera_on: "Turn the camera on",
    hang_up: "Leave the call",
    no_camera: "Your camera is not available: the others hear you, and the chat works.",
    no_media: "Your camera and microphone are not available: the chat still works.",
    waiting_video: "Waiting for the others to join the call…",
    left_call: "You left the call.",
    presence: "In the room",
};

const FR: Words = Words {
    lang: "fr",
    opening: "Ouverture…",
    needs_script: "Cette page a besoin de JavaScript.",
    dashboard: "Mes visites",
    nav: "Clinique",
    rooms: "Voir un professionnel maintenant",
    see_now: "Rejoindre la file",
    closed: "Fermée",
    upcoming: "Visites à venir",
    econsults: "Consultations en attente de réponse",
    past: "Visites passées",
    leave: "Quitter la file",
    chat: "Clavardage",
    message: "Message",
    send: "Envoyer",
    name: "Votre nom",
    enter: "Entrer dans la visite",
    expired: "Cette session est terminée. Reconnectez-vous depuis votre portail.",
    join_title: "Rejoindre une visite",
    video: "Vidéo",
    mute: "Couper le micro",
    unmute: "Rétablir le micro",
    camera_off: "Couper la caméra",
    camera_on: "Rétablir la caméra",
    hang_up: "Quitter l'appel",
    no_camera: "Votre caméra n'est pas disponible : les autres vous entendent, et le clavardage fonctionne.",
    no_media: "Votre caméra et votre micro ne sont pas disponibles : le clavardage fonctionne toujours.",
    waiting_video: "En attente des autres participants…",
    left_call: "Vous avez quitté l'appel.",
    presence: "Dans la salle",
};

pub(super) fn words(locale: Locale) -> &'static Words {
    match locale {
        Locale::Fr => &FR,
        Locale::En => &EN,
    }
}

pub(super) struct RoomRow {
    pub(super) code: String,
    pub(super) name: String,
    pub(super) open: bool,
}

pub(super) struct VisitRow {
    pub(super) id: String,
    pub(super) href: String,
    pub(super) label: String,
    pub(super) status: String,
}

pub(super) struct MessageRow {
    pub(super) id: String,
    pub(super) at: String,
    pub(super) author: String,
    pub(super) text: String,
}

#[derive(Template)]
#[template(path = "clinic.html")]
pub(super) struct Page<'a> {
    pub(super) lang: &'a str,
    pub(super) title: String,
    pub(super) kind: &'a str,
    pub(super) nav: bool,
    pub(super) context_json: String,
    pub(super) paragraphs: Vec<String>,
    pub(super) nav_label: &'a str,
    pub(super) dashboard_label: &'a str,
    pub(super) needs_script: &'a str,
    pub(super) name_label: &'a str,
    pub(super) enter_label: &'a str,
    pub(super) rooms_label: &'a str,
    pub(super) see_now_label: &'a str,
    pub(super) closed_label: &'a str,
    pub(super) upcoming_label: &'a str,
    pub(super) econsults_label: &'a str,
    pub(super) past_label: &'a str,
    pub(super) rooms: Vec<RoomRow>,
    pub(super) upcoming: Vec<VisitRow>,
    pub(super) waiting_answer: Vec<VisitRow>,
    pub(super) past: Vec<VisitRow>,
    pub(super) status: String,
    pub(super) status_text: String,
    pub(super) position_text: String,
    pub(super) leave: bool,
    pub(super) leave_label: &'a str,
    pub(super) chat_open: bool,
    pub(super) chat_label: &'a str,
    pub(super) message_label: &'a str,
    pub(super) send_label: &'a str,
    pub(super) messages: Vec<MessageRow>,
    pub(super) video: bool,
    pub(super) video_json: String,
    pub(super) video_label: &'a str,
    pub(super) mute_label: &'a str,
    pub(super) camera_label: &'a str,
    pub(super) hang_up_label: &'a str,
    pub(super) presence_label: &'a str,
    /// The visit's live socket's origin, when it is not this one (the
    /// CSP's `connect-src`).
    pub(super) connect_origin: Option<String>,
}

impl<'a> Page<'a> {
    pub(super) fn new(w: &'a Words, kind: &'a str, title: String, context: Value) -> Self {
        Self {
            lang: w.lang,
            title,
            kind,
            nav: false,
            context_json: script_json(&context),
            paragraphs: Vec::new(),
            nav_label: w.nav,
            dashboard_label: w.dashboard,
            needs_script: w.needs_script,
            name_label: w.name,
            enter_label: w.enter,
            rooms_label: w.rooms,
            see_now_label: w.see_now,
            closed_label: w.closed,
            upcoming_label: w.upcoming,
            econsults_label: w.econsults,
            past_label: w.past,
            rooms: Vec::new(),
            upcoming: Vec::new(),
            waiting_answer: Vec::new(),
            past: Vec::new(),
            status: String::new(),
            status_text: String::new(),
            position_text: String::new(),
            leave: false,
            leave_label: w.leave,
            chat_open: false,
            chat_label: w.chat,
            message_label: w.message,
            send_label: w.send,
            messages: Vec::new(),
            video: false,
            video_json: String::new(),
            video_label: w.video,
            mute_label: w.mute,
            camera_label: w.camera_off,
            hang_up_label: w.hang_up,
            presence_label: w.presence,
            connect_origin: None,
        }
    }

    pub(super) fn respond(self, status: StatusCode, framers: Framers<'_>) -> Response {
        match self.render() {
            Ok(body) => with_connect(html(status, framers, body), self.connect_origin.as_deref()),
            Err(e) => {
                tracing::error!(error = %e, "clinic page did not render");
                html(StatusCode::INTERNAL_SERVER_ERROR, framers, String::new())
            }
        }
    }
}

/// The shell: the same bytes for every address and everyone.
pub(super) async fn shell() -> Response {
    let p = Page::new(
        &EN,
        "shell",
        EN.opening.to_owned(),
        json!({"state": "shell"}),
    );
    p.respond(StatusCode::OK, Framers::Anyone)
}

/// A guest's entry: a name, then the room (generic: nothing is looked up).
pub(super) async fn join_form() -> Response {
    let p = Page::new(
        &EN,
        "join",
        EN.join_title.to_owned(),
        json!({"state": "join"}),
    );
    p.respond(StatusCode::OK, Framers::Anyone)
}

pub(super) fn ended(locale: Locale) -> Response {
    let w = words(locale);
    let p = Page::new(
        w,
        "expired",
        w.expired.to_owned(),
        json!({"state": "expired"}),
    );
    p.respond(StatusCode::GONE, Framers::Anyone)
}

/// What every page's form posts.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Posted {
    #[serde(default)]
    pub(super) session: String,
    #[serde(default)]
    pub(super) sso_token: String,
    #[serde(default)]
    pub(super) next: String,
    #[serde(default)]
    pub(super) once: String,
    #[serde(default)]
    pub(super) locale: String,
    #[serde(default)]
    pub(super) disable_navigation: String,
    #[serde(default)]
    pub(super) link: String,
    #[serde(default)]
    pub(super) name: String,
}

impl Posted {
    pub(super) fn locale(&self, franchise: &Franchise) -> Locale {
        Locale::parse(&self.locale).unwrap_or_else(|| franchise.language.into())
    }
    pub(super) fn nav(&self) -> bool {
        self.disable_navigation != "1"
    }
}

/// What a page needs of its request: who, in which language, with which
/// navigation, and the session token the script must keep (when new).
pub(super) struct Seat {
    pub(super) actor: Actor,
    pub(super) locale: Locale,
    pub(super) nav: bool,
    pub(super) new_session: Option<String>,
}

pub(super) fn context(seat: &Seat, path: &str, extra: Value) -> Value {
    let mut c = json!({
        "state": "page",
        "path": path,
        "locale": seat.locale,
        "nav": seat.nav,
    });
    if let Some(s) = &seat.new_session {
        c["session"] = json!(s);
    }
    if let (Value::Object(c), Value::Object(e)) = (&mut c, extra) {
        c.extend(e);
    }
    c
}

pub(super) async fn seat_of(app: &App, posted: &Posted) -> Result<Seat> {
    let actor = tokens::actor_of(app, &posted.session).await?;
    if let Actor::Patient { kind, .. } = &actor
        && *kind != crate::domain::clinic::TokenKind::Session
    {
        return Err(Error::Unauthorized);
    }
    let locale = posted.locale(actor.franchise());
    Ok(Seat {
        actor,
        locale,
        nav: posted.nav(),
        new_session: None,
    })
}

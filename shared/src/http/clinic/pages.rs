//! The patient app's pages, at their own paths (their tokens carry their
//! franchise): `/auth` (an SSO login), `/u/clinic` (the dashboard),
//! `/visits/start/{visitId}` and `/visits/{visitId}` (the waiting room,
//! then the visit's room and chat), `/members/appointment/{visitId}` (a
//! one-time appointment link) and `/visits/join/{code}` (a guest).
//!
//! The embedded app's entry model: every `GET` answers the same
//! side-effect-free shell (no lookup, frameable by anyone, nothing of
//! anyone in it); its script moves secrets out of the address bar
//! (`history.replaceState`) and continues with a form `POST` of the same
//! path, whose answer carries the franchise's CSP `frame-ancestors`. The
//! session lives in `sessionStorage` under the frame's key; every page
//! answers `Referrer-Policy: no-referrer`.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::app::{App, AppState};
use crate::clock::iso_ms;
use crate::domain::clinic::{Visit, VisitStatus};
use crate::domain::links::{
    self, CLINIC_APPOINTMENT, CLINIC_AUTH, CLINIC_DASHBOARD, CLINIC_JOIN, CLINIC_VISIT,
    CLINIC_VISIT_START,
};
use crate::domain::{Franchise, Locale, VisitId};
use crate::error::{Error, Result};
use crate::http::pages::shell::{Framers, html};
use crate::http::pages::templates::script_json;
use crate::services::clinic::reads::{self, VisitFilter, VisitQuery};
use crate::services::clinic::{Actor, chat, rooms, tokens, visits};

pub const CLINIC_JS: &str = "/clinic/static/clinic.js";
const SCRIPT: &str = include_str!("../../../static/clinic.js");

/// The patient app (Lambda `patient-app`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(CLINIC_AUTH, get(shell).post(auth))
        .route(CLINIC_DASHBOARD, get(shell).post(dashboard))
        .route(CLINIC_VISIT_START, get(shell).post(room))
        .route(CLINIC_VISIT, get(shell).post(room))
        .route(CLINIC_APPOINTMENT, get(shell).post(appointment))
        .route(CLINIC_JOIN, get(join_form).post(join))
        .route(CLINIC_JS, get(script))
}

async fn script() -> Response {
    (
        [
            ("content-type", "text/javascript; charset=utf-8"),
            ("cache-control", "public, max-age=300"),
            ("x-content-type-options", "nosniff"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// The words of the pages, in both languages.
struct Words {
    lang: &'static str,
    opening: &'static str,
    needs_script: &'static str,
    dashboard: &'static str,
    nav: &'static str,
    rooms: &'static str,
    see_now: &'static str,
    closed: &'static str,
    upcoming: &'static str,
    econsults: &'static str,
    past: &'static str,
    leave: &'static str,
    chat: &'static str,
    message: &'static str,
    send: &'static str,
    name: &'static str,
    enter: &'static str,
    expired: &'static str,
    join_title: &'static str,
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
};

fn words(locale: Locale) -> &'static Words {
    match locale {
        Locale::Fr => &FR,
        Locale::En => &EN,
    }
}

pub struct RoomRow {
    pub code: String,
    pub name: String,
    pub open: bool,
}

pub struct VisitRow {
    pub id: String,
    pub href: String,
    pub label: String,
    pub status: String,
}

pub struct MessageRow {
    pub id: String,
    pub at: String,
    pub author: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "clinic.html")]
struct Page<'a> {
    lang: &'a str,
    title: String,
    kind: &'a str,
    nav: bool,
    context_json: String,
    paragraphs: Vec<String>,
    nav_label: &'a str,
    dashboard_label: &'a str,
    needs_script: &'a str,
    name_label: &'a str,
    enter_label: &'a str,
    rooms_label: &'a str,
    see_now_label: &'a str,
    closed_label: &'a str,
    upcoming_label: &'a str,
    econsults_label: &'a str,
    past_label: &'a str,
    rooms: Vec<RoomRow>,
    upcoming: Vec<VisitRow>,
    waiting_answer: Vec<VisitRow>,
    past: Vec<VisitRow>,
    status: String,
    status_text: String,
    position_text: String,
    leave: bool,
    leave_label: &'a str,
    chat_open: bool,
    chat_label: &'a str,
    message_label: &'a str,
    send_label: &'a str,
    messages: Vec<MessageRow>,
}

impl<'a> Page<'a> {
    fn new(w: &'a Words, kind: &'a str, title: String, context: Value) -> Self {
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
        }
    }

    fn respond(self, status: StatusCode, framers: Framers<'_>) -> Response {
        match self.render() {
            Ok(body) => html(status, framers, body),
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
async fn join_form() -> Response {
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
    session: String,
    #[serde(default)]
    sso_token: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    once: String,
    #[serde(default)]
    pub(super) locale: String,
    #[serde(default)]
    disable_navigation: String,
    #[serde(default)]
    pub(super) link: String,
    #[serde(default)]
    name: String,
}

impl Posted {
    pub(super) fn locale(&self, franchise: &Franchise) -> Locale {
        Locale::parse(&self.locale).unwrap_or_else(|| franchise.language.into())
    }
    fn nav(&self) -> bool {
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

fn context(seat: &Seat, path: &str, extra: Value) -> Value {
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

async fn seat_of(app: &App, posted: &Posted) -> Result<Seat> {
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

/// `POST /auth`: the SSO token becomes a session, and the page `next`
/// names (only a path of this app) is answered at once.
async fn auth(
    axum::extract::State(app): axum::extract::State<AppState>,
    Form(posted): Form<Posted>,
) -> Response {
    let next = links::resolve_next(Some(posted.next.as_str()));
    let once = posted.once == "1";
    let Ok((issued, franchise)) = tokens::login(&app, &posted.sso_token, once).await else {
        return ended(Locale::parse(&posted.locale).unwrap_or(Locale::En));
    };
    let Ok(actor) = tokens::actor_of(&app, &issued.token).await else {
        return ended(Locale::En);
    };
    let seat = Seat {
        locale: posted.locale(&franchise),
        nav: posted.nav(),
        new_session: Some(issued.token),
        actor,
    };
    let answer = match next.split('/').collect::<Vec<_>>().as_slice() {
        ["", "visits", "start", id] | ["", "visits", id] => match VisitId::parse(id) {
            Some(id) => room_page(&app, &seat, &id, &next).await,
            None => dashboard_page(&app, &seat).await,
        },
        _ => dashboard_page(&app, &seat).await,
    };
    answer.unwrap_or_else(|_| ended(seat.locale))
}

async fn dashboard(
    axum::extract::State(app): axum::extract::State<AppState>,
    Form(posted): Form<Posted>,
) -> Response {
    match seat_of(&app, &posted).await {
        Ok(seat) if matches!(seat.actor, Actor::Patient { .. }) => dashboard_page(&app, &seat)
            .await
            .unwrap_or_else(|_| ended(seat.locale)),
        _ => ended(Locale::En),
    }
}

fn visit_label(w: &Words, v: &Visit) -> String {
    let when = v.start.map(iso_ms).unwrap_or_else(|| iso_ms(v.created_at));
    let _ = w;
    format!("{} · {} · {}", v.visit_type.as_str(), v.room_code, when)
}

fn row(w: &Words, v: &Visit) -> VisitRow {
    VisitRow {
        id: v.visit_id.to_string(),
        href: links::clinic_visit(v.visit_id.as_str()),
        label: visit_label(w, v),
        status: v.status.as_str().to_owned(),
    }
}

async fn dashboard_page(app: &App, seat: &Seat) -> Result<Response> {
    let w = words(seat.locale);
    let franchise = seat.actor.franchise();
    let listing = reads::list(
        app,
        &seat.actor,
        VisitQuery {
            filter: seat.actor.patient().cloned().map(VisitFilter::Patient),
            status: None,
            from: None,
            to: None,
            limit: 100,
            cursor: None,
        },
    )
    .await?;
    let mut p = Page::new(
        w,
        "dashboard",
        w.dashboard.to_owned(),
        context(seat, CLINIC_DASHBOARD, json!({"page": "dashboard"})),
    );
    p.nav = seat.nav;
    let now = app.now_ms();
    for r in rooms::list_rooms(app, &franchise.tenant_key).await? {
        if r.takes(crate::domain::clinic::VisitType::Walkin) {
            p.rooms.push(RoomRow {
                code: r.code.to_string(),
                name: r.name.get(seat.locale).to_owned(),
                open: r.is_open(now, &franchise.time_zone),
            });
        }
    }
    for v in &listing.items {
        match v.status {
            VisitStatus::PendingAccept => p.waiting_answer.push(row(w, v)),
            s if s.is_final() => p.past.push(row(w, v)),
            _ => p.upcoming.push(row(w, v)),
        }
    }
    Ok(p.respond(StatusCode::OK, Framers::Franchise(franchise)))
}

/// The waiting room, then the visit's room with its chat.
async fn room(
    axum::extract::State(app): axum::extract::State<AppState>,
    Path(id): Path<String>,
    Form(posted): Form<Posted>,
) -> Response {
    let Ok(seat) = seat_of(&app, &posted).await else {
        return ended(Locale::En);
    };
    let Some(id) = VisitId::parse(&id) else {
        return ended(seat.locale);
    };
    let path = links::clinic_visit_start(id.as_str());
    room_page(&app, &seat, &id, &path)
        .await
        .unwrap_or_else(|_| ended(seat.locale))
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
    let extra = json!({"page": "room", "visitId": v.visit_id, "status": v.status});
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

/// `POST /members/appointment/{visitId}` with the link's token: from 15
/// minutes before the start until the visit ends, the patient's session
/// and the room.
async fn appointment(
    axum::extract::State(app): axum::extract::State<AppState>,
    Path(id): Path<String>,
    Form(posted): Form<Posted>,
) -> Response {
    let locale = Locale::parse(&posted.locale).unwrap_or(Locale::En);
    let Ok(v) = visits::visit_of_link(&app, &posted.link).await else {
        return ended(locale);
    };
    if v.visit_id.as_str() != id {
        return ended(locale);
    }
    let Ok(issued) = tokens::patient_session(&app, &v).await else {
        return ended(locale);
    };
    let Ok(actor) = tokens::actor_of(&app, &issued.token).await else {
        return ended(locale);
    };
    let seat = Seat {
        locale: posted.locale(actor.franchise()),
        nav: posted.nav(),
        new_session: Some(issued.token),
        actor,
    };
    let path = links::clinic_visit_start(v.visit_id.as_str());
    room_page(&app, &seat, &v.visit_id, &path)
        .await
        .unwrap_or_else(|_| ended(locale))
}

/// `POST /visits/join/{code}` with a name: a guest session of that visit.
async fn join(
    axum::extract::State(app): axum::extract::State<AppState>,
    Path(code): Path<String>,
    Form(posted): Form<Posted>,
) -> Response {
    let locale = Locale::parse(&posted.locale).unwrap_or(Locale::En);
    let name = posted.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return join_form().await;
    }
    let Ok((issued, v)) = tokens::join(&app, &code, name).await else {
        return ended(locale);
    };
    let Ok(actor) = tokens::actor_of(&app, &issued.token).await else {
        return ended(locale);
    };
    let seat = Seat {
        locale: posted.locale(actor.franchise()),
        nav: false,
        new_session: Some(issued.token),
        actor,
    };
    let path = links::clinic_visit(v.visit_id.as_str());
    room_page(&app, &seat, &v.visit_id, &path)
        .await
        .unwrap_or_else(|_| ended(locale))
}

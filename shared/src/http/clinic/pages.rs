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
//!
//! The pages' model and words are `page.rs`'s; the room (with its video)
//! is `room.rs`'s.

use axum::Form;
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::page::{
    Page, Posted, RoomRow, Seat, VisitRow, Words, context, ended, join_form, seat_of, shell, words,
};
use super::room::{enter, room_page};
use crate::app::{App, AppState};
use crate::clock::iso_ms;
use crate::domain::clinic::{Visit, VisitStatus};
use crate::domain::links::{
    self, CLINIC_APPOINTMENT, CLINIC_AUTH, CLINIC_DASHBOARD, CLINIC_JOIN, CLINIC_VISIT,
    CLINIC_VISIT_START,
};
use crate::domain::{Locale, VisitId};
use crate::error::Result;
use crate::http::pages::shell::Framers;
use crate::services::clinic::reads::{self, VisitFilter, VisitQuery};
use crate::services::clinic::{Actor, rooms, tokens, visits};

pub const CLINIC_JS: &str = "/clinic/static/clinic.js";
const SCRIPT: &str = include_str!("../../../static/clinic.js");
/// The room page's video client (WebRTC; no third-party script).
pub const VIDEO_JS: &str = "/clinic/static/video.js";
const VIDEO_SCRIPT: &str = include_str!("../../../static/video.js");
/// Who is in the room, from the live frames (the patient's, the guest's
/// and the provider's room pages).
pub const PRESENCE_JS: &str = "/clinic/static/presence.js";
const PRESENCE_SCRIPT: &str = include_str!("../../../static/presence.js");

/// The patient app (Lambda `patient-app`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(CLINIC_AUTH, get(shell).post(auth))
        .route(CLINIC_DASHBOARD, get(shell).post(dashboard))
        .route(CLINIC_VISIT_START, get(shell).post(room))
        .route(CLINIC_VISIT, get(shell).post(room))
        .route(CLINIC_APPOINTMENT, get(shell).post(appointment))
        .route(CLINIC_JOIN, get(join_form).post(join))
        .route(CLINIC_JS, get(|| script(SCRIPT)))
        .route(VIDEO_JS, get(|| script(VIDEO_SCRIPT)))
        .route(PRESENCE_JS, get(|| script(PRESENCE_SCRIPT)))
}

async fn script(body: &'static str) -> Response {
    (
        [
            ("content-type", "text/javascript; charset=utf-8"),
            ("cache-control", "public, max-age=300"),
            ("x-content-type-options", "nosniff"),
        ],
        body,
    )
        .into_response()
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
    let path = links::clinic_visit_start(v.visit_id.as_str());
    enter(&app, &posted, issued, &v.visit_id, posted.nav(), &path).await
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
    let path = links::clinic_visit(v.visit_id.as_str());
    enter(&app, &posted, issued, &v.visit_id, false, &path).await
}

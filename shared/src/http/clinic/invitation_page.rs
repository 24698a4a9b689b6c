//! A participant's invitation link, `/members/invitation/{visitId}?token=…`:
//! its `GET` is the patient app's side-effect-free shell (a mail scanner
//! that follows the link burns nothing); the shell's script posts the
//! token, whose redemption (once) opens a guest session of that visit and
//! answers the visit's room.

use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;

use super::page::{Posted, ended, shell};
use super::room::enter;
use crate::app::AppState;
use crate::domain::links::{self, CLINIC_INVITATION};
use crate::domain::{Locale, VisitId};
use crate::services::clinic::participants;

pub fn routes() -> Router<AppState> {
    Router::new().route(CLINIC_INVITATION, get(shell).post(redeem))
}

/// `POST /members/invitation/{visitId}` with the link's token.
async fn redeem(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Form(posted): Form<Posted>,
) -> Response {
    let locale = Locale::parse(&posted.locale).unwrap_or(Locale::En);
    let Some(id) = VisitId::parse(&id) else {
        return ended(locale);
    };
    let Ok((issued, v)) = participants::redeem(&app, &posted.link, &id).await else {
        return ended(locale);
    };
    let path = links::clinic_visit(v.visit_id.as_str());
    enter(&app, &posted, issued, &v.visit_id, false, &path).await
}

//! Intakes (`POST /v2/intakes`, `GET|PATCH /v2/intakes/{intakeId}`) and
//! visits: walk-in, scheduled and eConsult creation, read, list, the
//! moves (`accept`, `start`, `complete`, `no-show`, `cancel`) and the chat
//! (`GET|POST /v2/visits/{visitId}/messages`).

use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{
    Clinic, ClinicJson, INTAKE, INTAKES, VISIT, VISIT_MESSAGES, VISIT_MOVE, VISITS,
    VISITS_ECONSULT, VISITS_WALKIN, json, wire,
};
use crate::app::{App, AppState};
use crate::domain::clinic::{RoomCode, Visit, VisitStatus, VisitType};
use crate::domain::links;
use crate::domain::{IntakeId, PatientId, UserId, VisitId};
use crate::error::{Error, Result};
use crate::http::extract::{self, QueryParams};
use crate::http::reply::json_response;
use crate::http::wire::{Fields, metadata};
use crate::services::clinic::intakes::{self, IntakeChange, NewIntake};
use crate::services::clinic::reads::{self, VisitFilter, VisitQuery};
use crate::services::clinic::visits::{self, Created, Move};
use crate::services::clinic::{chat, rooms};

pub fn intakes_routes() -> Router<AppState> {
    Router::new()
        .route(INTAKES, post(create_intake))
        .route(INTAKE, get(get_intake).patch(patch_intake))
}

pub fn visits_routes() -> Router<AppState> {
    Router::new()
        .route(VISITS, get(list).post(schedule))
        .route(VISITS_WALKIN, post(walkin))
        .route(VISITS_ECONSULT, post(econsult))
        .route(VISIT, get(one))
        .route(VISIT_MESSAGES, get(messages).post(post_message))
        .route(VISIT_MOVE, post(move_visit))
}

fn intake_id(raw: &str) -> Result<IntakeId> {
    IntakeId::parse(raw).ok_or_else(|| Error::not_found(intakes::INTAKE_NOT_FOUND))
}

fn visit_id(raw: &str) -> Result<VisitId> {
    VisitId::parse(raw).ok_or_else(|| Error::not_found(visits::VISIT_NOT_FOUND))
}

async fn create_intake(ClinicJson { clinic: c, body }: ClinicJson) -> Result<Response> {
    let f = Fields::new("intake", &body);
    let named: Option<PatientId> = f.opt_id("patientId")?;
    let patient_id = intakes::patient_for(&c.actor, named)?;
    let visit_type = f.opt_parsed(
        "type",
        16,
        VisitType::parse,
        "must be WALKIN, SCHEDULED or ECONSULT",
    )?;
    let room_code = f.opt_parsed("roomCode", 40, RoomCode::parse, RoomCode::RULE)?;
    let new = NewIntake {
        patient_id,
        reason_for_visit: f.required("reasonForVisit", wire::reason(&f)?)?,
        visit_type: f.required("type", visit_type)?,
        room_code: f.required("roomCode", room_code)?,
        provider_id: f.opt_parsed("providerId", 128, UserId::parse, "is not a user id")?,
        phone: f.opt_parsed(
            "phone",
            32,
            crate::domain::Phone::parse,
            crate::domain::Phone::RULE,
        )?,
        location: f.opt_str("location", 200)?,
        concerns: wire::concerns(&f)?.unwrap_or_default(),
        custom: metadata(body.get("custom"))?,
    };
    let i = intakes::create_intake(&c.app, &c.actor, new).await?;
    Ok(json_response(StatusCode::CREATED, &json::intake(&i)))
}

async fn get_intake(c: Clinic, Path(id): Path<String>) -> Result<Response> {
    let i = intakes::intake(&c.app, &c.actor, &intake_id(&id)?).await?;
    Ok(json_response(StatusCode::OK, &json::intake(&i)))
}

async fn patch_intake(
    Path(id): Path<String>,
    ClinicJson { clinic: c, body }: ClinicJson,
) -> Result<Response> {
    let f = Fields::new("intake", &body);
    let change = IntakeChange {
        reason_for_visit: wire::reason(&f)?,
        provider_id: f.opt_parsed("providerId", 128, UserId::parse, "is not a user id")?,
        phone: f.opt_parsed(
            "phone",
            32,
            crate::domain::Phone::parse,
            crate::domain::Phone::RULE,
        )?,
        location: f.opt_str("location", 200)?,
        concerns: wire::concerns(&f)?,
        custom: metadata(body.get("custom"))?,
    };
    let i = intakes::update_intake(&c.app, &c.actor, &intake_id(&id)?, change).await?;
    Ok(json_response(StatusCode::OK, &json::intake(&i)))
}

/// A visit with its live place in the queue, when it waits in one.
async fn visit_json(app: &App, v: &Visit) -> Result<Value> {
    let live = match reads::position(app, v).await? {
        Some(p) => {
            let room = rooms::room(app, &v.tenant_key, &v.room_code).await?;
            Some((p, reads::estimated_wait(&room, p)))
        }
        None => None,
    };
    Ok(json::visit(app, v, live))
}

fn created(app: &App, c: &Created) -> Value {
    let mut body = json::visit(app, &c.visit, None);
    if let Some(token) = &c.link_token {
        body["oneTimeLinkToken"] = json!(token);
        body["appointmentUrl"] = json!(links::appointment_url(
            &app.config.app_base_url,
            c.visit.visit_id.as_str(),
            token
        ));
    }
    body
}

fn body_intake(f: &Fields) -> Result<IntakeId> {
    crate::http::wire::body_id(f, "intakeId")
}

async fn walkin(ClinicJson { clinic: c, body }: ClinicJson) -> Result<Response> {
    let f = Fields::new("visit", &body);
    let intake = body_intake(&f)?;
    let room = f.opt_parsed("roomCode", 40, RoomCode::parse, RoomCode::RULE)?;
    let provider = f.opt_parsed("providerId", 128, UserId::parse, "is not a user id")?;
    let made = visits::walkin(&c.app, &c.actor, &intake, room, provider).await?;
    Ok(json_response(StatusCode::CREATED, &created(&c.app, &made)))
}

async fn schedule(ClinicJson { clinic: c, body }: ClinicJson) -> Result<Response> {
    let f = Fields::new("visit", &body);
    let intake = body_intake(&f)?;
    let provider = f.opt_parsed("providerId", 128, UserId::parse, "is not a user id")?;
    let provider = f.required("providerId", provider)?;
    let start = f.required("start", f.opt_str("start", 40)?)?;
    let start = wire::instant("start", &start)?;
    let duration = match body.get("duration") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            wire::whole_number(v)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| f.error("duration", "must be a number of minutes"))?,
        ),
    };
    let force = f.opt_bool("force")?;
    let made =
        visits::schedule(&c.app, &c.actor, &intake, &provider, start, duration, force).await?;
    Ok(json_response(StatusCode::CREATED, &created(&c.app, &made)))
}

async fn econsult(ClinicJson { clinic: c, body }: ClinicJson) -> Result<Response> {
    let f = Fields::new("visit", &body);
    let intake = body_intake(&f)?;
    let room = f.opt_parsed("roomCode", 40, RoomCode::parse, RoomCode::RULE)?;
    let made = visits::econsult(&c.app, &c.actor, &intake, room).await?;
    Ok(json_response(StatusCode::CREATED, &created(&c.app, &made)))
}

async fn one(c: Clinic, Path(id): Path<String>) -> Result<Response> {
    let v = visits::visit_for(&c.app, &c.actor, &visit_id(&id)?).await?;
    Ok(json_response(
        StatusCode::OK,
        &visit_json(&c.app, &v).await?,
    ))
}

/// `POST /v2/visits/{visitId}/{accept|start|complete|no-show|cancel}`.
async fn move_visit(c: Clinic, Path((id, mv)): Path<(String, String)>) -> Result<Response> {
    let mv = match mv.as_str() {
        "accept" => Move::Accept,
        "start" => Move::Start,
        "complete" => Move::Complete,
        "no-show" => Move::NoShow,
        "cancel" => Move::Cancel,
        _ => return Err(Error::not_found("No such endpoint")),
    };
    let (v, _) = visits::act(&c.app, &c.actor, &visit_id(&id)?, mv).await?;
    Ok(json_response(
        StatusCode::OK,
        &visit_json(&c.app, &v).await?,
    ))
}

/// `GET /v2/visits?patientId=|providerId=&status=&from=&to=&limit=&cursor=`:
/// `from` / `to` ISO dates (days of the franchise's time zone, `to`
/// included) or RFC 3339 instants.
async fn list(c: Clinic, RawQuery(q): RawQuery) -> Result<Response> {
    let q = QueryParams::parse(q.as_deref())?;
    let filter = match (q.get("patientId")?, q.get("providerId")?) {
        (Some(_), Some(_)) => return Err(Error::invalid("Give patientId or providerId, not both")),
        (Some(p), None) => Some(VisitFilter::Patient(
            extract::id::<PatientId>("patientId", Some(p))?
                .ok_or_else(|| Error::invalid("patientId is required"))?,
        )),
        (None, Some(u)) => Some(VisitFilter::Provider(
            UserId::parse(u).ok_or_else(|| Error::invalid("providerId is not a user id"))?,
        )),
        (None, None) => None,
    };
    let status = q
        .get("status")?
        .map(|s| {
            VisitStatus::parse(&s.to_ascii_uppercase())
                .ok_or_else(|| Error::invalid("status is not a visit status"))
        })
        .transpose()?;
    let limit = match q.get("limit")? {
        None => 20,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| Error::invalid("limit must be a whole number from 1 to 100"))?,
    };
    let zone = &c.actor.franchise().time_zone;
    let from = super::statistics::bound(&q, "from", zone, false)?;
    let to = super::statistics::bound(&q, "to", zone, true)?;
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        return Err(Error::invalid("from must be before to"));
    }
    let query = VisitQuery {
        filter,
        status,
        from,
        to,
        limit,
        cursor: extract::cursor(q.get("cursor")?)?,
    };
    let listing = reads::list(&c.app, &c.actor, query).await?;
    let items: Vec<_> = listing
        .items
        .iter()
        .map(|v| json::visit(&c.app, v, None))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({"items": items, "nextCursor": listing.next}),
    ))
}

async fn messages(c: Clinic, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response> {
    let q = QueryParams::parse(q.as_deref())?;
    let after = q
        .get("after")?
        .map(|v| wire::instant("after", v))
        .transpose()?;
    let list = chat::messages(&c.app, &c.actor, &visit_id(&id)?, after).await?;
    let items: Vec<_> = list.iter().map(json::message).collect();
    Ok(json_response(StatusCode::OK, &json!({ "items": items })))
}

async fn post_message(
    Path(id): Path<String>,
    ClinicJson { clinic: c, body }: ClinicJson,
) -> Result<Response> {
    let text = match body.get("text") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(Error::invalid("text is required")),
    };
    let (m, _) = chat::post(&c.app, &c.actor, &visit_id(&id)?, &text).await?;
    Ok(json_response(StatusCode::CREATED, &json::message(&m)))
}

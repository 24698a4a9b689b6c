//! The live encounter's API: a visit's participants
//! (`/v2/visits/{visitId}/participants…`: add, change, list, invite,
//! decline, dismiss; a participant's video key), its end and fulfilment, its intake
//! (`PUT /v2/visits/{visitId}/intake`), its people's presence (`PUT
//! /v2/visits/{visitId}/alive`, the REST heartbeat; `GET
//! /v2/visits/{visitId}/connection-status`); all served by the `visits`
//! router.

use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde_json::{Map, Value, json};

use super::{
    Clinic, ClinicJson, VISIT_ALIVE, VISIT_CONNECTION_STATUS, VISIT_END, VISIT_FULFIL,
    VISIT_INTAKE, VISIT_PARTICIPANT, VISIT_PARTICIPANT_DISMISS, VISIT_PARTICIPANT_INVITATION,
    VISIT_PARTICIPANT_TOKENS, VISIT_PARTICIPANT_VIDEO_KEY, VISIT_PARTICIPANTS, json as clinic_json,
};
use crate::app::{App, AppState};
use crate::clock::iso_ms;
use crate::domain::clinic::intake::{
    MAX_CONCERNS, MAX_HISTORY_ENTRIES, MAX_HISTORY_ENTRY, MAX_NOTES,
};
use crate::domain::clinic::participant::MAX_NAME;
use crate::domain::clinic::{HealthHistory, Participant, ParticipantStatus, ParticipantType};
use crate::domain::{Email, ParticipantId, UserId, VisitId};
use crate::error::{Error, Result};
use crate::http::extract::{self, QueryParams};
use crate::http::reply::json_response;
use crate::http::wire::Fields;
use crate::services::clinic::concerns::{self, ConcernInput};
use crate::services::clinic::encounter::{self, Ended};
use crate::services::clinic::participants::{
    self, NewParticipant, PARTICIPANT_NOT_FOUND, ParticipantChange,
};
use crate::services::clinic::video;
use crate::services::clinic::visits::VISIT_NOT_FOUND;
use crate::services::clinic::{fanout, presence};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(VISIT_PARTICIPANTS, get(list).post(add))
        .route(VISIT_PARTICIPANT, get(one).patch(patch))
        .route(VISIT_PARTICIPANT_TOKENS, post(invite))
        .route(VISIT_PARTICIPANT_INVITATION, delete(decline))
        .route(VISIT_PARTICIPANT_DISMISS, post(dismiss))
        .route(VISIT_PARTICIPANT_VIDEO_KEY, get(video_key))
        .route(VISIT_END, post(end))
        .route(VISIT_FULFIL, post(fulfil))
        .route(VISIT_INTAKE, put(put_intake))
        .route(VISIT_ALIVE, put(alive))
        .route(VISIT_CONNECTION_STATUS, get(connection_status))
}

fn visit_id(raw: &str) -> Result<VisitId> {
    VisitId::parse(raw).ok_or_else(|| Error::not_found(VISIT_NOT_FOUND))
}

fn participant_id(raw: &str) -> Result<ParticipantId> {
    ParticipantId::parse(raw).ok_or_else(|| Error::not_found(PARTICIPANT_NOT_FOUND))
}

pub fn participant(p: &Participant) -> Value {
    let iso = |t: Option<i64>| t.map(iso_ms);
    json!({
        "participantId": p.participant_id,
        "visitId": p.visit_id,
        "participantType": p.participant_type,
        "status": p.status,
        "firstName": p.first_name,
        "lastName": p.last_name,
        "email": p.email,
        "userId": p.user_id,
        "invitedAt": iso(p.invited_at),
        "joinedAt": iso(p.joined_at),
        "leftAt": iso(p.left_at),
        "lastSeenAt": iso(p.last_seen_at),
        "createdAt": iso_ms(p.created_at),
        "updatedAt": iso_ms(p.updated_at),
        "version": p.version,
    })
}

/// A name: 1 to [`MAX_NAME`] printable characters.
fn name(f: &Fields, field: &str) -> Result<Option<String>> {
    f.opt_str(field, MAX_NAME)
}

fn email(f: &Fields) -> Result<Option<Email>> {
    f.opt_parsed("email", 254, Email::parse, "is not an e-mail address")
}

async fn add(
    Path(id): Path<String>,
    ClinicJson { clinic: c, body }: ClinicJson,
) -> Result<Response> {
    let f = Fields::new("participant", &body);
    let t = f.opt_parsed(
        "participantType",
        20,
        ParticipantType::parse,
        "must be PATIENT, PRACTITIONER, RELATED_PERSON or GUEST",
    )?;
    let new = NewParticipant {
        participant_type: f.required("participantType", t)?,
        first_name: f.required("firstName", name(&f, "firstName")?)?,
        last_name: f.required("lastName", name(&f, "lastName")?)?,
        email: email(&f)?,
        user_id: f.opt_parsed("userId", 128, UserId::parse, "is not a user id")?,
    };
    let p = participants::add(&c.app, &c.actor, &visit_id(&id)?, new).await?;
    Ok(json_response(StatusCode::CREATED, &participant(&p)))
}

/// `include=pending,joining,joined,left,disconnected,declined,dismissed|all`
/// (absent: all but the declined and the dismissed).
fn included(raw: Option<&str>) -> Result<Vec<ParticipantStatus>> {
    let Some(raw) = raw else {
        return Ok(ParticipantStatus::ALL
            .into_iter()
            .filter(|s| s.shown_by_default())
            .collect());
    };
    let mut out = Vec::new();
    for word in raw.split(',').map(str::trim) {
        if word.eq_ignore_ascii_case("all") {
            return Ok(ParticipantStatus::ALL.to_vec());
        }
        let s = ParticipantStatus::ALL
            .into_iter()
            .find(|s| s.include_word().eq_ignore_ascii_case(word))
            .ok_or_else(|| {
                Error::invalid(
                    "include must list pending, joining, joined, left, disconnected, declined, \
                     dismissed, or be all",
                )
            })?;
        out.push(s);
    }
    Ok(out)
}

async fn list(c: Clinic, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response> {
    let q = QueryParams::parse(q.as_deref())?;
    let shown = included(q.get("include")?)?;
    let list =
        participants::list(&c.app, &c.actor, &visit_id(&id)?, |s| shown.contains(&s)).await?;
    let items: Vec<_> = list.iter().map(participant).collect();
    Ok(json_response(StatusCode::OK, &json!({ "items": items })))
}

async fn one(c: Clinic, Path((id, pid)): Path<(String, String)>) -> Result<Response> {
    let p = participants::get(&c.app, &c.actor, &visit_id(&id)?, &participant_id(&pid)?).await?;
    Ok(json_response(StatusCode::OK, &participant(&p)))
}

async fn patch(
    Path((id, pid)): Path<(String, String)>,
    ClinicJson { clinic: c, body }: ClinicJson,
) -> Result<Response> {
    let f = Fields::new("participant", &body);
    let change = ParticipantChange {
        first_name: name(&f, "firstName")?,
        last_name: name(&f, "lastName")?,
        email: email(&f)?,
        status: f.opt_parsed(
            "status",
            20,
            ParticipantStatus::parse,
            "is not a participant status",
        )?,
    };
    let p = participants::update(
        &c.app,
        &c.actor,
        &visit_id(&id)?,
        &participant_id(&pid)?,
        change,
    )
    .await?;
    Ok(json_response(StatusCode::OK, &participant(&p)))
}

async fn invite(c: Clinic, Path((id, pid)): Path<(String, String)>) -> Result<Response> {
    let i = participants::invite(&c.app, &c.actor, &visit_id(&id)?, &participant_id(&pid)?).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({
            "participantId": i.participant.participant_id,
            "visitId": i.participant.visit_id,
            "token": i.token,
            "url": i.url,
            "expiresAt": iso_ms(i.expires_at),
            "emailed": i.emailed,
        }),
    ))
}

/// Declined by who manages the visit, or with the invitation's own token
/// as the bearer.
async fn decline(
    axum::extract::State(app): axum::extract::State<AppState>,
    headers: HeaderMap,
    Path((id, pid)): Path<(String, String)>,
) -> Result<Response> {
    let (id, pid) = (visit_id(&id)?, participant_id(&pid)?);
    let invitation = match extract::bearer(&headers) {
        Some(raw) if !headers.contains_key("api-key") => {
            participants::invitation_of(&app, raw).await.ok()
        }
        _ => None,
    };
    match invitation {
        Some(t) => participants::decline(&app, None, Some(&t), &id, &pid).await?,
        None => {
            let actor = super::actor_of(&app, &headers).await?;
            participants::decline(&app, Some(&actor), None, &id, &pid).await?
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn dismiss(c: Clinic, Path((id, pid)): Path<(String, String)>) -> Result<Response> {
    let p =
        participants::dismiss(&c.app, &c.actor, &visit_id(&id)?, &participant_id(&pid)?).await?;
    Ok(json_response(StatusCode::OK, &participant(&p)))
}

/// `GET …/participants/{participantId}/video-key`: the video rooms'
/// join data (`services::clinic::video::video_key`).
async fn video_key(c: Clinic, Path((id, pid)): Path<(String, String)>) -> Result<Response> {
    let key = video::video_key(&c.app, &c.actor, &visit_id(&id)?, &participant_id(&pid)?).await?;
    Ok(json_response(StatusCode::OK, &key))
}

async fn visit_json(app: &App, v: &crate::domain::clinic::Visit) -> Value {
    clinic_json::visit(app, v, None)
}

async fn end(c: Clinic, Path(id): Path<String>) -> Result<Response> {
    match encounter::end(&c.app, &c.actor, &visit_id(&id)?).await? {
        Ended::Visit(v) => Ok(json_response(StatusCode::OK, &visit_json(&c.app, &v).await)),
        Ended::Left(p) => {
            fanout::presence_changed(&c.app, &p).await;
            Ok(json_response(StatusCode::OK, &participant(&p)))
        }
    }
}

async fn fulfil(c: Clinic, Path(id): Path<String>) -> Result<Response> {
    let v = encounter::fulfil(&c.app, &c.actor, &visit_id(&id)?).await?;
    Ok(json_response(StatusCode::OK, &visit_json(&c.app, &v).await))
}

/// `PUT /v2/visits/{visitId}/alive`: the caller's presence, seen now.
async fn alive(c: Clinic, Path(id): Path<String>) -> Result<Response> {
    let p = presence::alive(&c.app, &c.actor, &visit_id(&id)?).await?;
    Ok(json_response(StatusCode::OK, &fanout::presence_json(&p)))
}

/// `GET /v2/visits/{visitId}/connection-status`.
async fn connection_status(c: Clinic, Path(id): Path<String>) -> Result<Response> {
    let id = visit_id(&id)?;
    let list = presence::status(&c.app, &c.actor, &id).await?;
    let items: Vec<_> = list.iter().map(fanout::presence_json).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({"visitId": id, "items": items}),
    ))
}

/// A list of short texts (`allergies`, …): at most
/// [`MAX_HISTORY_ENTRIES`] of [`MAX_HISTORY_ENTRY`] characters.
fn entries(body: &Map<String, Value>, field: &str) -> Result<Vec<String>> {
    let bad = || {
        Error::invalid(format!(
            "Invalid intake: {field} must be a list of at most {MAX_HISTORY_ENTRIES} texts of at \
             most {MAX_HISTORY_ENTRY} characters"
        ))
    };
    let list = match body.get(field) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) if list.len() <= MAX_HISTORY_ENTRIES => list,
        Some(_) => return Err(bad()),
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let one = Map::from_iter([("v".to_owned(), v.clone())]);
        let label = format!("intake {field}[{i}]");
        let f = Fields::new(&label, &one);
        if let Some(s) = f.opt_str("v", MAX_HISTORY_ENTRY).map_err(|_| bad())? {
            out.push(s);
        } else {
            return Err(bad());
        }
    }
    Ok(out)
}

fn concern_inputs(body: &Map<String, Value>) -> Result<Vec<ConcernInput>> {
    let Some(Value::Array(list)) = body.get("concerns") else {
        return Err(Error::invalid("Invalid intake: concerns must be a list"));
    };
    if list.is_empty() || list.len() > MAX_CONCERNS {
        return Err(Error::invalid(format!(
            "Invalid intake: concerns must hold 1 to {MAX_CONCERNS} concerns"
        )));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, c) in list.iter().enumerate() {
        let Value::Object(m) = c else {
            return Err(Error::invalid(format!(
                "Invalid intake: concerns[{i}] must be {{code?, text?, primary}}"
            )));
        };
        let label = format!("intake concerns[{i}]");
        let f = Fields::new(&label, m);
        if !matches!(m.get("primary"), None | Some(Value::Bool(_))) {
            return Err(f.error("primary", "must be true or false"));
        }
        out.push(ConcernInput {
            code: f.opt_str("code", 40)?,
            text: f.opt_str("text", crate::domain::clinic::intake::MAX_REASON)?,
            primary: f.opt_bool("primary")?,
        });
    }
    Ok(out)
}

async fn put_intake(
    Path(id): Path<String>,
    ClinicJson { clinic: c, body }: ClinicJson,
) -> Result<Response> {
    let f = Fields::new("intake", &body);
    let concerns = concern_inputs(&body)?;
    let health = HealthHistory {
        additional_notes: f.opt_text("additionalNotes", MAX_NOTES)?,
        allergies: entries(&body, "allergies")?,
        medications: entries(&body, "medications")?,
        conditions: entries(&body, "conditions")?,
        surgeries: entries(&body, "surgeries")?,
    };
    let (v, i) = concerns::put_intake(&c.app, &c.actor, &visit_id(&id)?, concerns, health).await?;
    let h = i.health.clone().unwrap_or_default();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "visitId": v.visit_id,
            "intakeId": i.intake_id,
            "concerns": i.concerns,
            "additionalNotes": h.additional_notes,
            "allergies": h.allergies,
            "medications": h.medications,
            "conditions": h.conditions,
            "surgeries": h.surgeries,
            "updatedAt": iso_ms(i.updated_at),
            "version": i.version,
        }),
    ))
}

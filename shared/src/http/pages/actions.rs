//! The page actions: `POST /{locale}/embed/franchise/{tenant}/actions/{action}`
//! with a JSON body and `Authorization: Bearer {session}`; the answer is
//! `{"events": [Event…], "location": "<page to show next>"}` (no `location`:
//! stay on the page). The events
//! are the very bodies the services wrote to the outbox (same `id`); the
//! page posts each one, unchanged, to the host. The host tells messages
//! apart by their fields: ours have `type` (`embed.ready`, `embed.resize`,
//! `session.expired`), events have `eventType` and `operation` instead.
//! Errors use the API's body: a bad field is a 400 naming it, a move outside
//! the state machine a 409, no or an expired session a 401 (the page then
//! shows its expired state and posts `session.expired`), a role that may not
//! act a 403, an unknown action a 404.
//!
//! Each action is parsed from its name and body into an [`Action`] before
//! anything happens; its name ([`Act`]) and who may take it, on which ids,
//! are the access table's (`access.rs`).

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::access::{Access, Act, Target};
use crate::app::{App, AppState};
use crate::domain::VisitId;
use crate::domain::clinic::{DatedHours, RoomCode, WeeklyHours};
use crate::domain::links::page_path;
use crate::domain::{
    Answer, ConsultationId, ConsultationStatus, FollowupId, FollowupStatus, Locale, PatientId,
    ReasonCode, Scope, TenantKey, View,
};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::http::extract::{self, JsonObject, bearer};
use crate::http::hours::availability_input;
use crate::http::wire::Fields;
use crate::services::clinic::visits::{self, Move};
use crate::services::clinic::{Actor, chat, rooms};
use crate::services::consultations::{self as consultation, NewConsultation};
use crate::services::followups::{self as followup, FollowupPlan, NewFollowup};
use crate::services::{admin, auth, launch};

/// An action, with everything it needs, checked.
#[derive(Debug)]
enum Action {
    ConsultationCreate {
        patient_id: PatientId,
        reason: Option<ReasonCode>,
        send: bool,
    },
    ConsultationSend {
        id: ConsultationId,
        reason: Option<ReasonCode>,
    },
    ConsultationComplete {
        id: ConsultationId,
        summary: Option<String>,
    },
    /// Archive or cancel.
    ConsultationMove {
        id: ConsultationId,
        to: ConsultationStatus,
    },
    ConsultationOpen {
        id: ConsultationId,
    },
    ConsultationAnswer {
        id: ConsultationId,
        answers: Vec<Answer>,
    },
    FollowupCreate {
        patient_id: PatientId,
        plan: Box<FollowupPlan>,
    },
    FollowupMove {
        id: FollowupId,
        to: FollowupStatus,
    },
    FollowupAnswer {
        id: FollowupId,
        answers: Vec<Answer>,
    },
    FranchiseOnboard,
    FranchiseOffboard,
    /// A provider's move of a visit of one of their rooms.
    VisitMove {
        id: VisitId,
        mv: Move,
    },
    VisitMessage {
        id: VisitId,
        text: String,
    },
    AvailabilitySet {
        room_code: RoomCode,
        weekly: WeeklyHours,
        exceptions: Vec<DatedHours>,
    },
}

fn required_id<T: crate::domain::ids::Id>(f: &Fields, field: &str) -> Result<T> {
    f.required(field, f.opt_id(field)?)
}

fn opt_reason(f: &Fields) -> Result<Option<ReasonCode>> {
    f.opt_parsed(
        "reason",
        64,
        ReasonCode::known,
        "is not a known consultation reason",
    )
}

fn answers_of(f: &Fields) -> Result<Vec<Answer>> {
    let shape = || f.error("answers", "must be a list of {questionId, value}");
    let Some(Value::Array(items)) = f.map.get("answers") else {
        return Err(shape());
    };
    items
        .iter()
        .map(|item| {
            let Value::Object(m) = item else {
                return Err(shape());
            };
            let question_id = m
                .get("questionId")
                .and_then(Value::as_str)
                .filter(|q| !q.is_empty() && q.len() <= 64)
                .ok_or_else(|| f.error("answers", "items need a questionId"))?;
            Ok(Answer {
                question_id: question_id.to_owned(),
                value: m.get("value").cloned().unwrap_or(Value::Null),
            })
        })
        .collect()
}

impl Action {
    fn parse(act: Act, f: &Fields) -> Result<Self> {
        let consultation = || required_id(f, "consultationId");
        Ok(match act {
            Act::ConsultationCreate => Action::ConsultationCreate {
                patient_id: required_id(f, "patientId")?,
                reason: opt_reason(f)?,
                send: f.opt_bool("send")?,
            },
            Act::ConsultationSend => Action::ConsultationSend {
                id: consultation()?,
                reason: opt_reason(f)?,
            },
            Act::ConsultationComplete => Action::ConsultationComplete {
                id: consultation()?,
                summary: f.opt_text("summary", 4000)?,
            },
            Act::ConsultationArchive | Act::ConsultationCancel => Action::ConsultationMove {
                id: consultation()?,
                to: if act == Act::ConsultationArchive {
                    ConsultationStatus::Archived
                } else {
                    ConsultationStatus::Cancelled
                },
            },
            Act::ConsultationOpen => Action::ConsultationOpen {
                id: consultation()?,
            },
            Act::ConsultationAnswer => Action::ConsultationAnswer {
                id: consultation()?,
                answers: answers_of(f)?,
            },
            Act::FollowupAnswer => Action::FollowupAnswer {
                id: required_id(f, "followupId")?,
                answers: answers_of(f)?,
            },
            Act::FollowupCreate => Action::FollowupCreate {
                patient_id: required_id(f, "patientId")?,
                plan: Box::new(FollowupPlan {
                    consultation_id: f.opt_id("consultationId")?,
                    reason_code: opt_reason(f)?,
                    due_date: extract::due_date(
                        &f.required("dueDate", f.opt_str("dueDate", 10)?)?,
                    )?,
                    frequency: extract::frequency(
                        &f.required("frequency", f.opt_str("frequency", 16)?)?,
                    )?,
                    notes: f.opt_text("notes", 1000)?,
                    metadata: None,
                }),
            },
            Act::FollowupMove => Action::FollowupMove {
                id: required_id(f, "followupId")?,
                to: f.required(
                    "to",
                    f.opt_parsed("to", 16, FollowupStatus::parse, "is not a follow-up status")?,
                )?,
            },
            Act::FranchiseOnboard => {
                if !f.opt_bool("accept")? {
                    return Err(f.error("accept", "must be true: the terms must be accepted"));
                }
                Action::FranchiseOnboard
            }
            Act::FranchiseOffboard => {
                if !f.opt_bool("confirm")? {
                    return Err(f.error("confirm", "must be true to offboard"));
                }
                Action::FranchiseOffboard
            }
            Act::VisitStart | Act::VisitAccept | Act::VisitComplete | Act::VisitNoShow => {
                Action::VisitMove {
                    id: required_id(f, "visitId")?,
                    mv: match act {
                        Act::VisitStart => Move::Start,
                        Act::VisitAccept => Move::Accept,
                        Act::VisitComplete => Move::Complete,
                        _ => Move::NoShow,
                    },
                }
            }
            Act::VisitMessage => Action::VisitMessage {
                id: required_id(f, "visitId")?,
                text: f.required("text", f.opt_text("text", 2000)?)?,
            },
            Act::AvailabilitySet => availability_of(f)?,
        })
    }

    /// Whether the session may touch what the action is about (the
    /// access table's reads): an id outside its reach is a `404`, like an
    /// unknown one.
    async fn check(
        &self,
        app: &App,
        tenant: &TenantKey,
        access: &Access,
        scope: &Scope,
    ) -> Result<()> {
        match self {
            Action::ConsultationCreate { patient_id, .. }
            | Action::FollowupCreate { patient_id, .. } => {
                if !access.may_read(Target::Patient(patient_id)) {
                    return Err(Error::not_found("Patient not found"));
                }
                Ok(())
            }
            Action::ConsultationSend { id, .. }
            | Action::ConsultationComplete { id, .. }
            | Action::ConsultationMove { id, .. }
            | Action::ConsultationOpen { id }
            | Action::ConsultationAnswer { id, .. } => {
                let c = consultation::consultation(app, tenant, id).await?;
                if !access.may_read(Target::Consultation(id, &c.patient_id)) {
                    return Err(Error::not_found("Consultation not found"));
                }
                Ok(())
            }
            Action::FollowupMove { id, .. } | Action::FollowupAnswer { id, .. } => {
                let f = followup::followup(app, tenant, id).await?;
                if !access.may_read(Target::Followup(id, &f.patient_id)) {
                    return Err(Error::not_found("Follow-up not found"));
                }
                Ok(())
            }
            Action::FranchiseOnboard | Action::FranchiseOffboard => Ok(()),
            // A visit of a room the provider is not in is unknown to them.
            Action::VisitMove { id, .. } | Action::VisitMessage { id, .. } => {
                let actor = provider_of(app, tenant, scope).await?;
                let v = visits::visit_for(app, &actor, id).await?;
                provider_room(app, tenant, &v.room_code, &actor).await
            }
            Action::AvailabilitySet { room_code, .. } => {
                let actor = provider_of(app, tenant, scope).await?;
                provider_room(app, tenant, room_code, &actor).await
            }
        }
    }

    /// Does it; returns the events it caused and the page to show next
    /// (none: stay on the page).
    async fn perform(
        self,
        app: &App,
        locale: Locale,
        tenant: &TenantKey,
        scope: &Scope,
    ) -> Result<(Vec<Event>, Option<String>)> {
        let href = |view: View, params: &[(&str, &str)]| page_path(locale, tenant, view, params);
        let details =
            |c: &ConsultationId| href(View::ConsultationDetails, &[("consultationId", c.as_str())]);
        let followup_details =
            |f: &FollowupId| href(View::FollowupDetails, &[("followupId", f.as_str())]);
        let (event, location) = match self {
            Action::ConsultationCreate {
                patient_id,
                reason,
                send,
            } => {
                let new = NewConsultation {
                    // The vendor's metadata of a create launch goes with the
                    // consultation created for that launch's patient.
                    metadata: scope.metadata_for(&patient_id),
                    patient_id,
                    created_by: scope.user_id.clone(),
                    reason_code: reason,
                    send,
                };
                let (c, event) = consultation::create_consultation(app, tenant, new).await?;
                (event, details(&c.consultation_id))
            }
            Action::ConsultationSend { id, reason } => {
                let (c, event) = consultation::send_consultation(app, tenant, &id, reason).await?;
                (event, details(&c.consultation_id))
            }
            Action::ConsultationComplete { id, summary } => {
                let (c, event) =
                    consultation::complete_consultation(app, tenant, &id, summary).await?;
                (event, details(&c.consultation_id))
            }
            Action::ConsultationMove { id, to } => {
                let (c, event) = consultation::move_consultation(app, tenant, &id, to).await?;
                (event, details(&c.consultation_id))
            }
            Action::ConsultationOpen { id } => {
                // The patient's first action: SENT → IN_PROGRESS (once).
                let (_, event) = consultation::open_consultation(app, tenant, &id).await?;
                return Ok((event.into_iter().collect(), None));
            }
            Action::ConsultationAnswer { id, answers } => {
                let c = consultation::consultation(app, tenant, &id).await?;
                if !c.status.awaits_patient() {
                    return Err(Error::conflict(format!(
                        "A {} consultation does not take answers",
                        c.status.as_str()
                    )));
                }
                let (c, event) =
                    consultation::answer_consultation(app, tenant, &id, &answers).await?;
                let id = c.consultation_id.as_str();
                (
                    event,
                    href(View::ConsultationAnswer, &[("consultationId", id)]),
                )
            }
            Action::FollowupCreate { patient_id, plan } => {
                let new = NewFollowup {
                    patient_id,
                    created_by: scope.user_id.clone(),
                    plan: *plan,
                };
                let (f, event) = followup::create_followup(app, tenant, new).await?;
                (event, followup_details(&f.followup_id))
            }
            Action::FollowupMove { id, to } => {
                let (f, event) = followup::move_followup(app, tenant, &id, to, None).await?;
                (event, followup_details(&f.followup_id))
            }
            Action::FollowupAnswer { id, answers } => {
                let (f, event) = followup::answer_followup(app, tenant, &id, &answers).await?;
                let id = f.followup_id.as_str();
                (event, href(View::FollowupAnswer, &[("followupId", id)]))
            }
            Action::FranchiseOnboard => {
                let (_, event) = admin::onboard_franchise(app, tenant, &scope.user_id).await?;
                (event, href(View::FranchiseManagement, &[]))
            }
            Action::FranchiseOffboard => {
                let (_, event) = admin::offboard_franchise(app, tenant).await?;
                (event, href(View::FranchiseOffboarding, &[]))
            }
            Action::VisitMove { id, mv } => {
                let actor = provider_of(app, tenant, scope).await?;
                let (v, event) = visits::act(app, &actor, &id, mv).await?;
                let to_room = matches!(mv, Move::Start | Move::Accept);
                let room = href(View::VisitsWaitingRoom, &[("visitId", v.visit_id.as_str())]);
                return Ok((vec![event], to_room.then_some(room)));
            }
            Action::VisitMessage { id, text } => {
                let actor = provider_of(app, tenant, scope).await?;
                let (m, _) = chat::post(app, &actor, &id, &text).await?;
                let room = href(View::VisitsWaitingRoom, &[("visitId", m.visit_id.as_str())]);
                return Ok((Vec::new(), Some(room)));
            }
            Action::AvailabilitySet {
                room_code,
                weekly,
                exceptions,
            } => {
                rooms::put_availability(
                    app,
                    tenant,
                    &scope.user_id,
                    &room_code,
                    weekly,
                    exceptions,
                )
                .await?;
                return Ok((Vec::new(), Some(href(View::VisitsSchedule, &[]))));
            }
        };
        Ok((vec![event], Some(location)))
    }
}

/// The availability editor's form: `roomCode`, and `weekly` and
/// `exceptions` as the JSON texts of the API's body (`PUT
/// /v2/providers/{userId}/availability`), read by the API's own parser.
fn availability_of(f: &Fields) -> Result<Action> {
    let json_field = |name: &str| -> Result<Value> {
        match f.map.get(name) {
            None | Some(Value::Null) => Ok(Value::Null),
            Some(Value::String(text)) if text.trim().is_empty() => Ok(Value::Null),
            Some(Value::String(text)) if text.len() <= 40_000 => serde_json::from_str(text)
                .map_err(|_| f.error(name, "must be JSON (see the hint under the field)")),
            Some(Value::String(_)) => Err(f.error(name, "is too long")),
            Some(other) => Ok(other.clone()),
        }
    };
    let mut body = serde_json::Map::new();
    body.insert(
        "roomCode".into(),
        f.map.get("roomCode").cloned().unwrap_or(Value::Null),
    );
    body.insert("weekly".into(), json_field("weekly")?);
    body.insert("exceptions".into(), json_field("exceptions")?);
    let (room_code, weekly, exceptions) = availability_input(&body)?;
    Ok(Action::AvailabilitySet {
        room_code,
        weekly,
        exceptions,
    })
}

/// The provider a session of the provider's views acts as.
async fn provider_of(app: &App, tenant: &TenantKey, scope: &Scope) -> Result<Actor> {
    let franchise = auth::franchise(app, tenant)
        .await?
        .ok_or(Error::Unauthorized)?;
    Ok(Actor::Provider {
        franchise,
        user: scope.user_id.clone(),
    })
}

/// `Ok` when the actor is a provider of the room; a room of the franchise
/// they are not in is a `404`, like an unknown one.
async fn provider_room(
    app: &App,
    tenant: &TenantKey,
    code: &RoomCode,
    actor: &Actor,
) -> Result<()> {
    let room = rooms::room(app, tenant, code).await?;
    match actor.provider_user() {
        Some(u) if room.has_provider(u) => Ok(()),
        _ => Err(Error::not_found("Room not found")),
    }
}

/// `POST /{locale}/embed/franchise/{tenant}/actions/{action}`: the session
/// first, then the body, then what the session may do (the access table),
/// then the action.
pub async fn action(
    State(app): State<AppState>,
    Path((locale, tenant, action)): Path<(String, String, String)>,
    req: Request,
) -> Result<Response> {
    let locale = Locale::parse(&locale).ok_or_else(|| Error::not_found("No such endpoint"))?;
    let tenant = TenantKey::parse(&tenant).ok_or(Error::Unauthorized)?;
    let token = bearer(req.headers()).ok_or(Error::Unauthorized)?;
    let session = launch::session(&app, &tenant, token)
        .await?
        .ok_or(Error::Unauthorized)?;
    let JsonObject(body) = JsonObject::from_request(req, &()).await?;
    let act = Act::parse(&action).ok_or_else(|| Error::not_found("No such action"))?;
    let access = Access::of(&session.scope);
    if !access.may_do(act) {
        return Err(Error::forbidden("This session may not do that"));
    }
    let parsed = Action::parse(act, &Fields::new("request", &body))?;
    parsed.check(&app, &tenant, &access, &session.scope).await?;
    let (events, location) = parsed
        .perform(&app, locale, &tenant, &session.scope)
        .await?;
    let mut reply = json!({ "events": events });
    if let Some(location) = location {
        reply["location"] = location.into();
    }
    let mut res = axum::Json(reply).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

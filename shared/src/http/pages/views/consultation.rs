//! The consultation views: start one (confirm the patient, pick a reason),
//! its details (answers, summary, moves), and the patient's questionnaire.

use super::{Built, Ctx, Pick, when};
use crate::domain::reasons::{QuestionKind, Reason};
use crate::domain::{Consultation, ConsultationStatus, View};
use crate::error::{Error, Result};
use crate::http::pages::templates::{
    AnswerModel, Body, Choice, ConsultationModel, Fact, QuestionField, StartModel,
};
use crate::services::{consultations, lists};

pub(super) async fn start(ctx: &Ctx<'_>) -> Result<Built> {
    let (id, patient) = match ctx.needed_patient().await? {
        Ok(found) => found,
        Err(state) => return Ok(state),
    };
    let prefilled = ctx
        .scope
        .consultation_prefill()
        .and_then(|p| p.reason.as_ref());
    Ok(Built::ok(Body::ConsultationStart(StartModel {
        patient,
        reasons: ctx.reason_options(prefilled),
    }))
    .patient(Some(&id)))
}

/// The consultation of the details view ([`Pick`]). `Ok(None)`: the patient
/// has none; `Err(NotFound)`: the id does not exist here.
async fn pick(ctx: &Ctx<'_>) -> Result<Option<Consultation>> {
    let (app, tenant) = (ctx.app, ctx.tenant);
    let (asked, in_scope) = (&ctx.asked.consultation_id, &ctx.scope.consultation_id);
    match ctx.pick(asked.as_ref(), in_scope.as_ref()) {
        Pick::One(id) => consultations::consultation(app, tenant, id).await.map(Some),
        Pick::LatestOf(p) => lists::latest_consultation(app, tenant, p).await,
        Pick::Nothing => Ok(None),
    }
}

pub(super) async fn details(ctx: &Ctx<'_>) -> Result<Built> {
    let t = ctx.t;
    let c = match pick(ctx).await {
        Ok(Some(c)) if ctx.readable(&c) => c,
        Ok(Some(_)) | Err(Error::NotFound(_)) => return Ok(ctx.not_found()),
        Ok(None) => {
            let text = (t.no_consultation_title, t.no_consultation_body);
            return Ok(ctx.none_yet(text, View::ConsultationStart, t.start_consultation));
        }
        Err(e) => return Err(e),
    };
    let patient = ctx.patient(&c.patient_id).await?;
    let patient = ctx.patient_model(&c.patient_id, patient.as_ref());
    let opt = |v: Option<i64>| v.map_or_else(|| t.unknown.to_owned(), when);
    let delivery = c.delivery.as_ref().map_or_else(
        || t.delivery_none.to_owned(),
        |d| format!("{} — {} ({})", d.channel, ctx.label(d.status), when(d.at)),
    );
    let facts = vec![
        Fact::new(t.patient, patient.name.clone()),
        Fact::new(t.date_of_birth, patient.date_of_birth.clone()),
        Fact::new(t.reason, ctx.reason_title(c.reason_code.as_ref())),
        Fact::new(t.created_at, when(c.created_at)),
        Fact::new(t.sent_at, opt(c.sent_at)),
        Fact::new(t.answered_at, opt(c.answered_at)),
        Fact::new(t.updated_at, when(c.updated_at)),
        Fact::new(t.delivery, delivery),
    ];
    use ConsultationStatus as S;
    let (id, pid) = (c.consultation_id.as_str(), c.patient_id.as_str());
    let model = ConsultationModel {
        id: id.to_owned(),
        status: c.status.as_str().to_owned(),
        status_label: ctx.label(c.status),
        answers: ctx.answers(c.reason_code.as_ref(), &c.answers),
        summary: c.summary.clone(),
        can_send: c.status == S::Draft,
        reasons: if c.status == S::Draft && c.reason_code.is_none() {
            ctx.reason_options(None)
        } else {
            Vec::new()
        },
        can_complete: c.status.can_move_to(S::Done),
        can_archive: c.status.can_move_to(S::Archived),
        can_cancel: c.status.can_move_to(S::Cancelled),
        links: {
            let mut links = ctx.home_links();
            if ctx.may_open_for(View::FollowupStart, &c.patient_id) {
                links.push(ctx.link(
                    View::FollowupStart,
                    &[("patientId", pid), ("consultationId", id)],
                    t.plan_followup,
                ));
            }
            links
        },
        facts,
    };
    let mut b = Built::ok(Body::ConsultationDetails(Box::new(model))).patient(Some(&c.patient_id));
    b.consultation_id = Some(c.consultation_id);
    Ok(b)
}

/// The patient's consultation for the answer view: the one asked for or
/// in scope (it must be within the session's reach), else the latest one
/// still awaiting answers of the patient the session reaches.
async fn pick_answerable(ctx: &Ctx<'_>) -> Result<Option<Consultation>> {
    let (app, tenant, scope) = (ctx.app, ctx.tenant, ctx.scope);
    let id = ctx
        .asked
        .consultation_id
        .as_ref()
        .or(scope.consultation_id.as_ref());
    if let Some(id) = id {
        let c = consultations::consultation(app, tenant, id).await?;
        return if ctx.readable(&c) {
            Ok(Some(c))
        } else {
            Err(Error::not_found("Consultation not found"))
        };
    }
    let Some(patient) = ctx.access.patient() else {
        return Ok(None);
    };
    let recent = lists::recent_consultations(app, tenant, patient, 25).await?;
    Ok(recent.into_iter().find(|c| c.status.awaits_patient()))
}

pub(super) async fn answer(ctx: &Ctx<'_>) -> Result<Built> {
    let t = ctx.t;
    let c = match pick_answerable(ctx).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            let b = Built::message("info", t.closed_title, t.nothing_awaiting_body, Vec::new());
            return Ok(b.patient(ctx.scope.patient_id.as_ref()));
        }
        Err(Error::NotFound(_)) => return Ok(ctx.not_found()),
        Err(e) => return Err(e),
    };
    let reason = c.reason_code.as_ref().and_then(|r| r.reason());
    let (patient_id, consultation_id) = (c.patient_id.clone(), c.consultation_id.clone());
    let mut built = match (c.status, reason) {
        // Shown, not opened: the patient's first action opens it.
        (s, Some(reason)) if s.awaits_patient() => {
            let form = Questionnaire {
                action: "consultation.answer",
                first: Some("consultation.open"),
                id_field: "consultationId",
                id: c.consultation_id.as_str(),
            };
            Built::ok(Body::Answer(questionnaire(ctx, form, reason)))
        }
        (ConsultationStatus::ToBeAnalyzed | ConsultationStatus::Done, _)
        | (ConsultationStatus::Archived, _) => {
            Built::message("success", t.thanks_title, t.thanks_body, Vec::new())
        }
        _ => Built::message("info", t.closed_title, t.closed_body, Vec::new()),
    };
    built.patient_id = Some(patient_id);
    built.consultation_id = Some(consultation_id);
    Ok(built)
}

fn number(v: Option<f64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

/// The form a questionnaire is sent with.
pub(super) struct Questionnaire<'a> {
    /// The action that records the answers.
    pub action: &'static str,
    /// The action the page sends on the patient's first interaction.
    pub first: Option<&'static str>,
    /// The hidden field naming what is answered, and its value.
    pub id_field: &'static str,
    pub id: &'a str,
}

/// The questionnaire of `reason` as a form (a consultation's or a
/// follow-up's).
pub(super) fn questionnaire(
    ctx: &Ctx<'_>,
    form: Questionnaire<'_>,
    reason: &Reason,
) -> AnswerModel {
    let locale = ctx.locale;
    let questions = reason
        .questions
        .iter()
        .map(|q| {
            let dom_id = format!("q-{}", q.id);
            QuestionField {
                name: format!("answers.{}", q.id),
                kind: match q.kind {
                    QuestionKind::Single => "single",
                    QuestionKind::Multi => "multi",
                    QuestionKind::Yesno => "yesno",
                    QuestionKind::Number => "number",
                    QuestionKind::Scale => "scale",
                    QuestionKind::Text => "text",
                },
                label: q.label.get(locale).to_owned(),
                required: q.required,
                choices: q
                    .options
                    .iter()
                    .map(|o| Choice {
                        value: o.value.clone(),
                        label: o.label.get(locale).to_owned(),
                        dom_id: format!("{dom_id}-{}", o.value),
                    })
                    .collect(),
                min: number(q.min),
                max: number(q.max),
                step: if q.kind == QuestionKind::Scale {
                    "1"
                } else {
                    "any"
                },
                maxlength: number(q.max.or(Some(1000.0))),
                dom_id,
            }
        })
        .collect();
    AnswerModel {
        action: form.action,
        first: form.first,
        id_field: form.id_field,
        id: form.id.to_owned(),
        reason_title: reason.title.get(locale).to_owned(),
        reason_description: reason.description.get(locale).to_owned(),
        questions,
    }
}

//! The follow-up views: the form that plans one (prefilled by a plan
//! launch) and its details (facts, answers, moves).

use super::consultation::{Questionnaire, questionnaire};
use super::{Built, Ctx, Pick, when};
use crate::clock::day_of;
use crate::domain::{DueDate, Followup, FollowupStatus, Frequency, View};
use crate::error::{Error, Result};
use crate::http::pages::access::Target;
use crate::http::pages::templates::{
    Body, Fact, FollowupFormModel, FollowupModel, FrequencyOption, Move,
};
use crate::http::pages::texts::Label;
use crate::services::{followups, lists};

const DAY_MS: i64 = 24 * 3600 * 1000;

pub(super) async fn form(ctx: &Ctx<'_>) -> Result<Built> {
    let (id, patient) = match ctx.needed_patient().await? {
        Ok(found) => found,
        Err(state) => return Ok(state),
    };
    let prefill = ctx
        .scope
        .followup_prefill()
        .filter(|_| ctx.view == View::FollowupPlan)
        .cloned()
        .unwrap_or_default();
    let now = ctx.app.now_ms();
    let frequency = prefill.frequency.unwrap_or(Frequency::Once);
    let frequencies = Frequency::ALL
        .into_iter()
        .map(|f| FrequencyOption {
            value: f.as_str(),
            label: f.label(ctx.locale),
            selected: f == frequency,
        })
        .collect();
    let due_date = prefill
        .due_date
        .unwrap_or_else(|| DueDate::from_date(day_of(now + 7 * DAY_MS)));
    Ok(Built::ok(Body::FollowupForm(FollowupFormModel {
        patient,
        consultation_id: ctx.asked.consultation_id.as_ref().map(|c| c.to_string()),
        reasons: ctx.reason_options(prefill.reason.as_ref()),
        no_reason_selected: prefill.reason.is_none(),
        due_date: due_date.to_string(),
        min_date: day_of(now).to_string(),
        frequencies,
        notes: prefill.notes.unwrap_or_default(),
    }))
    .patient(Some(&id)))
}

/// The follow-up of the details view ([`Pick`]).
async fn pick(ctx: &Ctx<'_>) -> Result<Option<Followup>> {
    let (app, tenant) = (ctx.app, ctx.tenant);
    let (asked, in_scope) = (&ctx.asked.followup_id, &ctx.scope.followup_id);
    match ctx.pick(asked.as_ref(), in_scope.as_ref()) {
        Pick::One(id) => followups::followup(app, tenant, id).await.map(Some),
        Pick::LatestOf(p) => lists::latest_followup(app, tenant, p).await,
        Pick::Nothing => Ok(None),
    }
}

/// Built like the consultation's details (`consultation.rs`): the facts of
/// a follow-up, its answers and the moves it may take.
pub(super) async fn details(ctx: &Ctx<'_>) -> Result<Built> {
    let t = ctx.t;
    let f = match pick(ctx).await {
        Ok(Some(f)) if ctx.readable(&f) => f,
        Ok(Some(_)) | Err(Error::NotFound(_)) => return Ok(ctx.not_found()),
        Ok(None) => {
            let text = (t.no_followup_title, t.no_followup_body);
            return Ok(ctx.none_yet(text, View::FollowupStart, t.plan_followup));
        }
        Err(e) => return Err(e),
    };
    let patient = ctx.patient(&f.patient_id).await?;
    let patient = ctx.patient_model(&f.patient_id, patient.as_ref());
    let facts = vec![
        Fact::new(t.patient, patient.name.clone()),
        Fact::new(t.date_of_birth, patient.date_of_birth.clone()),
        Fact::new(t.reason, ctx.reason_title(f.reason_code.as_ref())),
        Fact::new(t.due_date, f.due_date.to_string()),
        Fact::new(t.frequency, ctx.label(f.frequency)),
        Fact::new(t.created_at, when(f.created_at)),
        Fact::new(t.updated_at, when(f.updated_at)),
        Fact::new(
            t.done_at,
            f.done_at.map_or_else(|| t.unknown.to_owned(), when),
        ),
    ];
    use FollowupStatus as S;
    let moves = [
        (S::InProgress, t.move_in_progress),
        (S::Done, t.move_done),
        (S::Unanswered, t.move_unanswered),
        (S::Archived, t.move_archived),
        (S::Cancelled, t.move_cancelled),
    ]
    .into_iter()
    .filter(|(to, _)| f.status.can_move_to(*to))
    .map(|(to, label)| Move {
        to: to.as_str(),
        label,
    })
    .collect();
    let mut links = ctx.home_links();
    let details = View::ConsultationDetails;
    if let Some(cid) = f.consultation_id.as_ref().filter(|cid| {
        ctx.access.may_open(details)
            && ctx
                .access
                .may_read(Target::Consultation(cid, &f.patient_id))
    }) {
        let label = ctx.label(details);
        links.push(ctx.link(details, &[("consultationId", cid.as_str())], &label));
    }
    let model = FollowupModel {
        id: f.followup_id.to_string(),
        status: f.status.as_str().to_owned(),
        status_label: ctx.label(f.status),
        notes: f.notes.clone(),
        answers: ctx.answers(f.reason_code.as_ref(), &f.answers),
        moves,
        links,
        facts,
    };
    let mut b = Built::ok(Body::FollowupDetails(Box::new(model))).patient(Some(&f.patient_id));
    b.followup_id = Some(f.followup_id);
    Ok(b)
}

/// The patient's follow-up for its answer view: the one asked for or in
/// scope, within the session's reach.
async fn pick_answerable(ctx: &Ctx<'_>) -> Result<Option<Followup>> {
    let id = ctx
        .asked
        .followup_id
        .as_ref()
        .or(ctx.scope.followup_id.as_ref());
    let Some(id) = id else { return Ok(None) };
    let f = followups::followup(ctx.app, ctx.tenant, id).await?;
    if ctx.readable(&f) {
        Ok(Some(f))
    } else {
        Err(Error::not_found("Follow-up not found"))
    }
}

/// The patient's view of a follow-up: its questionnaire while it waits
/// for the patient. Showing it changes nothing; the answers move it.
pub(super) async fn answer(ctx: &Ctx<'_>) -> Result<Built> {
    let t = ctx.t;
    let f = match pick_answerable(ctx).await {
        Ok(Some(f)) => f,
        Ok(None) | Err(Error::NotFound(_)) => return Ok(ctx.not_found()),
        Err(e) => return Err(e),
    };
    let reason = f.reason_code.as_ref().and_then(|r| r.reason());
    let mut built = match (f.status.awaits_patient(), reason) {
        (true, Some(reason)) => {
            let form = Questionnaire {
                action: "followup.answer",
                first: None,
                id_field: "followupId",
                id: f.followup_id.as_str(),
            };
            Built::ok(Body::Answer(questionnaire(ctx, form, reason)))
        }
        (true, None) => Built::message("info", t.closed_title, t.followup_nothing_body, Vec::new()),
        (false, _) if !f.answers.is_empty() => {
            Built::message("success", t.thanks_title, t.thanks_body, Vec::new())
        }
        (false, _) => Built::message("info", t.closed_title, t.followup_closed_body, Vec::new()),
    };
    built.patient_id = Some(f.patient_id);
    built.followup_id = Some(f.followup_id);
    Ok(built)
}

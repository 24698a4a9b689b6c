//! Follow-ups: planning them, moving them through their state machine, and
//! archiving the ones done for two days (on the way, when they are read).
//! Saved with their event like consultations (`consultations::save_with_event`).

use super::consultations::{consultation, save_with_event};
use super::people;
use crate::app::App;
use crate::domain::{
    Answer, ConsultationId, DueDate, Followup, FollowupId, FollowupStatus, Frequency, Metadata,
    PatientId, ReasonCode, TenantKey, UserId,
};
use crate::error::{Error, Result};
use crate::events::{Event, outbox};
use crate::store::{Write, items, keys};

/// What is planned: when, how often, why, and what for.
#[derive(Debug, Clone)]
pub struct FollowupPlan {
    /// The consultation it follows, if any (the same patient's).
    pub consultation_id: Option<ConsultationId>,
    pub reason_code: Option<ReasonCode>,
    pub due_date: DueDate,
    pub frequency: Frequency,
    pub notes: Option<String>,
    pub metadata: Option<Metadata>,
}

/// A new follow-up: whose, by whom, and its plan.
#[derive(Debug, Clone)]
pub struct NewFollowup {
    pub patient_id: PatientId,
    pub created_by: UserId,
    pub plan: FollowupPlan,
}

/// The follow-up and its event, plus the writes that must go with them
/// when the caller adds its own (e.g. an idempotency record). Planned like
/// a consultation (`consultations::plan_consultation`): a new entity at
/// version 1, its event, the two writes.
pub fn plan_followup(
    app: &App,
    tenant: &TenantKey,
    new: NewFollowup,
) -> Result<(Followup, Event, Vec<Write>)> {
    let plan = new.plan;
    if plan
        .notes
        .as_ref()
        .is_some_and(|n| n.chars().count() > 1000)
    {
        return Err(Error::invalid("notes is at most 1000 characters"));
    }
    let now = app.now_ms();
    let f = Followup {
        tenant_key: tenant.clone(),
        followup_id: FollowupId::generate(),
        patient_id: new.patient_id,
        created_by: new.created_by,
        consultation_id: plan.consultation_id,
        reason_code: plan.reason_code,
        due_date: plan.due_date,
        frequency: plan.frequency,
        notes: plan.notes.filter(|n| !n.trim().is_empty()),
        status: FollowupStatus::Planned,
        answers: Vec::new(),
        metadata: plan.metadata,
        created_at: now,
        updated_at: now,
        done_at: None,
        version: 1,
    };
    let event = Event::followup(&f, None, now);
    let writes = outbox::with_event(items::put_new(items::followup_item(&f)?), &event, now)?;
    Ok((f, event, writes))
}

/// Plans a follow-up for a patient of this franchise; the consultation it
/// refers to, if any, must be that patient's.
pub async fn create_followup(
    app: &App,
    tenant: &TenantKey,
    new: NewFollowup,
) -> Result<(Followup, Event)> {
    people::patient(app, tenant, &new.patient_id).await?;
    if let Some(cid) = &new.plan.consultation_id {
        let c = consultation(app, tenant, cid).await?;
        if c.patient_id != new.patient_id {
            return Err(Error::not_found("Consultation not found for this patient"));
        }
    }
    let (f, event, writes) = plan_followup(app, tenant, new)?;
    app.store.transact(writes).await?;
    Ok((f, event))
}

async fn read(app: &App, tenant: &TenantKey, id: &FollowupId) -> Result<Followup> {
    super::get(app, &keys::followup_key(tenant, id), "Follow-up not found").await
}

/// A follow-up; one done for two days is archived on the way (with its event).
pub async fn followup(app: &App, tenant: &TenantKey, id: &FollowupId) -> Result<Followup> {
    archive_if_due(app, read(app, tenant, id).await?).await
}

/// `f`, archived (with its event) when it is due for it.
pub(crate) async fn archive_if_due(app: &App, mut f: Followup) -> Result<Followup> {
    let now = app.now_ms();
    if !f.due_for_archive(now) {
        return Ok(f);
    }
    let expected = f.version;
    let previous = f.move_to(FollowupStatus::Archived, now)?;
    let event = Event::followup(&f, Some(previous), now);
    match save(app, &f, expected, &event).await {
        Ok(()) => Ok(f),
        // Someone else archived or changed it meanwhile: read it again.
        Err(Error::Conflict(_)) => read(app, &f.tenant_key, &f.followup_id).await,
        Err(e) => Err(e),
    }
}

async fn save(app: &App, f: &Followup, expected: u64, event: &Event) -> Result<()> {
    let item = items::followup_item(f)?;
    save_with_event(app, item, Some(expected), event, "follow-up").await
}

/// Moves a follow-up (recording `answers` first, when its reason has a
/// questionnaire).
pub async fn move_followup(
    app: &App,
    tenant: &TenantKey,
    id: &FollowupId,
    to: FollowupStatus,
    answers: Option<Vec<Answer>>,
) -> Result<(Followup, Event)> {
    let mut f = followup(app, tenant, id).await?;
    if let (Some(answers), Some(reason)) = (
        &answers,
        f.reason_code.as_ref().and_then(ReasonCode::reason),
    ) {
        f.answers = reason.validate_answers(answers)?;
    }
    let expected = f.version;
    let now = app.now_ms();
    let previous = f.move_to(to, now)?;
    let event = Event::followup(&f, Some(previous), now);
    save(app, &f, expected, &event).await?;
    Ok((f, event))
}

/// The patient's answers to a follow-up's questionnaire: PLANNED or
/// UNANSWERED → IN_PROGRESS (the pharmacist reviews them and marks it
/// done). A follow-up without a questionnaire, or no longer waiting for
/// the patient, takes none (`409`).
pub async fn answer_followup(
    app: &App,
    tenant: &TenantKey,
    id: &FollowupId,
    answers: &[Answer],
) -> Result<(Followup, Event)> {
    let f = followup(app, tenant, id).await?;
    if !f.status.awaits_patient() {
        return Err(Error::conflict(format!(
            "A {} follow-up does not take answers",
            f.status.as_str()
        )));
    }
    if f.reason_code
        .as_ref()
        .and_then(ReasonCode::reason)
        .is_none()
    {
        return Err(Error::conflict("This follow-up has no questionnaire"));
    }
    move_followup(
        app,
        tenant,
        id,
        FollowupStatus::InProgress,
        Some(answers.to_vec()),
    )
    .await
}

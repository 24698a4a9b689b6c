//! Consultations: creating them, moving them through their state machine,
//! recording how the patient was told. Every change is written with its
//! event in one transaction (the outbox), conditionally on the version
//! read, so a concurrent change is a `409`, never a lost update. Lists are
//! in `lists.rs`.

use super::people;
use super::retry::conflict;
use crate::app::App;
use crate::domain::{
    Answer, Consultation, ConsultationId, ConsultationStatus, Delivery, Metadata, PatientId,
    ReasonCode, TenantKey, UserId,
};
use crate::error::{Error, Result};
use crate::events::{Event, outbox};
use crate::store::{Item, Write, items, keys};

/// Writes a new or changed entity's item with its event, in one
/// transaction. `expected`: the version the change was planned from (`None`:
/// new); a lost race is a `409` naming `what`. Follow-ups are saved the
/// same way.
pub(crate) async fn save_with_event(
    app: &App,
    item: Item,
    expected: Option<u64>,
    event: &Event,
    what: &str,
) -> Result<()> {
    let change = match expected {
        None => items::put_new(item),
        Some(v) => Write::Put {
            item,
            cond: Some(items::at_version(v)),
        },
    };
    let writes = outbox::with_event(change, event, app.now_ms())?;
    conflict(
        app.store.transact(writes).await.map_err(Into::into),
        format!("The {what} changed meanwhile; reload it and try again"),
    )
}

/// What a new consultation is made of.
#[derive(Debug, Clone)]
pub struct NewConsultation {
    pub patient_id: PatientId,
    pub created_by: UserId,
    pub reason_code: Option<ReasonCode>,
    pub metadata: Option<Metadata>,
    /// Send it to the patient at once (needs a reason): status `SENT`;
    /// otherwise `DRAFT`.
    pub send: bool,
}

const NEEDS_A_REASON: &str = "a consultation needs a reason before it is sent";

/// The consultation and its event, plus the writes that must go with them
/// when the caller adds its own (e.g. an idempotency record).
pub fn plan_consultation(
    app: &App,
    tenant: &TenantKey,
    new: NewConsultation,
) -> Result<(Consultation, Event, Vec<Write>)> {
    if new.send && new.reason_code.is_none() {
        return Err(Error::invalid(NEEDS_A_REASON));
    }
    let now = app.now_ms();
    let status = if new.send {
        ConsultationStatus::Sent
    } else {
        ConsultationStatus::Draft
    };
    let c = Consultation {
        tenant_key: tenant.clone(),
        consultation_id: ConsultationId::generate(),
        patient_id: new.patient_id,
        created_by: new.created_by,
        reason_code: new.reason_code,
        status,
        answers: Vec::new(),
        summary: None,
        metadata: new.metadata,
        delivery: None,
        created_at: now,
        updated_at: now,
        sent_at: new.send.then_some(now),
        answered_at: None,
        version: 1,
    };
    let event = Event::consultation(&c, None, now);
    let writes = outbox::with_event(items::put_new(items::consultation_item(&c)?), &event, now)?;
    Ok((c, event, writes))
}

/// Creates a consultation for a patient of this franchise.
pub async fn create_consultation(
    app: &App,
    tenant: &TenantKey,
    new: NewConsultation,
) -> Result<(Consultation, Event)> {
    people::patient(app, tenant, &new.patient_id).await?;
    let (c, event, writes) = plan_consultation(app, tenant, new)?;
    app.store.transact(writes).await?;
    Ok((c, event))
}

pub async fn consultation(
    app: &App,
    tenant: &TenantKey,
    id: &ConsultationId,
) -> Result<Consultation> {
    super::get(
        app,
        &keys::consultation_key(tenant, id),
        "Consultation not found",
    )
    .await
}

/// Reads a consultation, applies `change` (which moves it through the state
/// machine and may edit it), and saves it with its event.
async fn change_consultation(
    app: &App,
    tenant: &TenantKey,
    id: &ConsultationId,
    change: impl FnOnce(&mut Consultation, i64) -> Result<ConsultationStatus>,
) -> Result<(Consultation, Event)> {
    let mut c = consultation(app, tenant, id).await?;
    let expected = c.version;
    let now = app.now_ms();
    let previous = change(&mut c, now)?;
    let event = Event::consultation(&c, Some(previous), now);
    let item = items::consultation_item(&c)?;
    save_with_event(app, item, Some(expected), &event, "consultation").await?;
    Ok((c, event))
}

/// DRAFT → SENT, optionally choosing the reason first.
pub async fn send_consultation(
    app: &App,
    tenant: &TenantKey,
    id: &ConsultationId,
    reason_code: Option<ReasonCode>,
) -> Result<(Consultation, Event)> {
    change_consultation(app, tenant, id, |c, now| {
        if let (Some(code), ConsultationStatus::Draft) = (reason_code, c.status) {
            c.reason_code = Some(code);
        }
        if c.reason_code.is_none() {
            return Err(Error::invalid(NEEDS_A_REASON));
        }
        c.move_to(ConsultationStatus::Sent, now)
    })
    .await
}

/// The patient opened it: SENT → IN_PROGRESS. Opening it again changes
/// nothing (no event).
pub async fn open_consultation(
    app: &App,
    tenant: &TenantKey,
    id: &ConsultationId,
) -> Result<(Consultation, Option<Event>)> {
    let c = consultation(app, tenant, id).await?;
    if c.status != ConsultationStatus::Sent {
        return Ok((c, None));
    }
    let (c, event) = change_consultation(app, tenant, id, |c, now| {
        c.move_to(ConsultationStatus::InProgress, now)
    })
    .await?;
    Ok((c, Some(event)))
}

/// The patient's answers: SENT/IN_PROGRESS → TO_BE_ANALYZED.
pub async fn answer_consultation(
    app: &App,
    tenant: &TenantKey,
    id: &ConsultationId,
    answers: &[Answer],
) -> Result<(Consultation, Event)> {
    let c = consultation(app, tenant, id).await?;
    let reason = c
        .reason_code
        .as_ref()
        .and_then(ReasonCode::reason)
        .ok_or_else(|| Error::conflict("This consultation has no questionnaire"))?;
    let answers = reason.validate_answers(answers)?;
    change_consultation(app, tenant, id, move |c, now| {
        let previous = c.move_to(ConsultationStatus::ToBeAnalyzed, now)?;
        c.answers = answers;
        Ok(previous)
    })
    .await
}

/// The employee's analysis: TO_BE_ANALYZED → DONE.
pub async fn complete_consultation(
    app: &App,
    tenant: &TenantKey,
    id: &ConsultationId,
    summary: Option<String>,
) -> Result<(Consultation, Event)> {
    if summary.as_ref().is_some_and(|s| s.chars().count() > 4000) {
        return Err(Error::invalid("summary is at most 4000 characters"));
    }
    change_consultation(app, tenant, id, move |c, now| {
        let previous = c.move_to(ConsultationStatus::Done, now)?;
        c.summary = summary.filter(|s| !s.trim().is_empty());
        Ok(previous)
    })
    .await
}

pub async fn move_consultation(
    app: &App,
    tenant: &TenantKey,
    id: &ConsultationId,
    to: ConsultationStatus,
) -> Result<(Consultation, Event)> {
    change_consultation(app, tenant, id, |c, now| c.move_to(to, now)).await
}

/// Records how the patient was told (no change of status, no event).
pub async fn record_delivery(
    app: &App,
    tenant: &TenantKey,
    id: &ConsultationId,
    delivery: Delivery,
) -> Result<Consultation> {
    let c = consultation(app, tenant, id).await?;
    record_delivery_at(app, &c, delivery).await
}

/// Records a delivery on `c` as read (version-checked: `409` when it changed).
pub async fn record_delivery_at(
    app: &App,
    c: &Consultation,
    delivery: Delivery,
) -> Result<Consultation> {
    let mut c = c.clone();
    let expected = c.version;
    c.delivery = Some(delivery);
    c.version += 1;
    c.updated_at = app.now_ms();
    let key = keys::consultation_key(&c.tenant_key, &c.consultation_id);
    let write = items::update_of(key, &c, &["delivery"], expected)?;
    conflict(
        app.store.write(write).await.map_err(Into::into),
        "The consultation changed meanwhile",
    )?;
    Ok(c)
}

//! Creating a consultation or a follow-up *with its patient inline* (and
//! its acting user, and an optional idempotency record): the creating
//! calls of the resource API.
//!
//! A creation keeps the budget of a vendor call, two round trips whatever
//! the request: one `BatchGetItem` reads the idempotency record, the user
//! and the key owner, the patient-key index items (and the consultation a
//! follow-up refers to; and the franchise, when not cached); one `TransactWriteItems` writes the idempotency
//! record, the user and patient changes, the entity and its outbox event —
//! all of them, or none. When a condition of that transaction fails (a
//! concurrent duplicate completed the same key first, or created the same
//! patient), the whole call is planned again from a fresh read, which then
//! sees the winner's record or patient.

use super::auth::KeyAuth;
use super::consultations::{NewConsultation, plan_consultation};
use super::followups::{FollowupPlan, NewFollowup, plan_followup};
use super::idempotency::{Idempotency, NextAction, StoredResponse};
use super::people::{self, Read, ReadSet};
use super::retry::retry_lost_races;
use crate::app::App;
use crate::domain::{
    Consultation, Followup, IntegrationUser, Metadata, PatientId, PatientInput, ReasonCode, UserId,
};
use crate::error::{Error, Result};
use crate::store::{Key, Write, keys};

/// What every creation names: the patient (upserted by key), the acting
/// user (`None`: the key's owner), and the request's idempotency, if any.
#[derive(Debug, Clone)]
pub struct Creation {
    pub patient: PatientInput,
    pub user: Option<IntegrationUser>,
    pub idempotency: Option<Idempotency>,
}

/// The answer of a creation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Created now; this response is also what a retry will replay.
    Created(StoredResponse),
    /// A retry of a completed request: its stored response, nothing written.
    Replayed(StoredResponse),
}

/// The consultation fields of a creation (`send`: status `SENT`, which needs
/// a reason; `DRAFT` otherwise).
#[derive(Debug, Clone)]
pub struct ConsultationFields {
    pub reason_code: Option<ReasonCode>,
    pub metadata: Option<Metadata>,
    pub send: bool,
}

/// Creates a consultation for the upserted patient. `respond` renders the
/// response (stored with the idempotency record, so it must be final).
pub async fn create_consultation(
    app: &App,
    auth: &KeyAuth,
    c: &Creation,
    fields: &ConsultationFields,
    respond: impl Fn(&Consultation) -> Result<StoredResponse>,
) -> Result<Outcome> {
    create(app, auth, c, None, |p| {
        let new = NewConsultation {
            patient_id: p.patient_id.clone(),
            created_by: p.created_by.clone(),
            reason_code: fields.reason_code.clone(),
            metadata: fields.metadata.clone(),
            send: fields.send,
        };
        let (consultation, _, writes) = plan_consultation(app, auth.tenant(), new)?;
        Ok((writes, respond(&consultation)?))
    })
    .await
}

/// Creates a follow-up for the upserted patient; the consultation it refers
/// to, if any, must be that patient's (read in the same batch).
pub async fn create_followup(
    app: &App,
    auth: &KeyAuth,
    c: &Creation,
    plan: &FollowupPlan,
    respond: impl Fn(&Followup) -> Result<StoredResponse>,
) -> Result<Outcome> {
    let tenant = auth.tenant();
    let consultation_key = plan
        .consultation_id
        .as_ref()
        .map(|id| keys::consultation_key(tenant, id));
    create(app, auth, c, consultation_key.clone(), |p| {
        if let Some(key) = &consultation_key
            && p.read.owner_of(key)?.as_ref() != Some(&p.patient_id)
        {
            return Err(Error::not_found("Consultation not found for this patient"));
        }
        let new = NewFollowup {
            patient_id: p.patient_id.clone(),
            created_by: p.created_by.clone(),
            plan: plan.clone(),
        };
        let (followup, _, writes) = plan_followup(app, tenant, new)?;
        Ok((writes, respond(&followup)?))
    })
    .await
}

/// What a creation's plan knows after round trip 1.
struct Planned<'a> {
    patient_id: PatientId,
    created_by: UserId,
    read: &'a Read,
}

async fn create(
    app: &App,
    auth: &KeyAuth,
    c: &Creation,
    extra_read: Option<Key>,
    plan: impl Fn(&Planned) -> Result<(Vec<Write>, StoredResponse)>,
) -> Result<Outcome> {
    // The idempotency record is write 0: when it failed, a duplicate
    // completed; the next read replays it at once, without a pause.
    let pause = |failed: &[usize]| !(c.idempotency.is_some() && failed.contains(&0));
    retry_lost_races(
        "The request conflicted with concurrent changes to the same user or patient; retry it",
        pause,
        || try_create(app, auth, c, extra_read.clone(), &plan),
    )
    .await
}

async fn try_create(
    app: &App,
    auth: &KeyAuth,
    c: &Creation,
    extra_read: Option<Key>,
    plan: &impl Fn(&Planned) -> Result<(Vec<Write>, StoredResponse)>,
) -> Result<Outcome> {
    let tenant = auth.tenant();
    let now = app.now_ms();

    // Round trip 1: everything the call reads, in one batch.
    let read = ReadSet::for_key(auth, c.user.as_ref())
        .patient_keys(
            tenant,
            &app.patient_keys,
            c.patient.keys.iter().map(|k| k.key.as_str()),
        )
        .with(extra_read)
        .with(c.idempotency.as_ref().map(|i| i.key().clone()))
        .read(app)
        .await?;
    let caller = &read.caller(app).await?;

    if let Some(idem) = &c.idempotency
        && let NextAction::Replay(response) = idem.next_action(&read.items, now)?
    {
        return Ok(Outcome::Replayed(response));
    }

    let mut writes = Vec::new();
    let user = people::user_writes(caller, c.user.as_ref(), &read, now, &mut writes)?;
    let patient_id = people::patient_writes(
        tenant,
        &app.patient_keys,
        &c.patient,
        &read,
        now,
        &mut writes,
    )?;
    let (entity_writes, response) = plan(&Planned {
        patient_id,
        created_by: user.user_id,
        read: &read,
    })?;
    writes.extend(entity_writes);
    if let Some(idem) = &c.idempotency {
        writes.insert(0, idem.record_write(&response, now));
    }

    // Round trip 2: all of it, or nothing.
    app.store.transact(writes).await?;
    Ok(Outcome::Created(response))
}

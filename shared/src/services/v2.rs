//! The operations of the v2 resource API that the consultation service does
//! not already offer: creating a consultation or a follow-up *with its
//! patient inline* (and its user, and an optional idempotency record), and
//! listing by a patient key with a checked cursor.
//!
//! A creation keeps the budget of DESIGN.md, two round trips whatever the
//! request: one `BatchGetItem` reads the idempotency record, the user and
//! the key owner, the patient-key index items (and the consultation a
//! follow-up refers to); one `TransactWriteItems` writes the idempotency
//! record, the user and patient changes, the entity and its outbox event —
//! all of them, or none. When a condition of that transaction fails (a
//! concurrent duplicate completed the same key first, or created the same
//! patient), the whole call is planned again from a fresh read, which then
//! sees the winner's record or patient.

use std::collections::BTreeSet;

use serde_json::Value;

use super::auth::Caller;
use super::consultations::{self, ListFilter, Listing, NewConsultation, NewFollowup};
use super::idempotency::{Idempotency, NextAction, StoredResponse};
use crate::app::App;
use crate::domain::TenantKey;
use crate::domain::consultation::{Consultation, Followup};
use crate::domain::patient::PatientInput;
use crate::domain::user::IntegrationUser;
use crate::error::{Error, Result};
use crate::repo;
use crate::services::launch::{patient_writes, user_writes};
use crate::store::{Cursor, Item, Key, StoreError, Write};

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
    pub reason_code: Option<String>,
    pub metadata: Option<Value>,
    pub send: bool,
}

/// The follow-up fields of a creation.
#[derive(Debug, Clone)]
pub struct FollowupFields {
    pub consultation_id: Option<String>,
    pub reason_code: Option<String>,
    pub due_date: String,
    pub frequency: String,
    pub notes: Option<String>,
    pub metadata: Option<Value>,
}

/// Creates a consultation for the upserted patient. `respond` renders the
/// response (stored with the idempotency record, so it must be final).
pub async fn create_consultation(
    app: &App,
    caller: &Caller,
    c: &Creation,
    fields: &ConsultationFields,
    respond: impl Fn(&Consultation) -> Result<StoredResponse>,
) -> Result<Outcome> {
    let tenant = &caller.franchise.tenant_key;
    create(app, caller, c, &[], |p| {
        let new = NewConsultation {
            patient_id: p.patient_id.to_owned(),
            created_by: p.created_by.to_owned(),
            reason_code: fields.reason_code.clone(),
            metadata: fields.metadata.clone(),
            send: fields.send,
        };
        let (consultation, _, writes) = consultations::plan_consultation(app, tenant, new)?;
        Ok((writes, respond(&consultation)?))
    })
    .await
}

/// Creates a follow-up for the upserted patient; the consultation it refers
/// to, if any, must be that patient's (read in the same batch).
pub async fn create_followup(
    app: &App,
    caller: &Caller,
    c: &Creation,
    fields: &FollowupFields,
    respond: impl Fn(&Followup) -> Result<StoredResponse>,
) -> Result<Outcome> {
    let tenant = &caller.franchise.tenant_key;
    let consultation_key = fields
        .consultation_id
        .as_deref()
        .map(|id| repo::consultation_key(tenant, id));
    let extra: Vec<Key> = consultation_key.iter().cloned().collect();
    create(app, caller, c, &extra, |p| {
        if let Some(key) = &consultation_key {
            let owner = p
                .items
                .iter()
                .find(|i| i.key == *key)
                .and_then(|i| i.get_str("patientId"));
            if owner != Some(p.patient_id) {
                return Err(Error::not_found("Consultation not found for this patient"));
            }
        }
        let new = NewFollowup {
            patient_id: p.patient_id.to_owned(),
            created_by: p.created_by.to_owned(),
            consultation_id: fields.consultation_id.clone(),
            reason_code: fields.reason_code.clone(),
            due_date: fields.due_date.clone(),
            frequency: fields.frequency.clone(),
            notes: fields.notes.clone(),
            metadata: fields.metadata.clone(),
        };
        let (followup, _, writes) = consultations::plan_followup(app, tenant, new)?;
        Ok((writes, respond(&followup)?))
    })
    .await
}

/// What a creation's plan knows after round trip 1.
struct Planned<'a> {
    patient_id: &'a str,
    created_by: &'a str,
    items: &'a [Item],
}

/// Attempts of a creation whose transaction lost a race.
const ATTEMPTS: u32 = 5;

async fn create(
    app: &App,
    caller: &Caller,
    c: &Creation,
    extra_reads: &[Key],
    plan: impl Fn(&Planned) -> Result<(Vec<Write>, StoredResponse)>,
) -> Result<Outcome> {
    for attempt in 1..=ATTEMPTS {
        match try_create(app, caller, c, extra_reads, &plan).await {
            Err(Error::Store(StoreError::TransactionCancelled { failed }))
                if attempt < ATTEMPTS =>
            {
                // The idempotency record is write 0: when it failed, a
                // duplicate completed; the next read replays it at once.
                if !(c.idempotency.is_some() && failed.contains(&0)) {
                    backoff(attempt).await;
                }
            }
            Err(Error::Store(e)) if e.is_condition_failure() => {
                return Err(Error::conflict(
                    "The request conflicted with concurrent changes to the same user or patient; retry it",
                ));
            }
            other => return other,
        }
    }
    Err(Error::internal("creation attempts exhausted"))
}

/// A short, jittered pause, so that racing calls do not collide again.
async fn backoff(attempt: u32) {
    let mut b = [0u8; 1];
    let jitter = getrandom::fill(&mut b).map_or(0, |()| u64::from(b[0] % 8));
    tokio::time::sleep(std::time::Duration::from_millis(
        u64::from(attempt) * 2 + jitter,
    ))
    .await;
}

async fn try_create(
    app: &App,
    caller: &Caller,
    c: &Creation,
    extra_reads: &[Key],
    plan: &impl Fn(&Planned) -> Result<(Vec<Write>, StoredResponse)>,
) -> Result<Outcome> {
    let account = caller.key.account_id.as_str();
    let tenant = &caller.franchise.tenant_key;
    let owner_id = &caller.key.owner_user_id;
    let user_id = c.user.as_ref().map_or(owner_id, |u| &u.user_id);
    let now = app.now_ms();

    // Round trip 1: everything the call reads, in one batch.
    let user_key = repo::user_key(account, user_id.as_str());
    let owner_key = repo::user_key(account, owner_id.as_str());
    let mut keys = BTreeSet::from([user_key.clone(), owner_key.clone()]);
    keys.extend(
        c.patient
            .keys
            .iter()
            .map(|k| repo::patient_key_index(tenant, &k.key)),
    );
    keys.extend(extra_reads.iter().cloned());
    keys.extend(c.idempotency.as_ref().map(|i| i.key().clone()));
    let keys: Vec<Key> = keys.into_iter().collect();
    let items = app.store.batch_get(&keys).await?;

    if let Some(idem) = &c.idempotency
        && let NextAction::Replay(response) = idem.next_action(&items, now)?
    {
        return Ok(Outcome::Replayed(response));
    }

    let mut writes = Vec::new();
    let user = user_writes(
        caller,
        c.user.as_ref(),
        &items,
        &user_key,
        &owner_key,
        now,
        &mut writes,
    )?;
    let patient_id = patient_writes(tenant, &c.patient, &items, now, &mut writes)?;
    let (entity_writes, response) = plan(&Planned {
        patient_id: &patient_id,
        created_by: user.user_id.as_str(),
        items: &items,
    })?;
    writes.extend(entity_writes);
    if let Some(idem) = &c.idempotency {
        writes.insert(0, idem.record_write(&response, now));
    }

    // Round trip 2: all of it, or nothing.
    app.store.transact(writes).await?;
    Ok(Outcome::Created(response))
}

// ---- lists -----------------------------------------------------------------

/// Whose items a list shows.
#[derive(Debug, Clone, PartialEq)]
pub enum PatientFilter {
    All,
    ById(String),
    /// A key value, in one sub-system or any.
    ByKey {
        key: String,
        sub_system: Option<String>,
    },
}

/// A list request, as the vendor asks for it.
#[derive(Debug, Clone)]
pub struct ListRequest {
    pub patient: PatientFilter,
    /// A status's name, already checked by the caller.
    pub status: Option<String>,
    pub limit: usize,
    pub after: Option<Cursor>,
}

/// Which list: consultations (`C`) or follow-ups (`F`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Consultations,
    Followups,
}

impl Kind {
    fn letter(self) -> &'static str {
        match self {
            Kind::Consultations => "C",
            Kind::Followups => "F",
        }
    }
    fn item_sk(self) -> &'static str {
        match self {
            Kind::Consultations => "CONSULTATION",
            Kind::Followups => "FOLLOWUP",
        }
    }
}

pub async fn list_consultations(
    app: &App,
    tenant: &TenantKey,
    req: &ListRequest,
) -> Result<Listing<Consultation>> {
    let filter = list_filter(app, tenant, Kind::Consultations, req).await?;
    consultations::list_consultations(app, tenant, &filter).await
}

pub async fn list_followups(
    app: &App,
    tenant: &TenantKey,
    req: &ListRequest,
) -> Result<Listing<Followup>> {
    let filter = list_filter(app, tenant, Kind::Followups, req).await?;
    consultations::list_followups(app, tenant, &filter).await
}

/// Resolves the patient (a key costs one read of its index item) and checks
/// that the cursor continues *this* list: same franchise, same index
/// partition, an item of the right kind. A cursor of another list (or
/// another franchise) is a `400`, never a page of something else.
async fn list_filter(
    app: &App,
    tenant: &TenantKey,
    kind: Kind,
    req: &ListRequest,
) -> Result<ListFilter> {
    let patient_id = match &req.patient {
        PatientFilter::All => None,
        PatientFilter::ById(id) => Some(id.clone()),
        PatientFilter::ByKey { key, sub_system } => {
            let item = app.store.get(&repo::patient_key_index(tenant, key)).await?;
            match repo::patients_with_key_value(item.as_ref(), sub_system.as_deref()).as_slice() {
                [] => return Err(Error::not_found("No patient has this patientKey")),
                [one] => Some(one.clone()),
                _ => {
                    return Err(Error::conflict(
                        "Several patients have this patientKey; add subSystem to choose one",
                    ));
                }
            }
        }
    };
    let filter = ListFilter {
        patient_id,
        status: req.status.clone(),
        limit: req.limit,
        after: req.after.clone(),
    };
    if let Some(cursor) = &filter.after {
        check_cursor(tenant, kind, &filter, cursor)?;
    }
    Ok(filter)
}

/// The index partition `consultations::list_query` walks for this filter.
fn index_partition(tenant: &TenantKey, kind: Kind, f: &ListFilter) -> String {
    let letter = kind.letter();
    match (&f.patient_id, &f.status) {
        (Some(p), _) => format!("T#{tenant}#P#{p}"),
        (None, Some(s)) => format!("T#{tenant}#{letter}#{s}"),
        (None, None) => format!("T#{tenant}#{letter}"),
    }
}

fn check_cursor(tenant: &TenantKey, kind: Kind, f: &ListFilter, c: &Cursor) -> Result<()> {
    let item_prefix = format!("T#{tenant}#{}#", kind.item_sk());
    let sort_prefix = if f.patient_id.is_some() {
        format!("{}#", kind.letter())
    } else {
        String::new()
    };
    let ok = c.pk.starts_with(&item_prefix)
        && c.pk.len() > item_prefix.len()
        && c.sk == kind.item_sk()
        && c.ipk.as_deref() == Some(index_partition(tenant, kind, f).as_str())
        && c.isk
            .as_deref()
            .is_some_and(|s| s.len() > sort_prefix.len() && s.starts_with(&sort_prefix));
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(
            "cursor is invalid: pass the nextCursor of the same list unchanged",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_continues_only_its_own_list() {
        let t = TenantKey::parse("demo").unwrap();
        let f = ListFilter {
            patient_id: Some("p1".into()),
            status: None,
            limit: 3,
            after: None,
        };
        let good = Cursor {
            pk: "T#demo#CONSULTATION#c1".into(),
            sk: "CONSULTATION".into(),
            ipk: Some("T#demo#P#p1".into()),
            isk: Some("C#0001767225600000#c1".into()),
        };
        assert!(check_cursor(&t, Kind::Consultations, &f, &good).is_ok());
        let other_tenant = Cursor {
            pk: "T#other#CONSULTATION#c1".into(),
            ipk: Some("T#other#P#p1".into()),
            ..good.clone()
        };
        let other_patient = Cursor {
            ipk: Some("T#demo#P#p2".into()),
            ..good.clone()
        };
        let followup = Cursor {
            isk: Some("F#0001767225600000#c1".into()),
            ..good.clone()
        };
        let no_index = Cursor {
            ipk: None,
            isk: None,
            ..good.clone()
        };
        for bad in [other_tenant, other_patient, followup, no_index] {
            assert_eq!(
                check_cursor(&t, Kind::Consultations, &f, &bad)
                    .unwrap_err()
                    .status(),
                400,
                "{bad:?}"
            );
        }
        assert!(check_cursor(&t, Kind::Followups, &f, &good).is_err());
    }
}

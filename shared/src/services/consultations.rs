//! Consultations and follow-ups: creating them, moving them through their
//! state machines, listing them. Every change is written with its event in
//! one transaction (the outbox), conditionally on the version read, so a
//! concurrent change is a `409`, never a lost update.
//!
//! Index keys (see `docs/data-model.md`):
//! - gsi1 `T#{tenant}#C` (or `#F`) / `{createdAt}#{id}`: a franchise's, newest first;
//! - gsi2 `T#{tenant}#C#{status}` (or `#F#…`) / `{createdAt}#{id}`: by status;
//! - gsi3 `T#{tenant}#P#{patientId}` / `C#{createdAt}#{id}` (or `F#…`): a patient's.

use serde_json::{Map, Value};

use crate::app::App;
use crate::domain::consultation::{
    Answer, Consultation, ConsultationStatus, Delivery, Followup, FollowupStatus,
};
use crate::domain::reasons;
use crate::domain::{Patient, TenantKey};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::repo;
use crate::store::table::{GSI1, GSI2, GSI3};
use crate::store::{Cond, Cursor, Index, Query, SortCond, Write};

pub const MAX_METADATA_BYTES: usize = 4096;

fn stamp(created_at: i64, id: &str) -> String {
    format!("{created_at:013}#{id}")
}

fn consultation_item(c: &Consultation) -> Result<crate::store::Item> {
    let mut item = repo::item_of(
        repo::consultation_key(&c.tenant_key, &c.consultation_id),
        c,
        "consultation",
    )?;
    let t = &c.tenant_key;
    let at = stamp(c.created_at, &c.consultation_id);
    let a = &mut item.attrs;
    a.insert(GSI1.pk.into(), format!("T#{t}#C").into());
    a.insert(GSI1.sk.into(), at.clone().into());
    a.insert(
        GSI2.pk.into(),
        format!("T#{t}#C#{}", c.status.as_str()).into(),
    );
    a.insert(GSI2.sk.into(), at.clone().into());
    a.insert(GSI3.pk.into(), format!("T#{t}#P#{}", c.patient_id).into());
    a.insert(GSI3.sk.into(), format!("C#{at}").into());
    Ok(item)
}

fn followup_item(f: &Followup) -> Result<crate::store::Item> {
    let mut item = repo::item_of(
        repo::followup_key(&f.tenant_key, &f.followup_id),
        f,
        "followup",
    )?;
    let t = &f.tenant_key;
    let at = stamp(f.created_at, &f.followup_id);
    let a = &mut item.attrs;
    a.insert(GSI1.pk.into(), format!("T#{t}#F").into());
    a.insert(GSI1.sk.into(), at.clone().into());
    a.insert(
        GSI2.pk.into(),
        format!("T#{t}#F#{}", f.status.as_str()).into(),
    );
    a.insert(GSI2.sk.into(), at.clone().into());
    a.insert(GSI3.pk.into(), format!("T#{t}#P#{}", f.patient_id).into());
    a.insert(GSI3.sk.into(), format!("F#{at}").into());
    Ok(item)
}

/// Checks a vendor's `metadata`: a JSON object of at most 4 KB.
pub fn check_metadata(v: Option<&Value>) -> Result<Option<Value>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m))
            if Value::Object(m.clone()).to_string().len() <= MAX_METADATA_BYTES =>
        {
            Ok(Some(Value::Object(m.clone())))
        }
        Some(Value::Object(_)) => Err(Error::bad_request("metadata must be at most 4 KB of JSON")),
        Some(_) => Err(Error::bad_request("metadata must be a JSON object")),
    }
}

/// Writes a new or changed entity's item with its event, in one
/// transaction. `expected`: the version the change was planned from (`None`:
/// new); a lost race is a `409` naming `what`.
async fn save_with_event(
    app: &App,
    item: crate::store::Item,
    expected: Option<u64>,
    event: &Event,
    what: &str,
) -> Result<()> {
    let now = app.now_ms();
    let cond = match expected {
        None => Cond::NotExists,
        Some(v) => Cond::And(vec![Cond::Exists, Cond::version_is(v)]),
    };
    let writes = vec![
        Write::Put {
            item,
            cond: Some(cond),
        },
        event.outbox_write(now)?,
    ];
    app.store.transact(writes).await.map_err(|e| {
        if e.is_condition_failure() {
            Error::conflict(format!(
                "The {what} changed meanwhile; reload it and try again"
            ))
        } else {
            e.into()
        }
    })
}

async fn save_consultation(
    app: &App,
    c: &Consultation,
    expected: Option<u64>,
    event: &Event,
) -> Result<()> {
    save_with_event(app, consultation_item(c)?, expected, event, "consultation").await
}

async fn save_followup(
    app: &App,
    f: &Followup,
    expected: Option<u64>,
    event: &Event,
) -> Result<()> {
    save_with_event(app, followup_item(f)?, expected, event, "follow-up").await
}

/// What a new consultation is made of.
#[derive(Debug, Clone)]
pub struct NewConsultation {
    pub patient_id: String,
    pub created_by: String,
    pub reason_code: Option<String>,
    pub metadata: Option<Value>,
    /// Send it to the patient at once (needs a reason): status `SENT`;
    /// otherwise `DRAFT`.
    pub send: bool,
}

/// The consultation and its event, plus the writes that must go with them
/// when the caller adds its own (e.g. an idempotency record).
pub fn plan_consultation(
    app: &App,
    tenant: &TenantKey,
    new: NewConsultation,
) -> Result<(Consultation, Event, Vec<Write>)> {
    if let Some(code) = &new.reason_code {
        reasons::known_reason(code, "reason")?;
    }
    if new.send && new.reason_code.is_none() {
        return Err(Error::bad_request(
            "a consultation needs a reason before it is sent",
        ));
    }
    let now = app.now_ms();
    let status = if new.send {
        ConsultationStatus::Sent
    } else {
        ConsultationStatus::Draft
    };
    let c = Consultation {
        tenant_key: tenant.clone(),
        consultation_id: uuid::Uuid::new_v4().to_string(),
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
    let writes = vec![
        Write::Put {
            item: consultation_item(&c)?,
            cond: Some(Cond::NotExists),
        },
        event.outbox_write(now)?,
    ];
    Ok((c, event, writes))
}

/// Creates a consultation for a patient of this franchise.
pub async fn create_consultation(
    app: &App,
    tenant: &TenantKey,
    new: NewConsultation,
) -> Result<(Consultation, Event)> {
    patient(app, tenant, &new.patient_id).await?;
    let (c, event, writes) = plan_consultation(app, tenant, new)?;
    app.store.transact(writes).await?;
    Ok((c, event))
}

pub async fn patient(app: &App, tenant: &TenantKey, patient_id: &str) -> Result<Patient> {
    let item = app
        .store
        .get(&repo::patient_key(tenant, patient_id))
        .await?
        .ok_or_else(|| Error::not_found("Patient not found"))?;
    repo::entity_of(&item)
}

pub async fn consultation(app: &App, tenant: &TenantKey, id: &str) -> Result<Consultation> {
    let item = app
        .store
        .get(&repo::consultation_key(tenant, id))
        .await?
        .ok_or_else(|| Error::not_found("Consultation not found"))?;
    repo::entity_of(&item)
}

/// Reads a consultation, applies `change` (which moves it through the state
/// machine and may edit it), and saves it with its event.
async fn change_consultation(
    app: &App,
    tenant: &TenantKey,
    id: &str,
    change: impl FnOnce(&mut Consultation, i64) -> Result<ConsultationStatus>,
) -> Result<(Consultation, Event)> {
    let mut c = consultation(app, tenant, id).await?;
    let expected = c.version;
    let now = app.now_ms();
    let previous = change(&mut c, now)?;
    let event = Event::consultation(&c, Some(previous), now);
    save_consultation(app, &c, Some(expected), &event).await?;
    Ok((c, event))
}

/// DRAFT → SENT, optionally choosing the reason first.
pub async fn send_consultation(
    app: &App,
    tenant: &TenantKey,
    id: &str,
    reason_code: Option<&str>,
) -> Result<(Consultation, Event)> {
    if let Some(code) = reason_code {
        reasons::known_reason(code, "reason")?;
    }
    change_consultation(app, tenant, id, |c, now| {
        if let (Some(code), ConsultationStatus::Draft) = (reason_code, c.status) {
            c.reason_code = Some(code.to_owned());
        }
        if c.reason_code.is_none() {
            return Err(Error::bad_request(
                "a consultation needs a reason before it is sent",
            ));
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
    id: &str,
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
    id: &str,
    answers: &[Answer],
) -> Result<(Consultation, Event)> {
    let c = consultation(app, tenant, id).await?;
    let reason = c
        .reason_code
        .as_deref()
        .and_then(reasons::reason)
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
    id: &str,
    summary: Option<String>,
) -> Result<(Consultation, Event)> {
    if summary.as_ref().is_some_and(|s| s.chars().count() > 4000) {
        return Err(Error::bad_request("summary is at most 4000 characters"));
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
    id: &str,
    to: ConsultationStatus,
) -> Result<(Consultation, Event)> {
    change_consultation(app, tenant, id, |c, now| c.move_to(to, now)).await
}

/// Records how the patient was told (no change of status, no event).
pub async fn record_delivery(
    app: &App,
    tenant: &TenantKey,
    id: &str,
    delivery: Delivery,
) -> Result<Consultation> {
    let c = consultation(app, tenant, id).await?;
    record_delivery_at(app, tenant, &c, delivery).await
}

/// Records a delivery on `c` as read (version-checked: `409` when it changed).
pub async fn record_delivery_at(
    app: &App,
    tenant: &TenantKey,
    c: &Consultation,
    delivery: Delivery,
) -> Result<Consultation> {
    let mut c = c.clone();
    let id = c.consultation_id.clone();
    let id = id.as_str();
    let expected = c.version;
    c.delivery = Some(delivery.clone());
    c.version += 1;
    c.updated_at = app.now_ms();
    let mut set = Map::new();
    set.insert(
        "delivery".into(),
        serde_json::to_value(&delivery).map_err(|e| Error::internal(e.to_string()))?,
    );
    set.insert("version".into(), Value::from(c.version));
    set.insert("updatedAt".into(), Value::from(c.updated_at));
    app.store
        .write(Write::Update {
            key: repo::consultation_key(tenant, id),
            set,
            remove: vec![],
            cond: Some(Cond::And(vec![Cond::Exists, Cond::version_is(expected)])),
        })
        .await
        .map_err(|e| {
            if e.is_condition_failure() {
                Error::conflict("The consultation changed meanwhile")
            } else {
                e.into()
            }
        })?;
    Ok(c)
}

/// A page of a list, and where the next one starts (opaque).
#[derive(Debug, Clone)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub patient_id: Option<String>,
    /// A status's name (`SENT`, `PLANNED`…), already checked by the caller.
    pub status: Option<String>,
    pub limit: usize,
    pub after: Option<Cursor>,
}

fn list_query(tenant: &TenantKey, letter: &str, f: &ListFilter) -> Query {
    let (index, pk, sort) = match (&f.patient_id, &f.status) {
        (Some(p), _) => (
            Index::Gsi3,
            format!("T#{tenant}#P#{p}"),
            SortCond::BeginsWith(format!("{letter}#")),
        ),
        (None, Some(s)) => (
            Index::Gsi2,
            format!("T#{tenant}#{letter}#{s}"),
            SortCond::All,
        ),
        (None, None) => (Index::Gsi1, format!("T#{tenant}#{letter}"), SortCond::All),
    };
    Query {
        index,
        pk,
        sort,
        forward: false,
        limit: f.limit.clamp(1, 100),
        start_after: f.after.clone(),
    }
}

/// Newest first. With a patient and a status, the status is applied to the
/// patient's page (a patient has few consultations).
pub async fn list_consultations(
    app: &App,
    tenant: &TenantKey,
    f: &ListFilter,
) -> Result<Listing<Consultation>> {
    let page = app.store.query(&list_query(tenant, "C", f)).await?;
    let mut items: Vec<Consultation> = page
        .items
        .iter()
        .map(repo::entity_of)
        .collect::<Result<_>>()?;
    if let (Some(_), Some(s)) = (&f.patient_id, &f.status) {
        items.retain(|c| c.status.as_str() == s);
    }
    Ok(Listing {
        items,
        next: page.next,
    })
}

/// The patient's most recent consultation, if any.
pub async fn latest_consultation(
    app: &App,
    tenant: &TenantKey,
    patient_id: &str,
) -> Result<Option<Consultation>> {
    let f = ListFilter {
        patient_id: Some(patient_id.to_owned()),
        limit: 1,
        ..ListFilter::default()
    };
    Ok(list_consultations(app, tenant, &f)
        .await?
        .items
        .into_iter()
        .next())
}

// ---- follow-ups -----------------------------------------------------------

#[derive(Debug, Clone)]
pub struct NewFollowup {
    pub patient_id: String,
    pub created_by: String,
    pub consultation_id: Option<String>,
    pub reason_code: Option<String>,
    pub due_date: String,
    pub frequency: String,
    pub notes: Option<String>,
    pub metadata: Option<Value>,
}

pub fn plan_followup(
    app: &App,
    tenant: &TenantKey,
    new: NewFollowup,
) -> Result<(Followup, Event, Vec<Write>)> {
    if let Some(code) = &new.reason_code {
        reasons::known_reason(code, "reason")?;
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(&new.due_date, &fmt)
        .map_err(|_| Error::bad_request("dueDate must be a date written YYYY-MM-DD"))?;
    if !["once", "daily", "weekly", "monthly"].contains(&new.frequency.as_str()) {
        return Err(Error::bad_request(
            "frequency must be once, daily, weekly or monthly",
        ));
    }
    if new.notes.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(Error::bad_request("notes is at most 1000 characters"));
    }
    let now = app.now_ms();
    let f = Followup {
        tenant_key: tenant.clone(),
        followup_id: uuid::Uuid::new_v4().to_string(),
        patient_id: new.patient_id,
        created_by: new.created_by,
        consultation_id: new.consultation_id,
        reason_code: new.reason_code,
        due_date: new.due_date,
        frequency: new.frequency,
        notes: new.notes.filter(|n| !n.trim().is_empty()),
        status: FollowupStatus::Planned,
        answers: Vec::new(),
        metadata: new.metadata,
        created_at: now,
        updated_at: now,
        done_at: None,
        version: 1,
    };
    let event = Event::followup(&f, None, now);
    let writes = vec![
        Write::Put {
            item: followup_item(&f)?,
            cond: Some(Cond::NotExists),
        },
        event.outbox_write(now)?,
    ];
    Ok((f, event, writes))
}

pub async fn create_followup(
    app: &App,
    tenant: &TenantKey,
    new: NewFollowup,
) -> Result<(Followup, Event)> {
    patient(app, tenant, &new.patient_id).await?;
    if let Some(cid) = &new.consultation_id {
        let c = consultation(app, tenant, cid).await?;
        if c.patient_id != new.patient_id {
            return Err(Error::not_found("Consultation not found for this patient"));
        }
    }
    let (f, event, writes) = plan_followup(app, tenant, new)?;
    app.store.transact(writes).await?;
    Ok((f, event))
}

/// A follow-up; one done for two days is archived on the way (with its event).
pub async fn followup(app: &App, tenant: &TenantKey, id: &str) -> Result<Followup> {
    let item = app
        .store
        .get(&repo::followup_key(tenant, id))
        .await?
        .ok_or_else(|| Error::not_found("Follow-up not found"))?;
    let f: Followup = repo::entity_of(&item)?;
    archive_if_due(app, f).await
}

async fn archive_if_due(app: &App, mut f: Followup) -> Result<Followup> {
    let now = app.now_ms();
    if !f.due_for_archive(now) {
        return Ok(f);
    }
    let expected = f.version;
    let previous = f.move_to(FollowupStatus::Archived, now)?;
    let event = Event::followup(&f, Some(previous), now);
    match save_followup(app, &f, Some(expected), &event).await {
        Ok(()) => Ok(f),
        // Someone else archived or changed it meanwhile: read it again.
        Err(Error::Conflict(_)) => {
            let item = app
                .store
                .get(&repo::followup_key(&f.tenant_key, &f.followup_id))
                .await?
                .ok_or_else(|| Error::not_found("Follow-up not found"))?;
            repo::entity_of(&item)
        }
        Err(e) => Err(e),
    }
}

pub async fn move_followup(
    app: &App,
    tenant: &TenantKey,
    id: &str,
    to: FollowupStatus,
    answers: Option<Vec<Answer>>,
) -> Result<(Followup, Event)> {
    let mut f = followup(app, tenant, id).await?;
    if let (Some(answers), Some(reason)) =
        (&answers, f.reason_code.as_deref().and_then(reasons::reason))
    {
        f.answers = reason.validate_answers(answers)?;
    }
    let expected = f.version;
    let now = app.now_ms();
    let previous = f.move_to(to, now)?;
    let event = Event::followup(&f, Some(previous), now);
    save_followup(app, &f, Some(expected), &event).await?;
    Ok((f, event))
}

pub async fn list_followups(
    app: &App,
    tenant: &TenantKey,
    f: &ListFilter,
) -> Result<Listing<Followup>> {
    let page = app.store.query(&list_query(tenant, "F", f)).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for item in &page.items {
        items.push(archive_if_due(app, repo::entity_of(item)?).await?);
    }
    if let Some(s) = &f.status {
        items.retain(|x| x.status.as_str() == s);
    }
    Ok(Listing {
        items,
        next: page.next,
    })
}

/// Counts per status, for the statistics page: one count query per status
/// (bounded by the number of statuses, never a scan).
pub async fn consultation_counts(
    app: &App,
    tenant: &TenantKey,
) -> Result<Vec<(ConsultationStatus, usize)>> {
    let mut out = Vec::new();
    for s in ConsultationStatus::ALL {
        let mut q = Query::partition(Index::Gsi2, format!("T#{tenant}#C#{}", s.as_str()));
        q.limit = 1000;
        let mut n = 0;
        loop {
            let page = app.store.query(&q).await?;
            n += page.items.len();
            match page.next {
                Some(next) if n < 10_000 => q.start_after = Some(next),
                _ => break,
            }
        }
        out.push((s, n));
    }
    Ok(out)
}

pub async fn followup_counts(
    app: &App,
    tenant: &TenantKey,
) -> Result<Vec<(FollowupStatus, usize)>> {
    let mut out = Vec::new();
    for s in FollowupStatus::ALL {
        let mut q = Query::partition(Index::Gsi2, format!("T#{tenant}#F#{}", s.as_str()));
        q.limit = 1000;
        let page = app.store.query(&q).await?;
        out.push((s, page.items.len()));
    }
    Ok(out)
}

//! The lists of consultations and follow-ups, newest first: a franchise's
//! (gsi1), by status (gsi2), a patient's (gsi3), by pages with a sealed
//! cursor (`store::cursor`): a cursor opens only in the list and the
//! franchise it came from, anything else is a `400`. Also the latest of a
//! patient's, and the counts per status of the statistics page.

use std::future::Future;

use super::auth::KeyAuth;
use super::followups::archive_if_due;
use super::people;
use crate::app::App;
use crate::domain::{
    Consultation, ConsultationStatus, Followup, FollowupStatus, PatientId, TenantKey,
};
use crate::error::{Error, Result};
use crate::store::keys::{self, Listed};
use crate::store::{Index, Item, Query, SortCond, items};

/// The message of a cursor that does not open.
pub const BAD_CURSOR: &str = "cursor is invalid: pass the nextCursor of the same list unchanged";

/// Whose items a list shows.
#[derive(Debug, Clone, PartialEq)]
pub enum PatientFilter {
    All,
    ById(PatientId),
    /// A key value, in one sub-system or any (one read of its index item).
    ByKey {
        key: String,
        sub_system: Option<String>,
    },
}

/// A list request: whose, which status, how many (1 to 100), and the
/// sealed cursor of the page before, if any.
#[derive(Debug, Clone)]
pub struct ListRequest<S> {
    pub patient: PatientFilter,
    pub status: Option<S>,
    pub limit: usize,
    pub cursor: Option<String>,
}

impl<S> ListRequest<S> {
    pub fn new(patient: PatientFilter, status: Option<S>, limit: usize) -> Self {
        Self {
            patient,
            status,
            limit,
            cursor: None,
        }
    }
}

/// A vendor's list request with its patient key resolved to the patient's
/// id, in one batch with the franchise of its key when the cache does not
/// hold it (a cold vendor call: the key, this batch, the query); the
/// franchise checked first.
pub async fn resolve_for_key<S>(
    app: &App,
    auth: &KeyAuth,
    mut req: ListRequest<S>,
) -> Result<ListRequest<S>> {
    if let PatientFilter::ByKey { key, sub_system } = &req.patient {
        let id = people::find_by_key_for(app, auth, key, sub_system.as_deref()).await?;
        req.patient = PatientFilter::ById(id);
    } else {
        auth.caller(app).await?;
    }
    Ok(req)
}

/// A page of a list, and the sealed cursor of the next one.
#[derive(Debug, Clone)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// What can be listed: consultations and follow-ups, each with its own
/// statuses.
pub trait Listable: Sized + Send + Sync + 'static {
    type Status: Copy + Send + Sync + 'static;

    fn list(
        app: &App,
        tenant: &TenantKey,
        req: &ListRequest<Self::Status>,
    ) -> impl Future<Output = Result<Listing<Self>>> + Send;
}

// Alike by design: each kind lists with its own function.
impl Listable for Consultation {
    type Status = ConsultationStatus;

    fn list(
        app: &App,
        tenant: &TenantKey,
        req: &ListRequest<Self::Status>,
    ) -> impl Future<Output = Result<Listing<Self>>> + Send {
        list_consultations(app, tenant, req)
    }
}

impl Listable for Followup {
    type Status = FollowupStatus;

    fn list(
        app: &App,
        tenant: &TenantKey,
        req: &ListRequest<Self::Status>,
    ) -> impl Future<Output = Result<Listing<Self>>> + Send {
        list_followups(app, tenant, req)
    }
}

pub async fn list_consultations(
    app: &App,
    tenant: &TenantKey,
    req: &ListRequest<ConsultationStatus>,
) -> Result<Listing<Consultation>> {
    let status = req.status.map(ConsultationStatus::as_str);
    let (page, patient, next) = page(app, tenant, Listed::Consultations, req, status).await?;
    let mut items: Vec<Consultation> = page.iter().map(items::entity_of).collect::<Result<_>>()?;
    // With a patient and a status, the status is applied to the patient's
    // page (a patient has few consultations).
    if let (Some(_), Some(s)) = (&patient, req.status) {
        items.retain(|c| c.status == s);
    }
    Ok(Listing { items, next })
}

pub async fn list_followups(
    app: &App,
    tenant: &TenantKey,
    req: &ListRequest<FollowupStatus>,
) -> Result<Listing<Followup>> {
    let status = req.status.map(FollowupStatus::as_str);
    let (page, _, next) = page(app, tenant, Listed::Followups, req, status).await?;
    let mut items = Vec::with_capacity(page.len());
    for item in &page {
        items.push(archive_if_due(app, items::entity_of(item)?).await?);
    }
    // Applied after archiving too: one read as DONE may be ARCHIVED now.
    if let Some(s) = req.status {
        items.retain(|x| x.status == s);
    }
    Ok(Listing { items, next })
}

/// The query of a list: the index partition for the request, the cursor
/// opened for it, the next cursor sealed for it.
async fn page<S>(
    app: &App,
    tenant: &TenantKey,
    listed: Listed,
    req: &ListRequest<S>,
    status: Option<&str>,
) -> Result<(Vec<Item>, Option<PatientId>, Option<String>)> {
    let patient = match &req.patient {
        PatientFilter::All => None,
        PatientFilter::ById(id) => Some(id.clone()),
        PatientFilter::ByKey { key, sub_system } => {
            Some(people::find_by_key(app, tenant, key, sub_system.as_deref()).await?)
        }
    };
    let (index, partition, sort) = match (&patient, status) {
        (Some(p), _) => (
            Index::Gsi3,
            keys::patient_list(tenant, p),
            SortCond::BeginsWith(keys::patient_list_prefix(listed)),
        ),
        (None, Some(s)) => (
            Index::Gsi2,
            keys::status_list(tenant, listed, s),
            SortCond::All,
        ),
        (None, None) => (
            Index::Gsi1,
            keys::tenant_list(tenant, listed),
            SortCond::All,
        ),
    };
    let mut query = Query {
        index,
        pk: partition,
        sort,
        forward: false,
        limit: req.limit.clamp(1, 100),
        start_after: None,
    };
    if let Some(sealed) = &req.cursor {
        let opened = app.cursors.open(sealed, tenant, &query);
        query.start_after = Some(opened.ok_or_else(|| Error::invalid(BAD_CURSOR))?);
    }
    let page = app.store.query(&query).await?;
    let next = page.next.map(|c| app.cursors.seal(&c, tenant, &query));
    Ok((page.items, patient, next))
}

/// The patient's most recent consultations, at most `n`.
pub async fn recent_consultations(
    app: &App,
    tenant: &TenantKey,
    patient: &PatientId,
    n: usize,
) -> Result<Vec<Consultation>> {
    let req = ListRequest::new(PatientFilter::ById(patient.clone()), None, n);
    Ok(list_consultations(app, tenant, &req).await?.items)
}

/// The patient's most recent consultation, if any.
pub async fn latest_consultation(
    app: &App,
    tenant: &TenantKey,
    patient: &PatientId,
) -> Result<Option<Consultation>> {
    Ok(recent_consultations(app, tenant, patient, 1)
        .await?
        .into_iter()
        .next())
}

/// The patient's most recent follow-up, if any.
pub async fn latest_followup(
    app: &App,
    tenant: &TenantKey,
    patient: &PatientId,
) -> Result<Option<Followup>> {
    let req = ListRequest::new(PatientFilter::ById(patient.clone()), None, 1);
    Ok(list_followups(app, tenant, &req)
        .await?
        .items
        .into_iter()
        .next())
}

/// How many consultations (of the first 10 000) have each status, for the
/// statistics page: one count query per status and page (bounded by the
/// number of statuses, never a scan).
pub async fn consultation_counts(
    app: &App,
    tenant: &TenantKey,
) -> Result<Vec<(ConsultationStatus, usize)>> {
    let mut out = Vec::new();
    for s in ConsultationStatus::ALL {
        out.push((
            s,
            count(app, tenant, Listed::Consultations, s.as_str()).await?,
        ));
    }
    Ok(out)
}

/// [`consultation_counts`], of follow-ups.
pub async fn followup_counts(
    app: &App,
    tenant: &TenantKey,
) -> Result<Vec<(FollowupStatus, usize)>> {
    let mut out = Vec::new();
    for s in FollowupStatus::ALL {
        out.push((s, count(app, tenant, Listed::Followups, s.as_str()).await?));
    }
    Ok(out)
}

async fn count(app: &App, tenant: &TenantKey, listed: Listed, status: &str) -> Result<usize> {
    let mut q = Query::partition(Index::Gsi2, keys::status_list(tenant, listed, status));
    q.limit = 1000;
    let mut n = 0;
    loop {
        let page = app.store.query(&q).await?;
        n += page.items.len();
        match page.next {
            Some(next) if n < 10_000 => q.start_after = Some(next),
            _ => return Ok(n),
        }
    }
}

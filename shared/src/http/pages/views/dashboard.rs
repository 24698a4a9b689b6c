//! The dashboards of consultations and of follow-ups: status tabs, this
//! patient or all of them, pages with the list's sealed cursor (a cursor
//! that does not open is the page's 400 state, never another page).

use super::{Built, Ctx, when};
use crate::domain::{
    Consultation, ConsultationStatus, Followup, FollowupStatus, Named, PatientId, ReasonCode, View,
};
use crate::error::{Error, Result};
use crate::http::pages::access::Target;
use crate::http::pages::templates::{Body, DashboardModel, NavLink, Row};
use crate::http::pages::texts::{Label, Texts};
use crate::services::lists::{BAD_CURSOR, ListRequest, Listable, Listing, PatientFilter};
use crate::services::people;

/// Rows per page of a dashboard.
pub const PAGE_SIZE: usize = 10;

/// One row, whatever its kind.
pub(super) struct Line {
    id: String,
    patient: PatientId,
    created_at: i64,
    reason: Option<ReasonCode>,
    status: &'static str,
    label: String,
    due: String,
}

/// What a dashboard needs of what it lists.
pub(super) trait OnBoard: Listable<Status: Named + Label> {
    const FOLLOWUPS: bool;
    /// The view of one, and the query parameter that names it.
    const DETAILS: (View, &'static str);
    /// Every patient's list, as the access table names it.
    const EVERY_PATIENT: Target<'static>;
    /// Every status, in order.
    fn statuses() -> Vec<Self::Status>;
    /// How to start one for the patient.
    fn start(t: &Texts) -> (View, &'static str);
    fn line(self, ctx: &Ctx<'_>) -> Line;
}

// The two dashboards, alike by design: each says what its rows show.
impl OnBoard for Consultation {
    const FOLLOWUPS: bool = false;
    const DETAILS: (View, &'static str) = (View::ConsultationDetails, "consultationId");
    const EVERY_PATIENT: Target<'static> = Target::AllConsultations;

    fn statuses() -> Vec<Self::Status> {
        ConsultationStatus::ALL.to_vec()
    }
    fn start(t: &Texts) -> (View, &'static str) {
        (View::ConsultationStart, t.start_consultation)
    }
    fn line(self, ctx: &Ctx<'_>) -> Line {
        Line {
            id: self.consultation_id.to_string(),
            patient: self.patient_id,
            created_at: self.created_at,
            reason: self.reason_code,
            status: self.status.as_str(),
            label: ctx.label(self.status),
            due: String::new(),
        }
    }
}

impl OnBoard for Followup {
    const FOLLOWUPS: bool = true;
    const DETAILS: (View, &'static str) = (View::FollowupDetails, "followupId");
    const EVERY_PATIENT: Target<'static> = Target::AllFollowups;

    fn statuses() -> Vec<Self::Status> {
        FollowupStatus::ALL.to_vec()
    }
    fn start(t: &Texts) -> (View, &'static str) {
        (View::FollowupStart, t.plan_followup)
    }
    fn line(self, ctx: &Ctx<'_>) -> Line {
        Line {
            id: self.followup_id.to_string(),
            patient: self.patient_id,
            created_at: self.created_at,
            reason: self.reason_code,
            status: self.status.as_str(),
            label: ctx.label(self.status),
            due: self.due_date.to_string(),
        }
    }
}

/// The status asked for, if it is one of `T`'s.
fn asked_status<T: OnBoard>(ctx: &Ctx<'_>) -> Option<T::Status> {
    let asked = ctx.asked.status.as_deref()?;
    T::statuses().into_iter().find(|s| s.name() == asked)
}

/// Whose items the dashboard shows: the patient of the view (asked for or
/// the session's) unless all were asked for — and a session that reaches
/// one patient shows that patient's only.
struct Whose<'a> {
    candidate: Option<&'a PatientId>,
    patient: Option<&'a PatientId>,
    /// The session may show every patient's (the "all patients" filter).
    every_patient: bool,
}

impl<'a> Whose<'a> {
    fn of<T: OnBoard>(ctx: &'a Ctx<'_>) -> Self {
        let every_patient = ctx.access.may_read(T::EVERY_PATIENT);
        let candidate = ctx.access.patient().or_else(|| ctx.patient_id());
        let patient = if ctx.asked.all_patients && every_patient {
            None
        } else {
            candidate
        };
        Self {
            candidate,
            patient,
            every_patient,
        }
    }
}

/// The dashboard of `T`.
pub(super) async fn board<T: OnBoard>(ctx: &Ctx<'_>) -> Result<Built> {
    let status = asked_status::<T>(ctx);
    let whose = Whose::of::<T>(ctx);
    let readable = match whose.patient {
        Some(p) => ctx.access.may_read(Target::Patient(p)),
        None => whose.every_patient,
    };
    if !readable || !exists(ctx, &whose).await? {
        return Ok(ctx.not_found());
    }
    let filter = whose
        .patient
        .map_or(PatientFilter::All, |p| PatientFilter::ById(p.clone()));
    let mut req = ListRequest::new(filter, status, PAGE_SIZE);
    req.cursor = ctx.asked.cursor.clone();
    let board = Board::of::<T>(ctx, status);
    let Some(listing) = page_or_bad_cursor(T::list(ctx.app, ctx.tenant, &req).await)? else {
        return Ok(bad_cursor(ctx, &board, &whose));
    };
    let lines = listing.items.into_iter().map(|x| x.line(ctx)).collect();
    show(ctx, &board, &whose, lines, listing.next).await
}

/// What differs between the two dashboards, for the page.
struct Board {
    followups: bool,
    details: (View, &'static str),
    start: (View, &'static str),
    /// Every status, with its label.
    statuses: Vec<(&'static str, String)>,
    /// The status asked for, if it is one of them.
    status: Option<&'static str>,
}

impl Board {
    fn of<T: OnBoard>(ctx: &Ctx<'_>, status: Option<T::Status>) -> Self {
        Self {
            followups: T::FOLLOWUPS,
            details: T::DETAILS,
            start: T::start(ctx.t),
            statuses: T::statuses()
                .into_iter()
                .map(|s| (s.name(), ctx.label(s)))
                .collect(),
            status: status.map(Named::name),
        }
    }
}

/// The patient of the dashboard exists here (or none is asked for).
async fn exists(ctx: &Ctx<'_>, whose: &Whose<'_>) -> Result<bool> {
    match whose.patient {
        Some(p) => Ok(ctx.patient(p).await?.is_some()),
        None => Ok(true),
    }
}

/// The page, or `None` when its cursor does not open.
fn page_or_bad_cursor<T>(listing: Result<Listing<T>>) -> Result<Option<Listing<T>>> {
    match listing {
        Ok(l) => Ok(Some(l)),
        Err(Error::Invalid(m)) if m == BAD_CURSOR => Ok(None),
        Err(e) => Err(e),
    }
}

/// The links of this dashboard: its view with `who` and `extra` parameters.
struct Hrefs<'a, 'c> {
    ctx: &'a Ctx<'c>,
    who: Vec<(&'a str, &'a str)>,
}

impl<'a, 'c> Hrefs<'a, 'c> {
    fn new(ctx: &'a Ctx<'c>, whose: &Whose<'a>) -> Self {
        let who = match (whose.candidate, whose.patient) {
            (Some(p), Some(_)) if ctx.asked.patient_id.is_some() => vec![("patientId", p.as_str())],
            (Some(_), None) => vec![("patient", "all")],
            _ => Vec::new(),
        };
        Self { ctx, who }
    }

    fn with(&self, extra: &[(&str, &str)]) -> String {
        let params: Vec<(&str, &str)> = self.who.iter().chain(extra).copied().collect();
        self.ctx.href(self.ctx.view, &params)
    }

    fn only(&self, params: &[(&str, &str)]) -> String {
        self.ctx.href(self.ctx.view, params)
    }
}

fn status_param(board: &Board) -> Vec<(&'static str, &'static str)> {
    board
        .status
        .map(|s| vec![("status", s)])
        .unwrap_or_default()
}

/// The 400 state of a cursor that does not open: a way back to the first
/// page of the list.
fn bad_cursor(ctx: &Ctx<'_>, board: &Board, whose: &Whose<'_>) -> Built {
    let hrefs = Hrefs::new(ctx, whose);
    let first = NavLink::new(hrefs.with(&status_param(board)), ctx.t.first_page, false);
    let t = ctx.t;
    Built::message("warning", t.bad_page_title, t.bad_page_body, vec![first])
        .with_status(axum::http::StatusCode::BAD_REQUEST)
}

async fn show(
    ctx: &Ctx<'_>,
    board: &Board,
    whose: &Whose<'_>,
    lines: Vec<Line>,
    next: Option<String>,
) -> Result<Built> {
    let t = ctx.t;
    // One batch read for the names of the patients on the page.
    let ids: Vec<PatientId> = lines.iter().map(|l| l.patient.clone()).collect();
    let patients = people::patients(ctx.app, ctx.tenant, &ids).await?;
    let details = ctx.access.may_open(board.details.0);
    let rows = lines
        .into_iter()
        .map(|l| Row {
            href: if details {
                ctx.href(board.details.0, &[(board.details.1, &l.id)])
            } else {
                String::new()
            },
            when: when(l.created_at),
            patient: patients
                .iter()
                .find(|p| p.patient_id == l.patient)
                .map_or_else(|| t.unknown.to_owned(), |p| p.full_name()),
            reason: ctx.reason_title(l.reason.as_ref()),
            status_label: l.label,
            status: l.status.to_owned(),
            due: l.due,
        })
        .collect();
    let hrefs = Hrefs::new(ctx, whose);
    let mut status_filters = vec![NavLink::new(hrefs.with(&[]), t.all, board.status.is_none())];
    for (s, label) in &board.statuses {
        let href = hrefs.with(&[("status", *s)]);
        status_filters.push(NavLink::new(href, label, board.status == Some(*s)));
    }
    let status_param = status_param(board);
    let patient_filters = match whose.candidate.filter(|_| whose.every_patient) {
        Some(p) => {
            let mine: Vec<_> = [("patientId", p.as_str())]
                .into_iter()
                .chain(status_param.clone())
                .collect();
            let all: Vec<_> = [("patient", "all")]
                .into_iter()
                .chain(status_param.clone())
                .collect();
            vec![
                NavLink::new(hrefs.only(&mine), t.this_patient, whose.patient.is_some()),
                NavLink::new(hrefs.only(&all), t.all_patients, whose.patient.is_none()),
            ]
        }
        None => Vec::new(),
    };
    let mut pages = Vec::new();
    if ctx.asked.cursor.is_some() {
        pages.push(NavLink::new(hrefs.with(&status_param), t.first_page, false));
    }
    if let Some(cursor) = &next {
        let mut params: Vec<(&str, &str)> = status_param.clone();
        params.push(("cursor", cursor));
        pages.push(NavLink::new(hrefs.with(&params), t.next_page, false));
    }
    let mut links = Vec::new();
    let (start, label) = board.start;
    if let Some(p) = whose.patient.filter(|p| ctx.may_open_for(start, p)) {
        links.push(ctx.link(start, &[("patientId", p.as_str())], label));
    }
    Ok(Built::ok(Body::Dashboard(DashboardModel {
        followups: board.followups,
        status_filters,
        patient_filters,
        rows,
        pages,
        links,
    }))
    .patient(whose.patient))
}

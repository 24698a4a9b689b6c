//! The views of a session: what each shows, loaded through the services and
//! filled into the models of `templates.rs` — one file per family
//! (`consultation.rs`, `dashboard.rs`, `followup.rs`, `franchise.rs`,
//! `statistics.rs`). Here: what every view is built from ([`Ctx`]), what a
//! built view is ([`Built`]), and the page around it.
//!
//! Rendering a view changes nothing: the patient's answer view moves a
//! consultation SENT → IN_PROGRESS on the patient's first action (the
//! `consultation.open` action the page sends), not on display. What a view
//! may show is the access table's (`access.rs`, in [`Ctx::access`]).

mod consultation;
mod dashboard;
mod followup;
mod franchise;
mod statistics;
mod visit_statistics;
mod visits;

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::access::{Access, Target};
use super::shell::{Framers, expired_message, html, origins};
use super::templates::{
    Body, Chrome, Fact, Message, NavLink, PatientModel, ReasonOption, ViewPage, script_json,
};
use super::texts::{self, Label, Texts};
use crate::app::App;
use crate::clock::iso_ms;
use crate::domain::ids::Id;
use crate::domain::links::{self, view_slug};
use crate::domain::reasons::{self, QuestionKind};
use crate::domain::{
    Answer, BrowserSession, Consultation, ConsultationId, Followup, FollowupId, Franchise, Locale,
    Patient, PatientId, ReasonCode, Role, Scope, TenantKey, View,
};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::http::extract::QueryParams;
use crate::services::people;

/// `2026-01-01 12:00 UTC`.
fn when(ms: i64) -> String {
    let iso = iso_ms(ms);
    format!("{} {} UTC", &iso[..10], &iso[11..16])
}

/// What the query string of a page asks for.
#[derive(Debug, Default, Clone)]
struct Asked {
    consultation_id: Option<ConsultationId>,
    followup_id: Option<FollowupId>,
    patient_id: Option<PatientId>,
    all_patients: bool,
    status: Option<String>,
    cursor: Option<String>,
    /// A provider's view: the room and the visit asked for.
    room_code: Option<crate::domain::clinic::RoomCode>,
    visit_id: Option<crate::domain::VisitId>,
    /// The visits statistics' range, as given (checked by the view).
    from: Option<String>,
    to: Option<String>,
    /// An id that cannot exist was asked for: the 404 state.
    impossible: bool,
}

impl Asked {
    fn parse(query: Option<&str>) -> Self {
        let Ok(q) = QueryParams::parse(query) else {
            return Self {
                impossible: true,
                ..Self::default()
            };
        };
        let mut impossible = false;
        let mut id = |name: &str| -> Option<String> {
            match q.get(name) {
                Ok(None) => None,
                Ok(Some(v)) => Some(v.to_owned()),
                Err(_) => {
                    impossible = true;
                    None
                }
            }
        };
        let (c, f, p) = (id("consultationId"), id("followupId"), id("patientId"));
        let (r, v) = (id("roomCode"), id("visitId"));
        let room_code = r.map(|r| crate::domain::clinic::RoomCode::parse(&r));
        impossible |= matches!(room_code, Some(None));
        let visit_id = parsed(v.as_deref(), &mut impossible);
        let consultation_id = parsed(c.as_deref(), &mut impossible);
        let followup_id = parsed(f.as_deref(), &mut impossible);
        let patient_id = parsed(p.as_deref(), &mut impossible);
        Self {
            consultation_id,
            followup_id,
            patient_id,
            all_patients: matches!(q.get("patient"), Ok(Some("all"))),
            status: q.get("status").ok().flatten().map(str::to_owned),
            cursor: q.get("cursor").ok().flatten().map(str::to_owned),
            room_code: room_code.flatten(),
            visit_id,
            from: q.get("from").ok().flatten().map(str::to_owned),
            to: q.get("to").ok().flatten().map(str::to_owned),
            impossible,
        }
    }
}

/// An id asked for: absent, one of ours, or impossible (flagged).
fn parsed<T: Id>(raw: Option<&str>, impossible: &mut bool) -> Option<T> {
    let id = raw.map(T::parse)?;
    *impossible |= id.is_none();
    id
}

/// What a details view shows: the one asked for, else the latest of the
/// patient asked for, else the session's own, else the latest of the
/// session's patient.
enum Pick<'a, I> {
    One(&'a I),
    LatestOf(&'a PatientId),
    Nothing,
}

/// Everything a view is built from.
struct Ctx<'a> {
    app: &'a App,
    locale: Locale,
    t: &'static Texts,
    franchise: &'a Franchise,
    tenant: &'a TenantKey,
    scope: &'a Scope,
    /// What the session may open, read and do.
    access: Access,
    view: View,
    asked: Asked,
}

/// A built view: what it shows, its status, the ids it is about and the
/// events its display caused.
struct Built {
    body: Body,
    status: StatusCode,
    patient_id: Option<PatientId>,
    consultation_id: Option<ConsultationId>,
    followup_id: Option<FollowupId>,
    events: Vec<Event>,
}

impl Built {
    fn ok(body: Body) -> Self {
        Self {
            body,
            status: StatusCode::OK,
            patient_id: None,
            consultation_id: None,
            followup_id: None,
            events: Vec::new(),
        }
    }

    fn message(kind: &'static str, title: &str, body: &str, links: Vec<NavLink>) -> Self {
        Self::ok(Body::Message(Message {
            kind,
            title: title.to_owned(),
            body: body.to_owned(),
            links,
        }))
    }

    fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    fn patient(mut self, id: Option<&PatientId>) -> Self {
        self.patient_id = id.cloned();
        self
    }
}

/// What a view may show only when the session reaches it.
trait Readable {
    fn target(&self) -> Target<'_>;
}

impl Readable for Consultation {
    fn target(&self) -> Target<'_> {
        Target::Consultation(&self.consultation_id, &self.patient_id)
    }
}

impl Readable for Followup {
    fn target(&self) -> Target<'_> {
        Target::Followup(&self.followup_id, &self.patient_id)
    }
}

impl Ctx<'_> {
    /// May the session see `item`?
    fn readable(&self, item: &impl Readable) -> bool {
        self.access.may_read(item.target())
    }

    fn href(&self, view: View, params: &[(&str, &str)]) -> String {
        links::page_path(self.locale, self.tenant, view, params)
    }

    fn link(&self, view: View, params: &[(&str, &str)], label: &str) -> NavLink {
        NavLink::new(self.href(view, params), label, false)
    }

    fn not_found(&self) -> Built {
        let (t, links) = (self.t, self.home_links());
        Built::message("warning", t.not_found_title, t.item_not_found_body, links)
            .with_status(StatusCode::NOT_FOUND)
    }

    /// The way back to the list, when the session may open it.
    fn home_links(&self) -> Vec<NavLink> {
        let dashboard = self.view_dashboard();
        if self.view.is_admin() || !self.access.may_open(dashboard) {
            return Vec::new();
        }
        vec![self.link(dashboard, &[], self.t.back_to_dashboard)]
    }

    /// May the session open `view` about patient `p`?
    fn may_open_for(&self, view: View, p: &PatientId) -> bool {
        self.access.may_open(view) && self.access.may_read(Target::Patient(p))
    }

    /// The "no patient selected" state of a view that needs one.
    fn no_patient(&self) -> Built {
        let t = self.t;
        Built::message(
            "info",
            t.no_patient_title,
            t.no_patient_body,
            self.home_links(),
        )
    }

    fn view_dashboard(&self) -> View {
        match self.view {
            View::FollowupStart
            | View::FollowupPlan
            | View::FollowupDetails
            | View::FollowupDashboard => View::FollowupDashboard,
            _ => View::ConsultationDashboard,
        }
    }

    /// What a details view shows ([`Pick`]), given the id asked for and
    /// the one in the session's scope.
    fn pick<'a, I>(&'a self, asked: Option<&'a I>, in_scope: Option<&'a I>) -> Pick<'a, I> {
        if let Some(id) = asked {
            return Pick::One(id);
        }
        if self.asked.patient_id.is_none()
            && let Some(id) = in_scope
        {
            return Pick::One(id);
        }
        match self.patient_id() {
            Some(p) => Pick::LatestOf(p),
            None => Pick::Nothing,
        }
    }

    /// The state of a details view with nothing to show yet: the message,
    /// and a way to start one for the patient.
    fn none_yet(&self, (title, body): (&str, &str), start: View, label: &str) -> Built {
        let patient = self.patient_id();
        let mut links = self.home_links();
        if let Some(p) = patient.filter(|p| self.may_open_for(start, p)) {
            links.push(self.link(start, &[("patientId", p.as_str())], label));
        }
        Built::message("info", title, body, links).patient(patient)
    }

    /// The patient this view is about: asked for, else the session's.
    fn patient_id(&self) -> Option<&PatientId> {
        self.asked
            .patient_id
            .as_ref()
            .or(self.scope.patient_id.as_ref())
    }

    /// Whether the patient asked for (if any) is out of the session's
    /// reach: the query narrows a view, never widens it.
    fn asked_out_of_reach(&self) -> bool {
        self.asked
            .patient_id
            .as_ref()
            .is_some_and(|p| !self.access.may_read(Target::Patient(p)))
    }

    fn reason_title(&self, code: Option<&ReasonCode>) -> String {
        code.and_then(ReasonCode::reason).map_or_else(
            || self.t.no_reason.to_owned(),
            |r| r.title.get(self.locale).to_owned(),
        )
    }

    fn reason_options(&self, selected: Option<&ReasonCode>) -> Vec<ReasonOption> {
        reasons::catalogue()
            .iter()
            .map(|r| ReasonOption {
                code: r.code.clone(),
                title: r.title.get(self.locale).to_owned(),
                description: r.description.get(self.locale).to_owned(),
                selected: selected.is_some_and(|s| *s == r.code.as_str()),
            })
            .collect()
    }

    fn label(&self, value: impl Label) -> String {
        value.label(self.locale).to_owned()
    }

    /// The patient, or `None` when it does not exist in this franchise.
    async fn patient(&self, id: &PatientId) -> Result<Option<Patient>> {
        people::find_patient(self.app, self.tenant, id).await
    }

    fn patient_model(&self, id: &PatientId, p: Option<&Patient>) -> PatientModel {
        let unknown = || self.t.unknown.to_owned();
        PatientModel {
            id: id.to_string(),
            name: p.map_or_else(unknown, Patient::full_name),
            date_of_birth: p
                .and_then(|p| p.date_of_birth)
                .map_or_else(unknown, |d| d.to_string()),
        }
    }

    /// The patient of a view that needs one: its model, or the state to
    /// show instead (no patient, or not found here).
    async fn needed_patient(
        &self,
    ) -> Result<std::result::Result<(PatientId, PatientModel), Built>> {
        let Some(id) = self.patient_id() else {
            return Ok(Err(self.no_patient()));
        };
        if !self.access.may_read(Target::Patient(id)) {
            return Ok(Err(self.not_found()));
        }
        let Some(patient) = self.patient(id).await? else {
            return Ok(Err(self.not_found()));
        };
        Ok(Ok((id.clone(), self.patient_model(id, Some(&patient)))))
    }

    fn answers(&self, reason: Option<&ReasonCode>, answers: &[Answer]) -> Vec<Fact> {
        let reason = reason.and_then(ReasonCode::reason);
        answers
            .iter()
            .map(|a| {
                let q = reason.and_then(|r| r.questions.iter().find(|q| q.id == a.question_id));
                let Some(q) = q else {
                    return Fact::new(a.question_id.clone(), plain(&a.value));
                };
                let option = |v: &Value| {
                    v.as_str()
                        .and_then(|s| q.options.iter().find(|o| o.value == s))
                        .map_or_else(|| plain(v), |o| o.label.get(self.locale).to_owned())
                };
                let value = match (q.kind, &a.value) {
                    (QuestionKind::Yesno, Value::Bool(true)) => self.t.yes.to_owned(),
                    (QuestionKind::Yesno, Value::Bool(false)) => self.t.no.to_owned(),
                    (QuestionKind::Single, v) => option(v),
                    (QuestionKind::Multi, Value::Array(items)) => {
                        items.iter().map(option).collect::<Vec<_>>().join(", ")
                    }
                    (_, v) => plain(v),
                };
                Fact::new(q.label.get(self.locale), value)
            })
            .collect()
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Renders `view` for a live session (`session_token`: on the first load,
/// the token the page's script keeps).
pub async fn view_page(
    app: &App,
    locale: Locale,
    franchise: &Franchise,
    session: &BrowserSession,
    view: View,
    query: Option<&str>,
    session_token: Option<&str>,
) -> Result<Response> {
    let scope = &session.scope;
    let t = texts::texts(locale);
    let tenant = &franchise.tenant_key;
    let ctx = Ctx {
        app,
        locale,
        t,
        franchise,
        tenant,
        scope,
        access: Access::of(scope),
        view,
        asked: Asked::parse(query),
    };
    let built = if !ctx.access.may_open(view) {
        Built::message("warning", t.forbidden_title, t.forbidden_body, Vec::new())
            .with_status(StatusCode::FORBIDDEN)
    } else if ctx.asked.impossible || ctx.asked_out_of_reach() {
        ctx.not_found()
    } else {
        build(&ctx).await?
    };
    let chrome = chrome(&ctx).await?;
    let mut ready = json!({
        "type": "embed.ready",
        "tenantKey": tenant,
        "view": view_slug(view),
        "locale": locale,
        "userId": scope.user_id,
    });
    let patient = built.patient_id.as_ref().or(scope.patient_id.as_ref());
    for (name, value) in [
        ("patientId", patient.map(PatientId::as_str)),
        (
            "consultationId",
            built.consultation_id.as_ref().map(ConsultationId::as_str),
        ),
        (
            "followupId",
            built.followup_id.as_ref().map(FollowupId::as_str),
        ),
    ] {
        if let Some(v) = value {
            ready[name] = v.into();
        }
    }
    let mut context = json!({
        "state": "ready",
        "tenantKey": tenant,
        "locale": locale,
        "allowedOrigins": origins(franchise),
        "ready": ready,
        "events": built.events,
        "actions": links::actions_base(locale, tenant),
        "expired": expired_message(tenant, view),
        "expiredText": {"title": t.expired_title, "body": t.expired_body},
        "texts": {"working": t.working, "error": t.error_body},
    });
    if let Some(token) = session_token {
        context["sessionToken"] = token.into();
    }
    let page = ViewPage {
        t,
        context_json: script_json(&context),
        chrome,
        title: view.label(locale).to_owned(),
        body: built.body,
    };
    let body = page
        .render()
        .map_err(|e| Error::internal(format!("page did not render: {e}")))?;
    Ok(html(built.status, Framers::Franchise(franchise), body))
}

async fn chrome(ctx: &Ctx<'_>) -> Result<Chrome> {
    let mut chrome = Chrome {
        franchise_name: ctx.franchise.name.clone(),
        user_name: None,
        nav: Vec::new(),
    };
    if ctx.scope.role != Role::Employee {
        return Ok(chrome);
    }
    let user = people::user(ctx.app, &ctx.scope.account_id, &ctx.scope.user_id).await?;
    chrome.user_name = Some(user.map_or_else(
        || ctx.scope.user_id.to_string(),
        |u| format!("{} {}", u.first_name, u.last_name),
    ));
    let t = ctx.t;
    let current = ctx.view_dashboard();
    let nav = [
        (View::ConsultationDashboard, t.nav_consultations),
        (View::FollowupDashboard, t.nav_followups),
        (View::Statistics, t.nav_statistics),
        (View::VisitsStatistics, t.nav_visit_statistics),
        (View::FranchiseManagement, t.nav_franchise),
    ];
    // Only the sections the session may open (none but its own view: no bar).
    let nav: Vec<_> = nav
        .into_iter()
        .filter(|(v, _)| ctx.access.may_open(*v))
        .collect();
    if nav.len() < 2 {
        return Ok(chrome);
    }
    let admin = ctx.view.is_admin();
    chrome.nav = nav
        .into_iter()
        .map(|(v, label)| {
            let is_current = v == ctx.view
                || (v == current && !admin && !is_statistics(ctx.view))
                || (v == View::FranchiseManagement && admin);
            NavLink::new(ctx.href(v, &[]), label, is_current)
        })
        .collect();
    Ok(chrome)
}

fn is_statistics(view: View) -> bool {
    matches!(view, View::Statistics | View::VisitsStatistics)
}

async fn build(ctx: &Ctx<'_>) -> Result<Built> {
    match ctx.view {
        View::ConsultationStart => consultation::start(ctx).await,
        View::ConsultationDetails => consultation::details(ctx).await,
        View::ConsultationDashboard => dashboard::board::<Consultation>(ctx).await,
        View::ConsultationAnswer => consultation::answer(ctx).await,
        View::FollowupStart | View::FollowupPlan => followup::form(ctx).await,
        View::FollowupDetails => followup::details(ctx).await,
        View::FollowupAnswer => followup::answer(ctx).await,
        View::FollowupDashboard => dashboard::board::<Followup>(ctx).await,
        View::FranchiseManagement => franchise::management(ctx).await,
        View::FranchiseOnboarding => franchise::onboarding(ctx).await,
        View::FranchiseOffboarding => franchise::offboarding(ctx).await,
        View::Statistics => statistics::statistics(ctx).await,
        View::VisitsWaitingRoom => visits::waiting_room(ctx).await,
        View::VisitsSchedule => visits::schedule(ctx).await,
        View::VisitsStatistics => visit_statistics::statistics(ctx).await,
    }
}

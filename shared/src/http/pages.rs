//! The embedded views and their actions (the employee's and the patient's
//! pages), behind a browser session.
//!
//! # Who may open what
//!
//! A launch opens one view; the browser session it starts may then move
//! inside the iframe (dashboard → details → back) without a new launch:
//!
//! - an **employee** session may open every employee view of *its own
//!   franchise* — the clinical views (consultations, follow-ups) and the
//!   statistics. Ids come from the query string (`?consultationId=…`,
//!   `?followupId=…`, `?patientId=…`) and are looked up in the session's
//!   tenant only, so an id of another franchise is the page's 404 state,
//!   exactly like an unknown one. The **administration** views change the
//!   franchise itself: they open only in a session that was launched for an
//!   administration view (the vendor decides who may administer);
//! - a **patient** session may open only the answer view, for its own
//!   consultation: the one in its scope, or one of its own patient's
//!   (`?consultationId=` of another patient is a 404);
//! - the tenant in the path must be the session's: a session is looked up
//!   under the path's tenant, so another franchise's path does not find it.
//!
//! Any other view is the "not available in this session" page (403).
//!
//! # Actions
//!
//! `POST /{locale}/embed/franchise/{tenant}/actions/{action}` with a JSON
//! body and `Authorization: Bearer {session}`; the answer is
//! `{"events": [Event…], "location": "<page to show next>"}`. The events
//! are the very bodies the services wrote to the outbox (same `id`); the
//! page posts each one, unchanged, to the host. The host tells messages
//! apart by their fields: ours have `type` (`embed.ready`, `embed.resize`,
//! `session.expired`), events have `eventType` and `operation` instead.
//! Errors use the API's body: a bad field is a 400 naming it, a move outside
//! the state machine a 409, no or an expired session a 401 (the page then
//! shows its expired state and posts `session.expired`), a role that may not
//! act a 403.
//!
//! Opening the answer view *is* the patient opening the consultation: its
//! first display moves SENT → IN_PROGRESS, and the page posts that event on
//! load (`events` of its context).

use std::collections::BTreeSet;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::embed;
use super::extract::QueryParams;
use crate::app::{App, AppState};
use crate::domain::consultation::{
    Answer, Consultation, ConsultationStatus, Followup, FollowupStatus,
};
use crate::domain::fields::Fields;
use crate::domain::reasons::{self, QuestionKind, Reason};
use crate::domain::{BrowserSession, Franchise, Locale, Patient, Role, Scope, TenantKey, View};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::pages::{
    self, Body, Choice, Chrome, ConsultationModel, CountRow, CountTable, DashboardModel, Fact,
    FollowupFormModel, FollowupModel, FranchiseModel, FrequencyOption, Message, Move, NavLink,
    PatientModel, QuestionField, ReasonOption, Row, StartModel, StatisticsModel, Texts, ViewPage,
};
use crate::repo;
use crate::services::consultations::{self as svc, ListFilter, NewConsultation, NewFollowup};
use crate::services::{admin, launch};
use crate::store::Cursor;

/// The page actions' route, beside the pages.
pub const ACTION_PATH: &str = "/{locale}/embed/franchise/{tenant}/actions/{action}";

/// Rows per page of a dashboard.
pub const PAGE_SIZE: usize = 10;

/// The page actions (`POST`), served by the `embed-pages` function beside
/// the pages themselves.
pub fn routes() -> Router<AppState> {
    Router::new().route(ACTION_PATH, post(action))
}

fn is_admin(view: View) -> bool {
    matches!(
        view,
        View::FranchiseManagement | View::FranchiseOnboarding | View::FranchiseOffboarding
    )
}

/// May this session open `view`? (See the module's documentation.)
pub fn may_open(scope: &Scope, view: View) -> bool {
    match scope.role {
        Role::Patient => view == View::ConsultationAnswer && scope.view == View::ConsultationAnswer,
        Role::Employee => {
            view.role() == Role::Employee && (!is_admin(view) || is_admin(scope.view))
        }
    }
}

/// The base of every path of this franchise's pages, in this language.
fn base_path(locale: Locale, tenant: &TenantKey) -> String {
    format!("/{locale}/embed/franchise/{tenant}")
}

fn view_href(locale: Locale, tenant: &TenantKey, view: View, params: &[(&str, &str)]) -> String {
    let (area, slug) = view.segments();
    let mut href = format!("{}/{area}/{slug}", base_path(locale, tenant));
    let params: Vec<_> = params.iter().filter(|(_, v)| !v.is_empty()).collect();
    if !params.is_empty() {
        href.push('?');
        href.push_str(&serde_urlencoded::to_string(params).unwrap_or_default());
    }
    href
}

/// `2026-01-01 12:00 UTC`.
fn when(ms: i64) -> String {
    let iso = crate::clock::iso_ms(ms);
    format!("{} {} UTC", &iso[..10], &iso[11..16])
}

fn today(ms: i64) -> String {
    crate::clock::iso_ms(ms)[..10].to_owned()
}

/// An id as it may appear in a query string or a body: short, and made of
/// the characters our ids are made of. Anything else cannot exist.
fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What the query string of a page asks for.
#[derive(Debug, Default, Clone)]
struct Asked {
    consultation_id: Option<String>,
    followup_id: Option<String>,
    patient_id: Option<String>,
    all_patients: bool,
    status: Option<String>,
    cursor: Option<String>,
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
        let mut a = Self::default();
        let mut id = |name: &str| match q.get(name) {
            Ok(Some(v)) if plausible_id(v) => Some(v.to_owned()),
            Ok(None) => None,
            _ => {
                a.impossible = true;
                None
            }
        };
        let consultation_id = id("consultationId");
        let followup_id = id("followupId");
        let patient_id = id("patientId");
        a.consultation_id = consultation_id;
        a.followup_id = followup_id;
        a.patient_id = patient_id;
        a.all_patients = matches!(q.get("patient"), Ok(Some("all")));
        a.status = q.get("status").ok().flatten().map(str::to_owned);
        a.cursor = q.get("cursor").ok().flatten().map(str::to_owned);
        a
    }
}

/// Everything a view is built from.
struct Ctx<'a> {
    app: &'a App,
    locale: Locale,
    t: &'static Texts,
    franchise: &'a Franchise,
    tenant: &'a TenantKey,
    scope: &'a Scope,
    view: View,
    asked: Asked,
}

/// A built view: what it shows, its status, the ids it is about and the
/// events its display caused.
struct Built {
    body: Body,
    status: StatusCode,
    patient_id: Option<String>,
    consultation_id: Option<String>,
    followup_id: Option<String>,
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

    fn patient(mut self, id: Option<&str>) -> Self {
        self.patient_id = id.map(str::to_owned);
        self
    }
}

impl Ctx<'_> {
    fn href(&self, view: View, params: &[(&str, &str)]) -> String {
        view_href(self.locale, self.tenant, view, params)
    }

    fn link(&self, view: View, params: &[(&str, &str)], label: &str) -> NavLink {
        NavLink::new(self.href(view, params), label, false)
    }

    fn not_found(&self) -> Built {
        let mut b = Built::message(
            "warning",
            self.t.not_found_title,
            self.t.item_not_found_body,
            self.home_links(),
        );
        b.status = StatusCode::NOT_FOUND;
        b
    }

    fn home_links(&self) -> Vec<NavLink> {
        match self.scope.role {
            Role::Employee if !is_admin(self.view) => {
                vec![self.link(self.view_dashboard(), &[], self.t.back_to_dashboard)]
            }
            _ => Vec::new(),
        }
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

    /// The patient this view is about: asked for, else the session's.
    fn patient_id(&self) -> Option<&str> {
        self.asked
            .patient_id
            .as_deref()
            .or(self.scope.patient_id.as_deref())
    }

    fn reason_title(&self, code: Option<&str>) -> String {
        code.and_then(reasons::reason).map_or_else(
            || self.t.no_reason.to_owned(),
            |r| r.title.get(self.locale).to_owned(),
        )
    }

    fn reason_options(&self, selected: Option<&str>) -> Vec<ReasonOption> {
        reasons::catalogue()
            .iter()
            .map(|r| ReasonOption {
                code: r.code.clone(),
                title: r.title.get(self.locale).to_owned(),
                description: r.description.get(self.locale).to_owned(),
                selected: selected == Some(r.code.as_str()),
            })
            .collect()
    }

    fn status_label(&self, status: &str, followup: bool) -> String {
        pages::status_label(status, followup, self.locale).to_owned()
    }

    /// The patient, or `None` when it does not exist in this franchise.
    async fn patient(&self, id: &str) -> Result<Option<Patient>> {
        match svc::patient(self.app, self.tenant, id).await {
            Ok(p) => Ok(Some(p)),
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn patient_model(&self, id: &str, p: Option<&Patient>) -> PatientModel {
        PatientModel {
            id: id.to_owned(),
            name: p.map_or_else(
                || self.t.unknown.to_owned(),
                |p| format!("{} {}", p.first_name, p.last_name),
            ),
            date_of_birth: p
                .and_then(|p| p.date_of_birth.clone())
                .unwrap_or_else(|| self.t.unknown.to_owned()),
        }
    }

    fn answers(&self, reason: Option<&str>, answers: &[Answer]) -> Vec<Fact> {
        let reason = reason.and_then(reasons::reason);
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
    let t = pages::texts(locale);
    let tenant = &franchise.tenant_key;
    let ctx = Ctx {
        app,
        locale,
        t,
        franchise,
        tenant,
        scope,
        view,
        asked: Asked::parse(query),
    };
    let built = if !may_open(scope, view) {
        let mut b = Built::message("warning", t.forbidden_title, t.forbidden_body, Vec::new());
        b.status = StatusCode::FORBIDDEN;
        b
    } else if ctx.asked.impossible {
        ctx.not_found()
    } else {
        build(&ctx).await?
    };
    let chrome = chrome(&ctx).await?;
    let mut ready = json!({
        "type": "embed.ready",
        "tenantKey": tenant,
        "view": embed::view_path(view),
        "locale": locale,
        "userId": scope.user_id,
    });
    for (name, value) in [
        (
            "patientId",
            built.patient_id.as_ref().or(scope.patient_id.as_ref()),
        ),
        ("consultationId", built.consultation_id.as_ref()),
        ("followupId", built.followup_id.as_ref()),
    ] {
        if let Some(v) = value {
            ready[name] = v.as_str().into();
        }
    }
    let mut context = json!({
        "state": "ready",
        "tenantKey": tenant,
        "locale": locale,
        "allowedOrigins": embed::origins(Some(franchise)),
        "ready": ready,
        "events": built.events,
        "actions": format!("{}/actions/", base_path(locale, tenant)),
        "expired": {"type": "session.expired", "tenantKey": tenant, "view": embed::view_path(view)},
        "expiredText": {"title": t.expired_title, "body": t.expired_body},
        "texts": {"working": t.working, "error": t.error_body},
    });
    if let Some(token) = session_token {
        context["sessionToken"] = token.into();
    }
    let page = ViewPage {
        t,
        context_json: pages::script_json(&context),
        chrome,
        title: pages::view_label(view, locale).to_owned(),
        body: built.body,
    };
    let body = page
        .render()
        .map_err(|e| Error::internal(format!("page did not render: {e}")))?;
    Ok(embed::html(built.status, Some(franchise), body))
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
    let user: Option<crate::domain::User> = ctx
        .app
        .store
        .get(&repo::user_key(
            &ctx.scope.account_id,
            ctx.scope.user_id.as_str(),
        ))
        .await?
        .map(|i| repo::entity_of(&i))
        .transpose()?;
    chrome.user_name = Some(user.map_or_else(
        || ctx.scope.user_id.as_str().to_owned(),
        |u| format!("{} {}", u.first_name, u.last_name),
    ));
    let t = ctx.t;
    let current = ctx.view_dashboard();
    let mut nav = vec![
        (View::ConsultationDashboard, t.nav_consultations),
        (View::FollowupDashboard, t.nav_followups),
        (View::Statistics, t.nav_statistics),
    ];
    if is_admin(ctx.scope.view) {
        nav.push((View::FranchiseManagement, t.nav_franchise));
    }
    chrome.nav = nav
        .into_iter()
        .map(|(v, label)| {
            let is_current = v == ctx.view
                || (v == current && !is_admin(ctx.view) && ctx.view != View::Statistics)
                || (v == View::FranchiseManagement && is_admin(ctx.view));
            NavLink::new(ctx.href(v, &[]), label, is_current)
        })
        .collect();
    Ok(chrome)
}

async fn build(ctx: &Ctx<'_>) -> Result<Built> {
    match ctx.view {
        View::ConsultationStart => consultation_start(ctx).await,
        View::ConsultationDetails => consultation_details(ctx).await,
        View::ConsultationDashboard => dashboard(ctx, false).await,
        View::ConsultationAnswer => answer(ctx).await,
        View::FollowupStart | View::FollowupPlan => followup_form(ctx).await,
        View::FollowupDetails => followup_details(ctx).await,
        View::FollowupDashboard => dashboard(ctx, true).await,
        View::FranchiseManagement => franchise_management(ctx).await,
        View::FranchiseOnboarding => onboarding(ctx).await,
        View::FranchiseOffboarding => offboarding(ctx).await,
        View::Statistics => statistics(ctx).await,
    }
}

async fn consultation_start(ctx: &Ctx<'_>) -> Result<Built> {
    let t = ctx.t;
    let Some(patient_id) = ctx.patient_id() else {
        return Ok(Built::message(
            "info",
            t.no_patient_title,
            t.no_patient_body,
            ctx.home_links(),
        ));
    };
    let Some(patient) = ctx.patient(patient_id).await? else {
        return Ok(ctx.not_found());
    };
    let prefilled = ctx
        .scope
        .prefill
        .as_ref()
        .and_then(|p| p["consultation"]["reason"].as_str());
    Ok(Built::ok(Body::ConsultationStart(StartModel {
        patient: ctx.patient_model(patient_id, Some(&patient)),
        reasons: ctx.reason_options(prefilled),
    }))
    .patient(Some(patient_id)))
}

/// The consultation asked for, else the latest of the patient asked for,
/// else the session's consultation, else its patient's latest. `Ok(None)`:
/// the patient has none; `Err(NotFound)`: the id does not exist here.
async fn pick_consultation(ctx: &Ctx<'_>) -> Result<Option<Consultation>> {
    let (app, tenant) = (ctx.app, ctx.tenant);
    if let Some(id) = &ctx.asked.consultation_id {
        return svc::consultation(app, tenant, id).await.map(Some);
    }
    if ctx.asked.patient_id.is_none()
        && let Some(id) = &ctx.scope.consultation_id
    {
        return svc::consultation(app, tenant, id).await.map(Some);
    }
    match ctx.patient_id() {
        Some(p) => svc::latest_consultation(app, tenant, p).await,
        None => Ok(None),
    }
}

async fn consultation_details(ctx: &Ctx<'_>) -> Result<Built> {
    let t = ctx.t;
    let c = match pick_consultation(ctx).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            let patient = ctx.patient_id();
            let mut links = ctx.home_links();
            if let Some(p) = patient {
                links.push(ctx.link(
                    View::ConsultationStart,
                    &[("patientId", p)],
                    t.start_consultation,
                ));
            }
            return Ok(Built::message(
                "info",
                t.no_consultation_title,
                t.no_consultation_body,
                links,
            )
            .patient(patient));
        }
        Err(Error::NotFound(_)) => return Ok(ctx.not_found()),
        Err(e) => return Err(e),
    };
    let patient = ctx.patient(&c.patient_id).await?;
    let patient = ctx.patient_model(&c.patient_id, patient.as_ref());
    let opt = |v: Option<i64>| v.map_or_else(|| t.unknown.to_owned(), when);
    let delivery = c.delivery.as_ref().map_or_else(
        || t.delivery_none.to_owned(),
        |d| {
            let status = serde_json::to_value(d.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            format!(
                "{} — {} ({})",
                d.channel,
                pages::status_label(&status, false, ctx.locale),
                when(d.at)
            )
        },
    );
    let facts = vec![
        Fact::new(t.patient, patient.name.clone()),
        Fact::new(t.date_of_birth, patient.date_of_birth.clone()),
        Fact::new(t.reason, ctx.reason_title(c.reason_code.as_deref())),
        Fact::new(t.created_at, when(c.created_at)),
        Fact::new(t.sent_at, opt(c.sent_at)),
        Fact::new(t.answered_at, opt(c.answered_at)),
        Fact::new(t.updated_at, when(c.updated_at)),
        Fact::new(t.delivery, delivery),
    ];
    use ConsultationStatus as S;
    let model = ConsultationModel {
        id: c.consultation_id.clone(),
        status: c.status.as_str().to_owned(),
        status_label: ctx.status_label(c.status.as_str(), false),
        answers: ctx.answers(c.reason_code.as_deref(), &c.answers),
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
        links: vec![
            ctx.link(View::ConsultationDashboard, &[], t.back_to_dashboard),
            ctx.link(
                View::FollowupStart,
                &[
                    ("patientId", &c.patient_id),
                    ("consultationId", &c.consultation_id),
                ],
                t.plan_followup,
            ),
        ],
        patient,
        facts,
    };
    let mut b = Built::ok(Body::ConsultationDetails(Box::new(model))).patient(Some(&c.patient_id));
    b.consultation_id = Some(c.consultation_id);
    Ok(b)
}

/// A dashboard cursor, opaque to the page: the store's cursor as
/// base64url JSON. Only a cursor of this very list is accepted back.
fn encode_cursor(c: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(c).unwrap_or_default())
}

fn decode_cursor(raw: &str, tenant: &TenantKey, index_pk: &str) -> Option<Cursor> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    let c: Cursor = serde_json::from_slice(&bytes).ok()?;
    (c.pk.starts_with(&format!("T#{tenant}#")) && c.ipk.as_deref() == Some(index_pk)).then_some(c)
}

async fn dashboard(ctx: &Ctx<'_>, followups: bool) -> Result<Built> {
    let t = ctx.t;
    let letter = if followups { "F" } else { "C" };
    let details = if followups {
        View::FollowupDetails
    } else {
        View::ConsultationDetails
    };
    let statuses: Vec<&'static str> = if followups {
        FollowupStatus::ALL.iter().map(|s| s.as_str()).collect()
    } else {
        ConsultationStatus::ALL.iter().map(|s| s.as_str()).collect()
    };
    let status = ctx
        .asked
        .status
        .as_deref()
        .and_then(|s| statuses.iter().find(|v| **v == s).copied());
    let candidate = ctx.patient_id();
    let patient = if ctx.asked.all_patients {
        None
    } else {
        candidate
    };
    if let Some(p) = patient
        && ctx.patient(p).await?.is_none()
    {
        return Ok(ctx.not_found());
    }
    let index_pk = match (patient, status) {
        (Some(p), _) => format!("T#{}#P#{p}", ctx.tenant),
        (None, Some(s)) => format!("T#{}#{letter}#{s}", ctx.tenant),
        (None, None) => format!("T#{}#{letter}", ctx.tenant),
    };
    let after = ctx
        .asked
        .cursor
        .as_deref()
        .and_then(|c| decode_cursor(c, ctx.tenant, &index_pk));
    let filter = ListFilter {
        patient_id: patient.map(str::to_owned),
        status: status.map(str::to_owned),
        limit: PAGE_SIZE,
        after: after.clone(),
    };
    // (id, patient, created, reason, status, due)
    type RowData = (String, String, i64, Option<String>, String, String);
    let (items, next): (Vec<RowData>, _) = if followups {
        let l = svc::list_followups(ctx.app, ctx.tenant, &filter).await?;
        let rows = l
            .items
            .into_iter()
            .map(|f: Followup| {
                (
                    f.followup_id,
                    f.patient_id,
                    f.created_at,
                    f.reason_code,
                    f.status.as_str().to_owned(),
                    f.due_date,
                )
            })
            .collect();
        (rows, l.next)
    } else {
        let l = svc::list_consultations(ctx.app, ctx.tenant, &filter).await?;
        let rows = l
            .items
            .into_iter()
            .map(|c| {
                (
                    c.consultation_id,
                    c.patient_id,
                    c.created_at,
                    c.reason_code,
                    c.status.as_str().to_owned(),
                    String::new(),
                )
            })
            .collect();
        (rows, l.next)
    };
    // One batch read for the names of the patients on the page.
    let keys: Vec<_> = items
        .iter()
        .map(|r| r.1.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|p| repo::patient_key(ctx.tenant, &p))
        .collect();
    let found = if keys.is_empty() {
        Vec::new()
    } else {
        ctx.app.store.batch_get(&keys).await?
    };
    let patients: Vec<Patient> = found
        .iter()
        .filter_map(|i| repo::entity_of::<Patient>(i).ok())
        .collect();
    let id_param = if followups {
        "followupId"
    } else {
        "consultationId"
    };
    let rows = items
        .into_iter()
        .map(|(id, patient_id, created, reason, status, due)| Row {
            href: ctx.href(details, &[(id_param, &id)]),
            when: when(created),
            patient: patients
                .iter()
                .find(|p| p.patient_id == patient_id)
                .map_or_else(
                    || t.unknown.to_owned(),
                    |p| format!("{} {}", p.first_name, p.last_name),
                ),
            reason: ctx.reason_title(reason.as_deref()),
            status_label: ctx.status_label(&status, followups),
            status,
            due,
        })
        .collect();
    let who: Vec<(&str, &str)> = match (candidate, patient) {
        (Some(p), Some(_)) if ctx.asked.patient_id.is_some() => vec![("patientId", p)],
        (Some(_), None) => vec![("patient", "all")],
        _ => Vec::new(),
    };
    let with = |extra: &[(&'static str, &str)]| -> Vec<(String, String)> {
        who.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .chain(
                extra
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            )
            .collect()
    };
    let href_of = |params: Vec<(String, String)>| {
        let refs: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        ctx.href(ctx.view, &refs)
    };
    let mut status_filters = vec![NavLink::new(href_of(with(&[])), t.all, status.is_none())];
    for s in &statuses {
        status_filters.push(NavLink::new(
            href_of(with(&[("status", s)])),
            ctx.status_label(s, followups),
            status == Some(*s),
        ));
    }
    let status_param: Vec<(&'static str, &str)> =
        status.map(|s| vec![("status", s)]).unwrap_or_default();
    let patient_filters = match candidate {
        Some(p) => {
            let mut mine = vec![("patientId".to_owned(), p.to_owned())];
            mine.extend(
                status_param
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            );
            let mut all = vec![("patient".to_owned(), "all".to_owned())];
            all.extend(
                status_param
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            );
            vec![
                NavLink::new(href_of(mine), t.this_patient, patient.is_some()),
                NavLink::new(href_of(all), t.all_patients, patient.is_none()),
            ]
        }
        None => Vec::new(),
    };
    let mut pages_links = Vec::new();
    if after.is_some() {
        pages_links.push(NavLink::new(
            href_of(with(&status_param)),
            t.first_page,
            false,
        ));
    }
    if let Some(next) = next {
        let cursor = encode_cursor(&next);
        let mut params = status_param.clone();
        params.push(("cursor", &cursor));
        pages_links.push(NavLink::new(href_of(with(&params)), t.next_page, false));
    }
    let mut links = Vec::new();
    if let Some(p) = patient {
        let (view, label) = if followups {
            (View::FollowupStart, t.plan_followup)
        } else {
            (View::ConsultationStart, t.start_consultation)
        };
        links.push(ctx.link(view, &[("patientId", p)], label));
    }
    Ok(Built::ok(Body::Dashboard(DashboardModel {
        followups,
        status_filters,
        patient_filters,
        rows,
        pages: pages_links,
        links,
    }))
    .patient(patient))
}

/// The patient's consultation for the answer view: the one asked for or
/// in scope (it must be the session's patient's), else the patient's latest
/// one still awaiting answers.
async fn pick_answerable(ctx: &Ctx<'_>) -> Result<Option<Consultation>> {
    let (app, tenant, scope) = (ctx.app, ctx.tenant, ctx.scope);
    let id = ctx
        .asked
        .consultation_id
        .as_ref()
        .or(scope.consultation_id.as_ref());
    if let Some(id) = id {
        let c = svc::consultation(app, tenant, id).await?;
        let own = scope
            .patient_id
            .as_deref()
            .is_none_or(|p| p == c.patient_id)
            && scope.consultation_id.as_deref().is_none_or(|s| s == id);
        return if own {
            Ok(Some(c))
        } else {
            Err(Error::not_found("Consultation not found"))
        };
    }
    let Some(patient) = &scope.patient_id else {
        return Ok(None);
    };
    let f = ListFilter {
        patient_id: Some(patient.clone()),
        limit: 25,
        ..ListFilter::default()
    };
    let list = svc::list_consultations(app, tenant, &f).await?;
    Ok(list.items.into_iter().find(|c| c.status.awaits_patient()))
}

async fn answer(ctx: &Ctx<'_>) -> Result<Built> {
    let t = ctx.t;
    let c = match pick_answerable(ctx).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return Ok(
                Built::message("info", t.closed_title, t.nothing_awaiting_body, Vec::new())
                    .patient(ctx.scope.patient_id.as_deref()),
            );
        }
        Err(Error::NotFound(_)) => return Ok(ctx.not_found()),
        Err(e) => return Err(e),
    };
    let reason = c.reason_code.as_deref().and_then(reasons::reason);
    let (patient_id, consultation_id) = (c.patient_id.clone(), c.consultation_id.clone());
    let mut built = match (c.status, reason) {
        (s, Some(reason)) if s.awaits_patient() => {
            let mut events = Vec::new();
            let c = if s == ConsultationStatus::Sent {
                let (c, event) =
                    svc::open_consultation(ctx.app, ctx.tenant, &c.consultation_id).await?;
                events.extend(event);
                c
            } else {
                c
            };
            let mut b = Built::ok(Body::Answer(questionnaire(ctx, &c, reason)));
            b.events = events;
            b
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

fn questionnaire(ctx: &Ctx<'_>, c: &Consultation, reason: &Reason) -> pages::AnswerModel {
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
    pages::AnswerModel {
        consultation_id: c.consultation_id.clone(),
        reason_title: reason.title.get(locale).to_owned(),
        reason_description: reason.description.get(locale).to_owned(),
        questions,
    }
}

async fn followup_form(ctx: &Ctx<'_>) -> Result<Built> {
    let t = ctx.t;
    let Some(patient_id) = ctx.patient_id() else {
        return Ok(Built::message(
            "info",
            t.no_patient_title,
            t.no_patient_body,
            ctx.home_links(),
        ));
    };
    let Some(patient) = ctx.patient(patient_id).await? else {
        return Ok(ctx.not_found());
    };
    let prefill = if ctx.view == View::FollowupPlan {
        ctx.scope
            .prefill
            .as_ref()
            .map(|p| p["followup"].clone())
            .unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let now = ctx.app.now_ms();
    let reason = prefill["reason"]
        .as_str()
        .filter(|r| reasons::reason(r).is_some());
    let frequency = prefill["frequency"].as_str().unwrap_or("once");
    let frequencies = ["once", "daily", "weekly", "monthly"]
        .into_iter()
        .map(|f| FrequencyOption {
            value: f,
            label: pages::frequency_label(f, t),
            selected: f == frequency,
        })
        .collect();
    Ok(Built::ok(Body::FollowupForm(FollowupFormModel {
        patient: ctx.patient_model(patient_id, Some(&patient)),
        consultation_id: ctx.asked.consultation_id.clone(),
        reasons: ctx.reason_options(reason),
        no_reason_selected: reason.is_none(),
        due_date: prefill["dueDate"]
            .as_str()
            .map_or_else(|| today(now + 7 * 24 * 3600 * 1000), str::to_owned),
        min_date: today(now),
        frequencies,
        notes: prefill["notes"].as_str().unwrap_or_default().to_owned(),
    }))
    .patient(Some(patient_id)))
}

async fn pick_followup(ctx: &Ctx<'_>) -> Result<Option<Followup>> {
    let (app, tenant) = (ctx.app, ctx.tenant);
    if let Some(id) = &ctx.asked.followup_id {
        return svc::followup(app, tenant, id).await.map(Some);
    }
    if ctx.asked.patient_id.is_none()
        && let Some(id) = &ctx.scope.followup_id
    {
        return svc::followup(app, tenant, id).await.map(Some);
    }
    let Some(p) = ctx.patient_id() else {
        return Ok(None);
    };
    let f = ListFilter {
        patient_id: Some(p.to_owned()),
        limit: 1,
        ..ListFilter::default()
    };
    Ok(svc::list_followups(app, tenant, &f)
        .await?
        .items
        .into_iter()
        .next())
}

async fn followup_details(ctx: &Ctx<'_>) -> Result<Built> {
    let t = ctx.t;
    let f = match pick_followup(ctx).await {
        Ok(Some(f)) => f,
        Ok(None) => {
            let patient = ctx.patient_id();
            let mut links = ctx.home_links();
            if let Some(p) = patient {
                links.push(ctx.link(View::FollowupStart, &[("patientId", p)], t.plan_followup));
            }
            return Ok(
                Built::message("info", t.no_followup_title, t.no_followup_body, links)
                    .patient(patient),
            );
        }
        Err(Error::NotFound(_)) => return Ok(ctx.not_found()),
        Err(e) => return Err(e),
    };
    let patient = ctx.patient(&f.patient_id).await?;
    let patient = ctx.patient_model(&f.patient_id, patient.as_ref());
    let facts = vec![
        Fact::new(t.patient, patient.name.clone()),
        Fact::new(t.date_of_birth, patient.date_of_birth.clone()),
        Fact::new(t.reason, ctx.reason_title(f.reason_code.as_deref())),
        Fact::new(t.due_date, f.due_date.clone()),
        Fact::new(t.frequency, pages::frequency_label(&f.frequency, t)),
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
    let mut links = vec![ctx.link(View::FollowupDashboard, &[], t.back_to_dashboard)];
    if let Some(cid) = &f.consultation_id {
        links.push(ctx.link(
            View::ConsultationDetails,
            &[("consultationId", cid)],
            pages::view_label(View::ConsultationDetails, ctx.locale),
        ));
    }
    let model = FollowupModel {
        id: f.followup_id.clone(),
        status: f.status.as_str().to_owned(),
        status_label: ctx.status_label(f.status.as_str(), true),
        notes: f.notes.clone(),
        answers: ctx.answers(f.reason_code.as_deref(), &f.answers),
        moves,
        links,
        patient,
        facts,
    };
    let mut b = Built::ok(Body::FollowupDetails(Box::new(model))).patient(Some(&f.patient_id));
    b.followup_id = Some(f.followup_id);
    Ok(b)
}

async fn fresh_franchise(ctx: &Ctx<'_>) -> Result<Franchise> {
    admin::franchise(ctx.app, ctx.tenant.as_str()).await
}

async fn franchise_management(ctx: &Ctx<'_>) -> Result<Built> {
    let t = ctx.t;
    let f = fresh_franchise(ctx).await?;
    let facts = vec![
        Fact::new(t.name, f.name.clone()),
        Fact::new(t.tenant_key, f.tenant_key.as_str()),
        Fact::new(
            t.language,
            match f.language.as_str() {
                "FR" => "Français (FR)",
                _ => "English (EN)",
            },
        ),
        Fact::new(
            t.status,
            pages::status_label(f.status.as_str(), false, ctx.locale),
        ),
        Fact::new(
            t.terms_accepted_by,
            f.terms_accepted_by
                .clone()
                .unwrap_or_else(|| t.unknown.to_owned()),
        ),
        Fact::new(
            t.terms_accepted_at,
            f.terms_accepted_at
                .map_or_else(|| t.unknown.to_owned(), when),
        ),
    ];
    Ok(Built::ok(Body::Franchise(FranchiseModel {
        facts,
        origins: f
            .allowed_origins
            .iter()
            .map(|o| o.as_str().to_owned())
            .collect(),
    })))
}

fn franchise_links(ctx: &Ctx<'_>) -> Vec<NavLink> {
    vec![ctx.link(
        View::FranchiseManagement,
        &[],
        pages::view_label(View::FranchiseManagement, ctx.locale),
    )]
}

async fn onboarding(ctx: &Ctx<'_>) -> Result<Built> {
    use crate::domain::FranchiseStatus as S;
    let t = ctx.t;
    let f = fresh_franchise(ctx).await?;
    Ok(match f.status {
        S::Active => Built::ok(Body::Onboarding),
        S::Onboarded => {
            let body = match (&f.terms_accepted_by, f.terms_accepted_at) {
                (Some(by), Some(at)) => format!(
                    "{} ({} {by}, {})",
                    t.onboarded_body,
                    t.terms_accepted_by.to_lowercase(),
                    when(at)
                ),
                _ => t.onboarded_body.to_owned(),
            };
            Built::message("success", t.onboarded_title, &body, franchise_links(ctx))
        }
        S::Offboarded => Built::message(
            "warning",
            t.offboarded_title,
            t.offboarded_body,
            franchise_links(ctx),
        ),
    })
}

async fn offboarding(ctx: &Ctx<'_>) -> Result<Built> {
    use crate::domain::FranchiseStatus as S;
    let t = ctx.t;
    let f = fresh_franchise(ctx).await?;
    Ok(match f.status {
        S::Offboarded => Built::message(
            "warning",
            t.offboarded_title,
            t.offboarded_body,
            franchise_links(ctx),
        ),
        _ => Built::ok(Body::Offboarding),
    })
}

async fn statistics(ctx: &Ctx<'_>) -> Result<Built> {
    let t = ctx.t;
    let table = |id, caption, rows: Vec<CountRow>| {
        let total = rows.iter().map(|r| r.count).sum();
        let max = rows.iter().map(|r| r.count).max().unwrap_or(0).max(1);
        CountTable {
            id,
            caption,
            rows,
            total,
            max,
        }
    };
    let consultations = svc::consultation_counts(ctx.app, ctx.tenant)
        .await?
        .into_iter()
        .map(|(s, n)| CountRow {
            status: s.as_str().to_owned(),
            label: ctx.status_label(s.as_str(), false),
            count: n,
        })
        .collect();
    let followups = svc::followup_counts(ctx.app, ctx.tenant)
        .await?
        .into_iter()
        .map(|(s, n)| CountRow {
            status: s.as_str().to_owned(),
            label: ctx.status_label(s.as_str(), true),
            count: n,
        })
        .collect();
    Ok(Built::ok(Body::Statistics(StatisticsModel {
        tables: vec![
            table(
                "stats-consultations",
                t.consultations_by_status,
                consultations,
            ),
            table("stats-followups", t.followups_by_status, followups),
        ],
    })))
}

// ---- actions ----------------------------------------------------------------

/// Free text of a form (summary, notes): line breaks allowed, other
/// control characters not; blank reads as absent.
fn opt_text(f: &Fields<'_>, field: &str, max: usize) -> Result<Option<String>> {
    match f.map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() {
                Ok(None)
            } else if s.chars().count() > max
                || s.chars()
                    .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            {
                Err(f.error(field, &format!("must be text of at most {max} characters")))
            } else {
                Ok(Some(s.to_owned()))
            }
        }
        Some(_) => Err(f.error(field, "must be a string")),
    }
}

fn req_id(f: &Fields<'_>, field: &str) -> Result<String> {
    match f.opt_str(field, 64)? {
        Some(id) if plausible_id(&id) => Ok(id),
        Some(_) => Err(f.error(field, "is not a valid id")),
        None => Err(f.error(field, "is required")),
    }
}

fn opt_bool(f: &Fields<'_>, field: &str) -> Result<bool> {
    match f.map.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(f.error(field, "must be true or false")),
    }
}

fn opt_reason(f: &Fields<'_>) -> Result<Option<String>> {
    let reason = f.opt_str("reason", 64)?;
    if let Some(r) = &reason {
        reasons::known_reason(r, "reason")
            .map_err(|_| f.error("reason", "is not a known consultation reason"))?;
    }
    Ok(reason)
}

fn answers_of(f: &Fields<'_>) -> Result<Vec<Answer>> {
    let Some(Value::Array(items)) = f.map.get("answers") else {
        return Err(f.error("answers", "must be a list of {questionId, value}"));
    };
    items
        .iter()
        .map(|item| {
            let Value::Object(m) = item else {
                return Err(f.error("answers", "must be a list of {questionId, value}"));
            };
            let question_id = m
                .get("questionId")
                .and_then(Value::as_str)
                .filter(|q| !q.is_empty() && q.len() <= 64)
                .ok_or_else(|| f.error("answers", "items need a questionId"))?;
            Ok(Answer {
                question_id: question_id.to_owned(),
                value: m.get("value").cloned().unwrap_or(Value::Null),
            })
        })
        .collect()
}

fn forbidden() -> Error {
    Error::forbidden("This session may not do that")
}

/// `POST /{locale}/embed/franchise/{tenant}/actions/{action}`.
pub async fn action(
    State(app): State<AppState>,
    Path((locale, tenant, action)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let locale = Locale::parse(&locale).ok_or_else(|| Error::not_found("No such endpoint"))?;
    let tenant = TenantKey::parse(&tenant).ok_or(Error::Unauthorized)?;
    let token = embed::bearer(&headers).ok_or(Error::Unauthorized)?;
    let session = launch::session(&app, &tenant, token)
        .await?
        .ok_or(Error::Unauthorized)?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(Error::UnsupportedMediaType(
            "Content-Type must be application/json".into(),
        ));
    }
    let map = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(Error::bad_request("Request body must be a JSON object")),
        Err(_) => return Err(Error::bad_request("Request body is not valid JSON")),
    };
    let (events, location) = act(&app, locale, &tenant, &session.scope, &action, &map).await?;
    let mut res = axum::Json(json!({ "events": events, "location": location })).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

async fn act(
    app: &App,
    locale: Locale,
    tenant: &TenantKey,
    scope: &Scope,
    action: &str,
    map: &Map<String, Value>,
) -> Result<(Vec<Event>, String)> {
    let f = Fields::new("request", map);
    let href = |view: View, params: &[(&str, &str)]| view_href(locale, tenant, view, params);
    let employee = scope.role == Role::Employee;
    let admin = employee && is_admin(scope.view);
    match action {
        "consultation.create" if employee => {
            let patient_id = req_id(&f, "patientId")?;
            let reason = opt_reason(&f)?;
            let send = opt_bool(&f, "send")?;
            // The vendor's metadata of a create launch goes with the
            // consultation created for that launch's patient.
            let metadata = scope
                .prefill
                .as_ref()
                .filter(|_| scope.patient_id.as_deref() == Some(patient_id.as_str()))
                .map(|p| p["consultation"]["metadata"].clone())
                .filter(Value::is_object);
            let (c, event) = svc::create_consultation(
                app,
                tenant,
                NewConsultation {
                    patient_id,
                    created_by: scope.user_id.as_str().to_owned(),
                    reason_code: reason,
                    metadata,
                    send,
                },
            )
            .await?;
            let loc = href(
                View::ConsultationDetails,
                &[("consultationId", &c.consultation_id)],
            );
            Ok((vec![event], loc))
        }
        "consultation.send"
        | "consultation.complete"
        | "consultation.archive"
        | "consultation.cancel"
            if employee =>
        {
            let id = req_id(&f, "consultationId")?;
            let (c, event) = match action {
                "consultation.send" => {
                    let reason = opt_reason(&f)?;
                    svc::send_consultation(app, tenant, &id, reason.as_deref()).await?
                }
                "consultation.complete" => {
                    let summary = opt_text(&f, "summary", 4000)?;
                    svc::complete_consultation(app, tenant, &id, summary).await?
                }
                "consultation.archive" => {
                    svc::move_consultation(app, tenant, &id, ConsultationStatus::Archived).await?
                }
                _ => {
                    svc::move_consultation(app, tenant, &id, ConsultationStatus::Cancelled).await?
                }
            };
            let loc = href(
                View::ConsultationDetails,
                &[("consultationId", &c.consultation_id)],
            );
            Ok((vec![event], loc))
        }
        "consultation.answer" if scope.role == Role::Patient => {
            let id = req_id(&f, "consultationId")?;
            let answers = answers_of(&f)?;
            let c = svc::consultation(app, tenant, &id).await?;
            let own = scope
                .patient_id
                .as_deref()
                .is_none_or(|p| p == c.patient_id)
                && scope.consultation_id.as_deref().is_none_or(|s| s == id);
            if !own {
                return Err(Error::not_found("Consultation not found"));
            }
            if !c.status.awaits_patient() {
                return Err(Error::conflict(format!(
                    "A {} consultation does not take answers",
                    c.status.as_str()
                )));
            }
            let (c, event) = svc::answer_consultation(app, tenant, &id, &answers).await?;
            let loc = href(
                View::ConsultationAnswer,
                &[("consultationId", &c.consultation_id)],
            );
            Ok((vec![event], loc))
        }
        "followup.create" if employee => {
            let patient_id = req_id(&f, "patientId")?;
            let consultation_id = match f.opt_str("consultationId", 64)? {
                Some(id) if plausible_id(&id) => Some(id),
                Some(_) => return Err(f.error("consultationId", "is not a valid id")),
                None => None,
            };
            let reason = opt_reason(&f)?;
            let due_date = f
                .opt_str("dueDate", 10)?
                .ok_or_else(|| f.error("dueDate", "is required"))?;
            let frequency = f
                .opt_str("frequency", 16)?
                .ok_or_else(|| f.error("frequency", "is required"))?;
            let notes = opt_text(&f, "notes", 1000)?;
            let (fu, event) = svc::create_followup(
                app,
                tenant,
                NewFollowup {
                    patient_id,
                    created_by: scope.user_id.as_str().to_owned(),
                    consultation_id,
                    reason_code: reason,
                    due_date,
                    frequency,
                    notes,
                    metadata: None,
                },
            )
            .await?;
            let loc = href(View::FollowupDetails, &[("followupId", &fu.followup_id)]);
            Ok((vec![event], loc))
        }
        "followup.move" if employee => {
            let id = req_id(&f, "followupId")?;
            let to = f
                .opt_parsed("to", 16, FollowupStatus::parse, "is not a follow-up status")?
                .ok_or_else(|| f.error("to", "is required"))?;
            let (fu, event) = svc::move_followup(app, tenant, &id, to, None).await?;
            let loc = href(View::FollowupDetails, &[("followupId", &fu.followup_id)]);
            Ok((vec![event], loc))
        }
        "franchise.onboard" if admin => {
            if !opt_bool(&f, "accept")? {
                return Err(f.error("accept", "must be true: the terms must be accepted"));
            }
            let (_, event) = admin::onboard_franchise(app, tenant, scope.user_id.as_str()).await?;
            Ok((vec![event], href(View::FranchiseManagement, &[])))
        }
        "franchise.offboard" if admin => {
            if !opt_bool(&f, "confirm")? {
                return Err(f.error("confirm", "must be true to offboard"));
            }
            let (_, event) = admin::offboard_franchise(app, tenant).await?;
            Ok((vec![event], href(View::FranchiseOffboarding, &[])))
        }
        "consultation.create"
        | "consultation.send"
        | "consultation.complete"
        | "consultation.archive"
        | "consultation.cancel"
        | "consultation.answer"
        | "followup.create"
        | "followup.move"
        | "franchise.onboard"
        | "franchise.offboard" => Err(forbidden()),
        _ => Err(Error::not_found("No such action")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;

    fn scope(role: Role, view: View) -> Scope {
        Scope {
            account_id: "a".into(),
            user_id: UserId::parse("u").unwrap(),
            role,
            view,
            locale: Locale::En,
            patient_id: None,
            consultation_id: None,
            followup_id: None,
            prefill: None,
        }
    }

    #[test]
    fn who_may_open_what() {
        let employee = scope(Role::Employee, View::ConsultationStart);
        let admin = scope(Role::Employee, View::FranchiseManagement);
        let patient = scope(Role::Patient, View::ConsultationAnswer);
        for v in View::ALL {
            assert_eq!(patient_may(&patient, v), v == View::ConsultationAnswer);
            assert_eq!(
                may_open(&employee, v),
                v != View::ConsultationAnswer && !is_admin(v),
                "{v:?}"
            );
            assert_eq!(may_open(&admin, v), v != View::ConsultationAnswer, "{v:?}");
        }
    }

    fn patient_may(s: &Scope, v: View) -> bool {
        may_open(s, v)
    }

    #[test]
    fn cursors_of_another_list_are_refused() {
        let tenant = TenantKey::parse("demo").unwrap();
        let c = Cursor {
            pk: "T#demo#CONSULTATION#1".into(),
            sk: "CONSULTATION".into(),
            ipk: Some("T#demo#C".into()),
            isk: Some("x".into()),
        };
        let raw = encode_cursor(&c);
        assert_eq!(decode_cursor(&raw, &tenant, "T#demo#C"), Some(c));
        assert_eq!(decode_cursor(&raw, &tenant, "T#demo#C#SENT"), None);
        let other = TenantKey::parse("other").unwrap();
        assert_eq!(decode_cursor(&raw, &other, "T#demo#C"), None);
        assert_eq!(decode_cursor("!!", &tenant, "T#demo#C"), None);
    }

    #[test]
    fn hrefs_carry_only_the_given_params() {
        let tenant = TenantKey::parse("demo").unwrap();
        assert_eq!(
            view_href(
                Locale::Fr,
                &tenant,
                View::ConsultationDetails,
                &[("consultationId", "abc"), ("status", "")]
            ),
            "/fr/embed/franchise/demo/consultation/details?consultationId=abc"
        );
    }
}

//! The launch API: `POST /embeddable/consultation/create`,
//! `POST /embeddable/consultation/view` and the `GET /embeddable/...` views.
//! Each handler authenticates, reads the request into a `LaunchRequest` and
//! calls `services::launch::issue`.

use axum::Router;
use axum::extract::RawQuery;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;

use super::extract::{self, QueryParams, VendorKey, VendorKeyJson, wants_json};
use super::reply::{json_response, launch_json};
use super::wire::{Fields, integration_user, metadata, numeric_key, patient_of};
use crate::app::AppState;
use crate::clock::day_of;
use crate::domain::clinic::RoomCode;
use crate::domain::types::nfc;
use crate::domain::{ConsultationPrefill, FollowupPrefill, Prefill, ReasonCode, View, VisitId};
use crate::error::{Error, Result};
use crate::services::clinic::{rooms, statistics, video};
use crate::services::launch::{self, LaunchRequest, PatientRef};

pub const CONSULTATION_CREATE: &str = "/embeddable/consultation/create";
pub const CONSULTATION_VIEW: &str = "/embeddable/consultation/view";

/// The `GET /embeddable/...` views: the routes and the list of vendor
/// routes are both made from this table.
pub const EMBEDDABLE: &[(&str, View)] = &[
    ("/embeddable/consultation/view", View::ConsultationStart),
    (
        "/embeddable/consultation/dashboard",
        View::ConsultationDashboard,
    ),
    (
        "/embeddable/consultation/specific",
        View::ConsultationDetails,
    ),
    ("/embeddable/consultation/answer", View::ConsultationAnswer),
    ("/embeddable/followup/view", View::FollowupStart),
    ("/embeddable/followup/dashboard", View::FollowupDashboard),
    ("/embeddable/followup/specific", View::FollowupDetails),
    ("/embeddable/followup/plan", View::FollowupPlan),
    (
        "/embeddable/administration/franchise-management",
        View::FranchiseManagement,
    ),
    (
        "/embeddable/administration/franchise-onboarding",
        View::FranchiseOnboarding,
    ),
    (
        "/embeddable/administration/franchise-offboarding",
        View::FranchiseOffboarding,
    ),
    ("/embeddable/statistics", View::Statistics),
    ("/embeddable/visits/waiting-room", View::VisitsWaitingRoom),
    ("/embeddable/visits/schedule", View::VisitsSchedule),
    ("/embeddable/visits/room", View::VisitsRoom),
    ("/embeddable/visits/statistics", View::VisitsStatistics),
];

/// `POST /embeddable/consultation/create` (Lambda `consultation-create`).
pub fn create_routes() -> Router<AppState> {
    Router::new().route(CONSULTATION_CREATE, post(consultation_create))
}

/// `POST /embeddable/consultation/view` (Lambda `consultation-view`).
pub fn view_routes() -> Router<AppState> {
    Router::new().route(CONSULTATION_VIEW, post(consultation_view))
}

/// Every `GET /embeddable/...` of [`EMBEDDABLE`] (Lambda `embeddable-url`).
pub fn embeddable_routes() -> Router<AppState> {
    let route = |router: Router<AppState>, &(path, view): &(&str, View)| {
        let handler = move |v: VendorKey, RawQuery(q): RawQuery| async move {
            embeddable_url(v, view, q).await
        };
        router.route(path, get(handler))
    };
    EMBEDDABLE.iter().fold(Router::new(), route)
}

fn key_param(key: Option<&str>, sub_system: Option<&str>) -> Result<PatientRef> {
    match key {
        None if sub_system.is_some() => Err(Error::invalid("subSystem needs patientKey")),
        None => Ok(PatientRef::None),
        Some(k) if k.chars().count() > 128 => {
            Err(Error::invalid("patientKey is at most 128 characters"))
        }
        Some(_) if sub_system.is_some_and(|s| s.chars().count() > 128) => {
            Err(Error::invalid("subSystem is at most 128 characters"))
        }
        // The form keys are stored in (NFC), so that any form finds them.
        Some(k) => Ok(PatientRef::ByKey {
            key: nfc(k),
            sub_system: sub_system.map(nfc),
        }),
    }
}

/// `POST /embeddable/consultation/create`: body `{patient, user?, locale?, consultation?}`.
pub async fn consultation_create(
    VendorKeyJson { vendor: v, body }: VendorKeyJson,
) -> Result<Response> {
    let (app, headers) = (&v.app, &v.headers);
    let mut req = LaunchRequest::new(View::ConsultationStart);
    req.patient = PatientRef::Upsert(patient_of(&body, day_of(app.now_ms()))?);
    req.user = integration_user(headers, Some(&body))?;
    let f = Fields::new("request", &body);
    req.locale = extract::locale(f.opt_str("locale", 2)?.as_deref())?;
    req.franchise_scope = extract::franchise_scope(f.opt_str("scope", 16)?.as_deref())?;
    req.prefill = consultation_prefill(body.get("consultation"))?;
    let launch = launch::issue(app, &v.auth, &req).await?;
    Ok(json_response(StatusCode::OK, &launch_json(&launch, true)))
}

/// The optional `consultation` of a create request: `{reason?, metadata?}`,
/// kept in the launch's scope for the start view. A reason the catalogue
/// does not know preselects nothing.
fn consultation_prefill(value: Option<&Value>) -> Result<Option<Prefill>> {
    let map = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(Error::invalid(
                "Invalid consultation: must be a JSON object",
            ));
        }
    };
    let f = Fields::new("consultation", map);
    let reason = f.opt_str("reason", 64)?;
    let metadata = metadata(map.get("metadata"))?;
    if reason.is_none() && metadata.is_none() {
        return Ok(None);
    }
    Ok(Some(Prefill::Consultation(ConsultationPrefill {
        reason: reason.as_deref().and_then(ReasonCode::known),
        metadata,
    })))
}

/// `POST /embeddable/consultation/view`: body
/// `{consultationId? | patientKey?, subSystem?, user?, locale?}`; `patientKey`
/// is a key value, or a `{subSystem, key}` object.
pub async fn consultation_view(
    VendorKeyJson { vendor: v, body }: VendorKeyJson,
) -> Result<Response> {
    let f = Fields::new("request", &body);
    let mut req = LaunchRequest::new(View::ConsultationDetails);
    req.consultation_id = extract::id(
        "consultationId",
        f.opt_str("consultationId", 64)?.as_deref(),
    )?;
    req.patient = match body.get("patientKey") {
        Some(Value::Object(_)) if body.get("subSystem").is_some_and(|v| !v.is_null()) => {
            return Err(Error::invalid(
                "Give subSystem inside the patientKey object or beside a patientKey string, not both",
            ));
        }
        Some(Value::Object(k)) => {
            let kf = Fields::new("patientKey", k);
            // A number, as in a patient's keys (wire.rs, read_keys).
            let key = match k.get("key") {
                Some(Value::Number(n)) => numeric_key(&kf, n)?,
                _ => kf.required("key", kf.opt_str("key", 128)?)?,
            };
            let sub = kf.required("subSystem", kf.opt_str("subSystem", 128)?)?;
            key_param(Some(&key), Some(&sub))?
        }
        _ => key_param(
            f.opt_str("patientKey", 128)?.as_deref(),
            f.opt_str("subSystem", 128)?.as_deref(),
        )?,
    };
    req.user = integration_user(&v.headers, Some(&body))?;
    req.locale = extract::locale(f.opt_str("locale", 2)?.as_deref())?;
    req.franchise_scope = extract::franchise_scope(f.opt_str("scope", 16)?.as_deref())?;
    let launch = launch::issue(&v.app, &v.auth, &req).await?;
    Ok(json_response(StatusCode::OK, &launch_json(&launch, false)))
}

/// `GET /embeddable/...`: the URL as `text/plain`, or JSON
/// `{userId, iframeUrl, expiresAt}` with `Accept: application/json`.
pub async fn embeddable_url(
    v: VendorKey,
    view: View,
    raw_query: Option<String>,
) -> Result<Response> {
    let q = QueryParams::parse(raw_query.as_deref())?;
    let mut req = LaunchRequest::new(view);
    req.locale = extract::locale(q.get("locale")?)?;
    req.patient = key_param(q.get("patientKey")?, q.get("subSystem")?)?;
    req.consultation_id = extract::id("consultationId", q.get("consultationId")?)?;
    req.followup_id = extract::id("followupId", q.get("followupId")?)?;
    req.franchise_scope = extract::franchise_scope(q.get("scope")?)?;
    if view == View::FollowupPlan {
        req.prefill = plan_prefill(&q)?;
    }
    req.user = integration_user(&v.headers, None)?;
    let mut room_visit = None;
    if view.is_provider() {
        // The provider views read their room first: the franchise with it
        // (not folded into the launch's batch).
        let franchise = v.auth.caller(&v.app).await?.franchise;
        req.room_code = q
            .get("roomCode")?
            .map(|c| {
                RoomCode::parse(c)
                    .ok_or_else(|| Error::invalid(format!("roomCode {}", RoomCode::RULE)))
            })
            .transpose()?;
        let user = req
            .user
            .as_ref()
            .ok_or_else(|| Error::invalid("x-integration-user naming the provider is required"))?;
        if view == View::VisitsRoom {
            // The room of one visit: a provider of its room only (a visit
            // of another franchise is a 404).
            let id = extract::id::<VisitId>("visitId", q.get("visitId")?)?
                .ok_or_else(|| Error::invalid("visitId is required"))?;
            req.room_code =
                Some(video::provider_room_launch(&v.app, &franchise, &user.user_id, &id).await?);
            room_visit = Some(id);
        }
        rooms::check_provider_launch(
            &v.app,
            &franchise.tenant_key,
            &user.user_id,
            user.provider,
            req.room_code.as_ref(),
        )
        .await?;
    }
    let range = statistics_range(&v, view, &q).await?;
    let mut launch = launch::issue(&v.app, &v.auth, &req).await?;
    if let Some(id) = room_visit {
        launch.iframe_url.push_str(&format!("&visitId={id}"));
    }
    if !range.is_empty() {
        launch.iframe_url =
            launch
                .iframe_url
                .replacen("?session=", &format!("?{range}&session="), 1);
    }
    if wants_json(&v.headers) {
        return Ok(json_response(StatusCode::OK, &launch_json(&launch, false)));
    }
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        launch.iframe_url,
    )
        .into_response())
}

/// The visits statistics' range of a launch, checked (`400`), as the
/// query the page reads it from: `from=…&to=…&roomCode=…` (days or
/// instants, nothing of anyone), before the launch token (the page's
/// script keeps the rest of its address); empty for the other views.
async fn statistics_range(v: &VendorKey, view: View, q: &QueryParams) -> Result<String> {
    if view != View::VisitsStatistics {
        return Ok(String::new());
    }
    // The franchise's time zone bounds the days: read before the launch.
    let zone = &v.auth.caller(&v.app).await?.franchise.time_zone;
    let mut pairs: Vec<(&str, String)> = Vec::new();
    let mut bounds = [None, None];
    for (i, name) in ["from", "to"].into_iter().enumerate() {
        if let Some(raw) = q.get(name)? {
            bounds[i] = Some(statistics::bound(raw, zone, i == 1).ok_or_else(|| {
                Error::invalid(format!(
                    "{name} must be an ISO date (2026-12-01) or an RFC 3339 instant"
                ))
            })?);
            pairs.push((name, raw.trim().to_owned()));
        }
    }
    if let [Some(from), Some(to)] = bounds {
        statistics::range(from, to)?;
    }
    if let Some(c) = q.get("roomCode")? {
        let code = RoomCode::parse(c)
            .ok_or_else(|| Error::invalid(format!("roomCode {}", RoomCode::RULE)))?;
        pairs.push(("roomCode", code.to_string()));
    }
    if pairs.is_empty() {
        return Ok(String::new());
    }
    Ok(serde_urlencoded::to_string(&pairs).unwrap_or_default())
}

/// Prefilled fields of a follow-up plan: `reason`, `dueDate` (YYYY-MM-DD),
/// `frequency` (once, daily, weekly, monthly) and `notes`. A reason the
/// catalogue does not know preselects nothing.
fn plan_prefill(q: &QueryParams) -> Result<Option<Prefill>> {
    let mut plan = FollowupPrefill::default();
    let mut given = false;
    if let Some(reason) = q.get("reason")? {
        if reason.chars().count() > 64 {
            return Err(Error::invalid("reason is at most 64 characters"));
        }
        plan.reason = ReasonCode::known(reason);
        given = true;
    }
    if let Some(due) = q.get("dueDate")? {
        plan.due_date = Some(extract::due_date(due)?);
        given = true;
    }
    if let Some(freq) = q.get("frequency")? {
        plan.frequency = Some(extract::frequency(freq)?);
        given = true;
    }
    if let Some(notes) = q.get("notes")? {
        if notes.chars().count() > 1000 {
            return Err(Error::invalid("notes is at most 1000 characters"));
        }
        plan.notes = Some(notes.to_owned());
        given = true;
    }
    Ok(given.then_some(Prefill::Followup(plan)))
}

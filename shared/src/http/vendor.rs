//! The vendor API of DESIGN.md: `POST /embeddable/consultation/create`,
//! `POST /embeddable/consultation/view` and the `GET /embeddable/...` views.
//! Each handler authenticates, reads the request into a `LaunchRequest` and
//! calls `services::launch::issue`.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::extract::{JsonObject, QueryParams, header_str, wants_json};
use crate::app::{App, AppState};
use crate::clock::iso_ms;
use crate::domain::fields::Fields;
use crate::domain::patient::PatientInput;
use crate::domain::user::IntegrationUser;
use crate::domain::{Locale, View};
use crate::error::{Error, Result};
use crate::services::auth::{self, Caller};
use crate::services::launch::{self, Launch, LaunchRequest, PatientRef};

pub const USER_HEADER: &str = "x-integration-user";

/// The authenticated caller of a vendor request (every vendor API, v1 and v2).
pub(crate) async fn caller(app: &App, headers: &HeaderMap) -> Result<Caller> {
    auth::authenticate(
        app,
        header_str(headers, "api-key"),
        header_str(headers, "x-tenant-key"),
    )
    .await
}

/// The user from the header or from the body's `user`, never both.
pub(crate) fn integration_user(
    headers: &HeaderMap,
    body: Option<&Map<String, Value>>,
) -> Result<Option<IntegrationUser>> {
    let from_header = match headers.get(USER_HEADER) {
        None => None,
        Some(v) => {
            let raw = v
                .to_str()
                .map_err(|_| Error::bad_request(crate::domain::user::HEADER_FORMAT_MESSAGE))?;
            Some(IntegrationUser::from_header(raw)?)
        }
    };
    let from_body = match body.and_then(|b| b.get("user")) {
        None | Some(Value::Null) => None,
        Some(v) => Some(IntegrationUser::from_body(v)?),
    };
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(Error::bad_request(
            "Send the user in the x-integration-user header or in the body's user field, not both",
        )),
        (h, b) => Ok(h.or(b)),
    }
}

fn locale(raw: Option<&str>) -> Result<Option<Locale>> {
    raw.map(|l| Locale::parse(l).ok_or_else(|| Error::bad_request("locale must be en or fr")))
        .transpose()
}

fn id_param(name: &str, raw: Option<&str>) -> Result<Option<String>> {
    match raw {
        None => Ok(None),
        Some(v)
            if (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(Some(v.to_owned()))
        }
        Some(_) => Err(Error::bad_request(format!(
            "{name} must be 1 to 64 letters, digits, '-' or '_'"
        ))),
    }
}

fn key_param(key: Option<&str>, sub_system: Option<&str>) -> Result<PatientRef> {
    match key {
        None if sub_system.is_some() => Err(Error::bad_request("subSystem needs patientKey")),
        None => Ok(PatientRef::None),
        Some(k) if k.chars().count() > 128 => {
            Err(Error::bad_request("patientKey is at most 128 characters"))
        }
        Some(_) if sub_system.is_some_and(|s| s.chars().count() > 128) => {
            Err(Error::bad_request("subSystem is at most 128 characters"))
        }
        Some(k) => Ok(PatientRef::ByKey {
            key: k.to_owned(),
            sub_system: sub_system.map(str::to_owned),
        }),
    }
}

fn today(app: &App) -> String {
    iso_ms(app.now_ms())[..10].to_owned()
}

/// `{patientId?, userId, iframeUrl, expiresAt}`.
fn launch_json(launch: &Launch, with_patient: bool) -> Value {
    let mut body = json!({
        "userId": launch.user_id.as_str(),
        "iframeUrl": launch.iframe_url,
        "expiresAt": iso_ms(launch.expires_at),
    });
    if with_patient {
        body["patientId"] = launch.patient_id.clone().into();
    }
    body
}

/// A JSON response that no cache keeps (launch URLs are single-use).
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

/// `POST /embeddable/consultation/create`: body `{patient, user?, locale?, consultation?}`.
pub async fn consultation_create(
    State(app): State<AppState>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let caller = caller(&app, &headers).await?;
    let patient = body
        .get("patient")
        .ok_or_else(|| Error::bad_request("Invalid request: patient is required"))?;
    let mut req = LaunchRequest::new(View::ConsultationStart);
    req.patient = PatientRef::Upsert(PatientInput::from_json(patient, &today(&app))?);
    req.user = integration_user(&headers, Some(&body))?;
    req.locale = locale(
        Fields::new("request", &body)
            .opt_str("locale", 2)?
            .as_deref(),
    )?;
    req.prefill = consultation_prefill(body.get("consultation"))?;
    let launch = launch::issue(&app, &caller, &req).await?;
    Ok(json_response(StatusCode::OK, &launch_json(&launch, true)))
}

/// The optional `consultation` of a create request: `{reason?, metadata?}`,
/// kept in the launch's scope for the start view.
fn consultation_prefill(value: Option<&Value>) -> Result<Option<Value>> {
    let map = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(Error::bad_request(
                "Invalid consultation: must be a JSON object",
            ));
        }
    };
    let f = Fields::new("consultation", map);
    let reason = f.opt_str("reason", 64)?;
    let metadata = crate::services::consultations::check_metadata(map.get("metadata"))?;
    if reason.is_none() && metadata.is_none() {
        return Ok(None);
    }
    Ok(Some(
        json!({ "consultation": { "reason": reason, "metadata": metadata } }),
    ))
}

/// `POST /embeddable/consultation/view`: body
/// `{consultationId? | patientKey?, subSystem?, user?, locale?}`; `patientKey`
/// is a key value, or a `{subSystem, key}` object.
pub async fn consultation_view(
    State(app): State<AppState>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let caller = caller(&app, &headers).await?;
    let f = Fields::new("request", &body);
    let mut req = LaunchRequest::new(View::ConsultationDetails);
    req.consultation_id = id_param(
        "consultationId",
        f.opt_str("consultationId", 64)?.as_deref(),
    )?;
    req.patient = match body.get("patientKey") {
        Some(Value::Object(_)) if body.get("subSystem").is_some_and(|v| !v.is_null()) => {
            return Err(Error::bad_request(
                "Give subSystem inside the patientKey object or beside a patientKey string, not both",
            ));
        }
        Some(Value::Object(k)) => {
            let kf = Fields::new("patientKey", k);
            key_param(
                Some(
                    &kf.opt_str("key", 128)?
                        .ok_or_else(|| kf.error("key", "is required"))?,
                ),
                Some(
                    &kf.opt_str("subSystem", 128)?
                        .ok_or_else(|| kf.error("subSystem", "is required"))?,
                ),
            )?
        }
        _ => key_param(
            f.opt_str("patientKey", 128)?.as_deref(),
            f.opt_str("subSystem", 128)?.as_deref(),
        )?,
    };
    req.user = integration_user(&headers, Some(&body))?;
    req.locale = locale(f.opt_str("locale", 2)?.as_deref())?;
    let launch = launch::issue(&app, &caller, &req).await?;
    Ok(json_response(StatusCode::OK, &launch_json(&launch, false)))
}

/// `GET /embeddable/...`: the URL as `text/plain`, or JSON
/// `{userId, iframeUrl, expiresAt}` with `Accept: application/json`.
pub async fn embeddable_url(
    app: &App,
    view: View,
    headers: &HeaderMap,
    raw_query: Option<&str>,
) -> Result<Response> {
    let caller = caller(app, headers).await?;
    let q = QueryParams::parse(raw_query)?;
    let mut req = LaunchRequest::new(view);
    req.locale = locale(q.get("locale")?)?;
    req.patient = key_param(q.get("patientKey")?, q.get("subSystem")?)?;
    req.consultation_id = id_param("consultationId", q.get("consultationId")?)?;
    req.followup_id = id_param("followupId", q.get("followupId")?)?;
    if view == View::FollowupPlan {
        req.prefill = plan_prefill(&q)?;
    }
    req.user = integration_user(headers, None)?;
    let launch = launch::issue(app, &caller, &req).await?;
    if wants_json(headers) {
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

/// Prefilled fields of a follow-up plan: `reason`, `dueDate` (YYYY-MM-DD),
/// `frequency` (once, daily, weekly, monthly) and `notes`.
fn plan_prefill(q: &QueryParams) -> Result<Option<Value>> {
    let mut plan = Map::new();
    if let Some(reason) = q.get("reason")? {
        if reason.chars().count() > 64 {
            return Err(Error::bad_request("reason is at most 64 characters"));
        }
        plan.insert("reason".into(), reason.into());
    }
    if let Some(due) = q.get("dueDate")? {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(due, &fmt)
            .map_err(|_| Error::bad_request("dueDate must be a date written YYYY-MM-DD"))?;
        plan.insert("dueDate".into(), due.into());
    }
    if let Some(freq) = q.get("frequency")? {
        if !["once", "daily", "weekly", "monthly"].contains(&freq) {
            return Err(Error::bad_request(
                "frequency must be once, daily, weekly or monthly",
            ));
        }
        plan.insert("frequency".into(), freq.into());
    }
    if let Some(notes) = q.get("notes")? {
        if notes.chars().count() > 1000 {
            return Err(Error::bad_request("notes is at most 1000 characters"));
        }
        plan.insert("notes".into(), notes.into());
    }
    Ok((!plan.is_empty()).then(|| json!({ "followup": plan })))
}

/// One GET handler per view (axum handlers cannot capture the view).
macro_rules! view_handler {
    ($name:ident, $view:expr) => {
        pub async fn $name(
            State(app): State<AppState>,
            headers: HeaderMap,
            RawQuery(q): RawQuery,
        ) -> Result<Response> {
            embeddable_url(&app, $view, &headers, q.as_deref()).await
        }
    };
}

view_handler!(get_consultation_view, View::ConsultationStart);
view_handler!(get_consultation_dashboard, View::ConsultationDashboard);
view_handler!(get_consultation_specific, View::ConsultationDetails);
view_handler!(get_consultation_answer, View::ConsultationAnswer);
view_handler!(get_followup_view, View::FollowupStart);
view_handler!(get_followup_dashboard, View::FollowupDashboard);
view_handler!(get_followup_specific, View::FollowupDetails);
view_handler!(get_followup_plan, View::FollowupPlan);
view_handler!(get_franchise_management, View::FranchiseManagement);
view_handler!(get_franchise_onboarding, View::FranchiseOnboarding);
view_handler!(get_franchise_offboarding, View::FranchiseOffboarding);
view_handler!(get_statistics, View::Statistics);

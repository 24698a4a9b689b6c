//! The embedded app's entry: `GET /{locale}/embed/franchise/{tenantKey}/{area}/{view}`.
//!
//! - with `?session={launch token}`: redeem it (exactly once) and answer the
//!   page itself, with a browser-session token for the page's script;
//! - with `Authorization: Bearer {session token}`: the page, for a reload
//!   or a move inside the session (the script sends it; which views a
//!   session may open is decided in `http::pages`);
//! - with neither: a small shell whose script looks for the session token in
//!   `sessionStorage` and asks again with it (cookies are not used: browsers
//!   block them in third-party iframes).
//!
//! Every page sends `Content-Security-Policy: frame-ancestors` with the
//! franchise's allowed origins (`'none'` when the franchise is unknown),
//! loads nothing from third parties, and is never cached or referred.
//! The views themselves are built in `http::pages`.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::extract::QueryParams;
use super::pages;
use crate::app::{App, AppState};
use crate::domain::{Franchise, Locale, TenantKey, View};
use crate::pages::{MessagePage, Texts};
use crate::services::{auth, launch};

const APP_JS: &str = include_str!("../../static/app.js");
const APP_CSS: &str = include_str!("../../static/app.css");

pub async fn app_js() -> Response {
    static_asset(APP_JS, "text/javascript; charset=utf-8")
}

pub async fn app_css() -> Response {
    static_asset(APP_CSS, "text/css; charset=utf-8")
}

fn static_asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// The CSP of every page: our own scripts and styles only, and framing by
/// the franchise's allowed origins only.
pub fn content_security_policy(franchise: Option<&Franchise>) -> String {
    let ancestors = match franchise {
        Some(f) if !f.allowed_origins.is_empty() => f
            .allowed_origins
            .iter()
            .map(|o| o.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => "'none'".to_owned(),
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
    )
}

pub(crate) fn html(status: StatusCode, franchise: Option<&Franchise>, body: String) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(franchise)) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    res
}

pub(crate) fn origins(franchise: Option<&Franchise>) -> Value {
    franchise.map_or_else(|| json!([]), |f| json!(f.allowed_origins))
}

pub(crate) fn view_path(view: View) -> String {
    let (area, slug) = view.segments();
    format!("{area}/{slug}")
}

fn message_page(
    status: StatusCode,
    t: &Texts,
    franchise: Option<&Franchise>,
    kind: &str,
    context: Value,
    title: &str,
    body: &str,
) -> Response {
    let page = MessagePage {
        t,
        context_json: crate::pages::script_json(&context),
        kind,
        title,
        body,
    };
    match page.render() {
        Ok(body) => html(status, franchise, body),
        Err(e) => {
            tracing::error!(error = %e, "page did not render");
            html(StatusCode::INTERNAL_SERVER_ERROR, franchise, String::new())
        }
    }
}

fn not_found(t: &Texts) -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        t,
        None,
        "not-found",
        json!({"state": "none"}),
        t.not_found_title,
        t.not_found_body,
    )
}

/// 410 with the "expired" page; its script posts `session.expired`.
fn expired(t: &Texts, franchise: &Franchise, view: View) -> Response {
    let context = json!({
        "state": "expired",
        "tenantKey": franchise.tenant_key,
        "allowedOrigins": origins(Some(franchise)),
        "expired": {"type": "session.expired", "tenantKey": franchise.tenant_key, "view": view_path(view)},
    });
    message_page(
        StatusCode::GONE,
        t,
        Some(franchise),
        "expired",
        context,
        t.expired_title,
        t.expired_body,
    )
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub async fn page(
    State(app): State<AppState>,
    Path((locale, tenant, area, slug)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(locale) = Locale::parse(&locale) else {
        return not_found(&crate::pages::EN);
    };
    let t = crate::pages::texts(locale);
    let (Some(tenant), Some(view)) = (TenantKey::parse(&tenant), View::from_segments(&area, &slug))
    else {
        return not_found(t);
    };
    match render(&app, locale, &tenant, view, &headers, query.as_deref()).await {
        Ok(res) => res,
        Err(e) => {
            tracing::error!(error = %e, "embedded page failed");
            let mut res = message_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                t,
                None,
                "error",
                json!({"state": "none"}),
                "Error",
                "Internal server error",
            );
            res.headers_mut().remove(header::CONTENT_LENGTH);
            res
        }
    }
}

async fn render(
    app: &App,
    locale: Locale,
    tenant: &TenantKey,
    view: View,
    headers: &HeaderMap,
    query: Option<&str>,
) -> crate::Result<Response> {
    let t = crate::pages::texts(locale);
    let Some(franchise) = auth::franchise(app, tenant).await? else {
        return Ok(not_found(t));
    };
    let launch_token = QueryParams::parse(query)
        .ok()
        .and_then(|q| q.get("session").ok().flatten().map(str::to_owned));
    if let Some(token) = launch_token {
        return match launch::redeem(app, tenant, view, &token).await? {
            launch::Redemption::Started { token, session } => {
                pages::view_page(app, locale, &franchise, &session, view, query, Some(&token)).await
            }
            launch::Redemption::Expired => Ok(expired(t, &franchise, view)),
        };
    }
    if let Some(token) = bearer(headers) {
        return match launch::session(app, tenant, token).await? {
            Some(session) => {
                pages::view_page(app, locale, &franchise, &session, view, query, None).await
            }
            None => Ok(expired(t, &franchise, view)),
        };
    }
    let context = json!({
        "state": "resume",
        "tenantKey": tenant,
        "allowedOrigins": origins(Some(&franchise)),
        "expired": {"type": "session.expired", "tenantKey": tenant, "view": view_path(view)},
        "expiredText": {"title": t.expired_title, "body": t.expired_body},
    });
    Ok(message_page(
        StatusCode::OK,
        t,
        Some(&franchise),
        "resume",
        context,
        t.resume_title,
        t.resume_body,
    ))
}

//! The embedded app's entry: `GET /{locale}/embed/franchise/{tenantKey}/{area}/{view}`.
//!
//! - with `?session={launch token}`: redeem it (exactly once) and answer the
//!   page itself, with a browser-session token for the page's script;
//! - with `Authorization: Bearer {session token}`: the page, for a reload
//!   or a move inside the session (the script sends it; which views a
//!   session may open is decided in `access.rs`);
//! - with neither: a small shell whose script looks for the session token in
//!   `sessionStorage` and asks again with it (cookies are not used: browsers
//!   block them in third-party iframes).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::shell::{self, expired, expired_message, message_page, not_found, origins};
use super::texts::{self, EN};
use super::views;
use crate::app::{App, AppState};
use crate::domain::{Locale, TenantKey, View};
use crate::http::extract::{QueryParams, bearer};
use crate::services::{auth, launch};

pub async fn page(
    State(app): State<AppState>,
    Path((locale, tenant, area, slug)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(locale) = Locale::parse(&locale) else {
        return not_found(&EN);
    };
    let t = texts::texts(locale);
    let (Some(tenant), Some(view)) = (TenantKey::parse(&tenant), View::from_segments(&area, &slug))
    else {
        return not_found(t);
    };
    match render(&app, locale, &tenant, view, &headers, query.as_deref()).await {
        Ok(res) => res,
        Err(e) => {
            tracing::error!(error = %e, "embedded page failed");
            shell::failed(t)
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
    let t = texts::texts(locale);
    let Some(franchise) = auth::franchise(app, tenant).await? else {
        return Ok(not_found(t));
    };
    let launch_token = QueryParams::parse(query)
        .ok()
        .and_then(|q| q.get("session").ok().flatten().map(str::to_owned));
    if let Some(token) = launch_token {
        return match launch::redeem(app, tenant, view, &token).await? {
            launch::Redemption::Started { token, session } => {
                views::view_page(app, locale, &franchise, &session, view, query, Some(&token)).await
            }
            launch::Redemption::Expired => Ok(expired(t, &franchise, view)),
        };
    }
    if let Some(token) = bearer(headers) {
        return match launch::session(app, tenant, token).await? {
            Some(session) => {
                views::view_page(app, locale, &franchise, &session, view, query, None).await
            }
            None => Ok(expired(t, &franchise, view)),
        };
    }
    let context = json!({
        "state": "resume",
        "tenantKey": tenant,
        "allowedOrigins": origins(Some(&franchise)),
        "expired": expired_message(&franchise, view),
        "expiredText": {"title": t.expired_title, "body": t.expired_body},
    });
    let text = (t.resume_title, t.resume_body);
    Ok(message_page(
        StatusCode::OK,
        t,
        Some(&franchise),
        "resume",
        context,
        text,
    ))
}

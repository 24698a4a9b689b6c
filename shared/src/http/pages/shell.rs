//! What frames every page: the HTML response (a `Content-Security-Policy`
//! with `frame-ancestors` limited to the franchise's allowed origins, no
//! caching, no referrer), the pages that hold only a message (not found,
//! expired, resuming the session), and the page's script and style.
//! Pages load nothing from third parties.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::templates::{MessagePage, script_json};
use super::texts::Texts;
use crate::domain::links::view_slug;
use crate::domain::{Franchise, View};

const APP_JS: &str = include_str!("../../../static/app.js");
const APP_CSS: &str = include_str!("../../../static/app.css");

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
/// the franchise's allowed origins only (`'none'` when it is unknown).
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

/// A page: its status, its HTML, and the headers every page carries.
pub fn html(status: StatusCode, franchise: Option<&Franchise>, body: String) -> Response {
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

/// The origins the page's script may post to: the franchise's only.
pub fn origins(franchise: Option<&Franchise>) -> Value {
    franchise.map_or_else(|| json!([]), |f| json!(f.allowed_origins))
}

/// The message the script posts when the session is over.
pub fn expired_message(franchise: &Franchise, view: View) -> Value {
    json!({"type": "session.expired", "tenantKey": franchise.tenant_key, "view": view_slug(view)})
}

/// A page with one message and no session.
pub fn message_page(
    status: StatusCode,
    t: &Texts,
    franchise: Option<&Franchise>,
    kind: &str,
    context: Value,
    (title, body): (&str, &str),
) -> Response {
    let page = MessagePage {
        t,
        context_json: script_json(&context),
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

/// 404: no such page.
pub fn not_found(t: &Texts) -> Response {
    let context = json!({"state": "none"});
    let text = (t.not_found_title, t.not_found_body);
    message_page(StatusCode::NOT_FOUND, t, None, "not-found", context, text)
}

/// 410 with the "expired" page; its script posts `session.expired`.
pub fn expired(t: &Texts, franchise: &Franchise, view: View) -> Response {
    let context = json!({
        "state": "expired",
        "tenantKey": franchise.tenant_key,
        "allowedOrigins": origins(Some(franchise)),
        "expired": expired_message(franchise, view),
    });
    let text = (t.expired_title, t.expired_body);
    message_page(
        StatusCode::GONE,
        t,
        Some(franchise),
        "expired",
        context,
        text,
    )
}

/// 500, with nothing of the cause (which is logged).
pub fn failed(t: &Texts) -> Response {
    let context = json!({"state": "none"});
    let text = ("Error", "Internal server error");
    let mut res = message_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        t,
        None,
        "error",
        context,
        text,
    );
    res.headers_mut().remove(header::CONTENT_LENGTH);
    res
}

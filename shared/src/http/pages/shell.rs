//! What frames every page: the HTML response (a `Content-Security-Policy`
//! whose `frame-ancestors` is the franchise's allowed origins on every page
//! with data, no caching, no referrer), the pages that hold only a message
//! (the entry shell, not found, expired), and the page's script and style.
//! Pages load nothing from third parties.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::templates::{MessagePage, script_json};
use super::texts::Texts;
use crate::domain::links::view_slug;
use crate::domain::{Franchise, TenantKey, View};

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

/// Who may frame a page (its CSP's `frame-ancestors`).
#[derive(Debug, Clone, Copy)]
pub enum Framers<'a> {
    /// A page with data: the franchise's allowed origins only (`'none'`
    /// when it has none).
    Franchise(&'a Franchise),
    /// A page that holds nothing of anyone (the entry shell, the expired
    /// and failed pages): the same for every franchise, known or not, so
    /// that it tells nobody which origins a franchise allows.
    Anyone,
    /// A page that exists for nobody (not found).
    Nobody,
}

/// The CSP of every page: our own scripts and styles only, forms posted to
/// our own origin only, and framing by [`Framers`].
pub fn content_security_policy(framers: Framers<'_>) -> String {
    let ancestors = match framers {
        Framers::Franchise(f) if !f.allowed_origins.is_empty() => f
            .allowed_origins
            .iter()
            .map(|o| o.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        Framers::Anyone => "*".to_owned(),
        Framers::Franchise(_) | Framers::Nobody => "'none'".to_owned(),
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
    )
}

/// `res` with `origin` (a WebSocket origin, `wss://host`) in its CSP's
/// `connect-src` too: a room page whose live socket is another host's (the
/// visit-live WebSocket API in AWS).
pub fn with_connect(mut res: Response, origin: Option<&str>) -> Response {
    let Some(origin) = origin else { return res };
    let h = res.headers_mut();
    let csp = h
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.replacen(
                "connect-src 'self'",
                &format!("connect-src 'self' {origin}"),
                1,
            )
        });
    if let Some(v) = csp.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// The origin (`wss://host[:port]`) of a WebSocket URL.
pub fn socket_origin(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let host = u.host_str()?;
    Some(match u.port() {
        Some(p) => format!("{}://{host}:{p}", u.scheme()),
        None => format!("{}://{host}", u.scheme()),
    })
}

/// A page: its status, its HTML, and the headers every page carries.
pub fn html(status: StatusCode, framers: Framers<'_>, body: String) -> Response {
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
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(framers)) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    res
}

/// The origins the page's script may post data to: the franchise's only.
pub fn origins(franchise: &Franchise) -> Value {
    json!(franchise.allowed_origins)
}

/// The message the script posts when the session is over. It holds only
/// what the framer put in the URL itself, so the script posts it to the
/// page that frames it (whatever the franchise allows: the expired page
/// need not know).
pub fn expired_message(tenant: &TenantKey, view: View) -> Value {
    json!({"type": "session.expired", "tenantKey": tenant, "view": view_slug(view)})
}

/// A page with one message and no session.
pub fn message_page(
    status: StatusCode,
    t: &Texts,
    framers: Framers<'_>,
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
        Ok(body) => html(status, framers, body),
        Err(e) => {
            tracing::error!(error = %e, "page did not render");
            html(StatusCode::INTERNAL_SERVER_ERROR, framers, String::new())
        }
    }
}

/// The entry shell (`GET` of any page): the same bytes for every franchise,
/// known or not, read from nothing. Its script redeems the launch token of
/// the address, or resumes the frame's session, with a `POST` of the same
/// address; with neither it shows the expired state.
pub fn entry_shell(t: &Texts) -> Response {
    let context = json!({
        "state": "shell",
        "expiredText": {"title": t.expired_title, "body": t.expired_body},
    });
    let text = (t.resume_title, t.resume_body);
    message_page(StatusCode::OK, t, Framers::Anyone, "resume", context, text)
}

/// 404: no such page.
pub fn not_found(t: &Texts) -> Response {
    let context = json!({"state": "none"});
    let text = (t.not_found_title, t.not_found_body);
    message_page(
        StatusCode::NOT_FOUND,
        t,
        Framers::Nobody,
        "not-found",
        context,
        text,
    )
}

/// 410 with the "expired" page; its script posts `session.expired`. The
/// same for a franchise that does not exist.
pub fn expired(t: &Texts, tenant: &TenantKey, view: View) -> Response {
    let context = json!({
        "state": "expired",
        "expired": expired_message(tenant, view),
    });
    let text = (t.expired_title, t.expired_body);
    message_page(
        StatusCode::GONE,
        t,
        Framers::Anyone,
        "expired",
        context,
        text,
    )
}

/// 500, or 503 (with `Retry-After`) when a dependency was unavailable,
/// with nothing of the cause (which is logged). Frameable, so that a
/// reload of the frame can try again.
pub fn failed(t: &Texts, e: &crate::Error) -> Response {
    use crate::http::error::{UNAVAILABLE_MESSAGE, retry_after, status};
    let context = json!({"state": "none"});
    let code = status(e);
    let text = match code {
        StatusCode::SERVICE_UNAVAILABLE => ("Error", UNAVAILABLE_MESSAGE),
        _ => ("Error", "Internal server error"),
    };
    let code = match code.is_server_error() {
        true => code,
        false => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut res = message_page(code, t, Framers::Anyone, "error", context, text);
    res.headers_mut().remove(header::CONTENT_LENGTH);
    if let Some(seconds) = retry_after(e).filter(|_| code == StatusCode::SERVICE_UNAVAILABLE) {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    res
}

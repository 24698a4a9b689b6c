//! The embedded app's entry: `/{locale}/embed/franchise/{tenantKey}/{area}/{view}`.
//!
//! - `GET` (and `HEAD`) has no side effect: it answers the entry shell, the
//!   same bytes for every franchise, known or not, read from nothing (mail
//!   gateways and chat previews fetch every link first; a fetch that runs
//!   no script redeems nothing). The shell's script removes the launch
//!   token from the address bar and `POST`s it to the same address with a
//!   nonce of the page — or, without one, the frame's session token from
//!   `sessionStorage` (cookies are not used: browsers block them in
//!   third-party iframes);
//! - `POST` with `launch` and `nonce` (a form body): redeem the launch
//!   (exactly once; again for a few seconds by the same page) and answer
//!   the page itself, with the session token for the page's script; with
//!   `session`: the page of that session; else, or when neither is live,
//!   the expired page (410);
//! - `GET` with `Authorization: Bearer {session token}`: the page, for a
//!   move inside the session (the script fetches it and swaps it in).
//!
//! Which views a session may open is the access table's (`access.rs`).

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::shell::{self, entry_shell, expired, not_found};
use super::texts::{self, EN, Texts};
use super::views;
use crate::app::{App, AppState};
use crate::domain::{Locale, TenantKey, View};
use crate::http::extract::{QueryParams, bearer};
use crate::services::{auth, launch};

/// The largest form body the entry reads (a launch token and a nonce).
const FORM_LIMIT: usize = 4096;

type Segments = (String, String, String, String);

/// The page's locale, franchise and view from the path; `Err`: no such
/// page (the words of its 404).
fn address(
    (locale, tenant, area, slug): &Segments,
) -> Result<(Locale, TenantKey, View), &'static Texts> {
    let Some(locale) = Locale::parse(locale) else {
        return Err(&EN);
    };
    let t = texts::texts(locale);
    match (TenantKey::parse(tenant), View::from_segments(area, slug)) {
        (Some(tenant), Some(view)) => Ok((locale, tenant, view)),
        _ => Err(t),
    }
}

/// `GET`/`HEAD`: the shell, or with a bearer token the session's page.
pub async fn page(
    State(app): State<AppState>,
    Path(segments): Path<Segments>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let (locale, tenant, view) = match address(&segments) {
        Ok(a) => a,
        Err(t) => return not_found(t),
    };
    let t = texts::texts(locale);
    let Some(token) = bearer(&headers) else {
        return entry_shell(t);
    };
    let session = Credential::Bearer(token);
    answer(
        t,
        with(&app, locale, &tenant, view, session, query.as_deref()).await,
    )
}

/// `POST`: redeem the launch, or resume the session, of the form body.
pub async fn open(
    State(app): State<AppState>,
    Path(segments): Path<Segments>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    let (locale, tenant, view) = match address(&segments) {
        Ok(a) => a,
        Err(t) => return not_found(t),
    };
    let t = texts::texts(locale);
    let form = match axum::body::to_bytes(body, FORM_LIMIT).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => return expired(t, &tenant, view),
    };
    let Ok(form) = QueryParams::parse(Some(&form)) else {
        return expired(t, &tenant, view);
    };
    let field = |name: &str| form.get(name).ok().flatten();
    let credential = match (field("launch"), field("session")) {
        (Some(token), _) => Credential::Launch {
            token,
            nonce: field("nonce").unwrap_or_default(),
        },
        (None, Some(token)) => Credential::Session(token),
        (None, None) => return expired(t, &tenant, view),
    };
    answer(
        t,
        with(&app, locale, &tenant, view, credential, query.as_deref()).await,
    )
}

/// What a request opens a page with.
enum Credential<'a> {
    /// A launch token, redeemed by the page of `nonce`.
    Launch { token: &'a str, nonce: &'a str },
    /// A browser session's token, posted by the shell of a reload.
    Session(&'a str),
    /// A browser session's token as a bearer token: a move inside the page.
    Bearer(&'a str),
}

fn answer(t: &Texts, result: crate::Result<Response>) -> Response {
    result.unwrap_or_else(|e| {
        tracing::error!(error = %e, "embedded page failed");
        shell::failed(t, &e)
    })
}

/// The page of `view` for a live session, else the expired page — the same
/// one for a franchise that does not exist.
async fn with(
    app: &App,
    locale: Locale,
    tenant: &TenantKey,
    view: View,
    credential: Credential<'_>,
    query: Option<&str>,
) -> crate::Result<Response> {
    let t = texts::texts(locale);
    let Some(franchise) = auth::franchise(app, tenant).await? else {
        return Ok(expired(t, tenant, view));
    };
    let (session, new_token) = match credential {
        Credential::Launch { token, nonce } => {
            match launch::redeem(app, tenant, view, token, nonce).await? {
                launch::Redemption::Started { token, session } => (*session, Some(token)),
                launch::Redemption::Expired => return Ok(expired(t, tenant, view)),
            }
        }
        // A resume is a new document, which may have no storage to read
        // the token from: it gets it back.
        Credential::Session(token) | Credential::Bearer(token) => {
            let Some(session) = launch::session(app, tenant, token).await? else {
                return Ok(expired(t, tenant, view));
            };
            let resumed = matches!(credential, Credential::Session(_));
            (session, resumed.then(|| token.to_owned()))
        }
    };
    let token = new_token.as_deref();
    views::view_page(app, locale, &franchise, &session, view, query, token).await
}

//! The host-page SDK, served by the app itself (Lambda `embed-pages`):
//! `GET /sdk/embedcare.js` and `GET /sdk/embedcare.d.ts`, the files of
//! `sdk/` compiled in. Public code: any origin may load it (CORS `*`), never
//! sniffed as something else. Cached five minutes, or a year when the URL
//! names the version it wants (`?v={etag}`, as the README shows); an
//! `If-None-Match` of the current version is a `304`.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::app::AppState;

pub const SDK_JS: &str = "/sdk/embedcare.js";
pub const SDK_TYPES: &str = "/sdk/embedcare.d.ts";

const JS: &str = include_str!("../../../sdk/embedcare.js");
const TYPES: &str = include_str!("../../../sdk/embedcare.d.ts");

/// A file and its version (the first 16 hex digits of its SHA-256).
struct File {
    body: &'static str,
    content_type: &'static str,
    version: String,
}

fn file(body: &'static str, content_type: &'static str) -> File {
    let digest = Sha256::digest(body.as_bytes());
    let version = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    File {
        body,
        content_type,
        version,
    }
}

static FILES: LazyLock<[File; 2]> = LazyLock::new(|| {
    [
        file(JS, "text/javascript; charset=utf-8"),
        file(TYPES, "application/typescript; charset=utf-8"),
    ]
});

/// The version of `embedcare.js` now served (what `?v=` names).
pub fn js_version() -> &'static str {
    &FILES[0].version
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            SDK_JS,
            get(|h: HeaderMap, q: RawQuery| async move { serve(&FILES[0], &h, q.0) }),
        )
        .route(
            SDK_TYPES,
            get(|h: HeaderMap, q: RawQuery| async move { serve(&FILES[1], &h, q.0) }),
        )
}

fn serve(f: &File, headers: &HeaderMap, query: Option<String>) -> Response {
    let etag = format!("\"{}\"", f.version);
    let pinned = query
        .as_deref()
        .is_some_and(|q| q.split('&').any(|p| p == format!("v={}", f.version)));
    let cache = if pinned {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, f.content_type)], f.body).into_response()
    };
    let h = res.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, cache.to_owned()),
        (header::ETAG, etag),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_owned()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    res
}

//! A visit's snapshots (`/v2/visits/{visitId}/snapshots…`, served by the
//! `visits` router): the request body of a `POST` is the image itself
//! (`Content-Type: image/png` or `image/jpeg`, at most 5 MiB, its type
//! checked by its magic bytes); a `GET` of one hands out a URL that serves
//! it for 5 minutes. On the local server (feature `local`), also the
//! route of those URLs, `GET /blobs/{key}?expires=…&signature=…`.
//!
//! The order of the checks of a `POST`: the caller (`401`), the declared
//! type (`415`), a declared length over the limit (`413`), the visit and
//! the provider (`404`, `403`), then the body is read (`413` past the
//! limit; `400` empty; `415` when its bytes are not the declared type):
//! nobody but a provider of the room makes us read 5 MiB.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::{VISIT_SNAPSHOT, VISIT_SNAPSHOTS, actor_of};
use crate::app::AppState;
use crate::clock::iso_ms;
use crate::domain::clinic::snapshot::MAX_SNAPSHOT_BYTES;
use crate::domain::clinic::{ImageType, Snapshot};
use crate::domain::{SnapshotId, VisitId};
use crate::error::{Error, Result};
use crate::http::extract;
use crate::http::reply::json_response;
use crate::services::clinic::snapshots::{self, SNAPSHOT_NOT_FOUND, Taker, too_large};
use crate::services::clinic::visits::VISIT_NOT_FOUND;

pub fn routes() -> Router<AppState> {
    let r = Router::new()
        .route(VISIT_SNAPSHOTS, get(list).post(take))
        .route(VISIT_SNAPSHOT, get(one).delete(remove));
    #[cfg(feature = "local")]
    let r = r.route(crate::blobs::local::LOCAL_BLOBS_ROUTE, get(local::serve));
    r
}

fn visit_id(raw: &str) -> Result<VisitId> {
    VisitId::parse(raw).ok_or_else(|| Error::not_found(VISIT_NOT_FOUND))
}

fn snapshot_id(raw: &str) -> Result<SnapshotId> {
    SnapshotId::parse(raw).ok_or_else(|| Error::not_found(SNAPSHOT_NOT_FOUND))
}

pub fn snapshot(s: &Snapshot) -> Value {
    json!({
        "snapshotId": s.snapshot_id,
        "visitId": s.visit_id,
        "contentType": s.content_type,
        "bytes": s.bytes,
        "takenAt": iso_ms(s.taken_at),
        "takenBy": s.taken_by,
    })
}

/// The provider of the request's visit (after the caller).
async fn taker(app: &AppState, headers: &axum::http::HeaderMap, id: &str) -> Result<Taker> {
    let actor = actor_of(app, headers).await?;
    snapshots::provider_of(app, &actor, &visit_id(id)?).await
}

/// The body, `limit` bytes at most (`413` past it, whatever the declared
/// length said).
async fn read_body(body: Body, limit: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| Error::invalid("Request body could not be read"))?;
        if out.len() + chunk.len() > limit {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

async fn take(
    State(app): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response> {
    let headers = req.headers().clone();
    let actor = actor_of(&app, &headers).await?;
    let declared = extract::header_str(&headers, "content-type")
        .and_then(ImageType::of_media_type)
        .ok_or_else(|| {
            Error::UnsupportedMediaType("Content-Type must be image/png or image/jpeg".into())
        })?;
    let declared_len =
        extract::header_str(&headers, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if declared_len.is_some_and(|n| n > MAX_SNAPSHOT_BYTES as u64) {
        return Err(too_large());
    }
    let t = snapshots::provider_of(&app, &actor, &visit_id(&id)?).await?;
    let bytes = read_body(req.into_body(), MAX_SNAPSHOT_BYTES).await?;
    let s = snapshots::take(&app, &t, declared, bytes).await?;
    Ok(json_response(StatusCode::CREATED, &snapshot(&s)))
}

async fn list(
    State(app): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    let t = taker(&app, &headers, &id).await?;
    let items: Vec<Value> = snapshots::list(&app, &t)
        .await?
        .iter()
        .map(snapshot)
        .collect();
    Ok(json_response(StatusCode::OK, &json!({ "items": items })))
}

async fn one(
    State(app): State<AppState>,
    headers: axum::http::HeaderMap,
    Path((id, sid)): Path<(String, String)>,
) -> Result<Response> {
    let t = taker(&app, &headers, &id).await?;
    let (s, url) = snapshots::fetch(&app, &t, &snapshot_id(&sid)?).await?;
    let mut body = snapshot(&s);
    body["url"] = Value::from(url.url);
    body["expiresAt"] = Value::from(iso_ms(url.expires_at));
    Ok(json_response(StatusCode::OK, &body))
}

async fn remove(
    State(app): State<AppState>,
    headers: axum::http::HeaderMap,
    Path((id, sid)): Path<(String, String)>,
) -> Result<Response> {
    let t = taker(&app, &headers, &id).await?;
    snapshots::delete(&app, &t, &snapshot_id(&sid)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The local server's blob URLs (feature `local`).
#[cfg(feature = "local")]
mod local {
    use axum::extract::{Path, RawQuery, State};
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::{IntoResponse, Response};

    use crate::app::AppState;
    use crate::blobs::local::Refused;
    use crate::domain::clinic::ImageType;
    use crate::error::{Error, Result};
    use crate::http::extract::QueryParams;

    /// `GET /blobs/{key}?expires={ms}&signature=…`: the blob, if the URL
    /// is ours, unaltered and unexpired (`403` otherwise; `404` for no
    /// such blob, or a process whose blobs are not local files).
    pub async fn serve(
        State(app): State<AppState>,
        Path(key): Path<String>,
        RawQuery(q): RawQuery,
    ) -> Result<Response> {
        let Some(blobs) = app.blobs.local() else {
            return Err(Error::not_found("No such endpoint"));
        };
        let q = QueryParams::parse(q.as_deref())?;
        let served = blobs
            .open(&key, q.get("expires")?, q.get("signature")?, app.now_ms())
            .await
            .map_err(|r| match r {
                Refused::Forbidden => Error::forbidden("This link is not valid, or it has expired"),
                Refused::NotFound => Error::not_found("No such file"),
            })?;
        // Only the types we store are ever declared.
        let content_type = ImageType::parse(served.content_type.trim())
            .map_or("application/octet-stream", ImageType::as_str);
        let mut res = (StatusCode::OK, served.bytes).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'"),
        );
        Ok(res)
    }
}

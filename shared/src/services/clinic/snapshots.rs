//! A visit's snapshots: images a provider of the visit's room takes
//! during it (the API key naming the provider in `x-integration-user`, or
//! the provider's embedded session). Their bytes go to the blob store
//! (`App::blobs`), their record to the visit's partition; the blob is
//! written first, then the record (a crash between the two leaves an
//! orphan blob, never a record without its bytes); a deletion removes the
//! record first, then the blob, for the same reason. Nothing is written
//! for a refused request. Snapshots are the provider's: a patient or a
//! guest of the visit is refused (`403`); another franchise's visit, or
//! another patient's, is not found (`404`).

use super::Actor;
use super::rooms::{self, require_provider};
use super::visits::visit_for;
use crate::app::App;
use crate::blobs::Presigned;
use crate::domain::clinic::snapshot::{
    MAX_SNAPSHOT_BYTES, MAX_SNAPSHOTS_PER_VISIT, SNAPSHOT_URL_TTL_MS,
};
use crate::domain::clinic::{ImageType, Snapshot};
use crate::domain::{SnapshotId, UserId, VisitId};
use crate::error::{Error, Result};
use crate::store::clinic_items::entities;
use crate::store::snapshot_items::{snapshot_item, snapshots_query};
use crate::store::{Cond, Write, keys};

pub const SNAPSHOT_NOT_FOUND: &str = "Snapshot not found";

/// The provider taking or reading a visit's snapshots: the visit within
/// reach, and the user acting as a provider of its room.
pub struct Taker {
    pub visit_id: VisitId,
    pub user: UserId,
    tenant: crate::domain::TenantKey,
}

/// The actor as a provider of the visit's room (`403` for anyone else;
/// `404` for a visit out of reach).
pub async fn provider_of(app: &App, actor: &Actor, id: &VisitId) -> Result<Taker> {
    let v = visit_for(app, actor, id).await?;
    let user = match actor {
        Actor::Patient { .. } | Actor::Guest { .. } => {
            return Err(Error::forbidden(
                "Snapshots are the provider's: only a provider of the room takes or reads them",
            ));
        }
        _ => actor
            .provider_user()
            .ok_or_else(|| Error::forbidden("Name the provider in x-integration-user"))?,
    };
    let room = rooms::room(app, actor.tenant(), &v.room_code).await?;
    require_provider(app, &room, user).await?;
    Ok(Taker {
        visit_id: v.visit_id,
        user: user.clone(),
        tenant: v.tenant_key,
    })
}

/// The image's type, by its magic bytes, which must be the one declared
/// (`415` otherwise); an empty or oversized body is refused first.
pub fn checked_type(declared: ImageType, bytes: &[u8]) -> Result<ImageType> {
    if bytes.is_empty() {
        return Err(Error::invalid(
            "The snapshot is empty: send the image as the body",
        ));
    }
    if bytes.len() > MAX_SNAPSHOT_BYTES {
        return Err(too_large());
    }
    match ImageType::sniff(bytes) {
        Some(t) if t == declared => Ok(t),
        Some(t) => Err(Error::UnsupportedMediaType(format!(
            "The body is {}, not the {} its Content-Type says",
            t.as_str(),
            declared.as_str()
        ))),
        None => Err(Error::UnsupportedMediaType(format!(
            "The body is not {}: its first bytes are not those of one",
            declared.as_str()
        ))),
    }
}

pub fn too_large() -> Error {
    Error::TooLarge(format!(
        "A snapshot is at most {MAX_SNAPSHOT_BYTES} bytes (5 MiB)"
    ))
}

/// Every snapshot of the taker's visit, oldest first (one `Query`).
pub async fn list(app: &App, t: &Taker) -> Result<Vec<Snapshot>> {
    let page = app
        .store
        .query(&snapshots_query(&t.tenant, &t.visit_id))
        .await?;
    let mut list: Vec<Snapshot> = entities(&page.items)?;
    list.sort_by(|a, b| (a.taken_at, &a.snapshot_id).cmp(&(b.taken_at, &b.snapshot_id)));
    Ok(list)
}

/// `POST /v2/visits/{visitId}/snapshots`: the image stored, then its
/// record (which must not exist: a fresh id).
pub async fn take(app: &App, t: &Taker, declared: ImageType, bytes: Vec<u8>) -> Result<Snapshot> {
    let content_type = checked_type(declared, &bytes)?;
    if list(app, t).await?.len() >= MAX_SNAPSHOTS_PER_VISIT {
        return Err(Error::conflict(format!(
            "A visit holds at most {MAX_SNAPSHOTS_PER_VISIT} snapshots: delete one first"
        )));
    }
    let id = SnapshotId::generate();
    let s = Snapshot {
        blob_key: keys::snapshot_blob_key(&t.tenant, &t.visit_id, &id),
        snapshot_id: id,
        tenant_key: t.tenant.clone(),
        visit_id: t.visit_id.clone(),
        content_type,
        bytes: bytes.len() as u64,
        taken_at: app.now_ms(),
        taken_by: t.user.clone(),
    };
    app.blobs
        .put(&s.blob_key, bytes, content_type.as_str())
        .await?;
    app.store
        .write(Write::Put {
            item: snapshot_item(&s)?,
            cond: Some(Cond::NotExists),
        })
        .await?;
    Ok(s)
}

/// One snapshot of the taker's visit (`404` if it is not one of it).
pub async fn get(app: &App, t: &Taker, id: &SnapshotId) -> Result<Snapshot> {
    let key = keys::snapshot_key(&t.tenant, &t.visit_id, id);
    crate::services::get(app, &key, SNAPSHOT_NOT_FOUND).await
}

/// A snapshot with the URL that serves its bytes for 5 minutes.
pub async fn fetch(app: &App, t: &Taker, id: &SnapshotId) -> Result<(Snapshot, Presigned)> {
    let s = get(app, t, id).await?;
    let url = app
        .blobs
        .presign_get(&s.blob_key, app.now_ms(), SNAPSHOT_URL_TTL_MS)
        .await?;
    Ok((s, url))
}

/// `DELETE …/snapshots/{snapshotId}`: the record (if it is still there),
/// then the blob. A blob that could not be removed stays an orphan (logged,
/// ids only): the record is gone, so no URL is handed out for it again.
pub async fn delete(app: &App, t: &Taker, id: &SnapshotId) -> Result<()> {
    let s = get(app, t, id).await?;
    let key = keys::snapshot_key(&t.tenant, &t.visit_id, id);
    app.store
        .write(Write::Delete {
            key,
            cond: Some(Cond::Exists),
        })
        .await
        .map_err(|e| match Error::from(e) {
            Error::Contention { .. } => Error::not_found(SNAPSHOT_NOT_FOUND),
            other => other,
        })?;
    if let Err(e) = app.blobs.delete(&s.blob_key).await {
        tracing::warn!(
            snapshot_id = %s.snapshot_id,
            visit_id = %s.visit_id,
            error = %e,
            "a deleted snapshot's blob stays (an orphan)"
        );
    }
    Ok(())
}

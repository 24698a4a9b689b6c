//! The blob store port: bytes kept under a key, handed out through a URL
//! that serves them for a short while, deleted. What keeps a visit's
//! snapshots (`services::clinic::snapshots`).
//!
//! Adapters:
//! - S3 (`s3.rs`, feature `aws-blobs`): `PutObject` with server-side
//!   encryption, a presigned `GetObject` URL, `DeleteObject`, on the
//!   stack's private bucket;
//! - files under the data directory (`local.rs`): a URL of the local
//!   server signed with a key derived from the deployment secret (HMAC
//!   over the key and the expiry), served by its `/blobs/…` route only.
//!
//! A key is a path of ids (`t/{tenant}/visits/{visitId}/{snapshotId}`,
//! written in `store/keys.rs`): no personal data in keys or URLs. Nothing
//! here knows a service, HTTP or the store.

pub mod local;
#[cfg(feature = "aws-blobs")]
pub mod s3;

use async_trait::async_trait;

use crate::error::{Error, Result};
pub use local::LocalBlobs;

/// A URL that serves a blob until `expires_at` (epoch milliseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    pub url: String,
    pub expires_at: i64,
}

#[async_trait]
pub trait Blobs: Send + Sync {
    /// Stores `bytes` under `key` (replacing what was there).
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<()>;

    /// A URL serving the blob at `key` from `now_ms` for `ttl_ms`.
    async fn presign_get(&self, key: &str, now_ms: i64, ttl_ms: i64) -> Result<Presigned>;

    /// Removes the blob at `key`; one already gone is no error.
    async fn delete(&self, key: &str) -> Result<()>;

    /// The files under the data directory, when this is that adapter (the
    /// local server's route serves them).
    fn local(&self) -> Option<&LocalBlobs> {
        None
    }
}

/// The blob store of a process that keeps none: every call is refused.
pub struct NoBlobs;

fn none() -> Error {
    Error::Unavailable("this process has no blob store (EMBEDCARE_SNAPSHOT_BUCKET unset)".into())
}

#[async_trait]
impl Blobs for NoBlobs {
    async fn put(&self, _: &str, _: Vec<u8>, _: &str) -> Result<()> {
        Err(none())
    }
    async fn presign_get(&self, _: &str, _: i64, _: i64) -> Result<Presigned> {
        Err(none())
    }
    async fn delete(&self, _: &str) -> Result<()> {
        Err(none())
    }
}

/// Whether `key` is a path of ids: 1 to 8 segments of 1 to 128 of
/// `[A-Za-z0-9_-]`. Nothing else is ever a key, so no key climbs out of a
/// directory (`..`), names a hidden file or a side file (`.type`).
pub fn is_key(key: &str) -> bool {
    let segments: Vec<&str> = key.split('/').collect();
    (1..=8).contains(&segments.len())
        && segments.iter().all(|s| {
            (1..=128).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_paths_of_ids_only() {
        assert!(is_key("t/demo/visits/v-1/s_2"));
        for bad in [
            "",
            "/t/demo",
            "t//demo",
            "t/../secret",
            "t/./x",
            "..",
            "t/demo/",
            "t/demo/x.type",
            "t\\demo",
            "t/dé",
            "a/b/c/d/e/f/g/h/i",
        ] {
            assert!(!is_key(bad), "{bad:?}");
        }
    }
}

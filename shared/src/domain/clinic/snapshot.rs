//! A snapshot: an image (PNG or JPEG) a provider takes during a visit,
//! kept as a blob beside the visit; its type is what its first bytes say,
//! never what a header claims. Pure rules, no I/O.

use serde::{Deserialize, Serialize};

use crate::domain::ids::{SnapshotId, VisitId};
use crate::domain::types::{TenantKey, UserId};

/// The largest snapshot: 5 MiB (5 242 880 bytes) of image.
pub const MAX_SNAPSHOT_BYTES: usize = 5 * 1024 * 1024;

/// How long a snapshot's URL serves it: 5 minutes.
pub const SNAPSHOT_URL_TTL_MS: i64 = 5 * 60_000;

/// At most this many snapshots per visit (a `409` past it).
pub const MAX_SNAPSHOTS_PER_VISIT: usize = 100;

// Alike the other vocabularies by nature (see `ConsultationStatus`).
named_enum! {
    /// The image types a snapshot may be, as their media types.
    ImageType {
        Png = "image/png",
        Jpeg = "image/jpeg",
    }
}

/// PNG's signature: `\x89PNG\r\n\x1a\n`.
const PNG_MAGIC: &[u8] = &[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
/// JPEG's start of image and the first marker's `FF`.
const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF];

impl ImageType {
    /// The type a `Content-Type` header names (parameters and case aside).
    pub fn of_media_type(header: &str) -> Option<Self> {
        let mime = header.split(';').next()?.trim().to_ascii_lowercase();
        Self::parse(&mime)
    }

    /// The type the bytes are, by their magic numbers.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(PNG_MAGIC) {
            Some(ImageType::Png)
        } else if bytes.starts_with(JPEG_MAGIC) {
            Some(ImageType::Jpeg)
        } else {
            None
        }
    }
}

/// One snapshot's record (its bytes are a blob at `blob_key`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub snapshot_id: SnapshotId,
    pub tenant_key: TenantKey,
    pub visit_id: VisitId,
    pub content_type: ImageType,
    pub bytes: u64,
    pub taken_at: i64,
    /// The provider who took it (their user id).
    pub taken_by: UserId,
    /// Where its bytes are in the blob store (ids only).
    pub blob_key: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_is_what_the_bytes_say() {
        let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0];
        assert_eq!(ImageType::sniff(&png), Some(ImageType::Png));
        assert_eq!(
            ImageType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(ImageType::Jpeg)
        );
        assert_eq!(ImageType::sniff(b"hello, not an image"), None);
        assert_eq!(ImageType::sniff(&png[..7]), None, "a cut signature");
        assert_eq!(ImageType::sniff(&[0xFF, 0xD8]), None);
        assert_eq!(ImageType::sniff(&[]), None);
    }

    #[test]
    fn media_types_are_read_loosely_and_only_these_two() {
        assert_eq!(
            ImageType::of_media_type("Image/PNG; charset=binary"),
            Some(ImageType::Png)
        );
        assert_eq!(
            ImageType::of_media_type("image/jpeg"),
            Some(ImageType::Jpeg)
        );
        assert_eq!(ImageType::of_media_type("image/gif"), None);
        assert_eq!(ImageType::of_media_type("image/jpg"), None);
        assert_eq!(ImageType::of_media_type(""), None);
    }
}

//! The keys of a visit's snapshots, part of `keys.rs` (re-exported there;
//! a file of its own only to keep `keys.rs` under the layout's 600 lines):
//! the record in the visit's partition, and its bytes' blob key.

use super::visit_partition;
use crate::domain::{SnapshotId, TenantKey, VisitId};
use crate::store::Key;

/// The sort key prefix of a visit's snapshots (in its partition).
pub const SNAPSHOT_PREFIX: &str = "SNAP#";

/// A snapshot's record, in its visit's partition.
pub fn snapshot_key(tenant: &TenantKey, visit: &VisitId, id: &SnapshotId) -> Key {
    Key::new(
        visit_partition(tenant, visit),
        format!("{SNAPSHOT_PREFIX}{id}"),
    )
}

/// A snapshot's bytes in the blob store (S3's object key): ids only.
pub fn snapshot_blob_key(tenant: &TenantKey, visit: &VisitId, id: &SnapshotId) -> String {
    format!("t/{tenant}/visits/{visit}/{id}")
}

//! The one cursor codec: where a page of a list ended, sealed for the
//! caller. A sealed cursor is base64url of the store's [`Cursor`] (JSON)
//! followed by an HMAC-SHA256 tag, keyed with a key derived from the
//! deployment secret, over the cursor, the franchise and the list it
//! continues (the query: its index, its partition, its sort condition — a
//! patient's consultations and follow-ups share a partition). So a cursor
//! opens only in the list it came from, for the franchise it came from: a
//! forged, truncated, tampered or foreign one does not open (the caller
//! answers `400`), and nothing but a cursor the store itself produced ever
//! reaches a query.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{Cursor, Index, Query};
use crate::crypto::{Secret, TagKey};
use crate::domain::TenantKey;

/// The purpose the cursor key is derived for.
const PURPOSE: &str = "embedcare/cursor/v1";
const TAG_LEN: usize = 32;
/// A sealed cursor longer than this is not one of ours (the store's keys
/// are short).
const MAX_SEALED_LEN: usize = 4096;

#[derive(Debug, Clone)]
pub struct CursorCodec {
    key: TagKey,
}

impl CursorCodec {
    pub fn new(secret: &Secret) -> Self {
        Self {
            key: secret.derive(PURPOSE),
        }
    }

    /// The sealed form of `cursor`, where a page of `list` (of `tenant`)
    /// ended.
    pub fn seal(&self, cursor: &Cursor, tenant: &TenantKey, list: &Query) -> String {
        let json = serde_json::to_vec(cursor).unwrap_or_default();
        let tag = self.key.tag(&parts(tenant, &list_of(list), &json));
        let mut bytes = json;
        bytes.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The cursor `sealed` stands for, if it was sealed here for this very
    /// list; `None` for anything else.
    pub fn open(&self, sealed: &str, tenant: &TenantKey, list: &Query) -> Option<Cursor> {
        if sealed.len() > MAX_SEALED_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        let split = bytes.len().checked_sub(TAG_LEN)?;
        let (json, tag) = bytes.split_at(split);
        if !self.key.verify(&parts(tenant, &list_of(list), json), tag) {
            return None;
        }
        let cursor: Cursor = serde_json::from_slice(json).ok()?;
        // Sealed by us for this partition; checked again all the same.
        let partition = match list.index {
            Index::Table => Some(cursor.pk.as_str()),
            _ => cursor.ipk.as_deref(),
        };
        (partition == Some(list.pk.as_str())).then_some(cursor)
    }
}

/// What names a list: the index, partition, sort condition and order of
/// its query (not where it starts, nor how many items a page holds).
fn list_of(q: &Query) -> String {
    format!("{:?}\n{}\n{:?}\n{}", q.index, q.pk, q.sort, q.forward)
}

fn parts<'a>(tenant: &'a TenantKey, list: &'a str, json: &'a [u8]) -> [&'a [u8]; 3] {
    [tenant.as_str().as_bytes(), list.as_bytes(), json]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ConsultationId, PatientId};
    use crate::store::SortCond;
    use crate::store::keys::{self, Listed};

    /// A patient's list of consultations or follow-ups, as `lists` queries it.
    fn of_patient(tenant: &TenantKey, patient: &str, listed: Listed) -> Query {
        let mut q = Query::partition(
            Index::Gsi3,
            keys::patient_list(tenant, &PatientId::parse(patient).unwrap()),
        );
        q.sort = SortCond::BeginsWith(keys::patient_list_prefix(listed));
        q.forward = false;
        q
    }

    fn cursor(tenant: &TenantKey, ipk: &str) -> Cursor {
        let key = keys::consultation_key(tenant, &ConsultationId::parse("c1").unwrap());
        Cursor {
            pk: key.pk,
            sk: key.sk,
            ipk: Some(ipk.into()),
            isk: Some("C#0001767225600000#c1".into()),
        }
    }

    #[test]
    fn a_cursor_opens_only_in_its_own_list() {
        let codec = CursorCodec::new(&Secret::ephemeral());
        let demo = TenantKey::parse("demo").unwrap();
        let other = TenantKey::parse("other").unwrap();
        let list = &of_patient(&demo, "p1", Listed::Consultations);
        let at = cursor(&demo, &list.pk);
        let sealed = codec.seal(&at, &demo, list);
        assert_eq!(codec.open(&sealed, &demo, list), Some(at.clone()));
        // Another patient's list, the patient's follow-ups, all consultations,
        // another tenant, another deployment.
        let p2 = of_patient(&demo, "p2", Listed::Consultations);
        assert_eq!(codec.open(&sealed, &demo, &p2), None);
        let followups = of_patient(&demo, "p1", Listed::Followups);
        assert_eq!(codec.open(&sealed, &demo, &followups), None);
        let all = Query::partition(Index::Gsi1, keys::tenant_list(&demo, Listed::Consultations));
        assert_eq!(codec.open(&sealed, &demo, &all), None);
        assert_eq!(codec.open(&sealed, &other, list), None);
        let elsewhere = CursorCodec::new(&Secret::ephemeral());
        assert_eq!(elsewhere.open(&sealed, &demo, list), None);
        // Truncated, tampered, not base64, empty, unsealed.
        assert_eq!(codec.open(&sealed[..sealed.len() - 2], &demo, list), None);
        let mut tampered = sealed.clone().into_bytes();
        tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            codec.open(&String::from_utf8(tampered).unwrap(), &demo, list),
            None
        );
        for bad in ["not base64!", "", "bm90IGpzb24", "AAAA"] {
            assert_eq!(codec.open(bad, &demo, list), None, "{bad}");
        }
        let unsealed = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&at).unwrap());
        assert_eq!(codec.open(&unsealed, &demo, list), None);
        // A cursor of another partition sealed for this one does not open.
        let odd = codec.seal(&cursor(&demo, &all.pk), &demo, list);
        assert_eq!(codec.open(&odd, &demo, list), None);
    }
}

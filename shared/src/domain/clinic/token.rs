//! The tokens of the patient side, which work without a tenant in the
//! path and so carry their franchise: SSO tokens, patient-app sessions and
//! guest sessions are `{tenantKey}.{tokenId}.{secret}` (the id is the
//! lookup key, the secret is stored only as its hash), guest join codes
//! `{tenantKey}.{code}` (128 random bits, hex).

use serde::{Deserialize, Serialize};

use crate::domain::ids::{ParticipantId, PatientId, VisitId};
use crate::domain::types::TenantKey;

// Alike the other vocabularies by nature (see `ConsultationStatus`).
named_enum! {
    TokenKind {
        /// Issued to a vendor's server for one patient (`POST /v2/patients/sso`).
        Sso = "SSO",
        /// A patient's browser session, from an SSO login.
        Session = "SESSION",
        /// A guest's browser session, from a join code or an invitation:
        /// one visit only.
        Guest = "GUEST",
        /// A participant's single-use invitation link (24 h): redeemed
        /// once for a guest session of its visit.
        Invitation = "INVITATION",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClinicToken {
    pub tenant_key: TenantKey,
    pub token_id: String,
    pub kind: TokenKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_id: Option<PatientId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_id: Option<VisitId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_name: Option<String>,
    /// The participant an invitation, or the session it opened, is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<ParticipantId>,
    pub secret_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// `[0-9a-f]{len}`.
fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Length of a token id, in hex characters (128 bits).
pub const TOKEN_ID_LEN: usize = 32;

/// A token as presented: `{tenantKey}.{tokenId}.{secret}`.
#[derive(Clone, PartialEq, Eq)]
pub struct PresentedToken {
    pub tenant: TenantKey,
    pub id: String,
    pub secret: String,
}

impl std::fmt::Debug for PresentedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedToken")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl PresentedToken {
    /// `id`: [`TOKEN_ID_LEN`] hex, or one of our ids (an appointment
    /// link's id is its visit's).
    pub fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.trim().split('.');
        let (tenant, id, secret) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let id_ok = crate::domain::ids::is_id(id);
        let secret_ok = (20..=128).contains(&secret.len())
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let tenant = TenantKey::parse(tenant)?;
        (id_ok && secret_ok).then(|| Self {
            tenant,
            id: id.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// The token as handed out.
    pub fn expose(&self) -> String {
        format!("{}.{}.{}", self.tenant, self.id, self.secret)
    }
}

/// A guest's join code: `{tenantKey}.{code}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinCode {
    pub tenant: TenantKey,
    pub code: String,
}

impl JoinCode {
    pub const CODE_LEN: usize = 32;

    pub fn parse(raw: &str) -> Option<Self> {
        let (tenant, code) = raw.trim().split_once('.')?;
        let tenant = TenantKey::parse(tenant)?;
        is_hex(code, Self::CODE_LEN).then(|| Self {
            tenant,
            code: code.to_owned(),
        })
    }

    pub fn expose(&self) -> String {
        format!("{}.{}", self.tenant, self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_their_franchise() {
        let raw = format!("demo.{}.{}", "a".repeat(32), "s".repeat(43));
        let t = PresentedToken::parse(&raw).unwrap();
        assert_eq!(t.tenant.as_str(), "demo");
        assert_eq!(t.expose(), raw);
        assert!(!format!("{t:?}").contains("sss"));
        for bad in [
            "",
            "demo",
            "demo.abc",
            &format!("Demo.{}.{}", "a".repeat(32), "s".repeat(43)),
            &format!("demo.{}.{}.x", "a".repeat(32), "s".repeat(43)),
            &format!("demo.{}.short", "a".repeat(32)),
            &format!("demo.a#b.{}", "s".repeat(43)),
        ] {
            assert!(PresentedToken::parse(bad).is_none(), "{bad}");
        }
        let j = JoinCode::parse(&format!("demo.{}", "0f".repeat(16))).unwrap();
        assert_eq!(j.code.len(), 32);
        assert!(JoinCode::parse("demo.0F0F").is_none());
        assert!(JoinCode::parse(&format!("demo.{}", "g".repeat(32))).is_none());
    }
}

//! Accounts, their franchises (the tenants) and their API keys.
//! Timestamps are epoch milliseconds; every mutable entity has a `version`.

use serde::{Deserialize, Serialize};

use super::ids::{AccountId, KeyId};
use super::types::{Email, Language, Origin, TenantKey, UserId};

/// An organisation (a pharmacy chain, a clinic group): owns API keys, users
/// and franchises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub account_id: AccountId,
    pub name: String,
    pub created_at: i64,
    pub version: u64,
}

// Alike the other state machines' by nature (see `ConsultationStatus`).
named_enum! {
    FranchiseStatus {
        /// Provisioned by the operator; its terms not yet accepted.
        Active = "ACTIVE",
        /// Its terms accepted in the onboarding view.
        Onboarded = "ONBOARDED",
        Offboarded = "OFFBOARDED",
    }
}

impl FranchiseStatus {
    /// ACTIVE → ONBOARDED; ACTIVE | ONBOARDED → OFFBOARDED.
    pub fn can_move_to(self, to: FranchiseStatus) -> bool {
        use FranchiseStatus::*;
        matches!(
            (self, to),
            (Active, Onboarded) | (Active | Onboarded, Offboarded)
        )
    }
}

/// A tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Franchise {
    pub tenant_key: TenantKey,
    pub account_id: AccountId,
    pub name: String,
    pub language: Language,
    pub allowed_origins: Vec<Origin>,
    pub status: FranchiseStatus,
    /// Who accepted the terms, and when (onboarding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_accepted_by: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_accepted_at: Option<i64>,
    /// Where the operator tells the franchise about its integration (a
    /// webhook endpoint disabled after failing for days). Set by the
    /// operator command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<Email>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

impl Franchise {
    /// Moves to `to` (accepted by `by`, when onboarding), or says why not.
    /// Returns the previous status.
    pub fn move_to(
        &mut self,
        to: FranchiseStatus,
        by: Option<&UserId>,
        now: i64,
    ) -> crate::error::Result<FranchiseStatus> {
        let previous = super::check_move(
            "franchise",
            &mut self.status,
            to,
            FranchiseStatus::can_move_to,
        )?;
        self.version += 1;
        self.updated_at = now;
        if let Some(user) = by {
            self.terms_accepted_by = Some(user.clone());
            self.terms_accepted_at = Some(now);
        }
        Ok(previous)
    }
}

/// An API key as stored: never the secret, only its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRecord {
    pub key_id: KeyId,
    pub account_id: AccountId,
    pub secret_hash: String,
    pub tenant_keys: Vec<TenantKey>,
    /// The user whose profile sessions use when no `x-integration-user` is
    /// sent, and whom a new id-only user is cloned from.
    pub owner_user_id: UserId,
    pub label: String,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
    pub version: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use FranchiseStatus as S;

    #[test]
    fn franchise_moves() {
        assert!(S::Active.can_move_to(S::Onboarded));
        assert!(S::Onboarded.can_move_to(S::Offboarded));
        assert!(!S::Offboarded.can_move_to(S::Onboarded));
        assert!(!S::Onboarded.can_move_to(S::Onboarded));
        assert_eq!(serde_json::to_value(S::Onboarded).unwrap(), "ONBOARDED");
    }
}

//! Accounts, their franchises (the tenants) and their API keys.
//! Timestamps are epoch milliseconds; every mutable entity has a `version`.

use serde::{Deserialize, Serialize};

use super::clinic::TimeZoneName;
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
    /// ACTIVE → ONBOARDED; ACTIVE | ONBOARDED → OFFBOARDED. Nothing leaves
    /// OFFBOARDED here: only the operator reactivates a franchise
    /// ([`Franchise::reactivate`]), never a page.
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
    /// Where the franchise is: opening hours and availability are in its
    /// local time (`America/Toronto` for franchises made before it was
    /// asked).
    #[serde(default = "TimeZoneName::default_zone")]
    pub time_zone: TimeZoneName,
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
    /// Browser sessions started (and launches issued) at or before this
    /// instant are refused: the operator revoked every session of the
    /// franchise, or it was offboarded. No scan of the sessions: every
    /// session check compares its own start with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions_valid_after: Option<i64>,
    /// API keys of the franchise revoked lately: their sessions are refused.
    /// Kept on the franchise (read by every session check anyway) rather
    /// than read from the key, so that the pages never read API keys;
    /// dropped once no session of theirs can be alive ([`REVOKED_KEPT_MS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revoked_keys: Vec<RevokedKey>,
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
        if to == FranchiseStatus::Offboarded {
            // Its sessions end with it, and do not come back if the
            // operator reactivates it.
            self.sessions_valid_after = Some(now);
        }
        Ok(previous)
    }

    /// The operator's reactivation of an offboarded franchise: back to
    /// ONBOARDED when its terms were accepted, else ACTIVE. Returns the
    /// previous status (OFFBOARDED); `409` for any other franchise.
    pub fn reactivate(&mut self, now: i64) -> crate::error::Result<FranchiseStatus> {
        if self.status != FranchiseStatus::Offboarded {
            return Err(crate::error::Error::conflict(format!(
                "The franchise is {}, not OFFBOARDED: there is nothing to reactivate",
                self.status.as_str()
            )));
        }
        self.status = if self.terms_accepted_at.is_some() {
            FranchiseStatus::Onboarded
        } else {
            FranchiseStatus::Active
        };
        self.version += 1;
        self.updated_at = now;
        Ok(FranchiseStatus::Offboarded)
    }

    /// Whether a session started (or a launch issued) at `at`, by the API
    /// key `key` (none: the notifier's answer links), may still be used: the
    /// franchise is not offboarded, has not revoked its sessions since, and
    /// the key is not revoked.
    pub fn admits_session_of(&self, at: i64, key: Option<&KeyId>) -> bool {
        self.status != FranchiseStatus::Offboarded
            && self.sessions_valid_after.is_none_or(|after| at > after)
            && key.is_none_or(|k| !self.revoked_keys.iter().any(|r| r.key_id == *k))
    }

    /// Records that `key` was revoked at `now` (once), forgetting the keys
    /// revoked so long ago that none of their sessions can be alive. Whether
    /// it changed anything.
    pub fn revoke_key(&mut self, key: &KeyId, now: i64) -> bool {
        let before = self.revoked_keys.len();
        self.revoked_keys.retain(|r| now - r.at < REVOKED_KEPT_MS);
        let known = self.revoked_keys.iter().any(|r| r.key_id == *key);
        if !known {
            self.revoked_keys.push(RevokedKey {
                key_id: key.clone(),
                at: now,
            });
        }
        !known || self.revoked_keys.len() != before
    }
}

/// A revoked API key, on the franchises it served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokedKey {
    pub key_id: KeyId,
    pub at: i64,
}

/// How long a revoked key stays on its franchises: longer than a launch
/// (at most a day) and then its session (at most a day) can last.
pub const REVOKED_KEPT_MS: i64 = 3 * 24 * 3600 * 1000;

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
    /// When the key stops working by itself (the operator's choice at
    /// creation); `None`: it works until it is revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    pub version: u64,
}

impl ApiKeyRecord {
    /// Neither revoked nor expired at `now`.
    pub fn is_usable(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
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
        for s in [S::Active, S::Onboarded, S::Offboarded] {
            assert!(!S::Offboarded.can_move_to(s), "no page leaves OFFBOARDED");
        }
    }

    fn franchise(status: S, accepted: bool) -> Franchise {
        Franchise {
            tenant_key: TenantKey::parse("t").unwrap(),
            account_id: AccountId::parse("a").unwrap(),
            name: "T".into(),
            language: Language::En,
            allowed_origins: vec![],
            time_zone: TimeZoneName::default_zone(),
            status,
            terms_accepted_by: None,
            terms_accepted_at: accepted.then_some(1),
            contact_email: None,
            sessions_valid_after: None,
            revoked_keys: vec![],
            created_at: 0,
            updated_at: 0,
            version: 3,
        }
    }

    #[test]
    fn offboarding_ends_sessions_and_reactivation_returns_to_the_last_standing() {
        let mut f = franchise(S::Onboarded, true);
        assert!(f.admits_session_of(5, None));
        f.move_to(S::Offboarded, None, 10).unwrap();
        assert!(!f.admits_session_of(20, None), "offboarded");
        assert_eq!(f.reactivate(30).unwrap(), S::Offboarded);
        assert_eq!((f.status, f.version), (S::Onboarded, 5));
        assert!(
            !f.admits_session_of(10, None),
            "sessions of before the offboarding stay ended"
        );
        assert!(f.admits_session_of(11, None));
        assert!(f.reactivate(40).is_err(), "only an offboarded franchise");
        // A revoked key's sessions are refused; the record goes once none can live.
        let key = KeyId::parse("0123456789abcdef").unwrap();
        assert!(f.revoke_key(&key, 100));
        assert!(!f.revoke_key(&key, 200), "once");
        assert!(!f.admits_session_of(50, Some(&key)));
        assert!(f.admits_session_of(50, None));
        let other = KeyId::parse("fedcba9876543210").unwrap();
        assert!(f.admits_session_of(50, Some(&other)));
        f.revoke_key(&other, 100 + REVOKED_KEPT_MS);
        assert_eq!(f.revoked_keys.len(), 1, "the old one forgotten");
        let mut never_onboarded = franchise(S::Offboarded, false);
        never_onboarded.reactivate(1).unwrap();
        assert_eq!(never_onboarded.status, S::Active);
    }
}

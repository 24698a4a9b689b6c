//! Launches: what a presigned iframe URL may open (its scope), the
//! single-use launch token behind the URL, and the browser session that
//! redeeming it starts.

use serde::{Deserialize, Serialize};

use super::consultation::Metadata;
use super::ids::{AccountId, ConsultationId, FollowupId, KeyId, PatientId};
use super::prefill::{ConsultationPrefill, FollowupPrefill, Prefill};
use super::reach::Reach;
use super::types::{Locale, TenantKey, UserId};
use super::view::{Role, View};

/// What a launch token (and the browser session it becomes) may do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    pub account_id: AccountId,
    pub user_id: UserId,
    pub role: Role,
    pub view: View,
    pub locale: Locale,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_id: Option<PatientId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consultation_id: Option<ConsultationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followup_id: Option<FollowupId>,
    /// Data the vendor prefilled (a consultation's reason and metadata, a
    /// follow-up plan's fields). Kept server-side, never in the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<Prefill>,
    /// What the session may reach ([`Reach`]); recorded by every launch
    /// issued since it exists (one stored without it reaches what its view
    /// and ids give: [`Scope::reach`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reach: Option<Reach>,
    /// The API key that asked for the launch (none for the answer links the
    /// notifier sends): once it is revoked or expired, its sessions are
    /// refused too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<KeyId>,
    /// That key's expiry, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_expires_at: Option<i64>,
}

impl Scope {
    /// What the session may reach: the recorded reach, else the narrowest
    /// its view and ids give. `None`: nothing (e.g. a patient's scope that
    /// names neither a patient nor a consultation).
    pub fn reach(&self) -> Option<Reach> {
        self.reach.clone().or_else(|| {
            Reach::of_launch(
                self.view,
                self.patient_id.as_ref(),
                self.consultation_id.as_ref(),
                self.followup_id.as_ref(),
                false,
            )
        })
    }

    /// The prefilled consultation, if the launch has one.
    pub fn consultation_prefill(&self) -> Option<&ConsultationPrefill> {
        match &self.prefill {
            Some(Prefill::Consultation(c)) => Some(c),
            _ => None,
        }
    }

    /// The prefilled follow-up plan, if the launch has one.
    pub fn followup_prefill(&self) -> Option<&FollowupPrefill> {
        match &self.prefill {
            Some(Prefill::Followup(f)) => Some(f),
            _ => None,
        }
    }

    /// The vendor's metadata for a consultation created for `patient`: only
    /// that of a launch for this very patient.
    pub fn metadata_for(&self, patient: &PatientId) -> Option<Metadata> {
        self.consultation_prefill()
            .filter(|_| self.patient_id.as_ref() == Some(patient))
            .and_then(|p| p.metadata.clone())
    }
}

/// A presigned, single-use launch. Stored under the hash of its token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchToken {
    pub tenant_key: TenantKey,
    pub scope: Scope,
    pub issued_at: i64,
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeemed_at: Option<i64>,
    /// The hash of the nonce of the page that redeemed it: the same page may
    /// redeem it again for a few seconds (its first answer may have been
    /// lost), no other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce_hash: Option<String>,
}

/// The browser session a redeemed launch starts; the page holds its token
/// (in memory, in `sessionStorage` under its frame's key, in its history
/// state) and sends it as a bearer token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrowserSession {
    pub tenant_key: TenantKey,
    pub scope: Scope,
    pub created_at: i64,
    pub expires_at: i64,
}

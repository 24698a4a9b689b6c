//! The entities the core stores. Serialized with serde (camelCase) into the
//! store's items by `repo`; timestamps are epoch milliseconds.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::types::{Email, Language, Locale, Origin, TenantKey, UserId};
use super::view::{Role, View};

/// An organisation (a pharmacy chain, a clinic group): owns API keys, users
/// and franchises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub account_id: String,
    pub name: String,
    pub created_at: i64,
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FranchiseStatus {
    /// Provisioned by the operator; its terms not yet accepted.
    Active,
    /// Its terms accepted in the onboarding view.
    Onboarded,
    Offboarded,
}

impl FranchiseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FranchiseStatus::Active => "ACTIVE",
            FranchiseStatus::Onboarded => "ONBOARDED",
            FranchiseStatus::Offboarded => "OFFBOARDED",
        }
    }
}

/// A tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Franchise {
    pub tenant_key: TenantKey,
    pub account_id: String,
    pub name: String,
    pub language: Language,
    pub allowed_origins: Vec<Origin>,
    pub status: FranchiseStatus,
    /// Who accepted the terms, and when (onboarding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_accepted_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_accepted_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

/// An API key as stored: never the secret, only its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRecord {
    pub key_id: String,
    pub account_id: String,
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

/// An employee (pharmacist, nurse, physician) of an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub account_id: String,
    pub user_id: UserId,
    pub first_name: String,
    pub last_name: String,
    pub email: Email,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_number: Option<String>,
    pub preferred_language: Language,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

/// One of a patient's identifiers in a vendor's sub-system.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatientKey {
    pub sub_system: String,
    pub key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Female,
    Male,
    Other,
    Unknown,
}

impl Sex {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "female" | "f" => Some(Sex::Female),
            "male" | "m" => Some(Sex::Male),
            "other" | "x" => Some(Sex::Other),
            "unknown" | "u" => Some(Sex::Unknown),
            _ => None,
        }
    }
}

/// A patient of a franchise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    pub tenant_key: TenantKey,
    pub patient_id: String,
    pub keys: Vec<PatientKey>,
    pub first_name: String,
    pub last_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_language: Option<Language>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

/// What a launch token (and the browser session it becomes) may do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    pub account_id: String,
    pub user_id: UserId,
    pub role: Role,
    pub view: View,
    pub locale: Locale,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consultation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followup_id: Option<String>,
    /// Data the vendor prefilled (a consultation's reason and metadata, a
    /// follow-up plan's fields). Kept server-side, never in the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<Value>,
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
}

/// The browser session a redeemed launch starts; the page holds its token
/// in memory / `sessionStorage` and sends it as a bearer token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrowserSession {
    pub tenant_key: TenantKey,
    pub scope: Scope,
    pub created_at: i64,
    pub expires_at: i64,
}

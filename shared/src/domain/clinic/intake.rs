//! Intakes: why a patient wants to be seen, before a visit is made of it.

use serde::{Deserialize, Serialize};

use super::room::{RoomCode, VisitType};
use crate::domain::consultation::Metadata;
use crate::domain::ids::{IntakeId, PatientId};
use crate::domain::types::{Phone, TenantKey, UserId};

/// At most this many concerns in an intake.
pub const MAX_CONCERNS: usize = 20;
/// The reason for the visit, at most this many characters.
pub const MAX_REASON: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Concern {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub text: String,
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Intake {
    pub tenant_key: TenantKey,
    pub intake_id: IntakeId,
    pub patient_id: PatientId,
    pub reason_for_visit: String,
    /// (Stored as `visitType`: an item's `type` names its entity.)
    pub visit_type: VisitType,
    pub room_code: RoomCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default)]
    pub concerns: Vec<Concern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Metadata>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

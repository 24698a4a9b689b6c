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

/// The health history of an intake: health data, never in an event or a
/// log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthHistory {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_notes: Option<String>,
    #[serde(default)]
    pub allergies: Vec<String>,
    #[serde(default)]
    pub medications: Vec<String>,
    #[serde(default)]
    pub conditions: Vec<String>,
    #[serde(default)]
    pub surgeries: Vec<String>,
}

/// At most this many entries in each list of a health history.
pub const MAX_HISTORY_ENTRIES: usize = 50;
/// An entry of a health history, at most this many characters.
pub const MAX_HISTORY_ENTRY: usize = 200;
/// The additional notes, at most this many characters.
pub const MAX_NOTES: usize = 2000;

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
    /// What the patient told of their health (`PUT /v2/visits/{id}/intake`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthHistory>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

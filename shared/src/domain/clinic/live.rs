//! A visit's live connection (a WebSocket of the room page): who holds
//! it, so that a later frame, which carries only the connection's id, acts
//! as the same person. Pure data, no I/O.

use serde::{Deserialize, Serialize};

use super::chat::Author;
use crate::domain::ids::{ParticipantId, PatientId, VisitId};
use crate::domain::types::{TenantKey, UserId};

/// The version of the frames' envelope (`{"v": 1, "type": …}`).
pub const FRAME_VERSION: u32 = 1;

/// A connection's items live this long (API Gateway closes a WebSocket
/// after two hours; the local server renews them on the hour).
pub const LIVE_TTL_MS: i64 = 3 * 3_600_000;

/// Who opened a connection, as the chat knows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Seat {
    /// A patient, through a patient-side token of theirs (`tokenId`).
    #[serde(rename = "PATIENT")]
    Patient {
        patient_id: PatientId,
        token_id: String,
    },
    /// A guest of the visit, through their guest session.
    #[serde(rename = "GUEST")]
    Guest { token_id: String },
    /// A provider (the API key naming them, or their embedded session).
    #[serde(rename = "PROVIDER")]
    Provider { user_id: UserId },
}

/// One live connection of a visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveConnection {
    pub connection_id: String,
    pub tenant_key: TenantKey,
    pub visit_id: VisitId,
    pub author: Author,
    pub seat: Seat,
    pub connected_at: i64,
    /// The participant the connection is the presence of (absent: one
    /// opened before presence, or on a visit that had ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<ParticipantId>,
}

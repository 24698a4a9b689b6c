//! Consultations: their statuses and the only moves allowed between them (a
//! move outside the state machine is a `409`), the answers of a patient,
//! how the patient was told, and the vendor's opaque metadata.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::check_move;
use super::ids::{ConsultationId, PatientId};
use super::reasons::{Answer, ReasonCode};
use super::types::{TenantKey, UserId};
use crate::error::{Error, Result};

// The statuses of each state machine (consultations here, follow-ups and
// franchises in their files) are each their own vocabulary: their
// declarations look alike by nature, and `named_enum!` writes what they
// share.
named_enum! {
    ConsultationStatus {
        Draft = "DRAFT",
        Sent = "SENT",
        InProgress = "IN_PROGRESS",
        ToBeAnalyzed = "TO_BE_ANALYZED",
        Done = "DONE",
        Archived = "ARCHIVED",
        Cancelled = "CANCELLED",
        Expired = "EXPIRED",
    }
}

impl ConsultationStatus {
    /// The moves of the state machine:
    /// DRAFT → SENT | CANCELLED; SENT → IN_PROGRESS | TO_BE_ANALYZED |
    /// CANCELLED | EXPIRED; IN_PROGRESS → TO_BE_ANALYZED | CANCELLED |
    /// EXPIRED; TO_BE_ANALYZED → DONE; DONE → ARCHIVED. The rest are final.
    pub fn can_move_to(self, to: ConsultationStatus) -> bool {
        use ConsultationStatus::*;
        matches!(
            (self, to),
            (Draft, Sent | Cancelled)
                | (Sent, InProgress | ToBeAnalyzed | Cancelled | Expired)
                | (InProgress, ToBeAnalyzed | Cancelled | Expired)
                | (ToBeAnalyzed, Done)
                | (Done, Archived)
        )
    }

    /// Still waiting for the patient.
    pub fn awaits_patient(self) -> bool {
        matches!(
            self,
            ConsultationStatus::Sent | ConsultationStatus::InProgress
        )
    }
}

named_enum! {
    /// How the patient was told about a consultation.
    DeliveryStatus {
        Pending = "PENDING",
        Sent = "SENT",
        Failed = "FAILED",
        NoContact = "NO_CONTACT",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub channel: String,
    pub status: DeliveryStatus,
    pub at: i64,
}

/// The vendor's own data about a consultation or a follow-up: a JSON
/// object of at most 4 KB, opaque to us.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Metadata(Map<String, Value>);

impl Metadata {
    pub const MAX_BYTES: usize = 4096;

    pub fn new(object: Map<String, Value>) -> Result<Self> {
        let metadata = Self(object);
        if metadata.to_json().to_string().len() > Self::MAX_BYTES {
            return Err(Error::invalid("metadata must be at most 4 KB of JSON"));
        }
        Ok(metadata)
    }

    pub fn to_json(&self) -> Value {
        Value::Object(self.0.clone())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consultation {
    pub tenant_key: TenantKey,
    pub consultation_id: ConsultationId,
    pub patient_id: PatientId,
    /// The employee who created it.
    pub created_by: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<ReasonCode>,
    pub status: ConsultationStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<Answer>,
    /// The employee's analysis, once the answers are read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<i64>,
    pub version: u64,
}

impl Consultation {
    /// Moves to `to`, or says why not (`409`). Returns the previous status.
    pub fn move_to(&mut self, to: ConsultationStatus, now: i64) -> Result<ConsultationStatus> {
        let previous = check_move(
            "consultation",
            &mut self.status,
            to,
            ConsultationStatus::can_move_to,
        )?;
        self.updated_at = now;
        self.version += 1;
        match to {
            ConsultationStatus::Sent => self.sent_at = Some(now),
            ConsultationStatus::ToBeAnalyzed => self.answered_at = Some(now),
            _ => {}
        }
        Ok(previous)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConsultationStatus as C;

    #[test]
    fn consultation_state_machine() {
        let allowed = [
            (C::Draft, C::Sent),
            (C::Draft, C::Cancelled),
            (C::Sent, C::InProgress),
            (C::Sent, C::ToBeAnalyzed),
            (C::Sent, C::Expired),
            (C::InProgress, C::ToBeAnalyzed),
            (C::ToBeAnalyzed, C::Done),
            (C::Done, C::Archived),
        ];
        for from in C::ALL {
            for to in C::ALL {
                let expected = allowed.contains(&(from, to))
                    || (matches!(from, C::Sent | C::InProgress)
                        && matches!(to, C::Cancelled | C::Expired));
                assert_eq!(from.can_move_to(to), expected, "{from:?} → {to:?}");
            }
        }
        for s in C::ALL {
            assert_eq!(C::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

    #[test]
    fn metadata_is_a_small_object() {
        let mut m = Map::new();
        m.insert("order".into(), "42".into());
        assert_eq!(
            serde_json::to_value(Metadata::new(m).unwrap()).unwrap(),
            serde_json::json!({"order": "42"})
        );
        let mut big = Map::new();
        big.insert("x".into(), "y".repeat(5000).into());
        assert!(Metadata::new(big).is_err());
    }
}

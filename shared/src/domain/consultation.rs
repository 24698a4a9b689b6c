//! Consultations and follow-ups: their statuses and the only moves allowed
//! between them (DESIGN.md, "Events"). A move outside the state machine is a
//! `409`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::types::TenantKey;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsultationStatus {
    Draft,
    Sent,
    InProgress,
    ToBeAnalyzed,
    Done,
    Archived,
    Cancelled,
    Expired,
}

impl ConsultationStatus {
    pub const ALL: [ConsultationStatus; 8] = [
        ConsultationStatus::Draft,
        ConsultationStatus::Sent,
        ConsultationStatus::InProgress,
        ConsultationStatus::ToBeAnalyzed,
        ConsultationStatus::Done,
        ConsultationStatus::Archived,
        ConsultationStatus::Cancelled,
        ConsultationStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsultationStatus::Draft => "DRAFT",
            ConsultationStatus::Sent => "SENT",
            ConsultationStatus::InProgress => "IN_PROGRESS",
            ConsultationStatus::ToBeAnalyzed => "TO_BE_ANALYZED",
            ConsultationStatus::Done => "DONE",
            ConsultationStatus::Archived => "ARCHIVED",
            ConsultationStatus::Cancelled => "CANCELLED",
            ConsultationStatus::Expired => "EXPIRED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FollowupStatus {
    Planned,
    InProgress,
    Unanswered,
    Done,
    Archived,
    Cancelled,
}

impl FollowupStatus {
    pub const ALL: [FollowupStatus; 6] = [
        FollowupStatus::Planned,
        FollowupStatus::InProgress,
        FollowupStatus::Unanswered,
        FollowupStatus::Done,
        FollowupStatus::Archived,
        FollowupStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FollowupStatus::Planned => "PLANNED",
            FollowupStatus::InProgress => "IN_PROGRESS",
            FollowupStatus::Unanswered => "UNANSWERED",
            FollowupStatus::Done => "DONE",
            FollowupStatus::Archived => "ARCHIVED",
            FollowupStatus::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// PLANNED → IN_PROGRESS | UNANSWERED | DONE | CANCELLED;
    /// IN_PROGRESS → DONE | UNANSWERED | CANCELLED; UNANSWERED →
    /// IN_PROGRESS | DONE | CANCELLED; DONE → ARCHIVED (also by itself,
    /// two days after it was done).
    pub fn can_move_to(self, to: FollowupStatus) -> bool {
        use FollowupStatus::*;
        matches!(
            (self, to),
            (Planned, InProgress | Unanswered | Done | Cancelled)
                | (InProgress, Done | Unanswered | Cancelled)
                | (Unanswered, InProgress | Done | Cancelled)
                | (Done, Archived)
        )
    }
}

/// A follow-up done for this long is archived.
pub const FOLLOWUP_ARCHIVE_AFTER_MS: i64 = 2 * 24 * 3600 * 1000;

/// How the patient was told about a consultation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatus {
    Pending,
    Sent,
    Failed,
    NoContact,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub channel: String,
    pub status: DeliveryStatus,
    pub at: i64,
}

/// One answer to one question of a questionnaire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub question_id: String,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consultation {
    pub tenant_key: TenantKey,
    pub consultation_id: String,
    pub patient_id: String,
    /// The employee who created it.
    pub created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    pub status: ConsultationStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<Answer>,
    /// The employee's analysis, once the answers are read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The vendor's own data (opaque to us, at most 4 KB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
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
    /// Moves to `to`, or says why not (`409`).
    pub fn move_to(&mut self, to: ConsultationStatus, now: i64) -> Result<ConsultationStatus> {
        if !self.status.can_move_to(to) {
            return Err(Error::conflict(format!(
                "A {} consultation cannot become {}",
                self.status.as_str(),
                to.as_str()
            )));
        }
        let previous = self.status;
        self.status = to;
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Followup {
    pub tenant_key: TenantKey,
    pub followup_id: String,
    pub patient_id: String,
    pub created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consultation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// `YYYY-MM-DD`.
    pub due_date: String,
    /// once, daily, weekly, monthly.
    pub frequency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    pub status: FollowupStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<Answer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<i64>,
    pub version: u64,
}

impl Followup {
    pub fn move_to(&mut self, to: FollowupStatus, now: i64) -> Result<FollowupStatus> {
        if !self.status.can_move_to(to) {
            return Err(Error::conflict(format!(
                "A {} follow-up cannot become {}",
                self.status.as_str(),
                to.as_str()
            )));
        }
        let previous = self.status;
        self.status = to;
        self.updated_at = now;
        self.version += 1;
        if to == FollowupStatus::Done {
            self.done_at = Some(now);
        }
        Ok(previous)
    }

    /// DONE for two days: due for archiving.
    pub fn due_for_archive(&self, now: i64) -> bool {
        self.status == FollowupStatus::Done
            && self
                .done_at
                .is_some_and(|d| now - d >= FOLLOWUP_ARCHIVE_AFTER_MS)
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
    fn followup_state_machine_and_archiving() {
        use FollowupStatus as F;
        assert!(F::Planned.can_move_to(F::InProgress));
        assert!(!F::Archived.can_move_to(F::Done));
        assert!(!F::Done.can_move_to(F::Planned));
        assert!(!F::Cancelled.can_move_to(F::Planned));
        for s in F::ALL {
            assert_eq!(F::parse(s.as_str()), Some(s));
        }
        let mut f = Followup {
            tenant_key: TenantKey::parse("demo").unwrap(),
            followup_id: "f".into(),
            patient_id: "p".into(),
            created_by: "u".into(),
            consultation_id: None,
            reason_code: None,
            due_date: "2026-01-02".into(),
            frequency: "once".into(),
            notes: None,
            status: F::Planned,
            answers: vec![],
            metadata: None,
            created_at: 0,
            updated_at: 0,
            done_at: None,
            version: 1,
        };
        assert_eq!(f.move_to(F::Done, 1000).unwrap(), F::Planned);
        assert!(!f.due_for_archive(1000 + FOLLOWUP_ARCHIVE_AFTER_MS - 1));
        assert!(f.due_for_archive(1000 + FOLLOWUP_ARCHIVE_AFTER_MS));
        assert_eq!(f.move_to(F::Planned, 2000).unwrap_err().status(), 409);
    }
}

//! Follow-ups: a plan to check on a patient (a due date, a frequency), its
//! statuses and moves, and its archiving two days after it is done.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;

use super::check_move;
use super::consultation::Metadata;
use super::ids::{ConsultationId, FollowupId, PatientId};
use super::reasons::{Answer, ReasonCode};
use super::types::{TenantKey, UserId, parse_date};
use crate::error::Result;

// Alike the other state machines' by nature (see `ConsultationStatus`).
named_enum! {
    FollowupStatus {
        Planned = "PLANNED",
        InProgress = "IN_PROGRESS",
        Unanswered = "UNANSWERED",
        Done = "DONE",
        Archived = "ARCHIVED",
        Cancelled = "CANCELLED",
    }
}

impl FollowupStatus {
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

    /// Waiting for the patient's answers: planned, or not answered yet.
    pub fn awaits_patient(self) -> bool {
        matches!(self, FollowupStatus::Planned | FollowupStatus::Unanswered)
    }
}

named_enum! {
    /// How often a follow-up repeats.
    Frequency {
        Once = "once",
        Daily = "daily",
        Weekly = "weekly",
        Monthly = "monthly",
    }
}

impl Frequency {
    /// The message of a frequency that is none of them.
    pub const RULE: &str = "frequency must be once, daily, weekly or monthly";
}

/// The day a follow-up is due, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DueDate(Date);

impl DueDate {
    /// The message of a due date that does not parse.
    pub const RULE: &str = "dueDate must be a date written YYYY-MM-DD";

    pub fn parse(s: &str) -> Option<Self> {
        parse_date(s).map(Self)
    }

    pub fn from_date(d: Date) -> Self {
        Self(d)
    }
}

impl TryFrom<String> for DueDate {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        DueDate::parse(&s).ok_or_else(|| "invalid due date".to_owned())
    }
}

impl From<DueDate> for String {
    fn from(d: DueDate) -> String {
        d.to_string()
    }
}

impl fmt::Display for DueDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A follow-up done for this long is archived.
pub const FOLLOWUP_ARCHIVE_AFTER_MS: i64 = 2 * 24 * 3600 * 1000;

/// A follow-up as stored (its fields declared like a consultation's, with
/// the same serde attributes: the stored shape of every entity is its serde
/// shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Followup {
    pub tenant_key: TenantKey,
    pub followup_id: FollowupId,
    pub patient_id: PatientId,
    pub created_by: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consultation_id: Option<ConsultationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<ReasonCode>,
    pub due_date: DueDate,
    pub frequency: Frequency,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    pub status: FollowupStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<Answer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<i64>,
    pub version: u64,
}

impl Followup {
    /// Moves to `to`, or says why not (`409`). Returns the previous status.
    pub fn move_to(&mut self, to: FollowupStatus, now: i64) -> Result<FollowupStatus> {
        let previous = check_move(
            "follow-up",
            &mut self.status,
            to,
            FollowupStatus::can_move_to,
        )?;
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
    use crate::error::Error;
    use FollowupStatus as F;

    #[test]
    fn followup_state_machine_and_archiving() {
        assert!(F::Planned.can_move_to(F::InProgress));
        assert!(!F::Archived.can_move_to(F::Done));
        assert!(!F::Done.can_move_to(F::Planned));
        assert!(!F::Cancelled.can_move_to(F::Planned));
        for s in F::ALL {
            assert_eq!(F::parse(s.as_str()), Some(s));
        }
        let mut f = Followup {
            tenant_key: TenantKey::parse("demo").unwrap(),
            followup_id: FollowupId::parse("f").unwrap(),
            patient_id: PatientId::parse("p").unwrap(),
            created_by: UserId::parse("u").unwrap(),
            consultation_id: None,
            reason_code: None,
            due_date: DueDate::parse("2026-01-02").unwrap(),
            frequency: Frequency::Once,
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
        assert!(matches!(
            f.move_to(F::Planned, 2000).unwrap_err(),
            Error::Conflict(_)
        ));
        let stored = serde_json::to_value(&f).unwrap();
        assert_eq!(stored["dueDate"], "2026-01-02");
        assert_eq!(stored["frequency"], "once");
        assert_eq!(serde_json::from_value::<Followup>(stored).unwrap(), f);
    }

    #[test]
    fn frequencies_and_due_dates() {
        assert_eq!(Frequency::parse("weekly"), Some(Frequency::Weekly));
        assert_eq!(Frequency::parse("WEEKLY"), None);
        assert_eq!(
            DueDate::parse("2026-02-15").unwrap().to_string(),
            "2026-02-15"
        );
        assert!(DueDate::parse("15/02/2026").is_none());
    }
}

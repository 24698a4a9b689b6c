//! Visits: their statuses and the only moves allowed between them (a move
//! outside the state machine is a `409`), and the moves that time makes by
//! itself (a scheduled visit nobody started by its end is `NO_SHOW`; a
//! walk-in still waiting once its room closes, or an eConsult nobody
//! accepted in time, is `EXPIRED`).

use serde::{Deserialize, Serialize};

use super::room::{RoomCode, VisitType};
use crate::domain::check_move;
use crate::domain::ids::{IntakeId, PatientId, VisitId};
use crate::domain::types::{TenantKey, UserId};

// Alike the other state machines' by nature (see `ConsultationStatus`).
named_enum! {
    VisitStatus {
        Scheduled = "SCHEDULED",
        Waiting = "WAITING",
        PendingAccept = "PENDING_ACCEPT",
        InProgress = "IN_PROGRESS",
        Completed = "COMPLETED",
        Cancelled = "CANCELLED",
        NoShow = "NO_SHOW",
        Expired = "EXPIRED",
    }
}

impl VisitStatus {
    /// SCHEDULED → IN_PROGRESS | CANCELLED | NO_SHOW; WAITING →
    /// IN_PROGRESS | CANCELLED | EXPIRED; PENDING_ACCEPT → IN_PROGRESS
    /// (accepted) | CANCELLED | EXPIRED; IN_PROGRESS → COMPLETED. The rest
    /// are final.
    pub fn can_move_to(self, to: VisitStatus) -> bool {
        use VisitStatus::*;
        matches!(
            (self, to),
            (Scheduled, InProgress | Cancelled | NoShow)
                | (Waiting, InProgress | Cancelled | Expired)
                | (PendingAccept, InProgress | Cancelled | Expired)
                | (InProgress, Completed)
        )
    }

    pub fn is_final(self) -> bool {
        VisitStatus::ALL.iter().all(|to| !self.can_move_to(*to))
    }
}

/// How long an eConsult waits for a provider before it expires.
pub const ECONSULT_TTL_MS: i64 = 72 * 3600 * 1000;

/// How long after `now` a walk-in in a room with no closing in sight is
/// looked at again (its room's hours may change meanwhile).
pub const RECHECK_MS: i64 = 7 * 24 * 3600 * 1000;

/// Which reminder of a scheduled visit its patient gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReminderKind {
    /// 24 hours before the start.
    DayBefore,
    /// 1 hour before the start.
    HourBefore,
}

impl ReminderKind {
    pub const ALL: [ReminderKind; 2] = [ReminderKind::DayBefore, ReminderKind::HourBefore];

    pub fn as_str(self) -> &'static str {
        match self {
            ReminderKind::DayBefore => "24h",
            ReminderKind::HourBefore => "1h",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// How long before the visit's start it is sent.
    pub fn before_ms(self) -> i64 {
        match self {
            ReminderKind::DayBefore => 24 * 3_600_000,
            ReminderKind::HourBefore => 3_600_000,
        }
    }
}

/// A task that time makes due for a visit: a move time makes by itself
/// (a lapse, [`Visit::lapsed`]), or a reminder kept by the local
/// scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DueTask {
    Lapse,
    Remind(ReminderKind),
}

impl DueTask {
    pub fn as_str(self) -> &'static str {
        match self {
            DueTask::Lapse => "lapse",
            DueTask::Remind(ReminderKind::DayBefore) => "remind-24h",
            DueTask::Remind(ReminderKind::HourBefore) => "remind-1h",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "lapse" => Some(DueTask::Lapse),
            _ => ReminderKind::parse(s.strip_prefix("remind-")?).map(DueTask::Remind),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Visit {
    pub tenant_key: TenantKey,
    pub visit_id: VisitId,
    /// (Stored as `visitType`: an item's `type` names its entity.)
    pub visit_type: VisitType,
    pub status: VisitStatus,
    pub room_code: RoomCode,
    pub patient_id: PatientId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<UserId>,
    pub intake_id: IntakeId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_start: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_end: Option<i64>,
    /// A walk-in's ticket in its room's queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<u64>,
    /// A walk-in's place in the queue when it joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_position: Option<u64>,
    /// The hash of a scheduled visit's one-time appointment secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_hash: Option<String>,
    /// When the visit was marked fulfilled, and by whom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfilment: Option<Fulfilment>,
    /// What its durations were, once it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durations: Option<VisitDurations>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

/// Who marked a visit fulfilled, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fulfilment {
    pub at: i64,
    /// `PROVIDER` or `PATIENT`.
    pub by: String,
    /// The provider's user id or the patient's id.
    pub by_id: String,
}

/// The times of a visit that ended, in milliseconds: waiting (from when the
/// patient was there, [`Visit::arrived_at`], to the start), the visit
/// (start to end), and the time participants were disconnected (0 until
/// presence records it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitDurations {
    pub waiting_ms: i64,
    pub visit_ms: i64,
    pub disconnected_ms: i64,
}

impl Visit {
    /// When the patient was there to be seen: a walk-in or an eConsult at
    /// its creation, a scheduled visit at its start (or at its creation
    /// when booked late), or earlier when `patient_joined` (the patient's
    /// participant joined) says so.
    pub fn arrived_at(&self, patient_joined: Option<i64>) -> i64 {
        let planned = match self.visit_type {
            VisitType::Scheduled => self.start.unwrap_or(self.created_at).max(self.created_at),
            _ => self.created_at,
        };
        patient_joined.map_or(planned, |j| j.max(self.created_at))
    }

    /// The durations of a visit that has just ended at `now`.
    pub fn durations_at(
        &self,
        now: i64,
        patient_joined: Option<i64>,
        disconnected_ms: i64,
    ) -> VisitDurations {
        let started = self.actual_start.unwrap_or(now);
        VisitDurations {
            waiting_ms: (started - self.arrived_at(patient_joined)).max(0),
            visit_ms: (now - started).max(0),
            disconnected_ms,
        }
    }

    /// Moves to `to`, or says why not (`409`). Returns the previous status.
    pub fn move_to(&mut self, to: VisitStatus, now: i64) -> crate::error::Result<VisitStatus> {
        let previous = check_move("visit", &mut self.status, to, VisitStatus::can_move_to)?;
        self.updated_at = now;
        self.version += 1;
        match to {
            VisitStatus::InProgress => self.actual_start = Some(now),
            VisitStatus::Completed => self.actual_end = Some(now),
            _ => {}
        }
        Ok(previous)
    }

    /// The move time makes by itself at `now`, if any: `room_open` says
    /// whether the visit's room is open now.
    pub fn lapsed(&self, now: i64, room_open: bool) -> Option<VisitStatus> {
        match self.status {
            VisitStatus::Scheduled if self.end.is_some_and(|e| e <= now) => {
                Some(VisitStatus::NoShow)
            }
            VisitStatus::Waiting if !room_open => Some(VisitStatus::Expired),
            VisitStatus::PendingAccept if self.created_at + ECONSULT_TTL_MS <= now => {
                Some(VisitStatus::Expired)
            }
            _ => None,
        }
    }

    /// When time may next move the visit by itself ([`Visit::lapsed`]), if
    /// it may: a scheduled visit at its end, an eConsult when it expires, a
    /// walk-in when its room closes (`closes`: the room's next closing, if
    /// in sight; else it is looked at again in a week).
    pub fn lapse_due(&self, now: i64, closes: Option<i64>) -> Option<i64> {
        match self.status {
            VisitStatus::Scheduled => self.end,
            VisitStatus::PendingAccept => Some(self.created_at + ECONSULT_TTL_MS),
            VisitStatus::Waiting => Some(closes.unwrap_or(now + RECHECK_MS)),
            _ => None,
        }
    }

    /// Whether the visit's walk-in ticket is still in the queue.
    pub fn in_queue(&self) -> bool {
        self.status == VisitStatus::Waiting
    }

    /// Whether a person of the visit may still enter its room.
    pub fn is_live(&self) -> bool {
        !self.status.is_final()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use VisitStatus as V;

    #[test]
    fn visit_state_machine() {
        let allowed = [
            (V::Scheduled, V::InProgress),
            (V::Scheduled, V::Cancelled),
            (V::Scheduled, V::NoShow),
            (V::Waiting, V::InProgress),
            (V::Waiting, V::Cancelled),
            (V::Waiting, V::Expired),
            (V::PendingAccept, V::InProgress),
            (V::PendingAccept, V::Cancelled),
            (V::PendingAccept, V::Expired),
            (V::InProgress, V::Completed),
        ];
        for from in V::ALL {
            for to in V::ALL {
                assert_eq!(
                    from.can_move_to(to),
                    allowed.contains(&(from, to)),
                    "{from:?} → {to:?}"
                );
            }
        }
        for s in [V::Completed, V::Cancelled, V::NoShow, V::Expired] {
            assert!(s.is_final(), "{s:?}");
        }
        for s in V::ALL {
            assert_eq!(V::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn due_tasks_and_when_time_moves_a_visit() {
        for t in [
            DueTask::Lapse,
            DueTask::Remind(ReminderKind::DayBefore),
            DueTask::Remind(ReminderKind::HourBefore),
        ] {
            assert_eq!(DueTask::parse(t.as_str()), Some(t));
        }
        assert_eq!(DueTask::parse("remind-2h"), None);
        let v = |status, end| Visit {
            tenant_key: TenantKey::parse("demo").unwrap(),
            visit_id: VisitId::parse("v").unwrap(),
            visit_type: VisitType::Walkin,
            status,
            room_code: RoomCode::parse("clinic").unwrap(),
            patient_id: PatientId::parse("p").unwrap(),
            provider_id: None,
            intake_id: IntakeId::parse("i").unwrap(),
            start: None,
            end,
            actual_start: None,
            actual_end: None,
            ticket: None,
            queue_position: None,
            link_hash: None,
            fulfilment: None,
            durations: None,
            created_at: 100,
            updated_at: 100,
            version: 1,
        };
        assert_eq!(v(V::Scheduled, Some(900)).lapse_due(200, None), Some(900));
        assert_eq!(
            v(V::PendingAccept, None).lapse_due(200, None),
            Some(100 + ECONSULT_TTL_MS)
        );
        assert_eq!(v(V::Waiting, None).lapse_due(200, Some(500)), Some(500));
        assert_eq!(
            v(V::Waiting, None).lapse_due(200, None),
            Some(200 + RECHECK_MS)
        );
        for s in [V::InProgress, V::Completed, V::Cancelled] {
            assert_eq!(v(s, Some(900)).lapse_due(200, Some(500)), None);
        }
    }
}

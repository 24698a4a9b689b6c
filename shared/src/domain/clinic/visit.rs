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
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

impl Visit {
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
}

//! The patient side: SSO tokens and the patient app's sessions
//! (`tokens.rs`), rooms, providers and availability (`rooms.rs`), free
//! slots and bookings (`slots.rs`), intakes (`intakes.rs`), visits and
//! their moves (`visits.rs`), their reads and lists (`reads.rs`), the chat
//! (`chat.rs`), the visit's live connections (`live.rs`: who may hold
//! one, their frames; `fanout.rs`: what they are told), the tasks time makes due (`due.rs`: lapses, the local
//! reminders) and the patient's messages about a scheduled visit
//! (`reminders.rs`: at booking, 24 h and 1 h before); the live
//! encounter: its participants and their invitations (`participants.rs`),
//! who of them is in the room now (`presence.rs`),
//! ending and fulfilling a visit (`encounter.rs`), the concerns catalogue
//! and the visit's intake (`concerns.rs`), the images a provider takes
//! during a visit (`snapshots.rs`); the visits' statistics
//! (`statistics.rs`: a row per visit, in its month's partition); its video
//! (`video.rs`: the join data, the signalling token; `meeting.rs`: the
//! meeting follows the visit's moves) and the video signalling over the
//! live connection (`signal.rs`).

pub mod chat;
pub mod concerns;
pub mod due;
pub mod encounter;
pub mod fanout;
pub mod intakes;
pub mod live;
pub mod meeting;
pub mod participants;
pub mod presence;
pub mod reads;
pub mod reminders;
pub mod rooms;
pub mod signal;
pub mod slots;
pub mod snapshots;
pub mod statistics;
pub mod tokens;
pub mod video;
pub mod visits;

use crate::domain::clinic::TokenKind;
use crate::domain::{Franchise, ParticipantId, PatientId, TenantKey, UserId, VisitId};

/// Who acts on the patient side.
#[derive(Debug, Clone)]
pub enum Actor {
    /// The vendor's server (API key); `user`: the `x-integration-user`
    /// named, if any (a provider acts this way).
    Vendor {
        franchise: Franchise,
        user: Option<UserId>,
    },
    /// A patient (an SSO token or a patient-app session).
    Patient {
        franchise: Franchise,
        patient_id: PatientId,
        kind: TokenKind,
        token_id: String,
    },
    /// A guest of one visit.
    Guest {
        franchise: Franchise,
        visit_id: VisitId,
        name: String,
        token_id: String,
        /// The participant an invitation made of this guest, if one did.
        participant_id: Option<ParticipantId>,
    },
    /// A provider in the embedded provider views (their session's user).
    Provider { franchise: Franchise, user: UserId },
}

impl Actor {
    pub fn franchise(&self) -> &Franchise {
        match self {
            Actor::Vendor { franchise, .. }
            | Actor::Patient { franchise, .. }
            | Actor::Guest { franchise, .. }
            | Actor::Provider { franchise, .. } => franchise,
        }
    }

    pub fn tenant(&self) -> &TenantKey {
        &self.franchise().tenant_key
    }

    /// The patient this actor is limited to, if any.
    pub fn patient(&self) -> Option<&PatientId> {
        match self {
            Actor::Patient { patient_id, .. } => Some(patient_id),
            _ => None,
        }
    }

    /// The user who acts as a provider, if any.
    pub fn provider_user(&self) -> Option<&UserId> {
        match self {
            Actor::Vendor { user, .. } => user.as_ref(),
            Actor::Provider { user, .. } => Some(user),
            _ => None,
        }
    }
}

//! The people of a visit's room (SnapMD's encounter participants): who
//! they are (patient, practitioner, related person, guest), where they
//! stand (invited, joining, joined, left, disconnected, declined,
//! dismissed) and the only moves between those; and the concerns
//! catalogue an intake's concerns come from.

use serde::{Deserialize, Serialize};

use crate::domain::check_move;
use crate::domain::ids::{ParticipantId, VisitId};
use crate::domain::types::{Email, TenantKey, UserId};

// Alike the other vocabularies by nature (see `ConsultationStatus`).
named_enum! {
    ParticipantType {
        Patient = "PATIENT",
        Practitioner = "PRACTITIONER",
        RelatedPerson = "RELATED_PERSON",
        Guest = "GUEST",
    }
}

// Alike the other state machines' by nature (see `ConsultationStatus`).
named_enum! {
    ParticipantStatus {
        Invited = "INVITED",
        Joining = "JOINING",
        Joined = "JOINED",
        Left = "LEFT",
        Disconnected = "DISCONNECTED",
        Declined = "DECLINED",
        Dismissed = "DISMISSED",
    }
}

impl ParticipantStatus {
    /// INVITED → JOINING | JOINED | DECLINED | DISMISSED; JOINING →
    /// JOINED | LEFT | DISCONNECTED | DISMISSED; JOINED → LEFT |
    /// DISCONNECTED | DISMISSED; DISCONNECTED → JOINED | LEFT | DISMISSED;
    /// LEFT → JOINING | JOINED | DISMISSED (one may come back). DECLINED
    /// and DISMISSED are final.
    pub fn can_move_to(self, to: ParticipantStatus) -> bool {
        use ParticipantStatus::*;
        matches!(
            (self, to),
            (Invited, Joining | Joined | Declined | Dismissed)
                | (Joining, Joined | Left | Disconnected | Dismissed)
                | (Joined, Left | Disconnected | Dismissed)
                | (Disconnected, Joined | Left | Dismissed)
                | (Left, Joining | Joined | Dismissed)
        )
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            ParticipantStatus::Declined | ParticipantStatus::Dismissed
        )
    }

    /// The `include=` word of a status (`pending` is `INVITED`).
    pub fn include_word(self) -> &'static str {
        match self {
            ParticipantStatus::Invited => "pending",
            ParticipantStatus::Joining => "joining",
            ParticipantStatus::Joined => "joined",
            ParticipantStatus::Left => "left",
            ParticipantStatus::Disconnected => "disconnected",
            ParticipantStatus::Declined => "declined",
            ParticipantStatus::Dismissed => "dismissed",
        }
    }

    /// What a list shows when `include=` is absent: all but the declined
    /// and the dismissed.
    pub fn shown_by_default(self) -> bool {
        !self.is_final()
    }
}

/// At most this many participants in one visit.
pub const MAX_PARTICIPANTS: usize = 50;
/// A name, at most this many characters.
pub const MAX_NAME: usize = 100;
/// How long an invitation link works.
pub const INVITATION_TTL_MS: i64 = 24 * 3600 * 1000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub tenant_key: TenantKey,
    pub visit_id: VisitId,
    pub participant_id: ParticipantId,
    pub participant_type: ParticipantType,
    pub status: ParticipantStatus,
    pub first_name: String,
    pub last_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// When an invitation link was last issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_at: Option<i64>,
    /// The id of the invitation token issued last (one at a time: a new
    /// one replaces it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_id: Option<String>,
    /// The id of the session an invitation opened (revoked on dismissal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_at: Option<i64>,
    /// The last heartbeat of theirs (a connection's, its pings, `PUT
    /// …/alive`); absent: presence never saw them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<i64>,
    /// Since when they are `DISCONNECTED`, while they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disconnected_at: Option<i64>,
    /// The time they spent `DISCONNECTED` before, in all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub disconnected_ms: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

impl Participant {
    /// Moves to `to` (a `409` outside the state machine); the previous
    /// status.
    pub fn move_to(
        &mut self,
        to: ParticipantStatus,
        now: i64,
    ) -> crate::error::Result<ParticipantStatus> {
        let previous = check_move(
            "participant",
            &mut self.status,
            to,
            ParticipantStatus::can_move_to,
        )?;
        self.updated_at = now;
        self.version += 1;
        if let Some(since) = self.disconnected_at.take() {
            self.disconnected_ms += (now - since).max(0);
        }
        match to {
            ParticipantStatus::Joined if self.joined_at.is_none() => self.joined_at = Some(now),
            ParticipantStatus::Left | ParticipantStatus::Dismissed => self.left_at = Some(now),
            ParticipantStatus::Disconnected => self.disconnected_at = Some(now),
            _ => {}
        }
        Ok(previous)
    }

    /// Whether presence finds them silent at `now`: `JOINED`, last seen
    /// more than [`SILENCE_MS`] ago (never seen: presence does not judge).
    pub fn is_silent(&self, now: i64) -> bool {
        self.status == ParticipantStatus::Joined
            && self.last_seen_at.is_some_and(|at| now - at > SILENCE_MS)
    }

    /// The time spent `DISCONNECTED` up to `now` (the current spell
    /// included).
    pub fn disconnected_until(&self, now: i64) -> i64 {
        self.disconnected_ms + self.disconnected_at.map_or(0, |since| (now - since).max(0))
    }
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// A live client beats this often (its socket's `ping`, or `PUT …/alive`).
pub const HEARTBEAT_MS: i64 = 15_000;
/// Silent longer than this, a participant is `DISCONNECTED`.
pub const SILENCE_MS: i64 = 45_000;

// Alike the other vocabularies by nature (see `ConsultationStatus`).
named_enum! {
    ConcernKind {
        Primary = "primary",
        Secondary = "secondary",
    }
}

/// One entry of the concerns catalogue: the bundled one
/// (`shared/data/concerns.json`) or a franchise's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogueConcern {
    pub code: String,
    pub kind: ConcernKind,
    pub fr: String,
    pub en: String,
    /// Added by the franchise (not in the bundled catalogue).
    #[serde(default)]
    pub custom: bool,
}

/// A concern code: 1 to 40 lower-case letters, digits, '-' or '_'.
pub fn is_concern_code(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

pub const CONCERN_CODE_RULE: &str = "must be 1 to 40 lower-case letters, digits, '-' or '_'";

/// The concerns every franchise has, parsed once from the bundled file.
pub fn bundled_concerns() -> &'static [CatalogueConcern] {
    static LIST: std::sync::OnceLock<Vec<CatalogueConcern>> = std::sync::OnceLock::new();
    LIST.get_or_init(|| {
        serde_json::from_str(include_str!("../../../data/concerns.json")).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ParticipantStatus as S;

    #[test]
    fn participant_state_machine() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
            assert!(!s.can_move_to(s), "{s:?} stays");
        }
        for s in [S::Declined, S::Dismissed] {
            assert!(
                S::ALL.iter().all(|to| !s.can_move_to(*to)),
                "{s:?} is final"
            );
            assert!(!s.shown_by_default());
        }
        assert!(S::Invited.can_move_to(S::Declined));
        assert!(!S::Joined.can_move_to(S::Declined));
        assert!(S::Disconnected.can_move_to(S::Joined));
        assert!(!S::Invited.can_move_to(S::Left));
        assert_eq!(S::Invited.include_word(), "pending");
    }

    #[test]
    fn silence_and_time_disconnected() {
        let mut p: Participant = serde_json::from_value(serde_json::json!({
            "tenantKey": "demo", "visitId": "v1", "participantId": "p1",
            "participantType": "PATIENT", "status": "JOINED", "firstName": "A",
            "lastName": "B", "createdAt": 0, "updatedAt": 0, "version": 1,
            "lastSeenAt": 1_000
        }))
        .unwrap();
        assert!(!p.is_silent(1_000 + SILENCE_MS), "45 s is not yet silence");
        assert!(p.is_silent(1_001 + SILENCE_MS));
        p.move_to(S::Disconnected, 50_000).unwrap();
        assert!(!p.is_silent(900_000), "only the joined are judged");
        assert_eq!(p.disconnected_until(60_000), 10_000);
        p.move_to(S::Joined, 80_000).unwrap();
        assert_eq!((p.disconnected_ms, p.disconnected_at), (30_000, None));
        assert_eq!(p.disconnected_until(200_000), 30_000);
        p.last_seen_at = None;
        assert!(!p.is_silent(i64::MAX / 2), "never seen, never judged");
    }

    #[test]
    fn the_bundled_catalogue_parses_and_is_bilingual() {
        let list = bundled_concerns();
        assert!(list.len() >= 10, "{}", list.len());
        let mut codes = std::collections::HashSet::new();
        for c in list {
            assert!(is_concern_code(&c.code), "{}", c.code);
            assert!(codes.insert(c.code.clone()), "{} twice", c.code);
            assert!(!c.fr.is_empty() && !c.en.is_empty(), "{}", c.code);
            assert!(!c.custom);
        }
        for kind in ConcernKind::ALL {
            assert!(list.iter().any(|c| c.kind == kind), "{kind:?}");
        }
        assert!(!is_concern_code("Fever") && !is_concern_code("") && !is_concern_code("a#b"));
    }
}

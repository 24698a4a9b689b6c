//! Waiting rooms: a code unique in the franchise, a name in both
//! languages, the providers assigned, the visit types it takes and their
//! durations, opening hours (closed outside them, with a message), and
//! whether scheduled visits get one-time links. The room's item also holds
//! the walk-in queue's two counters (tickets issued, tickets that left the
//! queue), moved only by atomic additions.

use serde::{Deserialize, Serialize};

use super::hours::{CELL_MINUTES, TimeZoneName, WeeklyHours};
use crate::domain::types::{Locale, TenantKey, UserId};

string_value!(
    /// A room's code: 1 to 40 of `[a-z0-9-]`, starting with a letter or a
    /// digit (it appears in URLs).
    RoomCode,
    "room code"
);

impl RoomCode {
    pub const RULE: &str = "must be 1 to 40 lower-case letters, digits or '-'";

    pub fn parse(s: &str) -> Option<Self> {
        let ok = (1..=40).contains(&s.len())
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Self(s.to_owned()))
    }
}

// Alike the other vocabularies by nature (see `ConsultationStatus`).
named_enum! {
    /// How a patient sees a provider.
    VisitType {
        /// Now, through the room's queue.
        Walkin = "WALKIN",
        /// In a provider's free slot.
        Scheduled = "SCHEDULED",
        /// Asynchronously: a provider of the room accepts it.
        Econsult = "ECONSULT",
    }
}

/// A text in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Localized {
    pub fr: String,
    pub en: String,
}

impl Localized {
    pub fn get(&self, locale: Locale) -> &str {
        match locale {
            Locale::Fr => &self.fr,
            Locale::En => &self.en,
        }
    }
}

/// How long each type of visit lasts, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Durations {
    pub walkin: u32,
    pub scheduled: u32,
    pub econsult: u32,
}

impl Durations {
    /// The longest visit (32 cells: a booking stays one transaction).
    pub const MAX_MINUTES: u32 = 8 * 60;
    pub const RULE: &str = "must be a multiple of 15 minutes from 15 to 480";

    pub fn valid(minutes: u32) -> bool {
        minutes > 0 && minutes <= Self::MAX_MINUTES && i64::from(minutes) % CELL_MINUTES == 0
    }

    pub fn of(&self, t: VisitType) -> u32 {
        match t {
            VisitType::Walkin => self.walkin,
            VisitType::Scheduled => self.scheduled,
            VisitType::Econsult => self.econsult,
        }
    }
}

impl Default for Durations {
    fn default() -> Self {
        Self {
            walkin: 15,
            scheduled: 15,
            econsult: 15,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    pub tenant_key: TenantKey,
    pub code: RoomCode,
    pub name: Localized,
    pub provider_ids: Vec<UserId>,
    pub visit_types: Vec<VisitType>,
    pub durations: Durations,
    /// `None`: open around the clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<WeeklyHours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_message: Option<Localized>,
    pub one_time_links: bool,
    /// Whether a patient may invite a related person into a visit's room.
    #[serde(default)]
    pub related_person_invites: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
    /// Walk-in tickets issued: moved by atomic additions only, never
    /// written with the room.
    #[serde(default, skip_serializing)]
    pub tickets_issued: u64,
    /// Walk-in tickets that left the queue (started, cancelled, expired).
    #[serde(default, skip_serializing)]
    pub tickets_left: u64,
}

impl Room {
    pub fn takes(&self, t: VisitType) -> bool {
        self.visit_types.contains(&t)
    }

    pub fn is_open(&self, now: i64, zone: &TimeZoneName) -> bool {
        self.hours.as_ref().is_none_or(|h| h.contains(now, zone))
    }

    pub fn has_provider(&self, user: &UserId) -> bool {
        self.provider_ids.contains(user)
    }

    /// When the room closes next, at or after `now` (`None`: open around
    /// the clock, or through the next eight days).
    pub fn closes_after(&self, now: i64, zone: &TimeZoneName) -> Option<i64> {
        self.hours.as_ref().and_then(|h| h.closes_after(now, zone))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_durations() {
        assert!(RoomCode::parse("main-room-1").is_some());
        for bad in ["", "-a", "Main", "a/b", "a b", &"a".repeat(41)] {
            assert!(RoomCode::parse(bad).is_none(), "{bad}");
        }
        assert!(Durations::valid(15) && Durations::valid(480));
        assert!(!Durations::valid(0) && !Durations::valid(20) && !Durations::valid(495));
        assert_eq!(VisitType::parse("ECONSULT"), Some(VisitType::Econsult));
    }
}

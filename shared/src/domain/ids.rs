//! The identifiers of our own entities. One rule for all of them, in one
//! place: 1 to 64 of `[A-Za-z0-9_-]` (a UUID v4, which is what `generate`
//! makes, and a key id's hex both are). Built only by parsing or
//! generating, so an id that cannot exist is refused at the edge and never
//! reaches a store key. They serialize as the plain strings they always
//! were.

/// Whether `s` is shaped like one of our ids.
pub fn is_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What an id of ours must be, for error messages.
pub const ID_RULE: &str = "1 to 64 letters, digits, '-' or '_'";

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident, $what:literal;)*) => {$(
        string_value!($(#[$doc])* $name, $what);

        impl $name {
            pub fn parse(s: &str) -> Option<Self> {
                is_id(s).then(|| Self(s.to_owned()))
            }

            /// A new, random id (a UUID v4).
            pub fn generate() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }
        }

        impl Id for $name {
            fn parse(s: &str) -> Option<Self> {
                $name::parse(s)
            }
        }
    )*};
}

/// What every id type offers, for code that parses ids of any kind (the
/// HTTP layer's one id parser).
pub trait Id: Sized {
    fn parse(s: &str) -> Option<Self>;
}

ids! {
    /// An account (an organisation).
    AccountId, "account id";
    /// The public part of an API key.
    KeyId, "key id";
    PatientId, "patient id";
    ConsultationId, "consultation id";
    FollowupId, "follow-up id";
    /// An event and the browser message of the same change: consumers
    /// deduplicate on it.
    EventId, "event id";
    /// A webhook endpoint of a franchise.
    EndpointId, "endpoint id";
    IntakeId, "intake id";
    VisitId, "visit id";
    /// A message of a visit's chat.
    MessageId, "message id";
    /// A person in a visit's room.
    ParticipantId, "participant id";
    /// An image a provider took during a visit.
    SnapshotId, "snapshot id";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_and_plain() {
        for ok in [
            "a",
            "0123456789abcdef",
            "f47ac10b-58cc-4372-a567-0e02b2c3d479",
            "a_b",
        ] {
            assert!(PatientId::parse(ok).is_some(), "{ok}");
        }
        for bad in ["", "a b", "a/b", "a#b", "é", &"a".repeat(65)] {
            assert!(ConsultationId::parse(bad).is_none(), "{bad:?}");
        }
        let id = FollowupId::generate();
        assert_eq!(FollowupId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(serde_json::to_value(&id).unwrap(), id.as_str());
        let back: FollowupId = serde_json::from_value(serde_json::json!(id.as_str())).unwrap();
        assert_eq!(back, id);
        assert!(serde_json::from_value::<FollowupId>(serde_json::json!("a#b")).is_err());
    }
}

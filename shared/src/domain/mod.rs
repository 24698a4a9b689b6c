//! The domain: entities, value types and the pure rules that decide what to
//! write (user and patient upserts, state machines). It imports nothing of
//! the store, the services, HTTP, axum or the AWS SDK, and parses no wire
//! format: values are built by parsing strings (`parse`), so that invalid
//! data cannot exist past the edge; the HTTP layer reads requests into them.

/// A newtype over `String` that is built only by its `parse`: the struct,
/// serde through `String` (so a stored value reads back through `parse`),
/// `as_str`, `Display`, and comparison with `&str`. `$what` names it in the
/// error of a value that does not parse (never the value itself).
macro_rules! string_value {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                $name::parse(&s).ok_or_else(|| concat!("invalid ", $what).to_owned())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

/// An enum of named states or choices, each written once: the variants,
/// serde by name, `ALL` in order, `as_str` and `parse`.
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant,)*
        }

        impl $name {
            pub const ALL: [$name; [$($text),*].len()] = [$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|v| v.as_str() == s)
            }
        }

        impl $crate::domain::Named for $name {
            fn name(self) -> &'static str {
                self.as_str()
            }
        }
    };
}

pub mod account;
pub mod clinic;
pub mod consultation;
pub mod followup;
pub mod ids;
pub mod launch;
pub mod links;
pub mod net;
pub mod patient;
pub mod prefill;
pub mod reach;
pub mod reasons;
pub mod subscription;
pub mod types;
pub mod user;
pub mod view;

pub use account::{Account, ApiKeyRecord, Franchise, FranchiseStatus};
pub use consultation::{Consultation, ConsultationStatus, Delivery, DeliveryStatus, Metadata};
pub use followup::{DueDate, Followup, FollowupStatus, Frequency};
pub use ids::{
    AccountId, ConsultationId, EndpointId, EventId, FollowupId, IntakeId, KeyId, MessageId,
    ParticipantId, PatientId, SnapshotId, VisitId,
};
pub use launch::{BrowserSession, LaunchToken, Scope};
pub use patient::{Patient, PatientInput, PatientKey, Sex};
pub use prefill::{ConsultationPrefill, FollowupPrefill, Prefill};
pub use reach::Reach;
pub use reasons::{Answer, ReasonCode};
pub use types::{BirthDate, Email, Language, Locale, Origin, Phone, TenantKey, UserId};
pub use user::{IntegrationUser, User};
pub use view::{Needs, Role, View};

/// Replaces `current` with `given` when one is given and it differs; true
/// when it did (what an upsert writes is only what changed).
pub(crate) fn differs<T: PartialEq>(current: &mut T, given: Option<T>) -> bool {
    match given {
        Some(v) if v != *current => {
            *current = v;
            true
        }
        _ => false,
    }
}

/// A value with a name of its own (the enums of `named_enum!`).
pub trait Named: Copy {
    fn name(self) -> &'static str;
}

/// A move of a state machine whose moves `allowed` says: `status` becomes
/// `to`, and the previous status is returned; or a `409` saying why not.
pub(crate) fn check_move<S: Named>(
    noun: &str,
    status: &mut S,
    to: S,
    allowed: fn(S, S) -> bool,
) -> crate::error::Result<S> {
    let from = *status;
    if !allowed(from, to) {
        return Err(crate::error::Error::conflict(format!(
            "A {} {noun} cannot become {}",
            from.name(),
            to.name()
        )));
    }
    *status = to;
    Ok(from)
}

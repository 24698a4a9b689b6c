//! The patient side of a clinic: waiting rooms and their opening hours,
//! providers and their availability, intakes, live visits (walk-in,
//! scheduled, asynchronous) with their state machine, the chat of a visit
//! and who holds its live connections,
//! and the tokens that carry their franchise (SSO tokens, patient-app
//! sessions, guest join codes); the people of a visit's room and the
//! concerns catalogue (`participant.rs`); the images a provider takes
//! during a visit (`snapshot.rs`). Pure rules, no I/O; time zones come from
//! `jiff`'s bundled database.

pub mod availability;
pub mod chat;
pub mod hours;
pub mod intake;
pub mod live;
pub mod participant;
pub mod provider;
pub mod room;
pub mod snapshot;
pub mod token;
pub mod visit;

pub use availability::{Availability, DatedHours};
pub use chat::{Author, ChatMessage};
pub use hours::{ClockTime, LocalDate, Span, TimeZoneName, Weekday, WeeklyHours};
pub use intake::{Concern, HealthHistory, Intake};
pub use live::{LiveConnection, Seat};
pub use participant::{
    CatalogueConcern, ConcernKind, Participant, ParticipantStatus, ParticipantType,
};
pub use provider::Provider;
pub use room::{Durations, Localized, Room, RoomCode, VisitType};
pub use snapshot::{ImageType, Snapshot};
pub use token::{ClinicToken, JoinCode, PresentedToken, TokenKind};
pub use visit::{DueTask, Fulfilment, ReminderKind, Visit, VisitDurations, VisitStatus};

//! The domain: entities, value types and the pure rules that decide what to
//! write (user and patient upserts). Knows nothing of HTTP or AWS; the
//! operations that talk to the store live in `services`.

pub mod consultation;
pub mod entities;
pub mod fields;
pub mod patient;
pub mod reasons;
pub mod types;
pub mod user;
pub mod view;

pub use entities::*;
pub use types::*;
pub use view::{Needs, Role, View};

//! The operations: plain async functions over the ports (`App`), knowing
//! nothing of HTTP. Handlers translate requests into these calls.

pub mod admin;
pub mod auth;
pub mod consultations;
pub mod demo;
pub mod idempotency;
pub mod launch;
pub mod notify;
pub mod v2;

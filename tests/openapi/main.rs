//! Keeps `openapi/openapi.json` true: its routes are exactly
//! `shared::http::vendor_routes()`, every one of them is served, its examples
//! match its schemas, and real responses of the app (successes and errors)
//! validate against the schemas it documents for them.
//!
//! `document.rs` checks the document against the code, `responses.rs`,
//! `clinic.rs` (the patient side) and `errors.rs` against the running app; `support.rs` is what they share.

mod clinic;
mod document;
mod encounter;
mod errors;
mod events;
mod query_rules;
mod responses;
mod snapshots;
mod statistics;
mod support;

//! The vendor API through HTTP (no socket: `oneshot` on the app's router),
//! scenario by scenario.

mod helpers;
mod launches;
mod patients;
mod seed_002;
mod tenancy;
mod views;

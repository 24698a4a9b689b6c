//! The vendor API through HTTP (no socket: `oneshot` on the app's router),
//! scenario by scenario.

mod clinic;
mod clinic_pages;
mod clinic_time;
mod cursors;
#[path = "../support/dynamo.rs"]
mod dynamo;
mod guards;
mod helpers;
mod launches;
mod notifier;
mod outbox;
mod pages;
mod patients;
mod privacy;
mod providers;
mod sdk_calls;
mod seed_002;
mod sessions;
mod tenancy;
mod v2;
mod views;

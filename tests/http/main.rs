//! The vendor API through HTTP (no socket: `oneshot` on the app's router),
//! scenario by scenario.

mod clinic;
mod clinic_pages;
mod clinic_time;
mod cursors;
mod delivering;
#[path = "../support/dynamo.rs"]
mod dynamo;
mod encounter;
mod event_list;
mod event_queues;
mod faults;
#[path = "../support/faults.rs"]
mod faulty;
mod guards;
mod helpers;
mod isolation;
mod launches;
#[path = "../support/life.rs"]
mod life;
mod live;
mod metrics;
mod notifier;
mod outbox;
mod pages;
mod patients;
mod presence;
mod privacy;
mod provider_views;
mod providers;
mod sdk_calls;
mod seed_002;
mod sessions;
mod snapshots;
mod statistics;
mod statistics_view;
mod tenancy;
mod v2;
mod verify;
mod video;
mod views;
mod webhooks;

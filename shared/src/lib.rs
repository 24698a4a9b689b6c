//! embedcare's core: the domain, its ports and their adapters, the services
//! over them, the HTTP routers of every endpoint and the embedded pages.
//! Function crates and the local server only wire these together;
//! `docs/architecture.md` maps where each thing lives and what it may use.

pub mod app;
pub mod blobs;
pub mod cache;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod http_client;
pub mod lambda;
#[cfg(any(feature = "lambda", feature = "local"))]
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod ratelimit;
pub mod runtime;
pub mod schedule;
pub mod services;
pub mod store;
pub mod video;

pub use app::{App, AppState};
pub use config::Config;
pub use error::{Error, Result};

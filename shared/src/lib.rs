//! embedcare's core: the domain, its ports and their adapters, the HTTP
//! routers of every endpoint and the embedded pages. Function crates and the
//! local server only wire these together.

pub mod app;
pub mod cache;
pub mod clock;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod notify;
pub mod pages;
pub mod repo;
pub mod runtime;
pub mod services;
pub mod store;

pub use app::{App, AppState, Config};
pub use error::{Error, Result};

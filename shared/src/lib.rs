//! embedcare's core: the domain, its ports and their adapters, the HTTP
//! routers of every endpoint and the embedded pages. Function crates and the
//! local server only wire these together.

pub mod clock;
pub mod store;

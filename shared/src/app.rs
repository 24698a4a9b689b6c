//! The application context every router shares: the ports, the
//! configuration, the caches. Built once per process (per Lambda instance)
//! and held in an `Arc`.

use std::sync::Arc;

use crate::cache::TtlCache;
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::{ApiKeyRecord, Franchise};
use crate::store::Store;
use crate::store::cursor::CursorCodec;

pub struct App {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: Config,
    pub keys: TtlCache<ApiKeyRecord>,
    pub franchises: TtlCache<Franchise>,
    /// Seals and opens list cursors (a key derived from the secret).
    pub cursors: CursorCodec,
}

pub type AppState = Arc<App>;

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: Config) -> AppState {
        let ttl_ms = config.cache_ttl_s * 1000;
        Arc::new(Self {
            store,
            clock,
            cursors: CursorCodec::new(&config.secret),
            config,
            keys: TtlCache::new(ttl_ms, 10_000),
            franchises: TtlCache::new(ttl_ms, 10_000),
        })
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

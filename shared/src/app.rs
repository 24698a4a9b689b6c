//! The application context every router shares: the ports, the
//! configuration, the caches. Built once per process (per Lambda instance)
//! and held in an `Arc`.

use std::sync::Arc;

use crate::cache::TtlCache;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::KeyedDigest;
use crate::domain::{ApiKeyRecord, Franchise};
use crate::ratelimit::RateLimiter;
use crate::store::Store;
use crate::store::cursor::CursorCodec;

pub struct App {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: Config,
    pub keys: TtlCache<ApiKeyRecord>,
    /// Key ids found unknown, for as long as known ones are cached.
    pub unknown_keys: TtlCache<()>,
    pub franchises: TtlCache<Franchise>,
    /// The token bucket of each API key.
    pub rate_limits: RateLimiter,
    /// Seals and opens list cursors (a key derived from the secret).
    pub cursors: CursorCodec,
    /// Hashes patient key values into store keys (a key derived from the
    /// secret).
    pub patient_keys: KeyedDigest,
}

pub type AppState = Arc<App>;

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: Config) -> AppState {
        let ttl_ms = config.cache_ttl_s * 1000;
        let rate_limits = RateLimiter::new(config.rate_limit_per_s, config.rate_limit_burst);
        Arc::new(Self {
            store,
            clock,
            cursors: CursorCodec::new(&config.secret),
            patient_keys: KeyedDigest::new(&config.secret),
            config,
            keys: TtlCache::new(ttl_ms, 10_000),
            unknown_keys: TtlCache::new(ttl_ms, 10_000),
            franchises: TtlCache::new(ttl_ms, 10_000),
            rate_limits,
        })
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

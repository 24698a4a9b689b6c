//! The application context every router shares: the ports, the
//! configuration, the caches. Built once per process (per Lambda instance)
//! and held in an `Arc`.

use std::sync::Arc;

use crate::cache::TtlCache;
use crate::clock::Clock;
use crate::domain::{ApiKeyRecord, Franchise};
use crate::store::Store;

/// Settings read from the environment (see the README for each variable).
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the embedded pages are served, e.g. `https://app.example.com`
    /// (no trailing slash). `EMBEDCARE_APP_BASE_URL`.
    pub app_base_url: String,
    /// Life of a launch URL. `EMBEDCARE_LAUNCH_TTL_SECONDS`, default 300.
    pub launch_ttl_s: i64,
    /// Life of a browser session. `EMBEDCARE_SESSION_TTL_SECONDS`, default 7200.
    pub session_ttl_s: i64,
    /// Life of a patient's answer link sent by e-mail (still single-use).
    /// `EMBEDCARE_ANSWER_LINK_TTL_SECONDS`, default 604800 (7 days).
    pub answer_link_ttl_s: i64,
    /// Staleness bound of the key and franchise caches.
    /// `EMBEDCARE_CACHE_TTL_SECONDS`, default 30, at most 60.
    pub cache_ttl_s: i64,
}

impl Config {
    pub fn new(app_base_url: impl Into<String>) -> Self {
        Self {
            app_base_url: app_base_url.into().trim_end_matches('/').to_owned(),
            launch_ttl_s: 300,
            session_ttl_s: 7200,
            answer_link_ttl_s: 7 * 24 * 3600,
            cache_ttl_s: 30,
        }
    }

    /// Reads the variables; `default_base_url` applies when
    /// `EMBEDCARE_APP_BASE_URL` is unset. Invalid numbers are errors.
    pub fn from_env(default_base_url: &str) -> Result<Self, String> {
        let base =
            std::env::var("EMBEDCARE_APP_BASE_URL").unwrap_or_else(|_| default_base_url.to_owned());
        let mut c = Config::new(base);
        c.launch_ttl_s = env_num("EMBEDCARE_LAUNCH_TTL_SECONDS", c.launch_ttl_s, 10, 86_400)?;
        c.session_ttl_s = env_num("EMBEDCARE_SESSION_TTL_SECONDS", c.session_ttl_s, 60, 86_400)?;
        c.cache_ttl_s = env_num("EMBEDCARE_CACHE_TTL_SECONDS", c.cache_ttl_s, 0, 60)?;
        c.answer_link_ttl_s = env_num(
            "EMBEDCARE_ANSWER_LINK_TTL_SECONDS",
            c.answer_link_ttl_s,
            300,
            30 * 24 * 3600,
        )?;
        Ok(c)
    }
}

fn env_num(name: &str, default: i64, min: i64, max: i64) -> Result<i64, String> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(s) => match s.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(format!(
                "{name} must be a whole number from {min} to {max}, not {s:?}"
            )),
        },
    }
}

pub struct App {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: Config,
    pub keys: TtlCache<ApiKeyRecord>,
    pub franchises: TtlCache<Franchise>,
}

pub type AppState = Arc<App>;

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: Config) -> AppState {
        let ttl_ms = config.cache_ttl_s * 1000;
        Arc::new(Self {
            store,
            clock,
            config,
            keys: TtlCache::new(ttl_ms, 10_000),
            franchises: TtlCache::new(ttl_ms, 10_000),
        })
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

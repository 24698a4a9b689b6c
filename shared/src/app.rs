//! The application context every router shares: the ports, the
//! configuration, the caches. Built once per process (per Lambda instance)
//! and held in an `Arc`.

use std::sync::Arc;

use crate::blobs::{Blobs, NoBlobs};
use crate::cache::TtlCache;
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::{KeyedDigest, SealKey};
use crate::delivery::connections::{Connections, NoConnections};
use crate::delivery::queue::{NoQueue, WorkQueue};
use crate::delivery::resolver::{Resolver, SystemResolver};
use crate::domain::{ApiKeyRecord, Franchise};
use crate::metrics::Metrics;
use crate::metrics::store::EventCounting;
use crate::notify::Notifier;
use crate::ratelimit::RateLimiter;
use crate::store::Store;
use crate::store::cursor::CursorCodec;
use crate::video::VideoRooms;
use crate::video::webrtc::WebRtcRooms;

/// The purpose the webhook secrets' sealing key is derived for.
const WEBHOOK_SECRETS: &str = "embedcare/webhook-secret/v1";

/// The ports of event delivery a process may have (`delivery`): where host
/// names resolve, where later work goes, the live connections. A process
/// without one gets a stand-in that refuses (an HTTP function sends no
/// work; only the stream's functions hold connections).
pub struct Ports {
    pub resolver: Arc<dyn Resolver>,
    pub work: Arc<dyn WorkQueue>,
    pub connections: Arc<dyn Connections>,
    /// The visits' live connections (the room pages' sockets): where a
    /// chat message or a visit's move is fanned out. `None`: this process
    /// tells no one (a function not wired to the visit-live API).
    pub visit_live: Option<Arc<dyn Connections>>,
    /// Where a visit's snapshots are kept (S3, or files under the data
    /// directory); a process without one refuses them (a `500`, its cause logged).
    pub blobs: Arc<dyn Blobs>,
}

impl Default for Ports {
    fn default() -> Self {
        Self {
            resolver: Arc::new(SystemResolver),
            work: Arc::new(NoQueue),
            connections: Arc::new(NoConnections),
            visit_live: None,
            blobs: Arc::new(NoBlobs),
        }
    }
}

pub struct App {
    /// The store given, wrapped so that the events it commits are counted
    /// (`metrics::store`).
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
    /// Seals and opens webhook signing secrets (a key derived from the secret).
    pub webhook_secrets: SealKey,
    pub resolver: Arc<dyn Resolver>,
    pub work: Arc<dyn WorkQueue>,
    pub connections: Arc<dyn Connections>,
    /// The visits' live connections, if this process reaches them.
    pub visit_live: Option<Arc<dyn Connections>>,
    /// The blob store of the visits' snapshots.
    pub blobs: Arc<dyn Blobs>,
    /// Hashes patient key values into store keys (a key derived from the
    /// secret).
    pub patient_keys: KeyedDigest,
    /// Sends a visit's participants their invitation links (e-mail): set
    /// once by the process that has a sender (`App::set_notifier`); unset,
    /// no invitation is mailed (its link is still answered).
    pub notifier: std::sync::OnceLock<Arc<dyn Notifier>>,
    /// The room pages' video: WebRTC peer to peer everywhere (its ICE
    /// servers from the configuration, its signalling tokens).
    pub webrtc: WebRtcRooms,
    /// The video rooms of the API's join data when not WebRTC (Chime in
    /// the `visits` function: `App::set_video`).
    video_rooms: std::sync::OnceLock<Arc<dyn VideoRooms>>,
    /// Where this app counts (`metrics`): the process's sink unless set
    /// (`App::set_metrics`).
    metrics: Arc<crate::metrics::Slot>,
}

pub type AppState = Arc<App>;

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: Config) -> AppState {
        Self::with_ports(store, clock, config, Ports::default())
    }

    pub fn with_ports(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: Config,
        ports: Ports,
    ) -> AppState {
        let ttl_ms = config.cache_ttl_s * 1000;
        let rate_limits = RateLimiter::new(config.rate_limit_per_s, config.rate_limit_burst);
        let metrics = Arc::new(crate::metrics::Slot::default());
        Arc::new(Self {
            store: Arc::new(EventCounting::new(store, metrics.clone())),
            metrics,
            clock,
            cursors: CursorCodec::new(&config.secret),
            webhook_secrets: config.secret.sealing_key(WEBHOOK_SECRETS),
            patient_keys: KeyedDigest::new(&config.secret),
            keys: TtlCache::new(ttl_ms, 10_000),
            unknown_keys: TtlCache::new(ttl_ms, 10_000),
            franchises: TtlCache::new(ttl_ms, 10_000),
            resolver: ports.resolver,
            work: ports.work,
            connections: ports.connections,
            visit_live: ports.visit_live,
            blobs: ports.blobs,
            rate_limits,
            notifier: std::sync::OnceLock::new(),
            webrtc: WebRtcRooms::new(config.ice_servers.clone(), &config.secret),
            video_rooms: std::sync::OnceLock::new(),
            config,
        })
    }

    /// The notifier of invitation links (the first one set stays).
    pub fn set_notifier(&self, notifier: Arc<dyn Notifier>) {
        let _ = self.notifier.set(notifier);
    }

    /// The video rooms of a visit's meeting and the API's join data (the
    /// first set stays).
    pub fn set_video(&self, rooms: Arc<dyn VideoRooms>) {
        let _ = self.video_rooms.set(rooms);
    }

    /// This app's own metrics sink instead of the process's (the first set
    /// stays): a test's counters.
    pub fn set_metrics(&self, metrics: Arc<dyn Metrics>) {
        self.metrics.set(metrics);
    }

    /// Where this app counts; counting never fails.
    pub fn metrics(&self) -> &dyn Metrics {
        self.metrics.get()
    }

    /// The video rooms: those set, else WebRTC.
    pub fn video(&self) -> &dyn VideoRooms {
        match self.video_rooms.get() {
            Some(v) => v.as_ref(),
            None => &self.webrtc,
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

//! What an operator sees: the business and health counters, behind one
//! port ([`Metrics`]) with two adapters —
//! - `emf`: CloudWatch embedded-metric-format lines on stdout, one per
//!   Lambda invocation (flushed where an invocation ends:
//!   `lambda::http::service` for the HTTP functions, [`flushed`] around the
//!   others' handlers);
//! - `prometheus`: in-process counters of the local server, served at
//!   `GET /dev/metrics` (`http::dev`).
//!
//! The names are a contract (`names.rs`; the dashboard and the alarms of
//! `infra/` use them): namespace `embedcare`, no dimension on
//! the business counters, `Service` and `Route` on `Http4xx`/`Http5xx`.
//! No tenant, patient or user is ever a dimension or a value here: what is
//! counted is a number and, for HTTP, a route template.
//!
//! Counting never fails a request: an adapter swallows its own troubles
//! (a poisoned lock is taken over, a closed stdout ignored).

pub mod emf;
pub mod names;
pub mod prometheus;
pub mod store;

use std::sync::{Arc, OnceLock};

pub use names::{Counter, HttpClass, Sample};

/// The metrics port.
pub trait Metrics: Send + Sync {
    /// Adds `n` to a business counter.
    fn count(&self, counter: Counter, n: u64);
    /// One value of a sample (the relay lag of one event; the age of the
    /// oldest pending outbox item).
    fn sample(&self, sample: Sample, value: f64);
    /// A 4xx or 5xx answered on `route` (an axum route template, or
    /// `unmatched`).
    fn http(&self, class: HttpClass, route: &str);
    /// The end of an invocation: what was counted since the last flush is
    /// written out (EMF); a no-op for the in-process counters.
    fn flush(&self) {}
}

/// Counts nothing (a process that installed no adapter).
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn count(&self, _: Counter, _: u64) {}
    fn sample(&self, _: Sample, _: f64) {}
    fn http(&self, _: HttpClass, _: &str) {}
}

static GLOBAL: OnceLock<Arc<dyn Metrics>> = OnceLock::new();
static NONE: NoMetrics = NoMetrics;

/// Makes `metrics` the process's sink (the first one installed stays):
/// a Lambda function's EMF adapter, the local server's counters.
pub fn install(metrics: Arc<dyn Metrics>) -> bool {
    GLOBAL.set(metrics).is_ok()
}

/// The process's sink: what counts where no app is at hand (the relay, the
/// re-drive), and every app's unless it was given its own ([`Slot`]).
pub fn global() -> &'static dyn Metrics {
    match GLOBAL.get() {
        Some(m) => m.as_ref(),
        None => &NONE,
    }
}

/// Flushes the process's sink: the end of an invocation.
pub fn flush() {
    global().flush();
}

/// Runs an invocation's handler, then flushes what it counted.
pub async fn flushed<T>(handler: impl Future<Output = T>) -> T {
    let out = handler.await;
    flush();
    out
}

/// An app's sink: the one set (a test's own counters), else the process's.
#[derive(Default)]
pub struct Slot(OnceLock<Arc<dyn Metrics>>);

impl Slot {
    /// Sets this app's sink (the first one set stays).
    pub fn set(&self, metrics: Arc<dyn Metrics>) {
        let _ = self.0.set(metrics);
    }

    pub fn get(&self) -> &dyn Metrics {
        match self.0.get() {
            Some(m) => m.as_ref(),
            None => global(),
        }
    }
}

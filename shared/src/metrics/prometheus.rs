//! The local server's adapter: counters kept in process, read as
//! Prometheus text (`GET /dev/metrics`, `http::dev`). The same names as
//! the Lambdas' EMF lines (`names.rs`): `embedcare_<snake_case>_total`
//! counters, `embedcare_http_4xx_total{route="…"}` and
//! `embedcare_http_5xx_total{route="…"}`, the summary
//! `embedcare_relay_lag_milliseconds` (`_sum`, `_count`) and the gauge
//! `embedcare_outbox_oldest_pending_seconds`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Metrics;
use super::names::{Counter, HttpClass, Sample};

#[derive(Default)]
pub struct Prometheus {
    counters: [AtomicU64; Counter::ALL.len()],
    /// (sum, count) of the relay lag.
    relay_lag: Mutex<(f64, u64)>,
    /// The last age of the oldest pending outbox item (f64 bits).
    oldest_pending: AtomicU64,
    http: Mutex<BTreeMap<(HttpClass, String), u64>>,
}

/// A label value with `\`, `"` and line breaks escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Prometheus {
    pub fn new() -> Self {
        Self::default()
    }

    /// A counter's value.
    pub fn counter(&self, c: Counter) -> u64 {
        self.counters[c.index()].load(Ordering::Relaxed)
    }

    /// The 4xx or 5xx answered on `route` so far.
    pub fn http_count(&self, class: HttpClass, route: &str) -> u64 {
        let http = self.http.lock().unwrap_or_else(|p| p.into_inner());
        http.get(&(class, route.to_owned())).copied().unwrap_or(0)
    }

    /// Everything, in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut s = String::new();
        for c in Counter::ALL {
            let name = c.prometheus();
            let _ = writeln!(s, "# HELP {name} {} (embedcare)", c.name());
            let _ = writeln!(s, "# TYPE {name} counter");
            let _ = writeln!(s, "{name} {}", self.counter(c));
        }
        let http = self.http.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for class in [HttpClass::Client, HttpClass::Server] {
            let name = class.prometheus();
            let _ = writeln!(s, "# HELP {name} {} answers by route", class.name());
            let _ = writeln!(s, "# TYPE {name} counter");
            for ((c, route), n) in &http {
                if *c == class {
                    let _ = writeln!(s, "{name}{{route=\"{}\"}} {n}", label(route));
                }
            }
        }
        let (sum, count) = *self.relay_lag.lock().unwrap_or_else(|p| p.into_inner());
        let lag = Sample::RelayLag.prometheus();
        let _ = writeln!(s, "# HELP {lag} relay time minus event time");
        let _ = writeln!(s, "# TYPE {lag} summary");
        let _ = writeln!(s, "{lag}_sum {sum}");
        let _ = writeln!(s, "{lag}_count {count}");
        let age = Sample::OutboxOldestPending.prometheus();
        let value = f64::from_bits(self.oldest_pending.load(Ordering::Relaxed));
        let _ = writeln!(s, "# HELP {age} age of the oldest pending outbox item");
        let _ = writeln!(s, "# TYPE {age} gauge");
        let _ = writeln!(s, "{age} {value}");
        s
    }
}

impl Metrics for Prometheus {
    fn count(&self, counter: Counter, n: u64) {
        self.counters[counter.index()].fetch_add(n, Ordering::Relaxed);
    }

    fn sample(&self, sample: Sample, value: f64) {
        if !value.is_finite() {
            return;
        }
        match sample {
            Sample::RelayLag => {
                let mut lag = self.relay_lag.lock().unwrap_or_else(|p| p.into_inner());
                lag.0 += value;
                lag.1 += 1;
            }
            Sample::OutboxOldestPending => {
                self.oldest_pending
                    .store(value.to_bits(), Ordering::Relaxed);
            }
        }
    }

    fn http(&self, class: HttpClass, route: &str) {
        let mut http = self.http.lock().unwrap_or_else(|p| p.into_inner());
        *http.entry((class, route.to_owned())).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_has_a_type_line_for_every_metric_and_escapes_routes() {
        let p = Prometheus::new();
        p.count(Counter::LaunchesIssued, 2);
        p.http(HttpClass::Server, "/v2/visits/{visitId}");
        p.http(HttpClass::Client, "a\"b");
        p.sample(Sample::RelayLag, 40.0);
        p.sample(Sample::RelayLag, 2.0);
        p.sample(Sample::OutboxOldestPending, 7.0);
        let text = p.render();
        assert!(text.contains(
            "# TYPE embedcare_launches_issued_total counter\nembedcare_launches_issued_total 2\n"
        ));
        assert!(text.contains("embedcare_http_5xx_total{route=\"/v2/visits/{visitId}\"} 1\n"));
        assert!(text.contains("embedcare_http_4xx_total{route=\"a\\\"b\"} 1\n"));
        assert!(text.contains("# TYPE embedcare_relay_lag_milliseconds summary\n"));
        assert!(text.contains(
            "embedcare_relay_lag_milliseconds_sum 42\nembedcare_relay_lag_milliseconds_count 2\n"
        ));
        assert!(text.contains("# TYPE embedcare_outbox_oldest_pending_seconds gauge\nembedcare_outbox_oldest_pending_seconds 7\n"));
        // Every sample line's metric has its TYPE line.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            let base = name.trim_end_matches("_sum").trim_end_matches("_count");
            assert!(text.contains(&format!("# TYPE {base} ")), "{line}");
        }
        assert_eq!(p.counter(Counter::LaunchesIssued), 2);
        assert_eq!(p.http_count(HttpClass::Server, "/v2/visits/{visitId}"), 1);
    }
}

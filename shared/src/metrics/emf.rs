//! The Lambda adapter: what an invocation counted, as CloudWatch embedded
//! metric format (EMF) lines on stdout, written when the invocation ends
//! ([`Metrics::flush`]). CloudWatch Logs turns each line into metrics of
//! the namespace `embedcare`:
//!
//! ```json
//! {"_aws": {"Timestamp": 1767225600000, "CloudWatchMetrics": [
//!    {"Namespace": "embedcare", "Dimensions": [[]],
//!     "Metrics": [{"Name": "LaunchesIssued", "Unit": "Count"}]},
//!    {"Namespace": "embedcare", "Dimensions": [["Service", "Route"], []],
//!     "Metrics": [{"Name": "Http4xx", "Unit": "Count"}]}]},
//!  "LaunchesIssued": 1, "Service": "consultation-create",
//!  "Route": "/embeddable/consultation/create", "Http4xx": 1}
//! ```
//!
//! One line per flush; more only when one invocation answered errors on
//! several routes (one `Route` per line) or sampled more than
//! [`MAX_VALUES`] values of one metric (EMF's limit per line). Nothing
//! counted: no line.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Mutex;

use serde_json::{Map, Value, json};

use super::Metrics;
use super::names::{Counter, HttpClass, NAMESPACE, Sample};

/// The most values of one metric in one EMF line.
pub const MAX_VALUES: usize = 100;

#[derive(Default)]
struct Pending {
    counters: [u64; Counter::ALL.len()],
    relay_lag: Vec<f64>,
    oldest_pending: Option<f64>,
    /// Route → [4xx, 5xx].
    http: BTreeMap<String, [u64; 2]>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.counters.iter().all(|n| *n == 0)
            && self.relay_lag.is_empty()
            && self.oldest_pending.is_none()
            && self.http.is_empty()
    }
}

/// Where the lines go: stdout in a function, a buffer in a test.
type Out = Box<dyn Fn(&str) + Send + Sync>;

pub struct Emf {
    service: String,
    pending: Mutex<Pending>,
    out: Out,
}

impl Emf {
    /// Lines on stdout, `Service` = `service`.
    pub fn new(service: impl Into<String>) -> Self {
        Self::with_output(service, Box::new(print_line))
    }

    /// Lines handed to `out`.
    pub fn with_output(service: impl Into<String>, out: Out) -> Self {
        Self {
            service: service.into(),
            pending: Mutex::default(),
            out,
        }
    }

    /// The function's adapter: `Service` is `AWS_LAMBDA_FUNCTION_NAME`
    /// (`local` outside Lambda).
    pub fn from_env() -> Self {
        let name = std::env::var("AWS_LAMBDA_FUNCTION_NAME")
            .ok()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "local".to_owned());
        Self::new(name)
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What was counted since the last call, as EMF lines stamped `now_ms`;
    /// the counts start again from zero.
    pub fn take_lines(&self, now_ms: i64) -> Vec<String> {
        let p = std::mem::take(&mut *self.pending());
        lines(&self.service, p, now_ms)
    }
}

fn print_line(line: &str) {
    // A closed stdout must not fail the invocation.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn metric(name: &str, unit: &str) -> Value {
    json!({"Name": name, "Unit": unit})
}

fn lines(service: &str, mut p: Pending, now_ms: i64) -> Vec<String> {
    let mut out = Vec::new();
    let mut routes: std::collections::VecDeque<(String, [u64; 2])> =
        std::mem::take(&mut p.http).into_iter().collect();
    let mut first = true;
    while first || !p.relay_lag.is_empty() || !routes.is_empty() {
        let mut top = Map::new();
        let mut business = Vec::new();
        if first {
            for c in Counter::ALL {
                let n = p.counters[c.index()];
                if n > 0 {
                    business.push(metric(c.name(), "Count"));
                    top.insert(c.name().into(), n.into());
                }
            }
            if let Some(age) = p.oldest_pending.take() {
                let s = Sample::OutboxOldestPending;
                business.push(metric(s.name(), s.unit()));
                top.insert(s.name().into(), age.into());
            }
        }
        if !p.relay_lag.is_empty() {
            let n = p.relay_lag.len().min(MAX_VALUES);
            let values: Vec<f64> = p.relay_lag.drain(..n).collect();
            let s = Sample::RelayLag;
            business.push(metric(s.name(), s.unit()));
            top.insert(s.name().into(), values.into());
        }
        first = false;
        let mut directives = Vec::new();
        if !business.is_empty() {
            directives
                .push(json!({"Namespace": NAMESPACE, "Dimensions": [[]], "Metrics": business}));
        }
        if let Some((route, [c4, c5])) = routes.pop_front() {
            let mut http = Vec::new();
            for (class, n) in [(HttpClass::Client, c4), (HttpClass::Server, c5)] {
                if n > 0 {
                    http.push(metric(class.name(), "Count"));
                    top.insert(class.name().into(), n.into());
                }
            }
            top.insert("Service".into(), service.into());
            top.insert("Route".into(), route.into());
            directives.push(json!({"Namespace": NAMESPACE,
                "Dimensions": [["Service", "Route"], []], "Metrics": http}));
        }
        if directives.is_empty() {
            break;
        }
        let aws = json!({"Timestamp": now_ms, "CloudWatchMetrics": directives});
        let mut line = Map::new();
        line.insert("_aws".into(), aws);
        line.extend(top);
        out.push(Value::Object(line).to_string());
    }
    out
}

impl Metrics for Emf {
    fn count(&self, counter: Counter, n: u64) {
        let mut p = self.pending();
        let slot = &mut p.counters[counter.index()];
        *slot = slot.saturating_add(n);
    }

    fn sample(&self, sample: Sample, value: f64) {
        if !value.is_finite() {
            return;
        }
        let mut p = self.pending();
        match sample {
            Sample::RelayLag => p.relay_lag.push(value),
            Sample::OutboxOldestPending => p.oldest_pending = Some(value),
        }
    }

    fn http(&self, class: HttpClass, route: &str) {
        let mut p = self.pending();
        let counts = p.http.entry(route.to_owned()).or_default();
        let i = usize::from(class == HttpClass::Server);
        counts[i] = counts[i].saturating_add(1);
    }

    fn flush(&self) {
        if self.pending().is_empty() {
            return;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        for line in self.take_lines(now) {
            (self.out)(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    fn directives(line: &Value) -> &Vec<Value> {
        line["_aws"]["CloudWatchMetrics"]
            .as_array()
            .expect("directives")
    }

    /// The contract: namespace, dimensions, every metric's unit, every
    /// value at top level, no other key (no tenant, no personal value).
    fn check_contract(line: &Value) {
        let obj = line.as_object().expect("an object");
        assert!(line["_aws"]["Timestamp"].is_i64(), "{line}");
        let mut allowed = vec!["_aws".to_owned()];
        for d in directives(line) {
            assert_eq!(d["Namespace"], NAMESPACE);
            let dims = &d["Dimensions"];
            for m in d["Metrics"].as_array().expect("metrics") {
                let name = m["Name"].as_str().expect("a name");
                let unit = m["Unit"].as_str().expect("a unit");
                assert!(obj.contains_key(name), "{name} has no value: {line}");
                allowed.push(name.to_owned());
                let expected = match name {
                    "RelayLag" => "Milliseconds",
                    "OutboxOldestPending" => "Seconds",
                    _ => "Count",
                };
                assert_eq!(unit, expected, "{name}");
                if name.starts_with("Http") {
                    assert_eq!(dims, &json!([["Service", "Route"], []]));
                } else {
                    assert_eq!(dims, &json!([[]]), "{name}");
                }
            }
            for set in dims.as_array().expect("dimension sets") {
                for dim in set.as_array().expect("a set") {
                    let dim = dim.as_str().expect("a name");
                    assert!(["Service", "Route"].contains(&dim), "{dim}");
                    assert!(obj[dim].is_string(), "{dim} has no value");
                    allowed.push(dim.to_owned());
                }
            }
        }
        for key in obj.keys() {
            assert!(allowed.contains(key), "unexpected key {key}: {line}");
            assert!(!key.to_ascii_lowercase().contains("tenant"), "{key}");
        }
    }

    fn captured() -> (Emf, Arc<Mutex<Vec<String>>>) {
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        let emf = Emf::with_output(
            "consultation-create",
            Box::new(move |l| sink.lock().unwrap().push(l.to_owned())),
        );
        (emf, got)
    }

    #[test]
    fn an_invocation_is_one_line_of_the_contract() {
        let (emf, got) = captured();
        emf.count(Counter::LaunchesIssued, 1);
        emf.count(Counter::EventsWritten, 2);
        emf.sample(Sample::RelayLag, 12.0);
        emf.sample(Sample::RelayLag, 40.0);
        emf.sample(Sample::OutboxOldestPending, 0.0);
        emf.http(HttpClass::Client, "/embeddable/consultation/create");
        emf.http(HttpClass::Client, "/embeddable/consultation/create");
        emf.flush();
        let lines = got.lock().unwrap().clone();
        assert_eq!(lines.len(), 1, "{lines:?}");
        let line: Value = serde_json::from_str(&lines[0]).expect("JSON");
        check_contract(&line);
        assert_eq!(line["LaunchesIssued"], 1);
        assert_eq!(line["EventsWritten"], 2);
        assert_eq!(line["RelayLag"], json!([12.0, 40.0]));
        assert_eq!(line["OutboxOldestPending"], 0.0);
        assert_eq!(line["Http4xx"], 2);
        assert!(line.get("Http5xx").is_none());
        assert_eq!(line["Service"], "consultation-create");
        assert_eq!(line["Route"], "/embeddable/consultation/create");
        assert_eq!(directives(&line).len(), 2);
        // Counted once: the next flush of nothing writes nothing.
        emf.flush();
        assert_eq!(got.lock().unwrap().len(), 1);
    }

    #[test]
    fn several_routes_and_many_samples_take_more_lines() {
        let (emf, got) = captured();
        for n in 0..(MAX_VALUES + 5) {
            emf.sample(Sample::RelayLag, n as f64);
        }
        emf.http(HttpClass::Server, "/v2/visits/{visitId}");
        emf.http(HttpClass::Client, "unmatched");
        emf.sample(Sample::RelayLag, f64::NAN);
        emf.flush();
        let lines: Vec<Value> = got
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).expect("JSON"))
            .collect();
        assert_eq!(lines.len(), 2);
        for line in &lines {
            check_contract(line);
        }
        let lags: usize = lines
            .iter()
            .map(|l| l["RelayLag"].as_array().map_or(0, Vec::len))
            .sum();
        assert_eq!(lags, MAX_VALUES + 5);
        let routes: Vec<&str> = lines.iter().filter_map(|l| l["Route"].as_str()).collect();
        assert_eq!(routes, ["/v2/visits/{visitId}", "unmatched"]);
        assert_eq!(lines[0]["Http5xx"], 1);
        assert_eq!(lines[1]["Http4xx"], 1);
    }

    #[test]
    fn nothing_counted_is_no_line() {
        let (emf, got) = captured();
        emf.flush();
        assert!(got.lock().unwrap().is_empty());
        assert!(emf.take_lines(0).is_empty());
    }
}

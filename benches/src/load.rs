//! The local server under a real load generator (wrk) on loopback, side by
//! side with a bare axum server; and latency against the number of patients.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use shared::clock::{Clock, SystemClock};
use shared::domain::{Patient, PatientId, PatientKey, TenantKey};
use shared::services::demo;
use shared::store::embedded::EmbeddedStore;
use shared::store::{MAX_TRANSACT_ITEMS, Store};
use shared::{App, Config};

use crate::util::{Guard, Res, free_port, wait_for_port};

/// Patients `bench-0` … `bench-{n-1}` (pms key), F{i} L{i}.
pub fn patient_key(i: usize) -> String {
    format!("bench-{i}")
}

/// A data directory for `embedcare serve`: the demo world (and its
/// `demo.json`) plus `n` patients written through the store port in
/// transactions of ≤ 100 writes. Returns the API key and the seeding time.
pub async fn prepare(dir: &Path, n: usize) -> Res<(String, Duration)> {
    std::fs::create_dir_all(dir)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = EmbeddedStore::open(&dir.join("embedcare.redb"), clock.clone())?;
    // The secret `serve` will read from the data directory: patient keys
    // are hashed with a key derived from it.
    let config = Config::from_env_or_data_dir("http://127.0.0.1:3000", dir)?;
    let app = App::new(Arc::new(store.clone()), clock.clone(), config);
    let world = demo::seed(&app, &[]).await?;
    std::fs::write(dir.join("demo.json"), serde_json::to_vec_pretty(&world)?)?;
    let tenant = TenantKey::parse(demo::DEMO_TENANT).ok_or("tenant")?;
    let now = clock.now_ms();
    let t = Instant::now();
    let mut batch = Vec::with_capacity(MAX_TRANSACT_ITEMS);
    for i in 0..n {
        let p = Patient {
            tenant_key: tenant.clone(),
            patient_id: PatientId::generate(),
            keys: vec![PatientKey {
                sub_system: "pms".into(),
                key: patient_key(i),
            }],
            first_name: format!("F{i}"),
            last_name: format!("L{i}"),
            date_of_birth: None,
            sex: None,
            email: None,
            phone: None,
            preferred_language: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let writes = shared::store::items::create_patient_writes(&p, &app.patient_keys)?;
        if batch.len() + writes.len() > MAX_TRANSACT_ITEMS {
            store.transact(std::mem::take(&mut batch)).await?;
        }
        batch.extend(writes);
    }
    if !batch.is_empty() {
        store.transact(batch).await?;
    }
    Ok((world.api_key, t.elapsed()))
}

pub struct Server {
    pub port: u16,
    _guard: Guard,
}

/// `embedcare serve` on a free port.
pub fn start_embedcare(bin: &Path, dir: &Path) -> Res<Server> {
    let port = free_port()?;
    let child = Command::new(bin)
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir)
        .env_remove("EMBEDCARE_STORE")
        // One key sends the whole load: no per-key limit.
        .env("EMBEDCARE_RATE_LIMIT_PER_SECOND", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let guard = Guard(child);
    wait_for_port(port, Duration::from_secs(60))?;
    Ok(Server {
        port,
        _guard: guard,
    })
}

pub fn start_bare(bin: &Path) -> Res<Server> {
    let port = free_port()?;
    let child = Command::new(bin)
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let guard = Guard(child);
    wait_for_port(port, Duration::from_secs(30))?;
    Ok(Server {
        port,
        _guard: guard,
    })
}

/// The load scripts: one per vendor call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    Dashboard,
    CreateExisting,
    ViewByKey,
}

impl Load {
    pub fn label(self) -> &'static str {
        match self {
            Load::Dashboard => "GET /embeddable/consultation/dashboard",
            Load::CreateExisting => {
                "POST /embeddable/consultation/create (existing patient, random of n)"
            }
            Load::ViewByKey => "GET /embeddable/consultation/view?patientKey= (random of n)",
        }
    }

    fn script(self, key: &str, n: usize) -> String {
        let head = format!(
            "math.randomseed(os.time())\nlocal n = {n}\nwrk.headers[\"api-key\"] = \"{key}\"\n"
        );
        let body = match self {
            Load::Dashboard => "wrk.method = \"GET\"\nwrk.path = \"/embeddable/consultation/dashboard\"\n".to_owned(),
            Load::CreateExisting => "wrk.method = \"POST\"\nwrk.headers[\"content-type\"] = \"application/json\"\n\
                request = function()\n  local i = math.random(0, n - 1)\n  \
                local body = string.format('{\"patient\":{\"keys\":[{\"subSystem\":\"pms\",\"key\":\"bench-%d\"}],\"firstName\":\"F%d\",\"lastName\":\"L%d\"}}', i, i, i)\n  \
                return wrk.format(nil, \"/embeddable/consultation/create\", nil, body)\nend\n"
                .to_owned(),
            Load::ViewByKey => "wrk.method = \"GET\"\n\
                request = function()\n  local i = math.random(0, n - 1)\n  \
                return wrk.format(nil, string.format(\"/embeddable/consultation/view?patientKey=bench-%d\", i))\nend\n"
                .to_owned(),
        };
        let done = "done = function(s, latency, requests)\n  \
            io.write(string.format('WRKJSON {\"requests\":%d,\"duration_us\":%d,\"status_errors\":%d,\"socket_errors\":%d,\"p50_us\":%d,\"p90_us\":%d,\"p99_us\":%d,\"mean_us\":%.1f}\\n', \
            s.requests, s.duration, s.errors.status, s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout, \
            latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))\nend\n";
        format!("{head}{body}{done}")
    }
}

#[derive(Debug, Clone)]
pub struct WrkResult {
    pub rps: f64,
    pub requests: u64,
    pub status_errors: u64,
    pub socket_errors: u64,
    pub p50_us: f64,
    pub p99_us: f64,
}

pub fn wrk_bin() -> Option<PathBuf> {
    let out = Command::new("sh")
        .args(["-c", "command -v wrk"])
        .output()
        .ok()?;
    let p = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (!p.is_empty()).then(|| PathBuf::from(p))
}

/// wrk with `connections` connections on one thread for `secs` seconds.
pub fn wrk(
    port: u16,
    load: Load,
    key: &str,
    n: usize,
    connections: usize,
    secs: u64,
    scratch: &Path,
) -> Res<WrkResult> {
    let wrk = wrk_bin()
        .ok_or("wrk is not installed (./benches/run.sh installs it: apt-get install -y wrk)")?;
    let script = scratch.join(format!("{load:?}-{port}.lua"));
    std::fs::write(&script, load.script(key, n.max(1)))?;
    let out = Command::new(wrk)
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{secs}s"),
            "--timeout",
            "10s",
            "-s",
        ])
        .arg(&script)
        .arg(format!("http://127.0.0.1:{port}"))
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("WRKJSON "))
        .ok_or_else(|| {
            format!(
                "wrk gave no summary: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let v: Value = serde_json::from_str(line)?;
    let f = |k: &str| v[k].as_f64().unwrap_or(0.0);
    Ok(WrkResult {
        rps: f("requests") / (f("duration_us") / 1e6),
        requests: f("requests") as u64,
        status_errors: f("status_errors") as u64,
        socket_errors: f("socket_errors") as u64,
        p50_us: f("p50_us"),
        p99_us: f("p99_us"),
    })
}

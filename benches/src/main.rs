//! `benchmarks full` regenerates `BENCHMARKS.md`; `benchmarks quick` checks
//! that every benchmark still runs (debug builds, tiny loads) and that the
//! counted budgets hold, for CI. Run through `./benches/run.sh [quick]`,
//! which installs moto and wrk first.

mod clinic_warm;
mod cold;
mod commit;
mod contention;
mod fanout;
mod hook_rate;
mod load;
mod paths;
mod stress;
mod under_load;
mod util;
mod warm;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::App;
use shared::clock::SystemClock;
use shared::store::dynamodb::{DynamoStore, create_table};

use crate::util::{Res, mb, pct, sorted};

/// Every Lambda function in `functions/` (`functions/local` is the local
/// server).
const FUNCTIONS: &[&str] = &[
    "consultation-create",
    "consultation-view",
    "embeddable-url",
    "embed-pages",
    "v2-consultations",
    "v2-followups",
    "v2-embed",
    "outbox-relay",
    "patient-notifier",
    "intakes",
    "patient-app",
    "patient-sso",
    "providers",
    "rooms",
    "visits",
    "visit-live",
    "visit-notifier",
    "visit-sweeper",
    "v2-events",
    "event-dispatcher",
    "event-stream",
    "outbox-redrive",
];
const FLOORS: &[&str] = &["hello-world", "hello-http", "hello-sdk"];
const COMMAND: &str = "./benches/run.sh";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Quick,
    Full,
}

struct Plan {
    mode: Mode,
    cold_starts: usize,
    in_process_iterations: usize,
    load_secs: u64,
    load_connections: usize,
    latency_secs: u64,
    sizes: Vec<usize>,
    alt_opt_levels: Vec<String>,
}

impl Plan {
    fn new(mode: Mode) -> Plan {
        let env_n = |k: &str, d: usize| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(d)
        };
        match mode {
            Mode::Quick => Plan {
                mode,
                cold_starts: 2,
                in_process_iterations: 5,
                load_secs: 1,
                load_connections: 4,
                latency_secs: 1,
                sizes: vec![1000],
                alt_opt_levels: vec![],
            },
            Mode::Full => Plan {
                mode,
                cold_starts: env_n("BENCH_COLD_STARTS", 20),
                in_process_iterations: env_n("BENCH_ITERATIONS", 2000),
                load_secs: env_n("BENCH_LOAD_SECS", 10) as u64,
                load_connections: 16,
                latency_secs: env_n("BENCH_LATENCY_SECS", 5) as u64,
                sizes: vec![1000, env_n("BENCH_MAX_PATIENTS", 100_000)],
                alt_opt_levels: std::env::var("BENCH_ALT_OPT_LEVELS")
                    .unwrap_or_else(|_| "3".into())
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            },
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // The harness's own reqwest clients take the SDK client's provider.
    shared::http_client::install_default_provider();
    let mode = match std::env::args().nth(1).as_deref() {
        Some("load") => {
            return load_main(std::env::args().nth(2).as_deref() == Some("quick")).await;
        }
        Some("commit") => {
            let quick = std::env::args().nth(2).as_deref() == Some("quick");
            return finish("commit", commit::main(quick).await);
        }
        Some("full") => Mode::Full,
        Some("quick") => Mode::Quick,
        _ => {
            eprintln!("usage: benchmarks full|quick   (see {COMMAND})");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    match run(Plan::new(mode)).await {
        Ok(failures) if failures.is_empty() => {
            eprintln!(
                "benchmarks: all ran, budgets hold ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
        Ok(failures) => {
            eprintln!("benchmarks: {} failure(s):", failures.len());
            for f in failures {
                eprintln!("  - {f}");
            }
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("benchmarks: a benchmark could not run: {e}");
            std::process::exit(1);
        }
    }
}

/// `benchmarks load [quick]`: `benches/src/stress/`, which writes `LOAD.md`.
async fn load_main(quick: bool) {
    match stress::main(quick).await {
        Ok(f) if f.is_empty() => eprintln!("load: every count holds"),
        Ok(f) => {
            eprintln!("load: {} failure(s):", f.len());
            f.iter().for_each(|f| eprintln!("  - {f}"));
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("load: a run could not complete: {e}");
            std::process::exit(1);
        }
    }
}

/// Exits with the outcome of a one-section run (`commit`).
fn finish(what: &str, outcome: Res<Vec<String>>) {
    match outcome {
        Ok(f) if f.is_empty() => eprintln!("{what}: every count holds"),
        Ok(f) => {
            eprintln!("{what}: {} failure(s):", f.len());
            f.iter().for_each(|f| eprintln!("  - {f}"));
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("{what}: a run could not complete: {e}");
            std::process::exit(1);
        }
    }
}

fn step(s: &str) {
    eprintln!("\n--> {s}");
}

struct Report {
    md: String,
    failures: Vec<String>,
}

impl Report {
    fn line(&mut self, s: impl AsRef<str>) {
        self.md.push_str(s.as_ref());
        self.md.push('\n');
    }
}

fn ok(b: bool) -> &'static str {
    if b { "✅ met" } else { "❌ missed" }
}

async fn run(plan: Plan) -> Res<Vec<String>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let root = root.canonicalize()?;
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let scratch = target.join("benchmarks");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    let release = plan.mode == Mode::Full;
    let t_run = Instant::now();
    let mut r = Report {
        md: String::new(),
        failures: Vec::new(),
    };

    // ---- build ------------------------------------------------------------
    step(&format!(
        "build ({})",
        if release { "release" } else { "debug" }
    ));
    let t = Instant::now();
    // The functions in a build of their own: built together with `embedcare`
    // or `benchmarks`, cargo would unify `shared`'s features and link the
    // embedded store into them, which their packaged builds do not have.
    // Each set of `shared` features in a build of its own, as packaged.
    let mut bins = paths::build_functions(&root, release, FUNCTIONS)?;
    bins.extend(util::build(
        release,
        &["embedcare", "benchmarks"],
        &[],
        None,
    )?);
    let build_secs = t.elapsed().as_secs_f64();
    let bin = |name: &str| -> Res<PathBuf> {
        bins.get(name)
            .cloned()
            .ok_or_else(|| format!("no binary {name}").into())
    };

    let (endpoint, _moto) = util::moto()?;
    let moto_rtt = moto_round_trip_ms(&endpoint).await?;

    header(&mut r, &plan, build_secs, moto_rtt);

    // ---- sizes --------------------------------------------------------------
    step("sizes");
    let mut names: Vec<&str> = FLOORS.to_vec();
    names.extend(FUNCTIONS);
    let mut sizes = HashMap::new();
    for n in &names {
        let path = bin(n)?;
        let built = std::fs::metadata(&path)?.len();
        let stripped = util::stripped_size(&path, &scratch)?;
        let zipped = util::zip_size(&path, &scratch)?;
        sizes.insert(n.to_string(), (built, stripped, zipped));
    }

    // ---- cold starts --------------------------------------------------------
    step(&format!("cold starts ({} per case)", plan.cold_starts));
    let table = cold_table(&endpoint).await?;
    let fixture = paths::Fixture::new(&endpoint, &table.0, &table.1, &scratch).await?;
    let cases = paths::cases(FLOORS, FUNCTIONS);
    let mut cold: HashMap<String, Vec<cold::Sample>> = HashMap::new();
    for round in 0..plan.cold_starts {
        for c in &cases {
            let (event, env) = fixture.event(c, round, &endpoint).await?;
            let s = cold::cold_start(&bin(c.bin)?, &event, &env).await?;
            paths::check(c, &s)?;
            cold.entry(c.label.clone()).or_default().push(s);
        }
        eprint!(" {}", round + 1);
    }
    eprintln!();
    step("cold starts: AWS requests of each first event (counting proxy)");
    let wire = paths::count(&fixture, &cases, &bins, plan.cold_starts).await?;
    let cold_targets = paths::cold_section(&mut r, &plan, &cases, &cold, &sizes, &wire, moto_rtt);
    // `BENCH_PATHS_ONLY=1`: only the sections of `paths.rs`, `clinic_warm.rs`
    // and §4 (a shorter run while working on them; never for BENCHMARKS.md).
    let paths_only = std::env::var("BENCH_PATHS_ONLY").is_ok_and(|v| v == "1");
    if !paths_only {
        sdk_probe(&mut r, &plan, &bin("sdk-init-probe")?, &endpoint, &table.0)?;
    }

    // ---- alternative builds -------------------------------------------------
    if !plan.alt_opt_levels.is_empty() && !paths_only {
        alternatives(
            &mut r, &plan, &target, &scratch, &endpoint, &table, &cold, &sizes,
        )
        .await?;
    }

    // ---- warm path: counted ------------------------------------------------
    step("warm path: DynamoDB requests per vendor call (moto)");
    let counted = warm::count_on_moto(&endpoint).await?;
    warm_counts_section(&mut r, &counted);
    step("warm path: the clinic, encounter, events and webhook calls (moto)");
    let clinic = clinic_warm::count_on_moto(&endpoint, &scratch).await?;
    clinic_warm::section(&mut r, &clinic);

    if !paths_only {
        // ---- warm path: in-process latency ---------------------------------------
        step(&format!(
            "warm path: in-process latency ({} iterations)",
            plan.in_process_iterations
        ));
        let (floor, timed) = warm::time_in_process(plan.in_process_iterations).await?;
        r.line("\n### In-process latency (embedded store, in memory; `oneshot` on `app_router`)\n");
        r.line(format!(
            "{} timed calls per endpoint after {} warm-up calls; the floor is a bare axum handler returning a small JSON body through the same `oneshot` + body-collect path. {}\n",
            plan.in_process_iterations,
            (plan.in_process_iterations / 10).max(1),
            if release { "Release build." } else { "Debug build (quick mode: timings meaningless)." }
        ));
        r.line("| call | p50 µs | p99 µs | p50 ÷ floor |");
        r.line("| --- | ---: | ---: | ---: |");
        r.line(format!(
            "| {} | {:.1} | {:.1} | 1.0 |",
            floor.name, floor.p50_us, floor.p99_us
        ));
        for t in &timed {
            r.line(format!(
                "| {} | {:.1} | {:.1} | {:.0}× |",
                t.name,
                t.p50_us,
                t.p99_us,
                t.p50_us / floor.p50_us
            ));
        }

        // ---- local server: latency vs size, throughput -----------------------
        let growth = load_sections(
            &mut r,
            &plan,
            &bin("embedcare")?,
            &bin("bare-axum")?,
            &scratch,
        )
        .await?;
        let _ = growth;
    }

    if !paths_only {
        commit::section(
            &mut r,
            &plan,
            &bin("embedcare")?,
            &bin("commit-floor")?,
            &scratch,
        )
        .await?;
    }

    // ---- §4: the new paths under contention and fan-out (local server) ---
    let under_load = under_load::run(&mut r, &plan, &bin("embedcare")?, &scratch).await?;

    targets(&mut r, &plan, &cold_targets, &counted, &clinic, &under_load);
    r.line(format!(
        "\n---\nThis file was generated by `{COMMAND}` in {:.1} min ({} mode).",
        t_run.elapsed().as_secs_f64() / 60.0,
        if release { "full" } else { "quick" }
    ));
    r.line("\n## Analysis and recommendations\n");
    // Written by hand from the figures above (kept apart so that editing it
    // needs no rebuild); the tables are what this run measured.
    let analysis = std::fs::read_to_string(root.join("benches/ANALYSIS.md")).unwrap_or_default();
    r.line(analysis.trim_end());

    let out = if release && !paths_only {
        root.join("BENCHMARKS.md")
    } else {
        scratch.join("BENCHMARKS.quick.md")
    };
    std::fs::write(&out, &r.md)?;
    eprintln!("\nwrote {}", out.display());
    Ok(r.failures)
}

fn header(r: &mut Report, plan: &Plan, build_secs: f64, moto_rtt: f64) {
    r.line("# Benchmarks\n");
    r.line(format!(
        "Regenerate this file with **`{COMMAND}`** (from the repository root; it installs moto and wrk when missing, builds the release binaries, and runs everything; `{COMMAND} quick` is the CI check). Every ratio compares with a floor measured in the same run, on the same machine.\n"
    ));
    r.line("## Method\n");
    let cpu = util::sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2");
    let mem = util::sh("awk '/MemTotal/ {printf \"%.0f GB\", $2/1048576}' /proc/meminfo");
    r.line(format!(
        "- Machine: {} × {}, {}, `{}`; {}; {}.",
        util::sh("nproc"),
        cpu.trim(),
        mem,
        util::sh("uname -sr"),
        util::sh("rustc --version"),
        util::sh("wrk --version 2>&1 | head -1 | cut -d' ' -f1-2")
    ));
    r.line(format!(
        "- Binaries: the workspace `{}` profile (release: fat LTO, one codegen unit, `opt-level = \"z\"`, `strip`, `panic = \"unwind\"`; the Lambda crates build `shared` without its embedded store), built in {build_secs:.0} s in this run.",
        if plan.mode == Mode::Full { "release" } else { "dev" }
    ));
    r.line(format!(
        "- Cold start: each binary exec'd {} times (binaries interleaved round-robin) under a fake Lambda Runtime API; *init* = exec → its first `GET /invocation/next`; *first response* = exec → its response to the one event; peak RSS = `VmHWM` just before the kill. DynamoDB is moto on loopback (one warm `GetItem` costs {moto_rtt:.2} ms there; the first request also opens the TCP connection — plain HTTP, so no TLS handshake, unlike real DynamoDB).",
        plan.cold_starts
    ));
    r.line("- Floors: `hello-world` (bare `lambda_runtime`, the floor of every cold-start ratio), and two heavier references built the same way: `hello-http` (`lambda_http` + a one-route axum router) and `hello-sdk` (`aws-config` default chain + an eager DynamoDB client, and one `GetItem` per invocation) — `benches/src/bin/`.");
    r.line(format!(
        "- Local server: `embedcare serve` ({}) on loopback with its embedded store on disk, against `bare-axum` (`benches/src/bin/bare_axum.rs`, same paths, small JSON, no auth, no store); wrk, 1 thread, {} connections, {} s per run for throughput; 1 connection, {} s per run for latency. Both servers share the {} CPUs with wrk.",
        if plan.mode == Mode::Full { "release" } else { "debug" },
        plan.load_connections,
        plan.load_secs,
        plan.latency_secs,
        util::sh("nproc")
    ));
}

async fn moto_round_trip_ms(endpoint: &str) -> Res<f64> {
    let client = dynamo_client(endpoint);
    let table = format!("rtt-{}", uuid::Uuid::new_v4().simple());
    create_table(&client, &table).await?;
    let mut v = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        client
            .get_item()
            .table_name(&table)
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("x".into()))
            .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("x".into()))
            .send()
            .await?;
        v.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(pct(&sorted(v), 50.0))
}

fn dynamo_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(Credentials::new("test", "test", None, None, "bench"))
            .http_client(shared::http_client::sdk_http_client())
            .build(),
    )
}

/// A table on moto with the demo world and one patient: (table, API key).
async fn cold_table(endpoint: &str) -> Res<(String, String)> {
    let client = dynamo_client(endpoint);
    let table = format!("cold-{}", uuid::Uuid::new_v4().simple());
    create_table(&client, &table).await?;
    let clock = Arc::new(SystemClock);
    let store = DynamoStore::new(client, table.clone(), clock.clone());
    let app = App::new(Arc::new(store), clock, util::config(cold::BASE_URL));
    let world = shared::services::demo::seed(&app, &[]).await?;
    warm::prime(&shared::http::app_router(app), &world.api_key).await?;
    Ok((table, world.api_key))
}

/// The one event each binary gets, and its environment.
fn cold_case(name: &str, endpoint: &str, table: &str, key: &str) -> (Value, Vec<(String, String)>) {
    let mut env = vec![
        ("AWS_ENDPOINT_URL".to_owned(), endpoint.to_owned()),
        ("EMBEDCARE_TABLE".to_owned(), table.to_owned()),
        (
            "EMBEDCARE_APP_BASE_URL".to_owned(),
            cold::BASE_URL.to_owned(),
        ),
        // Every function requires the deployment secret.
        (
            "EMBEDCARE_SECRET".to_owned(),
            "bench-secret-of-at-least-thirty-two-chars".to_owned(),
        ),
    ];
    let json_h = json!({"api-key": key, "content-type": "application/json"});
    let event = match name {
        "hello-world" | "hello-sdk" => json!({"hello": "world"}),
        "hello-http" => cold::apigw("GET", "/hello", json!({}), None),
        "consultation-create" => cold::apigw(
            "POST",
            "/embeddable/consultation/create",
            json_h,
            Some(&json!({"patient": {"keys":[{"subSystem":"pms","key":warm::PATIENT}],"firstName":"Ann","lastName":"Lee"}}).to_string()),
        ),
        "consultation-view" => cold::apigw(
            "POST",
            "/embeddable/consultation/view",
            json_h,
            Some(&json!({"patientKey": warm::PATIENT}).to_string()),
        ),
        "embeddable-url" => cold::apigw("GET", "/embeddable/consultation/dashboard", json!({"api-key": key}), None),
        "embed-pages" => cold::apigw(
            "GET",
            "/en/embed/franchise/demo/consultation/start?session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            json!({}),
            None,
        ),
        "v2-consultations" => cold::apigw("GET", "/v2/consultation-reasons", json!({"api-key": key}), None),
        "v2-followups" => cold::apigw(
            "GET",
            &format!("/v2/followups?patientKey={}&limit=5", warm::PATIENT),
            json!({"api-key": key}),
            None,
        ),
        "v2-embed" => cold::apigw("POST", "/v2/embed/consultation/details", json_h, Some("{}")),
        "outbox-relay" => {
            env.push(("EMBEDCARE_EVENT_BUS".into(), "bench-bus".into()));
            json!({"Records": []})
        }
        "patient-notifier" => {
            env.push(("EMBEDCARE_SES_SENDER".into(), "noreply@embedcare.test".into()));
            // A SENT consultation that does not exist: one GetItem, then an
            // error response (EventBridge would retry).
            json!({"detail-type": "Consultation Created", "detail": {"status": "SENT", "tenantKey": "demo", "data": {"consultationId": "00000000-0000-0000-0000-000000000000"}}})
        }
        _ => json!({}),
    };
    (event, env)
}

/// What each binary's first response must be for the run to count.
fn check_cold(name: &str, s: &cold::Sample) -> Res<()> {
    let fine = match name {
        "patient-notifier" => true,
        "outbox-relay" => !s.error && s.response.get("batchItemFailures").is_some(),
        "hello-world" | "hello-sdk" => !s.error,
        _ => !s.error && s.response["statusCode"].as_u64().is_some_and(|c| c < 500),
    };
    if fine {
        Ok(())
    } else {
        Err(format!("{name}: unexpected first response {}", s.response).into())
    }
}

type Sizes = HashMap<String, (u64, u64, u64)>;

fn stats(v: &[cold::Sample], f: impl Fn(&cold::Sample) -> f64) -> (f64, f64) {
    let s = sorted(v.iter().map(f).collect());
    (pct(&s, 50.0), pct(&s, 90.0))
}

/// The SDK's start-up, phase by phase (`sdk-init-probe`).
fn sdk_probe(r: &mut Report, plan: &Plan, probe: &Path, endpoint: &str, table: &str) -> Res<()> {
    step("SDK start-up phases");
    let mut phases: HashMap<&str, Vec<f64>> = HashMap::new();
    let keys = [
        "config_load_ms",
        "client_build_ms",
        "first_get_ms",
        "second_get_ms",
        "tls_config_ms",
    ];
    for _ in 0..plan.cold_starts {
        let out = std::process::Command::new(probe)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("EMBEDCARE_TABLE", table)
            .output()?;
        let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "sdk-init-probe: {e}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        for k in keys {
            phases
                .entry(k)
                .or_default()
                .push(v[k].as_f64().unwrap_or(f64::NAN));
        }
    }
    r.line("\n### Where the SDK's start-up goes (`sdk-init-probe`, in-process timers)\n");
    r.line(format!(
        "{} runs; `AWS_REGION` and static credentials in the environment, IMDS disabled (as on Lambda, where `AWS_REGION` is always set).\n",
        plan.cold_starts
    ));
    r.line("| phase | median ms | p90 ms |");
    r.line("| --- | ---: | ---: |");
    for (k, label) in keys.iter().zip([
        "`shared::runtime::aws_config()`: default chain, and the process's HTTP/1.1 client (`shared/src/http_client.rs`; nothing read from the CA bundle)",
        "`aws_sdk_dynamodb::Client::new` (reuses the shared HTTP client)",
        "first `GetItem` (TCP connect to moto + request)",
        "second `GetItem` (warm connection; moto's own time dominates)",
        "building the TLS configuration (compiled-in roots, the provider's suites; timed apart, first: otherwise paid by the first request)",
    ]) {
        let s = sorted(phases.remove(k).unwrap_or_default());
        r.line(format!("| {label} | {:.2} | {:.2} |", pct(&s, 50.0), pct(&s, 90.0)));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn alternatives(
    r: &mut Report,
    plan: &Plan,
    target: &Path,
    scratch: &Path,
    endpoint: &str,
    table: &(String, String),
    cold: &HashMap<String, Vec<cold::Sample>>,
    sizes: &Sizes,
) -> Res<()> {
    r.line("\n### Alternative builds (measured, not adopted)\n");
    r.line("The same sources built with a profile override in a separate target directory (`CARGO_PROFILE_RELEASE_OPT_LEVEL=…`), then measured like above. Baseline = the release profile as committed.\n");
    r.line("| build | binary | zip | Δ zip | first response median ms | p90 ms | ratio to `hello-world` (baseline run) |");
    r.line("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let floor = stats(&cold["hello-world"], |s| s.first_ms).0;
    let picked = ["hello-world", "hello-sdk", "consultation-create"];
    for n in picked {
        let (b, _, z) = sizes[n];
        let (med, p90) = stats(&cold[n], |s| s.first_ms);
        r.line(format!(
            "| `{n}` opt-level \"z\" (as committed) | {} | {} | — | {med:.2} | {p90:.2} | {:.2}× |",
            mb(b),
            mb(z),
            med / floor
        ));
    }
    let mut breakdown = None;
    for level in &plan.alt_opt_levels {
        step(&format!("alternative build: opt-level = {level}"));
        let dir = target.join(format!("bench-opt-{level}"));
        let mut bins = util::build(
            true,
            &["benchmarks"],
            &[("CARGO_PROFILE_RELEASE_OPT_LEVEL", level.as_str())],
            Some(&dir),
        )?;
        bins.extend(util::build(
            true,
            &["consultation-create"],
            &[
                ("CARGO_PROFILE_RELEASE_OPT_LEVEL", level.as_str()),
                // Kept unstripped for the symbol breakdown below; sizes are
                // taken after `strip`.
                ("CARGO_PROFILE_RELEASE_STRIP", "false"),
            ],
            Some(&dir),
        )?);
        for n in picked {
            let path = bins.get(n).ok_or("no alt binary")?;
            let alt_scratch = scratch.join(format!("opt-{level}"));
            std::fs::create_dir_all(&alt_scratch)?;
            let b = util::stripped_size(path, &alt_scratch)?;
            let stripped = alt_scratch.join(format!("{n}.stripped"));
            let z = util::zip_size(&stripped, &alt_scratch)?;
            if n == "consultation-create" {
                breakdown = Some((level.clone(), util::crate_breakdown(path)));
            }
            let mut v = Vec::new();
            for _ in 0..plan.cold_starts {
                let (event, env) = cold_case(n, endpoint, &table.0, &table.1);
                let s = cold::cold_start(path, &event, &env).await?;
                check_cold(n, &s)?;
                v.push(s);
            }
            let (med, p90) = stats(&v, |s| s.first_ms);
            let base_z = sizes[n].2 as f64;
            r.line(format!(
                "| `{n}` opt-level \"{level}\" | {} | {} | {:+.0} % | {med:.2} | {p90:.2} | {:.2}× |",
                mb(b),
                mb(z),
                (z as f64 / base_z - 1.0) * 100.0,
                med / floor
            ));
        }
    }
    if let Some((level, rows)) = breakdown {
        let total: u64 = rows.iter().map(|r| r.1).sum();
        r.line(format!(
            "\nWhat `consultation-create` is made of (opt-level \"{level}\" build, unstripped copy; `nm --size-sort` code and data symbols grouped by crate; C symbols of aws-lc grouped as `aws-lc (C)`; {} in symbols):\n",
            mb(total)
        ));
        r.line("| crate | size | share |");
        r.line("| --- | ---: | ---: |");
        for (name, size) in rows.iter().take(15) {
            r.line(format!(
                "| {name} | {} | {:.1} % |",
                mb(*size),
                *size as f64 * 100.0 / total as f64
            ));
        }
    }
    Ok(())
}

fn warm_counts_section(r: &mut Report, counted: &[warm::Counted]) {
    r.line("\n## 2. Warm path\n");
    r.line("### DynamoDB requests per vendor call (counted on the wire, moto)\n");
    r.line("Each call is made twice with the same API key and user; the second one (caches warm) is counted by an SDK interceptor (`benches/src/warm.rs`, `WireLog`: `RequestLog` extended with body and header bytes). *User writes* = writes to the `x-integration-user`'s item when that header names an existing user by id only (budget 0). *Cold*: the same call once more, on an instance of its own whose caches are empty (a cold Lambda's first call): the API key's read, then the call's own, the franchise folded into its first batch (budget 3).\n");
    r.line("| vendor call | status | round trips | requests | request body bytes | request header bytes | user writes (id-only) | cold round trips | cold requests | budget |");
    r.line("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |");
    for c in counted {
        if c.cold_ops.len() > 3 {
            r.failures.push(format!(
                "{}: {} DynamoDB round trips cold (budget 3): {:?}",
                c.name,
                c.cold_ops.len(),
                c.cold_ops
            ));
        }
        let within = c.ops.len() <= 2 && c.user_writes.unwrap_or(0) == 0 && c.cold_ops.len() <= 3;
        if c.ops.len() > 2 {
            r.failures.push(format!(
                "{}: {} DynamoDB round trips (budget 2): {:?}",
                c.name,
                c.ops.len(),
                c.ops
            ));
        }
        if let Some(w) = c.user_writes
            && w > 0
        {
            r.failures.push(format!(
                "{}: {w} write(s) to an id-only existing user (budget 0)",
                c.name
            ));
        }
        r.line(format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.name,
            c.status,
            c.ops.len(),
            c.ops.join(" + "),
            c.body_bytes,
            c.header_bytes,
            c.user_writes.map_or("—".to_owned(), |w| w.to_string()),
            c.cold_ops.len(),
            c.cold_ops.join(" + "),
            ok(within)
        ));
    }
}

struct Growth {
    size: usize,
    seed: Duration,
    rows: Vec<(load::Load, load::WrkResult)>,
}

async fn load_sections(
    r: &mut Report,
    plan: &Plan,
    embedcare: &Path,
    bare: &Path,
    scratch: &Path,
) -> Res<Vec<Growth>> {
    let mut growth: Vec<Growth> = Vec::new();
    let mut throughput: Vec<(load::Load, load::WrkResult, load::WrkResult)> = Vec::new();
    let mut tmpfs: Vec<(load::Load, load::WrkResult, load::WrkResult)> = Vec::new();
    let loads = [
        load::Load::Dashboard,
        load::Load::CreateExisting,
        load::Load::ViewByKey,
    ];
    for &size in &plan.sizes {
        step(&format!("local server with {size} patients"));
        let dir = scratch.join(format!("data-{size}"));
        let (key, seed) = load::prepare(&dir, size).await?;
        eprintln!("    seeded {size} patients in {:.1} s", seed.as_secs_f64());
        let server = load::start_embedcare(embedcare, &dir)?;
        let mut rows = Vec::new();
        for l in loads {
            // Warm the caches, then one connection: latency.
            load::wrk(server.port, l, &key, size, 1, 1, scratch)?;
            let w = load::wrk(server.port, l, &key, size, 1, plan.latency_secs, scratch)?;
            check_wrk(r, &format!("latency {} at {size}", l.label()), &w);
            rows.push((l, w));
        }
        if size == plan.sizes[0] {
            step("throughput: embedcare vs bare axum");
            let bare_server = load::start_bare(bare)?;
            for l in loads {
                let e = load::wrk(
                    server.port,
                    l,
                    &key,
                    size,
                    plan.load_connections,
                    plan.load_secs,
                    scratch,
                )?;
                let b = load::wrk(
                    bare_server.port,
                    l,
                    &key,
                    size,
                    plan.load_connections,
                    plan.load_secs,
                    scratch,
                )?;
                check_wrk(r, &format!("throughput {} (embedcare)", l.label()), &e);
                check_wrk(r, &format!("throughput {} (bare)", l.label()), &b);
                throughput.push((l, e, b));
            }
            drop(bare_server);
            let shm = Path::new("/dev/shm");
            if plan.mode == Mode::Full && shm.is_dir() {
                step("throughput: embedcare with its store on tmpfs (fsync is free there)");
                let tmp = shm.join(format!("embedcare-bench-{}", std::process::id()));
                let _ = std::fs::remove_dir_all(&tmp);
                let (tkey, _) = load::prepare(&tmp, size).await?;
                let tserver = load::start_embedcare(embedcare, &tmp)?;
                for (i, l) in loads.iter().enumerate() {
                    let e = load::wrk(
                        tserver.port,
                        *l,
                        &tkey,
                        size,
                        plan.load_connections,
                        plan.load_secs,
                        scratch,
                    )?;
                    check_wrk(r, &format!("throughput {} (tmpfs)", l.label()), &e);
                    tmpfs.push((*l, e, throughput[i].2.clone()));
                }
                drop(tserver);
                let _ = std::fs::remove_dir_all(&tmp);
            }
        }
        growth.push(Growth { size, seed, rows });
    }

    r.line("\n## 3. Local server under load (wrk, loopback)\n");
    r.line(format!(
        "### Throughput, {} patients in the store\n\nBoth endpoints issue a launch token (one durable write to the embedded store per call).\n",
        plan.sizes[0]
    ));
    r.line("| call | embedcare rps | bare axum rps | ratio | embedcare p50 / p99 ms | bare p50 / p99 ms | target ≥ 0.5× |");
    r.line("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
    for (l, e, b) in &throughput {
        r.line(format!(
            "| {} | {:.0} | {:.0} | {:.3}× | {:.2} / {:.2} | {:.2} / {:.2} | {} |",
            l.label(),
            e.rps,
            b.rps,
            e.rps / b.rps,
            e.p50_us / 1e3,
            e.p99_us / 1e3,
            b.p50_us / 1e3,
            b.p99_us / 1e3,
            ok(e.rps / b.rps >= 0.5)
        ));
    }
    if !tmpfs.is_empty() {
        r.line("\nThe same server with its data directory on tmpfs (`/dev/shm`), where the embedded store's per-commit `fsync` costs nothing — what the endpoints cost without durable commits (same bare-axum figures as above):\n");
        r.line("| call | embedcare on tmpfs rps | bare axum rps | ratio | p50 / p99 ms | target ≥ 0.5× |");
        r.line("| --- | ---: | ---: | ---: | ---: | --- |");
        for (l, e, b) in &tmpfs {
            r.line(format!(
                "| {} | {:.0} | {:.0} | {:.3}× | {:.2} / {:.2} | {} |",
                l.label(),
                e.rps,
                b.rps,
                e.rps / b.rps,
                e.p50_us / 1e3,
                e.p99_us / 1e3,
                ok(e.rps / b.rps >= 0.5)
            ));
        }
    }
    r.line("\n### Latency against data size (1 connection)\n");
    let bound = if plan.sizes.len() > 1 {
        (*plan.sizes.last().unwrap_or(&1) as f64).ln() / (plan.sizes[0] as f64).ln()
    } else {
        f64::NAN
    };
    r.line(format!(
        "Patients seeded through the store port (`create_patient_writes`, transactions of ≤ 100 writes) into the embedded store before the server starts. Growth = p50 at the largest size ÷ p50 at {}; O(log n) allows ≤ {bound:.2}×.\n",
        plan.sizes[0]
    ));
    let mut head = "| call |".to_owned();
    let mut sep = "| --- |".to_owned();
    for g in &growth {
        let _ = write!(head, " {} patients p50 / p99 ms (rps) |", g.size);
        sep.push_str(" ---: |");
    }
    head.push_str(" growth (p50) | target |");
    sep.push_str(" ---: | --- |");
    r.line(head);
    r.line(sep);
    for (i, l) in loads.iter().enumerate() {
        let mut row = format!("| {} |", l.label());
        for g in &growth {
            let w = &g.rows[i].1;
            let _ = write!(
                row,
                " {:.2} / {:.2} ({:.0}) |",
                w.p50_us / 1e3,
                w.p99_us / 1e3,
                w.rps
            );
        }
        let first = growth[0].rows[i].1.p50_us;
        let last = growth[growth.len() - 1].rows[i].1.p50_us;
        let g = last / first;
        let _ = write!(
            row,
            " {g:.2}× | {} |",
            if bound.is_nan() {
                "—".to_owned()
            } else {
                ok(g <= bound).to_owned()
            }
        );
        r.line(row);
    }
    r.line("");
    for g in &growth {
        r.line(format!(
            "- Seeding {} patients took {:.2} s ({:.0} patients/s, durable commits of 50 patients).",
            g.size,
            g.seed.as_secs_f64(),
            g.size as f64 / g.seed.as_secs_f64().max(1e-9)
        ));
    }
    Ok(growth)
}

fn check_wrk(r: &mut Report, what: &str, w: &load::WrkResult) {
    if w.requests == 0 || w.status_errors > 0 || w.socket_errors > 0 {
        r.failures.push(format!(
            "{what}: {} requests, {} non-2xx, {} socket errors",
            w.requests, w.status_errors, w.socket_errors
        ));
    }
}

fn targets(
    r: &mut Report,
    plan: &Plan,
    cold: &paths::ColdTargets,
    counted: &[warm::Counted],
    clinic: &[clinic_warm::Counted],
    under: &under_load::Outcome,
) {
    r.line("\n## Targets\n");
    let max_rt = counted.iter().map(|c| c.ops.len()).max().unwrap_or(0);
    let user_writes: usize = counted.iter().filter_map(|c| c.user_writes).sum();
    let over: Vec<&str> = clinic
        .iter()
        .filter(|c| c.ops.len() > c.budget)
        .map(|c| c.name.as_str())
        .collect();
    let over_default = clinic
        .iter()
        .filter(|c| c.ops.len() > clinic_warm::DEFAULT_BUDGET)
        .count();
    r.line("| target | measured | |");
    r.line("| --- | --- | --- |");
    r.line(format!(
        "| every function's init ≤ {}× hello-world's init | worst `{}` {:.2}× | {} |",
        paths::INIT_LIMIT,
        cold.worst_init.0,
        cold.worst_init.1,
        ok(cold.worst_init.1 <= paths::INIT_LIMIT)
    ));
    r.line(format!(
        "| every function's first response ≤ {}× hello-sdk scaled to its AWS requests | worst `{}` {:.2}× | {} |",
        paths::FIRST_LIMIT,
        cold.worst_first.0,
        cold.worst_first.1,
        ok(cold.worst_first.1 <= paths::FIRST_LIMIT)
    ));
    r.line(format!(
        "| every zipped function ≤ 2.5 MB | largest `{}` {} | {} |",
        cold.biggest_zip.0,
        mb(cold.biggest_zip.1),
        ok(cold.biggest_zip.1 <= paths::ZIP_LIMIT)
    ));
    if !cold.missed.is_empty() {
        r.line(format!(
            "| (cases over a cold-start target) | {} | |",
            cold.missed.join("; ")
        ));
    }
    r.line(format!(
        "| ≤ 2 round trips per warm vendor call (§2, first table) | max {max_rt} | {} |",
        ok(max_rt <= 2)
    ));
    r.line(format!(
        "| ≤ 2 round trips per warm vendor call: the new calls (§2, second table) | {over_default} of {} over (max {}) | {} |",
        clinic.len(),
        clinic.iter().map(|c| c.ops.len()).max().unwrap_or(0),
        ok(over_default == 0)
    ));
    r.line(format!(
        "| the new calls within their asserted budgets (2, or the guard) | {} over | {} |",
        over.len(),
        ok(over.is_empty())
    ));
    r.line(format!(
        "| 0 writes for an id-only existing user | {user_writes} | {} |",
        ok(user_writes == 0)
    ));
    under.targets(r);
    r.line("| local server ≥ 0.5× bare axum rps on token-issuing calls | see §3 | see §3 |");
    r.line("| no latency growth beyond O(log n) | see §3 | see §3 |");
    if plan.mode == Mode::Quick {
        r.line(
            "\n(Quick mode: debug builds and tiny loads; only the counted budgets and the counts of §4 are asserted.)",
        );
    }
}

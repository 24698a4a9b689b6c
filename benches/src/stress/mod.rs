//! `benchmarks load [quick]`: the bounded load test and the SIGKILL run,
//! on loopback only, each stopping by itself. Full mode writes `LOAD.md`
//! (next to `BENCHMARKS.md`); quick mode (CI) runs fewer operations, writes
//! `$CARGO_TARGET_DIR/benchmarks-load/LOAD.quick.md`, and fails on a broken
//! count. Counts are asserted, never timings.

pub(crate) mod client;
pub(crate) mod hooks;
pub(crate) mod kill;
mod lambda;
pub(crate) mod races;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::util::{self, Res, pct, sorted};

const COMMAND: &str = "./benches/run.sh load";
/// The Lambdas the races go through (`consultation-create`, `embed-pages`,
/// `visits`), built in the sets other steps build, so that CI finds them
/// built: the benchmarks' `FUNCTIONS` (main.rs) and the functions of
/// `tests/lambda/clinic.rs`.
const CLINIC: &[&str] = &[
    "patient-sso",
    "rooms",
    "providers",
    "intakes",
    "visits",
    "patient-app",
];

struct Plan {
    quick: bool,
    local_races: (usize, usize, usize),
    lambda_races: (usize, usize, usize),
    hook_events: usize,
    flaky: hooks::Flaky,
    kill_ops: usize,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                quick,
                local_races: (50, 50, 20),
                lambda_races: (20, 20, 10),
                hook_events: 50,
                // First attempts only: the first retry comes within 30 s.
                flaky: hooks::Flaky {
                    fail_first: 20,
                    time_out: 4,
                    fail_twice: 0,
                },
                kill_ops: 1000,
            }
        } else {
            Plan {
                quick,
                local_races: (50, 50, 20),
                lambda_races: (50, 50, 20),
                hook_events: 500,
                flaky: hooks::Flaky {
                    fail_first: 15,
                    time_out: 3,
                    fail_twice: 3,
                },
                kill_ops: 1000,
            }
        }
    }
}

fn step(s: &str) {
    eprintln!("\n--> {s}");
}

/// Runs it all; the failures (empty: every count holds).
pub async fn main(quick: bool) -> Res<Vec<String>> {
    let plan = Plan::new(quick);
    let t_run = Instant::now();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()?;
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let scratch = target.join("benchmarks-load");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    // `BENCH_LOAD_DEBUG=1`: full counts on debug builds (the counts do not
    // depend on the profile; a release build with fat LTO takes long).
    let release = !quick && std::env::var("BENCH_LOAD_DEBUG").map_or(true, |v| v != "1");

    step(&format!(
        "build ({})",
        if release { "release" } else { "debug" }
    ));
    // The functions apart from `embedcare` (see main.rs: no embedded store
    // in them).
    let mut fns = util::build(release, crate::FUNCTIONS, &[], None)?;
    fns.extend(util::build(release, CLINIC, &[], None)?);
    let local = util::build(release, &["embedcare", "benchmarks"], &[], None)?;
    let embedcare = local
        .get("embedcare")
        .cloned()
        .ok_or("no embedcare binary")?;

    let mut races = Vec::new();
    step("local server: races");
    let dir = scratch.join("local");
    let (key, _) = crate::load::prepare(&dir, 0).await?;
    let server = crate::load::start_embedcare(&embedcare, &dir)?;
    let http = client::Http::new(server.port)?;
    let (p, r, b) = plan.local_races;
    races.push(races::patient(&http, &key, p).await?);
    races.push(races::redemption(&http, &key, r).await?);
    races.push(races::bookings(&http, &key, b, 2).await?);

    step(&format!(
        "local server: {} webhook deliveries to a flaky receiver",
        plan.hook_events * 2
    ));
    let wait = Duration::from_secs(if quick { 100 } else { 240 });
    let hooks = hooks::deliveries(&http, &key, plan.hook_events, plan.flaky, wait).await?;
    drop(server);

    step("Lambdas on moto: races");
    let (endpoint, _moto) = util::moto()?;
    let lambdas = lambda::Lambdas::new(&endpoint, fns).await?;
    let (p, r, b) = plan.lambda_races;
    races.push(races::patient(&lambdas, &lambdas.api_key, p).await?);
    races.push(races::redemption(&lambdas, &lambdas.api_key, r).await?);
    races.push(races::bookings(&lambdas, &lambdas.api_key, b, 2).await?);

    step(&format!(
        "SIGKILL in the middle of {} operations",
        plan.kill_ops
    ));
    let killed = kill::run(&embedcare, &scratch, plan.kill_ops).await?;

    let mut failures: Vec<String> = races.iter().flat_map(|r| r.failures.clone()).collect();
    failures.extend(hooks.failures.clone());
    failures.extend(killed.failures.clone());
    let md = report(
        &plan,
        release,
        &races,
        &hooks,
        &killed,
        &failures,
        t_run.elapsed(),
    );
    let out = if quick {
        scratch.join("LOAD.quick.md")
    } else {
        root.join("LOAD.md")
    };
    std::fs::write(&out, md)?;
    eprintln!("\nwrote {}", out.display());
    for r in &races {
        eprintln!(
            "  {} ({}): {:?} → {}",
            r.what, r.target, r.statuses, r.winners
        );
    }
    eprintln!(
        "  deliveries: {}/{} received, {} twice, {} attempts",
        hooks.delivered, hooks.expected, hooks.twice, hooks.attempts
    );
    eprintln!(
        "  SIGKILL: {} ops, {} answered before the kill, {} lost, {} redeemed twice, {} events missing, {} not at the receiver",
        killed.ops,
        killed.acked_before_kill,
        killed.lost.len(),
        killed.redeemed_twice,
        killed.events_missing,
        killed.hooks_missing
    );
    Ok(failures)
}

fn ok(b: bool) -> &'static str {
    if b { "✅" } else { "❌" }
}

fn report(
    plan: &Plan,
    release: bool,
    races: &[races::Race],
    h: &hooks::Deliveries,
    k: &kill::Killed,
    failures: &[String],
    took: Duration,
) -> String {
    let mut md = String::new();
    let mut line = |s: String| {
        md.push_str(&s);
        md.push('\n');
    };
    line("# Load and SIGKILL\n".into());
    line(format!(
        "Regenerate this file with **`{COMMAND}`** (from the repository root); `{COMMAND} quick` is the CI check (fewer operations, debug builds, the same assertions). Loopback only; every run stops by itself. Counts are asserted, timings only reported. Source: `benches/src/stress/`.\n"
    ));
    line(format!(
        "- Date: {} UTC. Machine: {} × {}, {}, `{}`; {}.",
        util::sh("date -u '+%Y-%m-%d %H:%M'"),
        util::sh("nproc"),
        util::sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").trim(),
        util::sh("awk '/MemTotal/ {printf \"%.0f GB\", $2/1048576}' /proc/meminfo"),
        util::sh("uname -sr"),
        util::sh("rustc --version"),
    ));
    line(format!(
        "- Builds: {}. Local server: `embedcare serve`, embedded store on disk. Lambdas: `consultation-create`, `embed-pages`, `visits`, one process per concurrent request under a fake Runtime API that releases the requests together, DynamoDB on moto behind a proxy that passes one request at a time (moto's transactions are not atomic under concurrent requests: `benches/src/stress/lambda.rs`).",
        match (plan.quick, release) {
            (true, _) => "debug (quick mode)",
            (false, true) => "release",
            (false, false) => "debug (`BENCH_LOAD_DEBUG=1`: full counts)",
        }
    ));
    line(format!(
        "- Result: {} failure(s); run took {:.1} min.\n",
        failures.len(),
        took.as_secs_f64() / 60.0
    ));
    for f in failures {
        line(format!("  - ❌ {f}"));
    }

    line("## Races\n".into());
    line("| target | race | answers by status | count | expected | p50 / p99 ms | |".into());
    line("| --- | --- | --- | ---: | ---: | ---: | --- |".into());
    for r in races {
        let s = sorted(r.latencies.clone());
        let statuses = r
            .statuses
            .iter()
            .map(|(k, v)| format!("{v}× {k}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut row = String::new();
        let _ = write!(
            row,
            "| {} | {} | {statuses} | {} | 1 | {:.1} / {:.1} | {} |",
            r.target,
            r.what,
            r.winners,
            pct(&s, 50.0),
            pct(&s, 99.0),
            ok(r.failures.is_empty())
        );
        line(row);
    }
    line("\n*count*: distinct patients behind every answer (and a create after the race) / `200` redemptions / `201` bookings. Every loser is a `409` (create, booking) or `410` (redemption); never a `5xx`. A redemption after each race is refused. On the Lambdas, latency is from the release of the event to the function's response (each instance is cold: it includes the SDK's start-up).".into());

    line("\n## Webhook deliveries to a flaky receiver (local server)\n".into());
    line(format!(
        "{} consultations created (`POST /v2/consultations`), each `consultation.created` to {} subscriptions of one receiver on loopback: {} deliveries. The receiver answers `500` to the first attempt of {} % of (event, subscription) pairs and to the first two of {} %, and answers only after the sender's 10 s timeout to the first attempt of {} % (which pairs: a hash of the event id and subscription). A receipt is a `2xx` the receiver gave; deduplicated on event id + subscription.\n",
        h.events,
        h.subscriptions,
        h.expected,
        plan.flaky.fail_first,
        plan.flaky.fail_twice,
        plan.flaky.time_out
    ));
    line("| deliveries | received | received twice | attempts | failed / timed-out attempts | create → receipt p50 / p99 ms | all received after | |".into());
    line("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |".into());
    line(format!(
        "| {} | {} | {} | {} | {} | {:.0} / {:.0} | {:.1} s | {} |",
        h.expected,
        h.delivered,
        h.twice,
        h.attempts,
        h.failed_attempts,
        h.p50_ms,
        h.p99_ms,
        h.secs,
        ok(h.failures.is_empty())
    ));
    line("\nRetries follow the product's schedule (full jitter, the first within 30 s: `shared/src/domain/subscription.rs`), so the p99 is a retry's wait.".into());

    line(format!(
        "\n## SIGKILL in the middle of {} concurrent operations (local server)\n",
        k.ops
    ));
    line("All operations are released together; once 35 % are answered the server gets SIGKILL, then it is restarted on the same data directory (and port). Each operation carries a unique id (patient key, consultation, launch token, intake) kept with its answer.\n".into());
    line("| operation | sent | answered 2xx |".into());
    line("| --- | ---: | ---: |".into());
    for (kind, sent, acked) in &k.by_kind {
        line(format!("| {kind} | {sent} | {acked} |"));
    }
    line("\n| check | result | |".into());
    line("| --- | --- | --- |".into());
    let rows = [
        ("answered before the kill / no answer (cut)".to_owned(), format!("{} / {}", k.acked_before_kill, k.unanswered), true),
        ("acknowledged changes lost after restart (consultation read back, patient key → same patient, visit read back)".into(), k.lost.len().to_string(), k.lost.is_empty()),
        ("launch tokens accepted again (acknowledged ones redeemed again, then every token a third time)".into(), k.redeemed_twice.to_string(), k.redeemed_twice == 0),
        ("unacknowledged redemptions accepted after restart (never committed: legitimately still live)".into(), k.unacked_redeemed_after.to_string(), true),
        ("acknowledged consultations without their event in `GET /v2/events` / with two distinct event ids".into(), format!("{} / {}", k.events_missing, k.events_duplicated), k.events_missing == 0 && k.events_duplicated == 0),
        ("their events not at the webhook receiver (after dedup on id) / extra copies received".into(), format!("{} / {}", k.hooks_missing, k.hook_copies), k.hooks_missing == 0),
        ("restart (exec → listening) / all events delivered after".into(), format!("{:.0} ms / {:.1} s", k.restart_ms, k.relay_secs), true),
        ("latency of the answered operations p50 / p99".into(), format!("{:.0} / {:.0} ms", k.p50_ms, k.p99_ms), true),
    ];
    for (what, v, good) in rows {
        line(format!("| {what} | {v} | {} |", ok(good)));
    }
    md
}

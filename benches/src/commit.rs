//! The local server's token-issuing call against the one-commit-per-request
//! floor (`src/bin/commit_floor.rs`), both with their database on disk in
//! the scratch directory, same wrk load and connections; and the SIGKILL
//! run of group commit's durability (`stress/kill.rs`, `tokens`).
//!
//! The embedded store groups the writes queued during a commit into the
//! next one (`shared/src/store/embedded/group.rs`), so under concurrent load
//! it can beat one flush per request. Ratios are reported, never asserted
//! (CI's machine is shared); the durability run's counts are asserted.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::load::{self, Load, WrkResult};
use crate::util::{self, Guard, Res, free_port, wait_for_port};
use crate::{Mode, Plan, Report, check_wrk, ok, step};

struct Floor {
    port: u16,
    _guard: Guard,
}

fn start_floor(bin: &Path, dir: &Path) -> Res<Floor> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let port = free_port()?;
    let child = Command::new(bin)
        .args(["--addr", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let guard = Guard(child);
    wait_for_port(port, Duration::from_secs(30))?;
    Ok(Floor {
        port,
        _guard: guard,
    })
}

/// `benchmarks commit [quick]`: this section alone (built as the full or
/// quick run builds), written to `$CARGO_TARGET_DIR/benchmarks-commit/`.
/// `BENCH_EMBEDCARE=path` measures another `embedcare` binary (e.g. one
/// built before group commit), `BENCH_COMMIT_FLOOR=path` another floor (both
/// given: nothing is built); `BENCH_COMMIT_DEBUG=1` runs the full loads on
/// debug builds.
pub async fn main(quick: bool) -> Res<Vec<String>> {
    let mode = if quick { Mode::Quick } else { Mode::Full };
    let plan = Plan::new(mode);
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let scratch = target.join("benchmarks-commit");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    // `BENCH_COMMIT_DEBUG=1`: full counts and durations on debug builds.
    let release = !quick && std::env::var("BENCH_COMMIT_DEBUG").as_deref() != Ok("1");
    let given = |var: &str| std::env::var(var).ok().map(PathBuf::from);
    let (embedcare, floor) = match (given("BENCH_EMBEDCARE"), given("BENCH_COMMIT_FLOOR")) {
        (Some(e), Some(f)) => (e, f),
        (e, f) => {
            let bins = util::build(release, &["embedcare", "benchmarks"], &[], None)?;
            let bin = |name: &str| -> Res<PathBuf> {
                bins.get(name)
                    .cloned()
                    .ok_or_else(|| format!("no binary {name}").into())
            };
            (
                e.map_or_else(|| bin("embedcare"), Ok)?,
                f.map_or_else(|| bin("commit-floor"), Ok)?,
            )
        }
    };
    let mut r = Report {
        md: String::new(),
        failures: Vec::new(),
    };
    section(&mut r, &plan, &embedcare, &floor, &scratch).await?;
    let out = scratch.join(if quick {
        "COMMIT.quick.md"
    } else {
        "COMMIT.md"
    });
    std::fs::write(&out, &r.md)?;
    println!("{}", r.md);
    eprintln!("wrote {}", out.display());
    Ok(r.failures)
}

/// The section: throughput against the floor, then the SIGKILL run.
pub async fn section(
    r: &mut Report,
    plan: &Plan,
    embedcare: &Path,
    floor: &Path,
    scratch: &Path,
) -> Res<()> {
    let size = plan.sizes[0];
    let l = Load::CreateExisting;
    step("group commit: embedcare vs the one-commit-per-request floor");
    let dir = scratch.join("commit-embedcare");
    let _ = std::fs::remove_dir_all(&dir);
    let (key, _) = load::prepare(&dir, size).await?;
    let server = load::start_embedcare(embedcare, &dir)?;
    let floor_server = start_floor(floor, &scratch.join("commit-floor"))?;
    let c = plan.load_connections;
    let secs = plan.load_secs;
    let mut rows: Vec<(usize, WrkResult, WrkResult)> = Vec::new();
    // One connection (no concurrency to group), then the load's connections.
    for conns in [1, c] {
        if plan.mode == Mode::Full {
            load::wrk(server.port, l, &key, size, conns, 1, scratch)?;
            load::wrk(floor_server.port, l, &key, size, conns, 1, scratch)?;
        }
        let e = load::wrk(server.port, l, &key, size, conns, secs, scratch)?;
        let f = load::wrk(floor_server.port, l, &key, size, conns, secs, scratch)?;
        check_wrk(
            r,
            &format!("group commit: embedcare, {conns} connections"),
            &e,
        );
        check_wrk(r, &format!("group commit: floor, {conns} connections"), &f);
        eprintln!(
            "    {conns} connections: embedcare {:.0} rps, floor {:.0} rps ({:.2}×)",
            e.rps,
            f.rps,
            e.rps / f.rps
        );
        rows.push((conns, e, f));
    }
    drop(server);
    drop(floor_server);

    let n = if plan.mode == Mode::Full { 1000 } else { 200 };
    step(&format!(
        "group commit: SIGKILL after {n} concurrent token-issuing calls"
    ));
    let k = crate::stress::kill::tokens(embedcare, scratch, n).await?;
    r.failures.extend(k.failures.iter().cloned());

    r.line("\n### Local server on token-issuing calls vs one-commit-per-request floor\n");
    r.line(format!(
        "`{}` on `embedcare serve` ({size} patients) against `commit-floor` (`benches/src/bin/commit_floor.rs`: a bare axum route doing one durable redb commit — a small insert, `Durability::Immediate` — per request), both with their database on disk under the scratch directory; wrk, 1 thread, {secs} s per run. The embedded store groups the writes queued during a commit into the next commit (`shared/src/store/embedded/group.rs`).{}\n",
        l.label(),
        if plan.mode == Mode::Quick {
            " Quick mode: debug builds, 1 s runs — the ratios are not meaningful and not asserted."
        } else {
            ""
        }
    ));
    r.line("| connections | embedcare rps | floor rps | ratio | embedcare p50 / p99 ms | floor p50 / p99 ms | target ≥ 1.0× |");
    r.line("| ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for (conns, e, f) in &rows {
        r.line(format!(
            "| {conns} | {:.0} | {:.0} | {:.2}× | {:.2} / {:.2} | {:.2} / {:.2} | {} |",
            e.rps,
            f.rps,
            e.rps / f.rps,
            e.p50_us / 1e3,
            e.p99_us / 1e3,
            f.p50_us / 1e3,
            f.p99_us / 1e3,
            if *conns == 1 {
                "— (nothing to group)".to_owned()
            } else {
                ok(e.rps / f.rps >= 1.0).to_owned()
            }
        ));
    }
    r.line(format!(
        "\nDurability (`benches/src/stress/kill.rs`, `tokens`): {} token-issuing calls (`POST /embeddable/consultation/create`, each a new patient) released at once; SIGKILL once {} were answered; {} answered 200 in all, {} unanswered; restart on the same data directory in {:.0} ms; **{} of the {} acknowledged launch tokens lost** (each redeemed once after the restart; a second redemption refused). {}",
        k.sent,
        k.acked_before_kill,
        k.acked,
        k.unanswered,
        k.restart_ms,
        k.lost.len(),
        k.acked,
        ok(k.failures.is_empty())
    ));
    Ok(())
}

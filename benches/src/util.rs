//! Building, processes, statistics and small helpers.

use std::collections::HashMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Res<T> = Result<T, BoxError>;

/// Builds the packages' binaries (release or dev profile) and returns every
/// executable cargo produced, by file name.
pub fn build(
    release: bool,
    packages: &[&str],
    env: &[(&str, &str)],
    target_dir: Option<&Path>,
) -> Res<HashMap<String, PathBuf>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--locked",
        "--bins",
        "--message-format=json-render-diagnostics",
    ]);
    if release {
        cmd.arg("--release");
    }
    for p in packages {
        cmd.args(["-p", p]);
    }
    if let Some(dir) = target_dir {
        cmd.arg("--target-dir").arg(dir);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.stderr(Stdio::inherit()).output()?;
    if !out.status.success() {
        return Err(format!("cargo build failed for {packages:?}").into());
    }
    let mut exes = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] == "compiler-artifact"
            && let Some(exe) = msg["executable"].as_str()
        {
            let path = PathBuf::from(exe);
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            exes.insert(name, path);
        }
    }
    Ok(exes)
}

/// The app's configuration for a benchmark: no per-key rate limit (one key
/// sends the whole load, and what is measured is the call, not the limit).
pub fn config(base_url: &str) -> shared::Config {
    let mut c = shared::Config::new(base_url);
    c.rate_limit_per_s = 0;
    c
}

pub fn free_port() -> Res<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub fn wait_for_port(port: u16, timeout: Duration) -> Res<()> {
    let deadline = Instant::now() + timeout;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("nothing listens on port {port} after {timeout:?}").into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// A child process killed (by its own pid) when dropped.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// moto: the endpoint `EMBEDCARE_TEST_DYNAMODB_ENDPOINT` names (tests/run.sh
/// sets it), or a moto_server started here.
pub fn moto() -> Res<(String, Option<Guard>)> {
    if let Ok(ep) = std::env::var("EMBEDCARE_TEST_DYNAMODB_ENDPOINT") {
        return Ok((ep, None));
    }
    let bin = std::env::var("MOTO_SERVER").unwrap_or_else(|_| {
        format!(
            "{}/.cache/embedcare/venv/bin/moto_server",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let port = free_port()?;
    let child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!("could not start {bin} ({e}); run ./benches/run.sh, which installs it")
        })?;
    let guard = Guard(child);
    wait_for_port(port, Duration::from_secs(30))?;
    Ok((format!("http://127.0.0.1:{port}"), Some(guard)))
}

/// Nearest-rank percentile of a sorted slice.
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

/// Size of a zip holding only `bootstrap` (deflate, executable bit), as
/// cargo-lambda packages a function.
pub fn zip_size(binary: &Path, dir: &Path) -> Res<u64> {
    let out = dir.join(format!(
        "{}.zip",
        binary.file_name().unwrap_or_default().to_string_lossy()
    ));
    let script = "import sys, zipfile\n\
        z = zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED)\n\
        i = zipfile.ZipInfo('bootstrap'); i.external_attr = 0o100755 << 16; i.compress_type = zipfile.ZIP_DEFLATED\n\
        z.writestr(i, open(sys.argv[1], 'rb').read()); z.close()\n";
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(binary)
        .arg(&out)
        .status()?;
    if !status.success() {
        return Err("zipping with python3 failed".into());
    }
    Ok(std::fs::metadata(&out)?.len())
}

/// Size after `strip` (the release profile already strips; this checks it).
pub fn stripped_size(binary: &Path, dir: &Path) -> Res<u64> {
    let out = dir.join(format!(
        "{}.stripped",
        binary.file_name().unwrap_or_default().to_string_lossy()
    ));
    let status = Command::new("strip")
        .arg("-o")
        .arg(&out)
        .arg(binary)
        .status();
    match status {
        Ok(s) if s.success() => Ok(std::fs::metadata(&out)?.len()),
        _ => Ok(std::fs::metadata(binary)?.len()),
    }
}

pub fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1_000_000.0)
}

pub fn sh(cmd: &str) -> String {
    Command::new("sh")
        .args(["-c", cmd])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Peak resident set size of a running process, in KiB (`VmHWM`).
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Symbol sizes of an unstripped binary grouped by crate (first path
/// segment of the demangled name), largest first.
pub fn crate_breakdown(binary: &Path) -> Vec<(String, u64)> {
    let Ok(out) = Command::new("nm")
        .args(["-C", "-S", "--size-sort"])
        .arg(binary)
        .output()
    else {
        return Vec::new();
    };
    let mut by: HashMap<String, u64> = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut parts = line.splitn(4, ' ');
        let (_addr, size, _kind, name) = (parts.next(), parts.next(), parts.next(), parts.next());
        let (Some(size), Some(name)) = (size, name) else {
            continue;
        };
        let Ok(size) = u64::from_str_radix(size, 16) else {
            continue;
        };
        *by.entry(crate_of(name)).or_default() += size;
    }
    let mut v: Vec<(String, u64)> = by.into_iter().collect();
    v.sort_by_key(|e| std::cmp::Reverse(e.1));
    v
}

fn crate_of(name: &str) -> String {
    if name.starts_with("aws_lc_") || name.starts_with("OPENSSL_") || name.starts_with("bcm_") {
        return "aws-lc (C)".into();
    }
    let n = name
        .trim_start_matches(['<', '&', '*', '(', ' '])
        .trim_start_matches("dyn ");
    let n = n.trim_start_matches("mut ");
    match n.find("::") {
        Some(i) if !n[..i].contains(' ') && !n[..i].contains('<') => n[..i].to_owned(),
        _ if name.contains("::") => "(generic instances, other)".into(),
        _ => "(C / runtime, other)".into(),
    }
}

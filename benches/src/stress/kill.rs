//! SIGKILL of the local server in the middle of concurrent operations: a
//! mix of consultation creates, patient upserts, launch redemptions and
//! bookings, each with a unique id kept with its answer; the server is
//! killed once a share of them is answered, restarted on the same data
//! directory, and then: no answered (2xx) change is lost, no launch token
//! is redeemed twice, every committed consultation's event is listed once
//! (after dedup on `id`) and reaches a webhook receiver.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use super::client::{Http, Req, Resp};
use super::hooks::{Flaky, Receiver, events_by_consultation, subscribe};
use super::races::{booking, intake, launch_of, nonce, patient_body, redeem, slot, sso};
use crate::util::{Guard, Res, free_port, pct, sorted, wait_for_port};

#[derive(Clone, Debug)]
enum Op {
    Consultation {
        key: String,
    },
    Patient {
        key: String,
    },
    Redeem {
        path: String,
        token: String,
    },
    Book {
        token: String,
        intake: String,
        provider: &'static str,
        start: String,
    },
}

impl Op {
    fn kind(&self) -> &'static str {
        match self {
            Op::Consultation { .. } => "consultation create",
            Op::Patient { .. } => "patient upsert",
            Op::Redeem { .. } => "launch redemption",
            Op::Book { .. } => "booking",
        }
    }

    fn req(&self, key: &str) -> Req {
        match self {
            Op::Consultation { key: k } => Req::new("POST", "/v2/consultations").key(key).json(&json!({
                "patient": {"keys": [{"subSystem": "pms", "key": k}], "firstName": "Ann", "lastName": "Lee"},
                "reason": "uti"
            })),
            Op::Patient { key: k } => Req::new("POST", "/embeddable/consultation/create")
                .key(key)
                .json(&patient_body(k)),
            Op::Redeem { path, token } => redeem(path, token, &nonce()),
            Op::Book { token, intake, provider, start } => booking(token, intake, provider, start),
        }
    }
}

/// What the run found.
pub struct Killed {
    pub ops: usize,
    pub by_kind: Vec<(&'static str, usize, usize)>,
    pub acked_before_kill: usize,
    pub unanswered: usize,
    pub lost: Vec<String>,
    pub redeemed_twice: usize,
    pub unacked_redeemed_after: usize,
    pub events_missing: usize,
    pub events_duplicated: usize,
    pub hooks_missing: usize,
    pub hook_copies: usize,
    pub restart_ms: f64,
    pub relay_secs: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub failures: Vec<String>,
}

fn serve(bin: &Path, dir: &Path, port: u16) -> Res<Guard> {
    let child = Command::new(bin)
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir)
        .env_remove("EMBEDCARE_STORE")
        .env("EMBEDCARE_RATE_LIMIT_PER_SECOND", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let g = Guard(child);
    wait_for_port(port, Duration::from_secs(60))?;
    Ok(g)
}

pub async fn run(bin: &Path, scratch: &Path, n: usize) -> Res<Killed> {
    let dir = scratch.join("kill");
    let _ = std::fs::remove_dir_all(&dir);
    let (key, _) = crate::load::prepare(&dir, 0).await?;
    let port = free_port()?;
    let mut server = serve(bin, &dir, port)?;
    let api = Http::new(port)?;
    let receiver = Receiver::start(Flaky::NEVER).await?;
    subscribe(&api, &key, &receiver, "kill").await?;

    // The mix: 4 in 10 consultation creates, 2 patient upserts, 3 launch
    // redemptions, 1 booking.
    let count = |share: usize| (n * share).div_ceil(10);
    let mut launches = Vec::new();
    for chunk in (0..count(3)).collect::<Vec<_>>().chunks(25) {
        let reqs = chunk
            .iter()
            .map(|i| {
                Req::new("POST", "/embeddable/consultation/create")
                    .key(&key)
                    .json(&patient_body(&format!("kill-launch-{}", i % 10)))
            })
            .collect();
        for a in api.concurrently(reqs).await {
            let url = a
                .str("iframeUrl")
                .ok_or_else(|| format!("launch: {} {}", a.status, a.body))?;
            launches.push(launch_of(&url).ok_or("no launch token")?);
        }
    }
    let mut books = Vec::new();
    for i in 0..count(1) {
        let token = sso(&api, &key, &format!("kill-{i}")).await?;
        let intake = intake(&api, &token).await?;
        let provider = if i % 2 == 0 { "dr-martin" } else { "dr-nguyen" };
        books.push(Op::Book {
            token,
            intake,
            provider,
            start: slot(3, i as i64),
        });
    }
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut ops = Vec::with_capacity(n);
    let (mut l, mut b) = (launches.iter(), books.into_iter());
    for i in 0..n {
        let op = match i % 10 {
            0..=3 => Some(Op::Consultation {
                key: format!("kill-{run}-{i}"),
            }),
            4 | 5 => Some(Op::Patient {
                key: format!("kill-{run}-{i}"),
            }),
            6..=8 => l.next().map(|(path, token)| Op::Redeem {
                path: path.clone(),
                token: token.clone(),
            }),
            _ => b.next(),
        };
        ops.push(op.unwrap_or(Op::Consultation {
            key: format!("kill-{run}-{i}"),
        }));
    }

    // The storm, and the kill once 35 % are answered.
    let acked = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Barrier::new(ops.len() + 1));
    let tasks: Vec<_> = ops
        .iter()
        .map(|op| {
            let (api, req, acked, gate) = (api.clone(), op.req(&key), acked.clone(), gate.clone());
            tokio::spawn(async move {
                gate.wait().await;
                let a = api.send(&req).await;
                if a.ok() {
                    acked.fetch_add(1, Ordering::SeqCst);
                }
                a
            })
        })
        .collect();
    gate.wait().await;
    let kill_at = n * 35 / 100;
    let until = Instant::now() + Duration::from_secs(120);
    while acked.load(Ordering::SeqCst) < kill_at && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let _ = server.0.kill(); // SIGKILL
    let _ = server.0.wait();
    let acked_before_kill = acked.load(Ordering::SeqCst);
    let mut answers: Vec<Resp> = Vec::with_capacity(n);
    for t in tasks {
        answers.push(t.await.unwrap_or(Resp {
            status: 0,
            body: String::new(),
            ms: 0.0,
        }));
    }
    let unanswered = answers.iter().filter(|a| a.status == 0).count();

    let t = Instant::now();
    server = serve(bin, &dir, port)?;
    let restart_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut failures = Vec::new();
    let mut lost = Vec::new();
    let mut redeemed_twice = 0;
    let mut unacked_redeemed_after = 0;
    let mut acked_consultations = Vec::new();
    let mut by_kind: HashMap<&'static str, (usize, usize)> = HashMap::new();
    for (op, a) in ops.iter().zip(&answers) {
        let e = by_kind.entry(op.kind()).or_default();
        e.0 += 1;
        if a.ok() {
            e.1 += 1;
        }
        match op {
            Op::Consultation { .. } if a.ok() => {
                let id = a.json()["consultation"]["consultationId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let g = api
                    .send(&Req::new("GET", format!("/v2/consultations/{id}")).key(&key))
                    .await;
                if g.status != 200 {
                    lost.push(format!("consultation {id}: {}", g.status));
                }
                acked_consultations.push(id);
            }
            Op::Patient { .. } if a.ok() => {
                // The same key again must name the same patient.
                let again = api.send(&op.req(&key)).await;
                if again.str("patientId") != a.str("patientId") {
                    lost.push(format!(
                        "patient {:?}: now {:?}",
                        a.str("patientId"),
                        again.str("patientId")
                    ));
                }
            }
            Op::Book { token, .. } if a.ok() => {
                let id = a.str("visitId").unwrap_or_default();
                let g = api
                    .send(&Req::new("GET", format!("/v2/visits/{id}")).bearer(token))
                    .await;
                if g.status != 200 {
                    lost.push(format!("visit {id}: {}", g.status));
                }
            }
            Op::Redeem { path, token } => {
                let again = api.send(&redeem(path, token, &nonce())).await;
                match (a.ok(), again.status) {
                    (true, 200) => redeemed_twice += 1,
                    (false, 200) => unacked_redeemed_after += 1,
                    (_, 410) => {}
                    (_, s) => failures.push(format!("a redemption after the restart answered {s}")),
                }
            }
            _ => {}
        }
    }
    // A third redemption of every launch token: all refused.
    for (path, token) in &launches {
        let a = api.send(&redeem(path, token, &nonce())).await;
        if a.status != 410 {
            redeemed_twice += 1;
        }
    }

    // Events: the relay resumes after the restart.
    let t = Instant::now();
    let deadline = t + Duration::from_secs(90);
    let (mut events_missing, mut events_duplicated, mut hooks_missing, mut hook_copies);
    loop {
        let (by, _) = events_by_consultation(&api, &key).await?;
        let snap = receiver.snapshot();
        events_missing = 0;
        events_duplicated = 0;
        hooks_missing = 0;
        hook_copies = 0;
        for c in &acked_consultations {
            match by.get(c).map(Vec::as_slice) {
                None | Some([]) => events_missing += 1,
                Some(ids) => {
                    if ids.len() > 1 {
                        events_duplicated += 1;
                    }
                    for id in ids {
                        match snap.get(&(id.clone(), "kill".to_owned())) {
                            Some(p) if p.receipts > 0 => hook_copies += (p.receipts - 1) as usize,
                            _ => hooks_missing += 1,
                        }
                    }
                }
            }
        }
        if (events_missing == 0 && hooks_missing == 0) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let relay_secs = t.elapsed().as_secs_f64();
    drop(server);

    if !lost.is_empty() {
        failures.push(format!(
            "{} acknowledged changes lost after SIGKILL: {:?}",
            lost.len(),
            &lost[..lost.len().min(5)]
        ));
    }
    if redeemed_twice > 0 {
        failures.push(format!("{redeemed_twice} launch tokens redeemed twice"));
    }
    if events_missing > 0 || events_duplicated > 0 {
        failures.push(format!("events: {events_missing} acknowledged consultations without an event, {events_duplicated} with two distinct event ids"));
    }
    if hooks_missing > 0 {
        failures.push(format!(
            "{hooks_missing} events never reached the webhook receiver"
        ));
    }
    if acked_before_kill == 0 || acked_before_kill == n {
        failures.push(format!(
            "the kill was not in the middle: {acked_before_kill} of {n} answered before it"
        ));
    }
    let lat = sorted(answers.iter().filter(|a| a.ok()).map(|a| a.ms).collect());
    let mut kinds: Vec<_> = by_kind.into_iter().map(|(k, (s, a))| (k, s, a)).collect();
    kinds.sort();
    Ok(Killed {
        ops: n,
        by_kind: kinds,
        acked_before_kill,
        unanswered,
        lost,
        redeemed_twice,
        unacked_redeemed_after,
        events_missing,
        events_duplicated,
        hooks_missing,
        hook_copies,
        restart_ms,
        relay_secs,
        p50_ms: pct(&lat, 50.0),
        p99_ms: pct(&lat, 99.0),
        failures,
    })
}

/// What the token run found.
pub struct Tokens {
    pub sent: usize,
    /// Answered 200 with a launch URL before the kill was sent.
    pub acked_before_kill: usize,
    /// Answered 200 with a launch URL at all (some answers race the kill).
    pub acked: usize,
    pub unanswered: usize,
    /// Acknowledged launch tokens that did not redeem after the restart.
    pub lost: Vec<String>,
    pub restart_ms: f64,
    pub failures: Vec<String>,
}

/// Group commit's durability (`shared/src/store/embedded/group.rs`): `n`
/// token-issuing calls (`POST /embeddable/consultation/create`, each for a
/// new patient: the patient and its launch token written) released at once,
/// SIGKILL once a third are answered, restart on the same data directory;
/// then every acknowledged launch token redeems (200), once.
pub async fn tokens(bin: &Path, scratch: &Path, n: usize) -> Res<Tokens> {
    let dir = scratch.join("kill-tokens");
    let _ = std::fs::remove_dir_all(&dir);
    let (key, _) = crate::load::prepare(&dir, 0).await?;
    let port = free_port()?;
    let mut server = serve(bin, &dir, port)?;
    let api = Http::new(port)?;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let acked = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Barrier::new(n + 1));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let req = Req::new("POST", "/embeddable/consultation/create")
                .key(&key)
                .json(&patient_body(&format!("tok-{run}-{i}")));
            let (api, acked, gate) = (api.clone(), acked.clone(), gate.clone());
            tokio::spawn(async move {
                gate.wait().await;
                let a = api.send(&req).await;
                if a.ok() {
                    acked.fetch_add(1, Ordering::SeqCst);
                }
                a
            })
        })
        .collect();
    gate.wait().await;
    let kill_at = n / 3;
    let until = Instant::now() + Duration::from_secs(120);
    while acked.load(Ordering::SeqCst) < kill_at && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let _ = server.0.kill(); // SIGKILL
    let _ = server.0.wait();
    let acked_before_kill = acked.load(Ordering::SeqCst);
    let mut launches = Vec::new();
    let mut unanswered = 0;
    for t in tasks {
        let a = t.await.unwrap_or(Resp {
            status: 0,
            body: String::new(),
            ms: 0.0,
        });
        if a.status == 0 {
            unanswered += 1;
        }
        if a.ok()
            && let Some(l) = a.str("iframeUrl").as_deref().and_then(launch_of)
        {
            launches.push(l);
        }
    }

    let t = Instant::now();
    server = serve(bin, &dir, port)?;
    let restart_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut lost = Vec::new();
    let mut failures = Vec::new();
    for (path, token) in &launches {
        let a = api.send(&redeem(path, token, &nonce())).await;
        if a.status != 200 {
            lost.push(format!("{token}: {}", a.status));
        }
        let again = api.send(&redeem(path, token, &nonce())).await;
        if again.status == 200 {
            failures.push(format!("launch token {token} redeemed twice"));
        }
    }
    drop(server);
    if !lost.is_empty() {
        failures.push(format!(
            "{} of {} acknowledged launch tokens lost after SIGKILL: {:?}",
            lost.len(),
            launches.len(),
            &lost[..lost.len().min(5)]
        ));
    }
    if launches.is_empty() {
        failures.push("no token-issuing call was acknowledged before the kill".into());
    }
    Ok(Tokens {
        sent: n,
        acked_before_kill,
        acked: launches.len(),
        unanswered,
        lost,
        restart_ms,
        failures,
    })
}

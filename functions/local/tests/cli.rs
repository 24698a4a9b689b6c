//! The `embedcare` binary as an operator and a developer use it: the
//! operator commands on a data directory, and `serve` (demo world, restart).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_embedcare");

fn run(data: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("EMBEDCARE_LOG", "warn")
        .env_remove("EMBEDCARE_EVENT_BUS")
        .env_remove("EMBEDCARE_STORE")
        .output()
        .expect("run embedcare");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_of(data: &Path, args: &[&str]) -> Value {
    let (ok, out, err) = run(data, args);
    assert!(ok, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

#[test]
fn operator_commands_provision_an_account_a_franchise_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let account = json_of(
        data,
        &[
            "account",
            "create",
            "--name",
            "Pharmacies Santé Plus",
            "--json",
        ],
    );
    let acc = account["accountId"].as_str().unwrap();
    let f = json_of(
        data,
        &[
            "franchise",
            "create",
            "--account",
            acc,
            "--tenant-key",
            "sante-plus-1",
            "--name",
            "Santé Plus Laval",
            "--language",
            "FR",
            "--allow-origin",
            "https://pms.example.com",
            "--json",
        ],
    );
    assert_eq!(
        f["allowedOrigins"],
        serde_json::json!(["https://pms.example.com"])
    );
    let (ok, _, err) = run(
        data,
        &[
            "franchise",
            "create",
            "--account",
            acc,
            "--tenant-key",
            "sante-plus-1",
            "--name",
            "again",
        ],
    );
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = run(
        data,
        &[
            "franchise",
            "create",
            "--account",
            acc,
            "--tenant-key",
            "x",
            "--name",
            "x",
            "--allow-origin",
            "*",
        ],
    );
    assert!(!ok && err.contains("not an origin"), "{err}");

    let key = json_of(
        data,
        &[
            "key",
            "create",
            "--account",
            acc,
            "--franchise",
            "sante-plus-1",
            "--owner",
            "owner-1",
            "--owner-first-name",
            "Marie",
            "--owner-last-name",
            "Roy",
            "--owner-email",
            "marie.roy@example.com",
            "--label",
            "PMS prod",
            "--json",
        ],
    );
    let secret = key["apiKey"].as_str().unwrap();
    let key_id = key["keyId"].as_str().unwrap();
    assert!(secret.starts_with(&format!("ek_{key_id}_")));

    // A second key for the same owner; a new owner without a name is refused.
    json_of(
        data,
        &[
            "key",
            "create",
            "--account",
            acc,
            "--franchise",
            "sante-plus-1",
            "--owner",
            "owner-1",
            "--json",
        ],
    );
    let (ok, _, err) = run(
        data,
        &[
            "key",
            "create",
            "--account",
            acc,
            "--franchise",
            "sante-plus-1",
            "--owner",
            "ghost",
        ],
    );
    assert!(!ok, "an unknown existing owner must be refused: {err}");

    let list = json_of(data, &["key", "list", "--account", acc, "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(
        !list.to_string().contains(&secret[20..]),
        "a secret was listed"
    );

    let (ok, out, _) = run(data, &["key", "revoke", key_id]);
    assert!(ok && out.contains("revoked"));
    let list = json_of(data, &["key", "list", "--account", acc, "--json"]);
    let revoked = list
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["keyId"] == key_id)
        .unwrap();
    assert!(revoked["revokedAt"].is_string());

    let rotated = json_of(data, &["key", "rotate", key_id, "--json"]);
    assert_ne!(rotated["keyId"], key_id);

    let franchises = json_of(data, &["franchise", "list", "--account", acc, "--json"]);
    assert_eq!(franchises[0]["tenantKey"], "sante-plus-1");
    let (ok, out, _) = run(
        data,
        &[
            "franchise",
            "allow-origin",
            "--tenant-key",
            "sante-plus-1",
            "https://portal.example.com",
        ],
    );
    assert!(ok && out.contains("https://portal.example.com"), "{out}");
}

#[test]
fn operator_commands_expire_keys_remove_origins_and_end_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let acc = json_of(data, &["account", "create", "--name", "A", "--json"])["accountId"]
        .as_str()
        .unwrap()
        .to_owned();
    let create = |origin: &str| {
        run(
            data,
            &[
                "franchise",
                "create",
                "--account",
                &acc,
                "--tenant-key",
                "t-1",
                "--name",
                "T",
                "--allow-origin",
                origin,
                "--allow-origin",
                "http://localhost:5173",
                "--json",
            ],
        )
    };
    // Plain HTTP only for this machine.
    let (ok, _, err) = create("http://pms.example.com");
    assert!(!ok && err.contains("https://"), "{err}");
    let (ok, out, err) = create("https://pms.example.com");
    assert!(ok, "{err}");
    assert!(out.contains("http://localhost:5173"), "{out}");
    let (ok, out, err) = run(
        data,
        &[
            "franchise",
            "disallow-origin",
            "--tenant-key",
            "t-1",
            "https://pms.example.com",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("http://localhost:5173") && !out.contains("pms.example.com"),
        "{out}"
    );
    let (ok, out, err) = run(
        data,
        &["franchise", "revoke-sessions", "--tenant-key", "t-1"],
    );
    assert!(ok && out.contains("is refused"), "{out}{err}");
    let franchises = json_of(data, &["franchise", "list", "--account", &acc, "--json"]);
    assert!(
        franchises[0]["sessionsValidAfter"].is_number(),
        "{franchises}"
    );
    assert_eq!(
        franchises[0]["allowedOrigins"],
        serde_json::json!(["http://localhost:5173"])
    );
    // Only an offboarded franchise is reactivated.
    let (ok, _, err) = run(data, &["franchise", "reactivate", "--tenant-key", "t-1"]);
    assert!(!ok && err.contains("nothing to reactivate"), "{err}");

    let key = |expiry: &str| {
        run(
            data,
            &[
                "key",
                "create",
                "--account",
                &acc,
                "--franchise",
                "t-1",
                "--owner",
                "o-1",
                "--owner-first-name",
                "O",
                "--owner-last-name",
                "One",
                "--owner-email",
                "o@example.com",
                "--expires-at",
                expiry,
                "--json",
            ],
        )
    };
    let (ok, _, err) = key("2001-01-01");
    assert!(!ok && err.contains("future"), "{err}");
    let (ok, _, err) = key("soon");
    assert!(!ok && err.contains("RFC 3339"), "{err}");
    let (ok, _, err) = key("2999-12-31T23:00:00Z");
    assert!(ok, "{err}");
    let list = json_of(data, &["key", "list", "--account", &acc, "--json"]);
    assert_eq!(list[0]["expiresAt"], "2999-12-31T23:00:00.000Z", "{list}");
    let (ok, out, _) = run(data, &["key", "list", "--account", &acc]);
    assert!(
        ok && out.contains("expires 2999-12-31T23:00:00.000Z"),
        "{out}"
    );
}

#[test]
fn outbox_commands_list_redrive_and_show_the_dead_letters() {
    use shared::clock::{Clock, SystemClock};
    use shared::domain::{FranchiseStatus, TenantKey};
    use shared::events::{Event, outbox};
    use shared::store::Store;
    use shared::store::keys::outbox_key;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let minute = 60_000;
    // What a process that died before relaying them left: an old pending
    // event, a young one, and a dead letter.
    let (old, young, dead) = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let clock = std::sync::Arc::new(SystemClock);
        let store = shared::store::embedded::EmbeddedStore::open(
            &data.join("embedcare.redb"),
            clock.clone(),
        )
        .unwrap();
        let now = clock.now_ms();
        let tenant = TenantKey::parse("t-1").unwrap();
        let event = |at: i64| {
            Event::franchise(
                &tenant,
                FranchiseStatus::Onboarded,
                FranchiseStatus::Active,
                2,
                at,
            )
        };
        let (old, young, dead) = (
            event(now - 20 * minute),
            event(now),
            event(now - 30 * minute),
        );
        for (e, at) in [
            (&old, now - 20 * minute),
            (&young, now),
            (&dead, now - 30 * minute),
        ] {
            store.write(outbox::write(e, at).unwrap()).await.unwrap();
        }
        let key = outbox_key(&tenant, &dead.id);
        let why = "refused by the bus 5 times: ValidationException";
        store
            .write(outbox::dead_letter(&key, Some(now - 30 * minute), why, now))
            .await
            .unwrap();
        (
            old.id.to_string(),
            young.id.to_string(),
            dead.id.to_string(),
        )
    });

    let (ok, out, err) = run(data, &["outbox", "pending"]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&old) && out.contains(&young) && !out.contains(&dead),
        "{out}"
    );
    let (_, out, _) = run(data, &["outbox", "pending", "--older-than-minutes", "10"]);
    assert!(out.contains(&old) && !out.contains(&young), "{out}");
    let letters = json_of(data, &["outbox", "dead-letters", "--json"]);
    assert_eq!(letters.as_array().unwrap().len(), 1, "{letters}");
    assert!(letters[0]["item"].as_str().unwrap().ends_with(&dead));
    assert!(
        letters[0]["deadLetter"]["reason"]
            .as_str()
            .unwrap()
            .contains("ValidationException")
    );

    // Without EMBEDCARE_EVENT_BUS, the local bus: it prints each event.
    let (ok, out, err) = run(data, &["outbox", "redrive", "--older-than-minutes", "10"]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&old) && !out.contains(&young) && !out.contains(&dead),
        "{out}"
    );
    assert!(out.contains("1 events re-driven"), "{out}");
    let (_, out, _) = run(data, &["outbox", "pending", "--older-than-minutes", "10"]);
    assert!(out.trim().is_empty(), "marked relayed: {out}");
    let (ok, out, _) = run(data, &["outbox", "redrive", "--dead-letters"]);
    assert!(ok && out.contains(&dead), "{out}");
    let letters = json_of(data, &["outbox", "dead-letters", "--json"]);
    assert_eq!(letters, serde_json::json!([]));
}

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(data: &Path, port: u16) -> Server {
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--allow-origin",
            "https://vendor.example.com",
        ])
        .env("EMBEDCARE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a line").expect("stdout");
    assert!(
        first.contains(&format!("listening on http://127.0.0.1:{port}")),
        "{first}"
    );
    std::thread::spawn(move || lines.for_each(drop));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server { child }
}

/// A minimal HTTP/1.1 exchange; returns (status, body).
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    http_to(
        &format!("127.0.0.1:{port}"),
        port,
        method,
        path,
        headers,
        body,
    )
}

/// [`http`] with this `Host` header.
fn http_to(
    host: &str,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw[9..12].parse().unwrap();
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn serve_seeds_a_demo_world_and_keeps_data_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = serve(dir.path(), port);
    let demo: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("demo.json")).unwrap()).unwrap();
    for field in [
        "baseUrl",
        "apiKey",
        "tenantKey",
        "multiFranchiseApiKey",
        "tenantKeys",
        "otherAccountApiKey",
        "otherTenantKey",
    ] {
        assert!(!demo[field].is_null(), "demo.json lacks {field}");
    }
    assert_eq!(demo["baseUrl"], format!("http://127.0.0.1:{port}"));
    let key = demo["apiKey"].as_str().unwrap().to_owned();
    let body = r#"{"patient":{"keys":[{"subSystem":"pms","key":"42"}],"firstName":"Ann","lastName":"Lee"}}"#;
    let headers = [
        ("Api-key", key.as_str()),
        ("Content-Type", "application/json"),
    ];
    let (status, first) = http(
        port,
        "POST",
        "/embeddable/consultation/create",
        &headers,
        body,
    );
    assert_eq!(status, 200, "{first}");
    let first: Value = serde_json::from_str(&first).unwrap();
    let url = first["iframeUrl"].as_str().unwrap();
    let path = url
        .strip_prefix(&format!("http://127.0.0.1:{port}"))
        .unwrap();
    // A GET is the page's shell; its script opens the URL with a POST.
    let (page, token) = path.split_once("?session=").unwrap();
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let open = |nonce: &str| {
        let body = format!("launch={token}&nonce={nonce}");
        http(port, "POST", page, &form, &body).0
    };
    assert_eq!(http(port, "GET", path, &[], "").0, 200);
    assert_eq!(open("cli-test-page-nonce-0001"), 200);
    // Only its own host names (DNS rebinding): a page of another site that
    // resolves to this machine reaches nothing, not even the demo.
    for (host, status) in [
        (format!("localhost:{port}"), 200),
        (format!("evil.example:{port}"), 421),
    ] {
        let (got, text) = http_to(&host, port, "GET", "/demo", &[], "");
        assert_eq!(got, status, "{host}: {text}");
    }
    let (got, text) = http_to(
        "rebound.example",
        port,
        "GET",
        "/v2/consultation-reasons",
        &[("Api-key", key.as_str())],
        "",
    );
    assert_eq!(got, 421, "{text}");
    assert!(text.contains("\"status\":421"), "{text}");
    drop(server);

    // Restarted on the same data: same keys, same patient, the URL stays used.
    let server = serve(dir.path(), port);
    let (status, again) = http(
        port,
        "POST",
        "/embeddable/consultation/create",
        &headers,
        body,
    );
    assert_eq!(status, 200, "{again}");
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["patientId"], first["patientId"]);
    assert_eq!(open("cli-test-page-nonce-0002"), 410);
    // The multi-franchise key and the other account's key work too.
    let multi = demo["multiFranchiseApiKey"].as_str().unwrap();
    assert_eq!(
        http(
            port,
            "GET",
            "/embeddable/statistics",
            &[("Api-key", multi), ("X-Tenant-Key", "demo-2")],
            ""
        )
        .0,
        200
    );
    let other = demo["otherAccountApiKey"].as_str().unwrap();
    assert_eq!(
        http(
            port,
            "GET",
            "/embeddable/consultation/view?patientKey=42",
            &[("Api-key", other)],
            ""
        )
        .0,
        404
    );
    drop(server);
}

#[test]
fn operator_commands_refuse_a_store_in_use_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let _server = serve(dir.path(), free_port());
    let (ok, _, err) = run(dir.path(), &["account", "create", "--name", "x"]);
    assert!(!ok);
    assert!(err.contains("in use"), "{err}");
}

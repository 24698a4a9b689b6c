//! DynamoDB for tests: moto server. `./tests/run.sh` starts one and sets
//! `EMBEDCARE_TEST_DYNAMODB_ENDPOINT`; without it, the first test that needs
//! DynamoDB starts `moto_server` itself (from `PATH` or the test venv), and
//! a watchdog stops it when the test process ends. Every store gets a table
//! of its own, so tests run in parallel on one server without resets.

#![allow(dead_code)]

use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use shared::clock::Clock;
use shared::store::dynamodb::{DynamoStore, RequestLog, create_table};

static ENDPOINT: OnceLock<String> = OnceLock::new();
static WATCHDOG: OnceLock<std::sync::Mutex<std::process::Child>> = OnceLock::new();

pub fn endpoint() -> &'static str {
    ENDPOINT.get_or_init(|| {
        if let Ok(ep) = std::env::var("EMBEDCARE_TEST_DYNAMODB_ENDPOINT") {
            return ep;
        }
        start_moto()
    })
}

fn moto_binary() -> String {
    if let Ok(path) = std::env::var("MOTO_SERVER") {
        return path;
    }
    let venv = format!(
        "{}/.cache/embedcare/venv/bin/moto_server",
        std::env::var("HOME").unwrap_or_default()
    );
    if std::path::Path::new(&venv).exists() {
        return venv;
    }
    "moto_server".to_owned()
}

fn start_moto() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    // The watchdog shell stops moto when this test process is gone.
    let script = format!(
        "{} -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; \
         while kill -0 {} 2>/dev/null; do sleep 1; done; kill $m",
        moto_binary(),
        std::process::id()
    );
    let watchdog = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("could not start moto_server ({e}); run ./tests/run.sh, or set EMBEDCARE_TEST_DYNAMODB_ENDPOINT")
        });
    // Kept for the life of the process; the watchdog ends on its own.
    let _ = WATCHDOG.set(std::sync::Mutex::new(watchdog));
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not start; run ./tests/run.sh (it installs moto), or set EMBEDCARE_TEST_DYNAMODB_ENDPOINT"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    format!("http://127.0.0.1:{port}")
}

/// A client for the test endpoint, logging the requests it sends.
pub fn client(log: &RequestLog) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint())
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .interceptor(log.clone())
        .build();
    Client::from_conf(config)
}

/// A store on a new table of its own.
pub async fn store(clock: Arc<dyn Clock>) -> (DynamoStore, RequestLog) {
    let log = RequestLog::default();
    let client = client(&log);
    let table = format!("t-{}", uuid::Uuid::new_v4().simple());
    create_table(&client, &table).await.expect("create table");
    log.take();
    (DynamoStore::new(client, table, clock), log)
}

/// moto evaluates a transaction's conditions and applies its writes without
/// a lock: two concurrent `TransactWriteItems` can both pass a `NotExists`,
/// and a cancelled one's rollback can undo another's write. DynamoDB itself
/// serializes conflicting writes. Queuing the writes sent to moto gives
/// back that guarantee, so that concurrency tests check *our* conditions
/// (which must still reject the losers), not moto's thread safety; the
/// reads, and so the race between reading and writing, stay concurrent.
pub struct SerialWrites {
    inner: Arc<dyn shared::store::Store>,
    lock: tokio::sync::Mutex<()>,
}

pub fn serialized(inner: impl shared::store::Store + 'static) -> Arc<dyn shared::store::Store> {
    Arc::new(SerialWrites {
        inner: Arc::new(inner),
        lock: tokio::sync::Mutex::new(()),
    })
}

#[async_trait::async_trait]
impl shared::store::Store for SerialWrites {
    async fn get(
        &self,
        key: &shared::store::Key,
    ) -> shared::store::StoreResult<Option<shared::store::Item>> {
        self.inner.get(key).await
    }
    async fn batch_get(
        &self,
        keys: &[shared::store::Key],
    ) -> shared::store::StoreResult<Vec<shared::store::Item>> {
        self.inner.batch_get(keys).await
    }
    async fn query(
        &self,
        query: &shared::store::Query,
    ) -> shared::store::StoreResult<shared::store::Page> {
        self.inner.query(query).await
    }
    async fn write(&self, write: shared::store::Write) -> shared::store::StoreResult<()> {
        let _turn = self.lock.lock().await;
        self.inner.write(write).await
    }
    async fn transact(&self, writes: Vec<shared::store::Write>) -> shared::store::StoreResult<()> {
        let _turn = self.lock.lock().await;
        self.inner.transact(writes).await
    }
    async fn add(
        &self,
        key: &shared::store::Key,
        amounts: &[(&str, i64)],
        cond: Option<shared::store::Cond>,
    ) -> shared::store::StoreResult<shared::store::Item> {
        let _turn = self.lock.lock().await;
        self.inner.add(key, amounts, cond).await
    }
}

//! The durable-write floor: a bare axum server whose token-issuing path does
//! one durable redb commit per request (a small insert into a table of a
//! database on disk, `Durability::Immediate`: an fsync per commit) and
//! answers a small JSON body, no auth, no other work. What the local server
//! would do at best on the same disk with one flush per request.
//! `commit-floor --addr 127.0.0.1:PORT --data-dir DIR`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use redb::{Database, Durability, TableDefinition};
use serde_json::{Value, json};

const TOKENS: TableDefinition<u64, &[u8]> = TableDefinition::new("tokens");

struct Floor {
    db: Database,
    next: AtomicU64,
}

/// One write transaction, one insert, one durable commit.
fn commit_one(floor: &Floor) -> Result<(), redb::Error> {
    let id = floor.next.fetch_add(1, Ordering::Relaxed);
    let mut txn = floor.db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    {
        let mut t = txn.open_table(TOKENS)?;
        let value = format!("{{\"token\":\"{id:032x}\",\"expiresAt\":1767225900}}");
        t.insert(id, value.as_bytes())?;
    }
    txn.commit()?;
    Ok(())
}

async fn issue(floor: Arc<Floor>) -> Result<axum::Json<Value>, StatusCode> {
    tokio::task::spawn_blocking(move || commit_one(&floor))
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    Ok(axum::Json(json!({
        "iframeUrl": "http://127.0.0.1:3000/en/embed/franchise/demo/consultation/start?session=0123456789abcdef0123456789abcdef0123456789abc",
        "expiresAt": "2026-01-01T00:05:00.000Z"
    })))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:3002".to_owned();
    let mut dir = std::env::temp_dir().join("commit-floor");
    while let Some(a) = args.next() {
        match a.as_str() {
            "--addr" => addr = args.next().unwrap_or(addr),
            "--data-dir" => dir = args.next().map(PathBuf::from).unwrap_or(dir),
            _ => {}
        }
    }
    std::fs::create_dir_all(&dir)?;
    let db = Database::create(dir.join("floor.redb"))?;
    let floor = Arc::new(Floor {
        db,
        next: AtomicU64::new(0),
    });
    let f = Arc::clone(&floor);
    let app = Router::new().route(
        "/embeddable/consultation/create",
        post(move |axum::Json(_body): axum::Json<Value>| issue(Arc::clone(&f))),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

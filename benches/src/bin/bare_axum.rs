//! The throughput floor: a bare axum server answering the local server's
//! main vendor paths with a small JSON body (no auth, no store), so the same
//! load-generator scripts run against both. `bare-axum --addr 127.0.0.1:PORT`.

use axum::Router;
use axum::routing::{get, post};
use serde_json::{Value, json};

fn launch() -> axum::Json<Value> {
    axum::Json(json!({
        "iframeUrl": "http://127.0.0.1:3000/en/embed/franchise/demo/consultation/start?session=0123456789abcdef0123456789abcdef0123456789abc",
        "expiresAt": "2026-01-01T00:05:00.000Z"
    }))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:3001".to_owned();
    while let Some(a) = args.next() {
        if a == "--addr" {
            addr = args.next().unwrap_or(addr);
        }
    }
    let app = Router::new()
        .route(
            "/embeddable/consultation/create",
            post(|axum::Json(_body): axum::Json<Value>| async { launch() }),
        )
        .route(
            "/embeddable/consultation/dashboard",
            get(|| async { launch() }),
        )
        .route("/embeddable/consultation/view", get(|| async { launch() }))
        .route("/bare", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}

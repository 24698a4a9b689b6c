//! Floor variant: `lambda_http` + an axum router with one route, as the
//! functions are wired, but no AWS SDK and no store.

use axum::Router;
use axum::routing::any;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let app = Router::new().fallback(any(|| async {
        axum::Json(serde_json::json!({"hello": "world"}))
    }));
    lambda_http::run(app).await
}

//! Lambda `embed-pages`: GET /{locale}/embed/... (launch redemption and the embedded pages).
//! Wiring only; everything worth testing is in `shared`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::http::init_logging();
    // Configuration and AWS clients, once per instance (cold start).
    let app = shared::runtime::lambda_app().await?;
    lambda_http::run(shared::lambda::http::service(shared::http::embed_router(
        app,
    )))
    .await
}

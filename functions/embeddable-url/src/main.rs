//! Lambda `embeddable-url`: GET /embeddable/... (every view's launch URL).
//! Wiring only; everything worth testing is in `shared`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::http::init_logging();
    // Configuration and AWS clients, once per instance (cold start).
    let app = shared::runtime::lambda_app().await?;
    lambda_http::run(shared::lambda::http::service(
        shared::http::embeddable_url_router(app),
    ))
    .await
}

//! Lambda `rooms`: the waiting rooms (`/v2/rooms…`) and the free slots
//! of their providers (`GET /v2/availability`); CORS for the franchises'
//! origins.
//! Wiring only; everything worth testing is in `shared`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::http::init_logging();
    // Configuration and AWS clients, once per instance (cold start).
    let app = shared::runtime::lambda_app().await?;
    lambda_http::run(shared::lambda::http::service(shared::http::rooms_router(
        app,
    )))
    .await
}

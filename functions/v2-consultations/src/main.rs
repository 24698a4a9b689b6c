//! Lambda `v2-consultations`: GET /v2/consultation-reasons, /v2/consultations (create, list, read, cancel).
//! Wiring only; everything worth testing is in `shared`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::http::init_logging();
    // Configuration and AWS clients, once per instance (cold start).
    let app = shared::runtime::lambda_app().await?;
    lambda_http::run(shared::lambda::http::service(
        shared::http::v2_consultations_router(app),
    ))
    .await
}

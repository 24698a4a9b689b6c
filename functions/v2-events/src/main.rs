//! Lambda `v2-events`: webhook endpoints and their deliveries, the event
//! list, redeliveries, and the subscription stream's event queues.
//! Wiring only; everything worth testing is in `shared`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::http::init_logging();
    // Configuration and AWS clients, once per instance (cold start): the
    // work queue (redeliveries) and the WebSocket API (a deleted queue's
    // client is disconnected).
    let (ports, _) = shared::runtime::delivery_ports().await?;
    let app = shared::runtime::lambda_app_with(ports).await?;
    lambda_http::run(shared::lambda::http::service(
        shared::http::v2_events_router(app),
    ))
    .await
}

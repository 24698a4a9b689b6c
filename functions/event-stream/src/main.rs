//! Lambda `event-stream`: the subscription stream's WebSocket API routes,
//! one function routed on the request context's route key (`$connect`
//! authenticates and claims the queue, `$default` takes the client's
//! frames, `$disconnect` lets the queue go). Wiring only; the event's
//! shape is `shared::lambda::websocket`, the protocol
//! `shared::services::stream`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::lambda::http::init_logging();
    // Configuration and AWS clients, once per instance (cold start).
    let (ports, _) = shared::runtime::delivery_ports().await?;
    let app = shared::runtime::lambda_app_with(ports).await?;
    let app = &app;
    // What an invocation counted goes out as EMF lines when it ends.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        shared::metrics::flushed(async move {
            Ok::<Value, Error>(
                shared::lambda::websocket::handle_websocket_event(app, &event.payload).await,
            )
        })
    }))
    .await
}

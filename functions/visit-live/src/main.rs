//! Lambda `visit-live`: the visits' live connections' WebSocket API
//! routes, one function routed on the request context's route key
//! (`$connect` lets in only the visit's people, `$default` takes their
//! frames — a chat message is stored and fanned out with
//! `PostToConnection` —, `$disconnect` forgets the connection). Wiring
//! only; the event's shape is `shared::lambda::visit_live`, the service
//! `shared::services::clinic::live`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::lambda::http::init_logging();
    // Configuration and AWS clients, once per instance (cold start).
    let app = shared::runtime::visit_live_app().await?;
    let app = &app;
    // What an invocation counted goes out as EMF lines when it ends.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        shared::metrics::flushed(async move {
            Ok::<Value, Error>(
                shared::lambda::visit_live::handle_visit_live_event(app, &event.payload).await,
            )
        })
    }))
    .await
}

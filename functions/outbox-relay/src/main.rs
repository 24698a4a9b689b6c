//! Lambda `outbox-relay`: reads the table's stream (new outbox items, as the
//! event source mapping filters them) and puts each event on the bus named
//! by `EMBEDCARE_EVENT_BUS`, reporting partial batch failures.
//! Wiring only; the relay itself is `shared::events::relay`, the stream
//! event's shape `shared::lambda::stream`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::events::relay::RelayPolicy;
use shared::lambda::stream::handle_stream_event;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::lambda::http::init_logging();
    // The EventBridge client, once per instance (cold start).
    let bus = shared::runtime::eventbridge_bus().await?;
    let bus = &bus;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(handle_stream_event(&event.payload, bus, RelayPolicy::default()).await)
    }))
    .await
}

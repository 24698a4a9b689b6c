//! Lambda `outbox-relay`: reads the table's stream (new outbox items, as the
//! event source mapping filters them) and puts each event on the bus named
//! by `EMBEDCARE_EVENT_BUS`, reporting partial batch failures; marks what it
//! delivered as relayed, and dead-letters a malformed record, in the table.
//! Wiring only; the relay itself is `shared::events::relay`, the stream
//! event's shape `shared::lambda::stream`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::events::relay::RelayPolicy;
use shared::lambda::stream::handle_stream_event;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::lambda::http::init_logging();
    // The EventBridge and DynamoDB clients, once per instance (cold start).
    let ports = shared::runtime::event_ports().await?;
    let ports = &ports;
    // What an invocation counted goes out as EMF lines when it ends.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        shared::metrics::flushed(async move {
            let (bus, store, clock) = (&ports.bus, ports.store.as_ref(), ports.clock.as_ref());
            let relayed =
                handle_stream_event(&event.payload, bus, store, clock, RelayPolicy::default());
            Ok::<Value, Error>(relayed.await)
        })
    }))
    .await
}

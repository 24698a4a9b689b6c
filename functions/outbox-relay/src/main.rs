//! Lambda `outbox-relay`: reads the table's stream (new outbox items, as the
//! event source mapping filters them) and puts each event on the bus named
//! by `EMBEDCARE_EVENT_BUS`, reporting partial batch failures; marks what it
//! delivered as relayed, and dead-letters a malformed record, in the table.
//! Wiring only; the relay itself is `shared::events::relay`, the stream
//! event's shape `shared::lambda::stream`.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::clock::{Clock, SystemClock};
use shared::events::relay::RelayPolicy;
use shared::lambda::stream::handle_stream_event;
use shared::runtime::{self, StoreKind};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::lambda::http::init_logging();
    // The EventBridge and DynamoDB clients, once per instance (cold start).
    let bus = runtime::eventbridge_bus().await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = runtime::store(StoreKind::Dynamodb, None, clock.clone()).await?;
    let (bus, store, clock) = (&bus, store.as_ref(), clock.as_ref());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let policy = RelayPolicy::default();
        Ok::<Value, Error>(handle_stream_event(&event.payload, bus, store, clock, policy).await)
    }))
    .await
}

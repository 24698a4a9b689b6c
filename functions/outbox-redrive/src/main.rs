//! Lambda `outbox-redrive`: on a schedule (an EventBridge rule), puts on the
//! bus named by `EMBEDCARE_EVENT_BUS` every outbox item still not relayed
//! `EMBEDCARE_REDRIVE_AFTER_MINUTES` after it was written, and marks it
//! relayed: what the stream relay gave up on is not lost. Wiring only; the
//! work is `shared::events::redrive`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::events::redrive::redrive;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::lambda::http::init_logging();
    // The EventBridge and DynamoDB clients, once per instance (cold start).
    let ports = shared::runtime::event_ports().await?;
    let after_ms = shared::runtime::redrive_after_ms()?;
    let ports = &ports;
    // What an invocation counted goes out as EMF lines when it ends.
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| {
        shared::metrics::flushed(async move {
            let now = ports.clock.now_ms();
            let done = redrive(ports.store.as_ref(), &ports.bus, now, after_ms, false).await?;
            Ok::<Value, Error>(serde_json::to_value(done)?)
        })
    }))
    .await
}

//! Lambda `outbox-redrive`: on a schedule (an EventBridge rule), puts on the
//! bus named by `EMBEDCARE_EVENT_BUS` every outbox item still not relayed
//! `EMBEDCARE_REDRIVE_AFTER_MINUTES` after it was written, and marks it
//! relayed: what the stream relay gave up on is not lost. Wiring only; the
//! work is `shared::events::redrive`.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::clock::{Clock, SystemClock};
use shared::events::redrive::redrive;
use shared::runtime::{self, StoreKind};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::lambda::http::init_logging();
    // The EventBridge and DynamoDB clients, once per instance (cold start).
    let bus = runtime::eventbridge_bus().await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = runtime::store(StoreKind::Dynamodb, None, clock.clone()).await?;
    let after_ms = runtime::redrive_after_ms()?;
    let (bus, store, clock) = (&bus, store.as_ref(), clock.as_ref());
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let done = redrive(store, bus, clock.now_ms(), after_ms, false).await?;
        Ok::<Value, Error>(serde_json::to_value(done)?)
    }))
    .await
}
